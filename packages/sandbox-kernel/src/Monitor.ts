/**
 * The per-sandbox monitor (spec §D.4): VMX root on the sandbox's own cores. It does nothing in
 * steady state — external interrupts, scheduling and channel traffic never exit (F17) — and it
 * handles the exits that do happen: EPT violations (a refused memory access, a fault), hypercalls
 * (VMCALL / CPUID with the hypercall leaf), the injection of interrupts in the hypervisor-mediated
 * baseline, and the monitor side of recovery and migration (tasks other modules hand it).
 *
 * Every exit charges its core: the VM exit, the handling, the VM entry (costs in cycles from the
 * machine's cost table and {@link MonitorOptions}, converted once to ns). The time lands on
 * whichever VCPU was current (spec §C.1 accounting).
 *
 * Invariants:
 * - exactly one `mon.exit` record per VM exit taken by the sandbox's cores;
 * - a refused access is never performed (the hardware guarantees it; the monitor only decides
 *   what the guest sees: `skip` gives the thread its failure value, `killThread` ends it,
 *   `recover` hands the sandbox to its recovery);
 * - tasks run in order, one at a time per core; when the last one ends the kernel enters the guest.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Core as CoreNs, Ept, IoApic, PhysicalMemory } from "@qvsim/hardware"
import type { ExitHandler, Kernel, Pcpu } from "./kernel/index.ts"
import type { MonitorOptions } from "./Options.ts"
import * as Program from "./Program.ts"

const R = CoreNs.VmExitReason

/** Work the monitor does on a core: phases of ns, like an {@link ExitHandler}. */
export interface MonitorTask {
  /** First phase: ns of work, or -1 when there is nothing to do. */
  start(k: Kernel, p: Pcpu): number
  /** Next phase: ns, or -1 when done. */
  next(k: Kernel, p: Pcpu): number
}

/** Who decides what a fault means (the recovery engine); returns a task or null to apply the policy. */
export interface FaultHandler {
  /** An EPT violation (or an explicit trigger) in sandbox `k.sandbox`: a recovery task, or null. */
  onFault(k: Kernel, p: Pcpu, reason: number, qualification: number): MonitorTask | null
  /** An exit the kernel forced for a monitor-to-monitor message (remote recovery, migration IPIs). */
  onMessage(k: Kernel, p: Pcpu, qualification: number): MonitorTask | null
}

/** Hypercall numbers (spec §D.4, 2013+ code). qvsim handles `Migrate` (`Migration.ts`); any other costs `monitor.hypercallCycles` and does nothing else. */
export const Hypercall = {
  /** Copy a migrating thread's address space. */
  Migrate: 1,
  /** Guest-to-host physical address lookup. */
  Lookup: 2,
  BootLinux: 3,
  UnmapSandbox: 4,
  /** Set EPT rights on N frames. */
  SetEptRights: 5,
  /** Map a guest page to a machine page. */
  MapPage: 6,
  AllocateSharedFrames: 7,
  /** qvsim's own (no VT-d code in Quest): the guest hands a DMA remapping fault event to its monitor (`DmaFaults.ts`). */
  DmaFault: 8,
} as const
export type Hypercall = (typeof Hypercall)[keyof typeof Hypercall]

/** Hypercall handlers by number ({@link Hypercall}). */
export type HypercallHandler = (k: Kernel, p: Pcpu, number: number) => MonitorTask | null

/** Exit reason the kernel uses for a monitor-to-monitor IPI (the IPI handler forces the exit). */
export const MESSAGE_EXIT = R.ExceptionOrNmi

export class Monitor implements ExitHandler {
  readonly sandbox: number
  readonly options: MonitorOptions
  /** Exits handled, by reason. */
  readonly exitsByReason = new Map<number, number>()
  eptViolations = 0
  hypercalls = 0
  injections = 0
  faultHandler: FaultHandler | null = null
  readonly hypercallHandlers = new Map<number, HypercallHandler>()
  private readonly vmExitNs: number
  private readonly vmEntryNs: number
  private readonly violationNs: number
  private readonly hypercallNs: number
  private readonly injectNs: number
  private readonly singleStepNs: number
  private readonly blacklist: IoApic.RegisterBlacklist
  /** Trapped I/O APIC writes performed / refused by I/O partitioning. */
  ioapicWrites = 0
  ioapicDenied = 0
  /** Per core: the task in progress and those queued behind it. */
  private readonly running: (MonitorTask | null)[] = []
  private readonly queued: MonitorTask[][] = []
  private readonly subject: Trace.Subject
  private readonly kExit: Trace.RecordKind
  private readonly actions: Record<"skip" | "kill" | "recover" | "hypercall" | "inject" | "message" | "ioapic", number>
  private readonly trace: Trace.Trace

  constructor(k: Kernel, options: MonitorOptions, injectCycles: number) {
    this.sandbox = k.sandbox
    this.options = options
    const costs = k.machine.costs
    this.vmExitNs = costs.ns.vmExit
    this.vmEntryNs = costs.ns.vmEntry
    this.violationNs = costs.toNs(options.eptViolationCycles)
    this.hypercallNs = costs.toNs(options.hypercallCycles)
    this.injectNs = costs.toNs(injectCycles)
    this.singleStepNs = costs.toNs(options.singleStepCycles)
    this.blacklist = new IoApic.RegisterBlacklist()
    for (const r of options.ioapicDeny) this.blacklist.deny(k.sandbox, r)
    for (let i = 0; i < k.pcpus.length; i++) {
      this.running.push(null)
      this.queued.push([])
    }
    const trace = k.sim.trace
    this.trace = trace
    this.subject = trace.subject(`sandbox${k.sandbox}/monitor`, k.sandbox)
    this.kExit = trace.kind("mon.exit", ["pcpu", "reason", "qualification", "$action"])
    this.actions = {
      skip: trace.symbol("skip"),
      kill: trace.symbol("kill-thread"),
      recover: trace.symbol("recover"),
      hypercall: trace.symbol("hypercall"),
      inject: trace.symbol("inject"),
      message: trace.symbol("message"),
      ioapic: trace.symbol("ioapic-emulate"),
    }
    k.exits.handler = this
  }

  /** VM exit + `ns` of handling + VM entry, as one piece of work. */
  private simple(ns: number): number {
    return this.vmExitNs + ns + this.vmEntryNs
  }

  start(k: Kernel, p: Pcpu, reason: number, qualification: number): number {
    this.exitsByReason.set(reason, (this.exitsByReason.get(reason) ?? 0) + 1)
    let action: keyof typeof this.actions
    let task: MonitorTask | null = null
    let ns = 0
    switch (reason) {
      case R.EptViolation: {
        this.eptViolations++
        const io = this.ioPartition(k, p, qualification)
        if (io >= 0) {
          action = "ioapic"
          ns = io
          break
        }
        task = this.faultHandler?.onFault(k, p, reason, qualification) ?? null
        if (task !== null) {
          action = "recover"
          break
        }
        const policy = this.options.onEptViolation
        if (policy === "recover") {
          // No recovery engine claims it: behave as "skip".
          action = "skip"
        } else if (policy === "killThread") {
          action = "kill"
          k.exits.killStopped(p)
        } else {
          action = "skip"
        }
        if (action === "skip") k.exits.resolveStopped(p, k.exits.stoppedThread(p)?.failValue)
        ns = this.simple(this.violationNs)
        break
      }
      case R.Vmcall:
      case R.Cpuid: {
        this.hypercalls++
        action = "hypercall"
        const h = this.hypercallHandlers.get(qualification)
        task = h?.(k, p, qualification) ?? null
        if (task === null) {
          if (reason === R.Cpuid && this.faultHandler !== null) {
            // CPUID forced by a fault handler: the explicit detection trigger (paper §3.7, note 4).
            task = this.faultHandler.onFault(k, p, reason, qualification)
            if (task !== null) action = "recover"
          }
          if (task === null) {
            k.exits.resolveStopped(p, undefined)
            ns = this.simple(this.hypercallNs)
          }
        }
        break
      }
      case R.ExternalInterrupt:
        this.injections++
        action = "inject"
        ns = this.simple(this.injectNs)
        break
      case MESSAGE_EXIT:
        action = "message"
        task = this.faultHandler?.onMessage(k, p, qualification) ?? null
        if (task === null) ns = this.simple(0)
        break
      default:
        action = "skip"
        k.exits.resolveStopped(p, undefined)
        ns = this.simple(0)
    }
    this.trace.emit4(this.kExit, this.subject, p.index, reason, reason === R.EptViolation ? Ept.qualificationAddress(qualification) : qualification, this.actions[action])
    if (task !== null) return this.begin(k, p, task)
    return ns
  }

  next(k: Kernel, p: Pcpu): number {
    const t = this.running[p.index] ?? null
    if (t === null) return -1
    const ns = t.next(k, p)
    if (ns >= 0) return ns
    return this.advance(k, p)
  }

  /** Queues `task` on `p` (it starts when the task in progress ends). */
  enqueue(p: Pcpu, task: MonitorTask): void {
    if (this.running[p.index] === null) this.running[p.index] = task
    else this.queued[p.index]!.push(task)
  }

  private begin(k: Kernel, p: Pcpu, task: MonitorTask): number {
    this.running[p.index] = task
    const ns = task.start(k, p)
    if (ns >= 0) return ns
    return this.advance(k, p)
  }

  private advance(k: Kernel, p: Pcpu): number {
    const q = this.queued[p.index]!
    const nextTask = q.shift()
    if (nextTask === undefined) {
      this.running[p.index] = null
      return -1
    }
    return this.begin(k, p, nextTask)
  }

  /**
   * I/O partitioning: a thread's 4-byte write to the read-only I/O APIC page is performed by the
   * monitor (grant, single-step, restore) unless the selected register is denied to this sandbox.
   * Returns the ns of monitor work, or -1 when this exit is not such a write.
   */
  private ioPartition(k: Kernel, p: Pcpu, qualification: number): number {
    if (!this.options.ioPartitioning) return -1
    const gpa = Ept.qualificationAddress(qualification)
    const base = k.machine.layout.ioapicBase
    if (Math.floor(gpa / PhysicalMemory.PAGE_BYTES) !== base / PhysicalMemory.PAGE_BYTES || (Ept.qualificationAccess(qualification) & Ept.Access.Write) === 0) return -1
    const th = k.exits.stoppedThread(p)
    const req = th?.req
    if (th === null || req === undefined || req === null || req.op !== Program.Op.Write || req.size !== 4) return -1
    const done = this.blacklist.emulateWrite(k.machine.ioapic, k.sandbox, gpa - base, req.value)
    if (done) this.ioapicWrites++
    else this.ioapicDenied++
    k.exits.resolveStopped(p, done)
    return this.simple(this.singleStepNs)
  }

  /** VM exit cost, ns. */
  get exitNs(): number {
    return this.vmExitNs
  }

  /** VM entry cost, ns. */
  get entryNs(): number {
    return this.vmEntryNs
  }
}
