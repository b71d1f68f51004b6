/**
 * SMP Quest: one kernel over every core (`kind: "smp"`), the system Quest-V is compared with
 * throughout the paper ("Quest in its basic form supports symmetric multiprocessing, with a single
 * system image running on all available processors or cores", the Quest web page). It is built
 * from the same kernel rooms as a Quest-V sandbox (`kernel/`): the system has one sandbox whose
 * kernel owns every core, and this module adds what makes it a single system image.
 *
 * What is per core and what is shared:
 *
 * | per core | shared by every core |
 * |---|---|
 * | its VCPU scheduler and run queue of VCPUs (`PcpuScheduler`), LAPIC timer, TSC, sleep queue, current thread | the kernel's address space (no EPT: any kernel code can write any kernel memory), the big kernel lock, the run queues' memory (core c's queue is a page every core can write), the one NIC driver instance and its state, the process table (pids), every thread record |
 *
 * Mechanisms:
 * - **the big kernel lock** ({@link KernelLock}): system calls hold it for their whole kernel cost
 *   (`[SRC kernel/interrupt_handler.c]`: `_fork` takes `lock_kernel()` for the whole call) plus
 *   `lockAcquireCycles`; interrupt handlers hold it for `irqLockHoldCycles` of their work
 *   (`[ASSUMED]`). The spin and the acquisition are CPU time of the waiting core, added to its
 *   work; the hold overlaps the work; contention is measured per core;
 * - **cross-core wake-ups by IPI**: a thread made runnable by kernel code running on another core
 *   (a child's exit waking its parent, a completion, an I/O hand-off to an I/O VCPU there — its
 *   P1 inheritance then happens at delivery) is queued for its core, which learns of it
 *   from a wake-up IPI (`wakeVector`, one-way latency of the cost table, handler `wakeIrqCycles`):
 *   the target's scheduler sees the wake-up only when the IPI's handler runs. Quest's own
 *   `vcpu_wakeup` appends to the remote queue and arms only the local timer
 *   (`[SRC kernel/sched/vcpu.c]`), so the remote core would notice at its next tick; the IPI is
 *   the issue's design and what a preempting wake-up needs;
 * - **shared kernel state** ({@link SharedState}): a write that lands on a structure's page breaks
 *   the cores that use it, when they use it — a core whose run queue is garbage hangs at its next
 *   scheduler invocation; a garbage lock word hangs every core at its next kernel entry; garbage
 *   driver state breaks the one NIC driver (no core receives frames any more).
 *
 * A hung core runs nothing more: interrupts off, its timer cancelled (`Activity.Hung`, or a spin
 * that never ends). What failed and when is in {@link SmpStats}.
 *
 * Not modelled: the scheduler's own use of the kernel lock on each invocation (Quest's timer
 * handler takes it too); the IPI sender's wait for "delivery pending".
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import * as Program from "../Program.ts"
import type { SharedNicDriver } from "../SharedNicDriver.ts"
import type { SmpOptions } from "./SmpOptions.ts"
import { KernelLock } from "./KernelLock.ts"
import { SharedState } from "./SharedState.ts"
import { Activity, ThreadStatus, type IrqHandler, type Kernel, type Pcpu, type Thread } from "../kernel/index.ts"

/** The work of a core that spins for ever (a lock that never frees), ns: beyond any run. */
export const SPIN_FOREVER_NS = 2 ** 50

/** The system calls that take the big kernel lock (everything a user thread enters the kernel for; memory accesses and pure computation do not). */
export const LOCKED_OPS: readonly number[] = [
  Program.Op.Sleep, Program.Op.SleepUntil, Program.Op.WaitJob, Program.Op.Syscall, Program.Op.Io,
  Program.Op.Fork, Program.Op.Exit, Program.Op.Waitpid,
]

/** Why a core stopped. */
export const HangReason = { None: 0, RunQueue: 1, KernelLock: 2 } as const
const HANG_NAMES = ["", "its run queue is corrupted", "the kernel lock word is corrupted"]

/** What the SMP kernel measured, per core. */
export interface SmpCoreStats {
  readonly core: number
  readonly lockAcquisitions: number
  readonly lockContended: number
  readonly lockSpinNs: number
  readonly lockHeldNs: number
  readonly wakeIpisSent: number
  readonly wakeIpisTaken: number
  /** When the core hung (global ns), or -1. */
  readonly hungAtNs: number
  readonly hungBecause: string
}

export interface SmpStats {
  readonly cores: readonly SmpCoreStats[]
  /** When the NIC driver found its state corrupted (global ns), or -1. */
  readonly driverBrokenAtNs: number
}

/** One cross-core wake-up in flight or delivered (recorded with `recordWakes`). */
export interface WakeRecord {
  readonly tid: number
  readonly fromCore: number
  readonly toCore: number
  readonly sentNs: number
  /** Whether it rode on an IPI already in flight to the same core (else it sent one). */
  readonly rides: boolean
  deliveredNs: number
}

export class Smp {
  readonly k: Kernel
  readonly options: SmpOptions
  readonly lock: KernelLock
  readonly state: SharedState
  /** Wake-ups waiting for their IPI, per PCPU (sandbox-local index): the thread, and for an I/O hand-off the I/O VCPU's scheduler index (else -1) and the inherited period. */
  private readonly pending: Thread[][]
  private readonly pendingIo: number[][]
  private readonly pendingPeriod: number[][]
  private readonly pendingRec: (WakeRecord | null)[][]
  private readonly hungAt: number[]
  private readonly hungWhy: number[]
  private readonly ipisSent: number[]
  private readonly ipisTaken: number[]
  private driverBrokenAt = -1
  private readonly acquireNs: number
  private readonly irqHoldNs: number
  readonly wakeIrqNs: number
  /** Every cross-core wake-up, when recorded (tests). */
  readonly wakes: WakeRecord[] | null
  private readonly kHang: Trace.RecordKind

  constructor(k: Kernel, driver: SharedNicDriver, options: SmpOptions, recordWakes = false) {
    this.k = k
    this.options = options
    const n = k.pcpus.length
    this.lock = new KernelLock(n)
    this.state = new SharedState(k.machine, k.dataBase, n)
    this.pending = k.pcpus.map(() => [])
    this.pendingIo = k.pcpus.map(() => [])
    this.pendingPeriod = k.pcpus.map(() => [])
    this.pendingRec = k.pcpus.map(() => [])
    this.hungAt = new Array<number>(n).fill(-1)
    this.hungWhy = new Array<number>(n).fill(HangReason.None)
    this.ipisSent = new Array<number>(n).fill(0)
    this.ipisTaken = new Array<number>(n).fill(0)
    const costs = k.machine.costs
    this.acquireNs = costs.toNs(options.lockAcquireCycles)
    this.irqHoldNs = costs.toNs(options.irqLockHoldCycles)
    this.wakeIrqNs = costs.toNs(options.wakeIrqCycles)
    this.wakes = recordWakes ? [] : null
    this.kHang = k.sim.trace.kind("smp.hang", ["pcpu", "why"])
    // System calls take the lock for their kernel cost.
    // NOTE: each op's begin is wrapped once, here (one closure per op, none per request): a request
    // pays one extra call; the handlers' wrappers keep their per-core state in arrays.
    for (const op of LOCKED_OPS) {
      const begin = k.requests.begin[op]
      if (begin === undefined) continue
      k.requests.begin[op] = (kk: Kernel, p: Pcpu, th: Thread, req: Program.Request) => this.lockedCall(p, begin(kk, p, th, req))
    }
    // Interrupt handlers take it too; the NIC's checks its state first.
    const nicVector = k.machine.config.boot.nicVector
    for (let v = 0; v < 256; v++) {
      const h = k.interrupts.handlerOf(v)
      if (h !== undefined) k.interrupts.register(v, new LockedHandler(this, h, n, v === nicVector ? driver : null))
    }
    k.interrupts.register(options.wakeVector, new WakeIpiHandler(this))
    k.smp = this
  }

  /** Boot (after the data area is backed with bytes): writes the shared structures' headers. */
  boot(): void {
    this.state.boot()
  }

  // ------------------------------------------------------------------ the kernel lock

  /** A system call's kernel work of `ns` on `p`, under the lock: the ns the thread executes (spin, take the lock, the work). */
  lockedCall(p: Pcpu, ns: number): number {
    const hold = ns + this.acquireNs
    const wait = this.lock.acquire(p.index, this.k.sim.now, hold, this.state.lockCorrupted())
    if (wait === Infinity) return this.spinForever(p)
    return wait + hold
  }

  /**
   * An interrupt handler's entry on `p`: the ns it spins and takes the lock before its own work.
   * The lock is then held for `irqLockHoldCycles` of that work (the handler's cost is its own).
   */
  lockedIrq(p: Pcpu): number {
    const wait = this.lock.acquire(p.index, this.k.sim.now, this.irqHoldNs + this.acquireNs, this.state.lockCorrupted())
    if (wait === Infinity) return this.spinForever(p)
    return wait + this.acquireNs
  }

  /** `p` spins on a lock that never frees: interrupts off, no timer, for ever. */
  private spinForever(p: Pcpu): number {
    this.markHung(p, HangReason.KernelLock)
    p.core.setInterruptsEnabled(false)
    p.lapic.cancelTimer()
    return SPIN_FOREVER_NS
  }

  private markHung(p: Pcpu, why: number): void {
    if (this.hungAt[p.index]! >= 0) return
    this.hungAt[p.index] = this.k.sim.now
    this.hungWhy[p.index] = why
    this.k.sim.trace.emit(this.kHang, this.k.trace.subject, p.index, why)
  }

  // ------------------------------------------------------------------ scheduler invocations

  /**
   * Before a scheduler invocation on `p`: false when the core's run queue is garbage — the core
   * hangs (interrupts off, timer cancelled, nothing runs on it again).
   */
  mayInvoke(p: Pcpu): boolean {
    if (this.state.runQueueIntact(p.index)) return true
    this.markHung(p, HangReason.RunQueue)
    p.core.setInterruptsEnabled(false)
    p.lapic.cancelTimer()
    p.activity = Activity.Hung
    return false
  }

  // ------------------------------------------------------------------ cross-core wake-ups

  /**
   * `th` (on `p`) became runnable by kernel code on another core: queue it for `p` and send the
   * wake-up IPI. False when the waker runs on `p` itself (or on no core): wake directly.
   */
  remoteWake(p: Pcpu, th: Thread): boolean {
    return this.remote(p, th, -1, 0)
  }

  /**
   * An I/O job handed to I/O VCPU `ioSched` (scheduler index) on `p` by kernel code on another
   * core: its service thread `svc` joins the VCPU with the inherited `periodNs` (P1) when the
   * IPI arrives. False when the hand-off runs on `p` itself (or on no core).
   */
  remoteIo(p: Pcpu, svc: Thread, ioSched: number, periodNs: number): boolean {
    return this.remote(p, svc, ioSched, periodNs)
  }

  private remote(p: Pcpu, th: Thread, ioSched: number, periodNs: number): boolean {
    const from = this.k.executingCore
    if (from < 0 || from === p.core.index) return false
    const q = this.pending[p.index]!
    const rec = this.wakes === null ? null : { tid: th.tid, fromCore: from, toCore: p.core.index, sentNs: this.k.sim.now, rides: q.length > 0, deliveredNs: -1 }
    if (rec !== null) this.wakes!.push(rec)
    q.push(th)
    this.pendingIo[p.index]!.push(ioSched)
    this.pendingPeriod[p.index]!.push(periodNs)
    this.pendingRec[p.index]!.push(rec)
    if (q.length === 1) {
      // One IPI per batch: later wake-ups before its delivery ride on it.
      this.ipisSent[this.k.pcpuOfCore[from]!.index]!++
      this.k.machine.cores[from]!.lapic.sendIpiToCore(p.core.index, this.options.wakeVector)
    }
    return true
  }

  /** The wake-up IPI's handler on `p`: every queued thread joins its VCPU's run queue (W1). */
  takeWakes(p: Pcpu): void {
    const q = this.pending[p.index]!
    const io = this.pendingIo[p.index]!
    const period = this.pendingPeriod[p.index]!
    const recs = this.pendingRec[p.index]!
    if (q.length === 0) return
    this.ipisTaken[p.index]!++
    const local = this.k.localNow(p)
    for (let i = 0; i < q.length; i++) {
      const th = q[i]!
      const r = recs[i]
      if (r !== null && r !== undefined) r.deliveredNs = this.k.sim.now
      if (io[i]! >= 0) {
        if (p.sched.requestIo(io[i]!, period[i]!, th.schedId, local)) p.invokeWanted = true
      } else if (th.status === ThreadStatus.Runnable && p.sched.wakeup(th.schedId, local)) p.invokeWanted = true
    }
    // NOTE: emptied by pops: `length = 0` drops the array's store (a runtime call, and a new store at the next push: issue 15).
    while (q.length > 0) {
      q.pop()
      io.pop()
      period.pop()
      recs.pop()
    }
  }

  /** Wake-ups queued for `p` and not yet delivered. */
  pendingOn(p: Pcpu): number {
    return this.pending[p.index]!.length
  }

  // ------------------------------------------------------------------ the NIC driver

  /** The NIC handler's check of its state: garbage breaks the one driver instance. */
  checkDriver(driver: SharedNicDriver): void {
    if (this.driverBrokenAt >= 0 || this.state.driverIntact()) return
    this.driverBrokenAt = this.k.sim.now
    for (let s = 0; s < driver.broken.length; s++) driver.broken[s] = true
  }

  // ------------------------------------------------------------------ results

  stats(): SmpStats {
    return {
      cores: this.k.pcpus.map((p, i) => ({
        core: p.core.index,
        lockAcquisitions: this.lock.acquisitions[i]!,
        lockContended: this.lock.contended[i]!,
        lockSpinNs: this.lock.spinNs[i]!,
        lockHeldNs: this.lock.heldNs[i]!,
        wakeIpisSent: this.ipisSent[i]!,
        wakeIpisTaken: this.ipisTaken[i]!,
        hungAtNs: this.hungAt[i]!,
        hungBecause: HANG_NAMES[this.hungWhy[i]!]!,
      })),
      driverBrokenAtNs: this.driverBrokenAt,
    }
  }
}

/** A registered handler run under the kernel lock (per core: the lock's spin and hold first, then the handler). */
class LockedHandler implements IrqHandler {
  private readonly smp: Smp
  private readonly inner: IrqHandler
  private readonly driver: SharedNicDriver | null
  /** Per PCPU: the vector whose handler starts once the lock is held, or -1. */
  private readonly vectorAfterLock: number[]

  constructor(smp: Smp, inner: IrqHandler, cores: number, driver: SharedNicDriver | null) {
    this.smp = smp
    this.inner = inner
    this.driver = driver
    this.vectorAfterLock = new Array<number>(cores).fill(-1)
  }

  start(_k: Kernel, p: Pcpu, vector: number): number {
    const ns = this.smp.lockedIrq(p)
    this.vectorAfterLock[p.index] = vector
    return ns > 0 ? ns : this.next(_k, p)
  }

  next(k: Kernel, p: Pcpu): number {
    const v = this.vectorAfterLock[p.index]!
    if (v >= 0) {
      this.vectorAfterLock[p.index] = -1
      if (this.driver !== null) this.smp.checkDriver(this.driver)
      return this.inner.start(k, p, v)
    }
    return this.inner.next(k, p)
  }
}

/** The wake-up IPI: entry cost, then the queued wake-ups. */
class WakeIpiHandler implements IrqHandler {
  private readonly smp: Smp
  constructor(smp: Smp) {
    this.smp = smp
  }

  start(): number {
    return this.smp.wakeIrqNs > 0 ? this.smp.wakeIrqNs : 0
  }

  next(_k: Kernel, p: Pcpu): number {
    this.smp.takeWakes(p)
    return -1
  }
}
