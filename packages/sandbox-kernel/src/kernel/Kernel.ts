/**
 * The sandbox kernel: threads whose behaviour is a generator program, stepped on the sandbox's
 * cores under a per-core {@link PcpuScheduler} wired to the core's LAPIC one-shot timer; the sleep
 * queue; system-call, memory-access, I/O, fork/exit/waitpid costs; interrupt dispatch (top halves
 * in interrupt context, charged to whichever VCPU was current — spec §C.1 accounting); and the
 * hand-off of VM exits to the sandbox's monitor.
 *
 * How a core is driven (one {@link Pcpu} per core):
 * - a scheduler invocation (`invokeNow`) charges the current VCPU, picks a thread, arms the LAPIC
 *   timer at the decision's time (converted from the sandbox's local clock to global time) and
 *   resumes the thread: its pending CPU cost runs as core work (`core.startWork`); when it
 *   completes, the request's effect is applied and the generator is stepped to the next request,
 *   zero-time requests in the same instant;
 * - an interrupt suspends the running thread's work (`core.preempt`), runs the handler's phases as
 *   core work with interrupts disabled (the LAPIC holds newer vectors), then either invokes the
 *   scheduler (a wakeup asked for preemption, or the timer handler ran) or resumes the thread;
 * - a VM exit (an EPT violation raised by the hardware during a memory effect, a hypercall, an
 *   exit the hypervisor baseline forces) stops the core until the monitor's work ends with a VM
 *   entry; the monitor then resolves what was stopped.
 *
 * Invariants:
 * - the scheduler sees only this sandbox's local clock (F18): every time passed to it is
 *   `tsc.localNs(now)`; timer deadlines go back to global time through `tsc.globalAt`;
 * - a thread executes its CPU cost only while it is the scheduler's current thread and the core is
 *   in guest mode with no handler running; its progress is exactly the wall time it held the core;
 * - at most one piece of core work is outstanding per core (the core model asserts it);
 * - the kernel itself never causes a VM exit: only memory effects through the EPT, hypercalls,
 *   migrations, recovery and the hypervisor baseline do (F17);
 * - with `kernel.checkInvariants`, every core's scheduler is checked at every wakeup and decision
 *   (vcpu-sched `Invariants`), knowing the core's clock and the time it held interrupts (handlers,
 *   monitor), during which the scheduler cannot run.
 *
 * NOTE: hot path (stepping, dispatch, interrupts) uses integer activity codes, reused per-thread
 * records and handler ids registered once; no closure or promise per event.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import type { Machine as MachineNs } from "@qvsim/hardware"
import { Invariants, PcpuScheduler as PcpuSchedulerNs, Schedule as ScheduleNs, type Options as SchedOptions } from "@qvsim/vcpu-sched"
import * as Program from "../Program.ts"
import type { KernelOptions } from "../Options.ts"
import { IntRing } from "../internal/IntRing.ts"
import { JobStats, type JobRow } from "./Jobs.ts"
import { KernelTrace } from "./KernelTrace.ts"
import { Activity, Pcpu, SEGMENT_IRQ, SEGMENT_MONITOR } from "./Pcpu.ts"
import { Thread, ThreadStatus, type ThreadSpec } from "./Thread.ts"
import type { IrqHandler } from "./Interrupts.ts"
import type { ExitHandler } from "./Exits.ts"

type Machine = MachineNs.Machine
type PcpuScheduler = PcpuSchedulerNs.PcpuScheduler
const PcpuScheduler = PcpuSchedulerNs.PcpuScheduler
const Schedule = ScheduleNs.Schedule

/** Core work tags. */
const W_THREAD = 1, W_IRQ = 2, W_MONITOR = 3, W_OVERHEAD = 4
/** Effect outcomes. */
const O_DONE = 0, O_BLOCKED = 1, O_STOPPED = 2, O_AGAIN = 3

/** Internal request: block until `Kernel.wake` (returns at once if a wake is already pending). */
const OP_BLOCK = 100
const BLOCK = Object.freeze({ op: OP_BLOCK }) as unknown as Program.Request

/** A VCPU as configured in the sandbox. */
export interface VcpuSpec {
  readonly kind: "main" | "io"
  readonly name: string
  readonly budgetNs: number
  readonly periodNs: number
  /** Device-class mask (I/O VCPUs). */
  readonly classMask: number
  /** Index of the core within the sandbox's cores. */
  readonly core: number
}


/** A channel as the kernel drives it (mailboxes, private channels). */
export interface ChannelOps {
  /** Begins `req` for `th`: ns of CPU before `finish` (it may act at once, e.g. write a type word). */
  begin(k: Kernel, p: Pcpu, th: Thread, req: Program.Send | Program.Poll | Program.Recv | Program.PollUntilChanged): number
  /** Completes it: 0 done (result in `th.result`), 1 blocked, 2 stopped (VM exit), 3 again (`th.remainingNs` set). */
  finish(k: Kernel, p: Pcpu, th: Thread): number
}

/** Migration as the kernel drives it (D.10). */
export interface MigrationOps {
  /** `th` asks to move to `sandbox`: true if the migration starts (the thread is then detached). */
  request(k: Kernel, p: Pcpu, th: Thread, sandbox: number): boolean
}



/** What the kernel is built from. */
export interface KernelDeps {
  readonly sim: Simulation.Simulation
  readonly machine: Machine
  readonly sandbox: number
  /** Machine core indices of the sandbox, ascending. */
  readonly cores: readonly number[]
  readonly options: KernelOptions
  readonly schedOptions: Partial<SchedOptions.SchedulerOptions>
  readonly vcpus: readonly VcpuSpec[]
  /** Record executed segments per core. */
  readonly recordSchedule: boolean
  /** Keep a {@link JobRow} per completed job (`Kernel.jobRows`). */
  readonly recordJobs?: boolean
  /** EPT in use (Quest-V): TLB misses cost the extra walk. */
  readonly eptActive: boolean
  /** Which interrupts exit to the monitor: 0 none (Quest-V), 1 device, 2 all (hypervisor baseline). */
  readonly exitOnInterrupt: 0 | 1 | 2
  /** The sandbox's IP (for thread contexts). */
  readonly ip: number
  /** Replace a PCPU scheduler (tests inject broken variants). */
  readonly makeScheduler?: ((core: number) => PcpuScheduler | undefined) | undefined
}


/** The message of anything a program threw (it may throw a non-Error). */
const errorText = (e: unknown): string => (e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message.split("\n")[0]}` : String(e))

/** A short JSON rendering of a bad request (it may be cyclic or hold a bigint). */
const safeJson = (v: unknown): string => {
  try {
    const text = JSON.stringify(v) ?? String(v)
    return text.length > 80 ? `${text.slice(0, 80)}…` : text
  } catch {
    return String(v)
  }
}

export class Kernel {
  readonly sim: Simulation.Simulation
  readonly machine: Machine
  readonly sandbox: number
  readonly options: KernelOptions
  readonly pcpus: Pcpu[] = []
  /** Core index → PCPU (undefined for other sandboxes' cores). */
  readonly pcpuOfCore: (Pcpu | undefined)[] = []
  readonly vcpus: readonly VcpuSpec[]
  /** Scheduler VCPU index of each sandbox VCPU. */
  readonly schedIndexOf: number[] = []
  readonly threads: Thread[] = []
  readonly ip: number
  /** Guest-physical base of the sandbox's slice and of its bytes-backed data area. */
  readonly sliceBase: number
  readonly dataBase: number
  readonly eptActive: boolean
  readonly exitOnInterrupt: 0 | 1 | 2
  readonly timerVector: number
  /**
   * The longest delay the LAPIC's 32-bit initial count holds (`timerMaxTicks · timerTickNs`): a
   * longer wait (possible when the 1 ms timer rule is off) is armed in steps, the scheduler
   * re-arming at each expiry, as a kernel must with a hardware counter (Quest's own cap is the
   * 1 ms quantum, vcpu.c).
   */
  readonly timerMaxDelayNs: number
  /** Interrupt handlers by vector. */
  readonly irqHandlers: (IrqHandler | undefined)[] = new Array<IrqHandler | undefined>(256).fill(undefined)
  exitHandler: ExitHandler | null = null
  channelOps: (name: string) => ChannelOps | undefined = () => undefined
  migration: MigrationOps | null = null
  /** Vectors that never exit even in the hypervisor baseline (monitor-to-monitor IPIs). */
  readonly directVectors = new Set<number>()
  // costs, ns
  readonly syscallNs: number
  readonly memAccessNs: number
  readonly timerIrqNs: number
  readonly eptWalkNs: number
  readonly trace: KernelTrace
  // I/O services: per sandbox VCPU, the service thread (or null)
  readonly ioService: (Thread | null)[] = []
  readonly ioJobs: IoQueue[] = []
  /** Handlers of non-user I/O jobs by kind (kind 0 = user request). */
  readonly ioJobHandlers: ((k: Kernel, p: Pcpu, arg: number) => void)[] = []
  /** Completed jobs of periodic threads, when recorded (`recordJobs`), else null. */
  readonly jobRows: JobRow[] | null
  private nextPid = 1
  private readonly procs = new Map<number, Thread>()
  private readonly hInvoke: number
  private readonly hWake: number
  private readonly hIoDone: number
  private started = false

  constructor(d: KernelDeps) {
    this.sim = d.sim
    this.machine = d.machine
    this.sandbox = d.sandbox
    this.options = d.options
    this.vcpus = d.vcpus
    this.ip = d.ip
    this.sliceBase = d.machine.layout.slices[d.sandbox]!.base
    this.dataBase = this.sliceBase + d.machine.layout.kernelImageBytes
    this.eptActive = d.eptActive
    this.exitOnInterrupt = d.exitOnInterrupt
    this.timerVector = d.machine.config.lapic.timerVector
    this.timerMaxDelayNs = d.machine.config.lapic.timerMaxTicks * d.machine.config.lapic.timerTickNs
    const costs = d.machine.costs
    const hz = costs.hz
    this.syscallNs = d.options.syscallEntry === "sysenter" ? costs.ns.syscallSysenter : d.options.syscallEntry === "int" ? costs.ns.syscallInt : 0
    this.memAccessNs = costs.toNs(d.options.memAccessCycles)
    this.timerIrqNs = costs.toNs(d.options.timerIrqCycles)
    this.eptWalkNs = d.eptActive ? costs.ns.eptWalkExtra : 0
    void hz
    this.trace = new KernelTrace(d.sim.trace, d.sandbox)
    d.cores.forEach((c, i) => {
      const core = d.machine.cores[c]!
      const sched = d.makeScheduler?.(c) ?? new PcpuScheduler(d.schedOptions)
      const p = new Pcpu(i, core, sched, d.recordSchedule ? new Schedule(c, true) : null)
      this.pcpus.push(p)
      this.pcpuOfCore[c] = p
    })
    for (const v of d.vcpus) {
      const p = this.pcpus[v.core]
      if (p === undefined) throw new RangeError(`sandbox ${d.sandbox}: VCPU "${v.name}" on core ${v.core} of ${this.pcpus.length}`)
      const local0 = p.tsc.localNs(d.sim.now)
      const si = v.kind === "io" ? p.sched.addIoVcpu(v.budgetNs, v.periodNs, local0) : p.sched.addMainVcpu(v.budgetNs, v.periodNs, local0)
      this.schedIndexOf.push(si)
      p.vcpuOfSched[si] = this.schedIndexOf.length - 1
      p.freeSched[si] = []
      this.ioService.push(null)
      this.ioJobs.push(new IoQueue())
    }
    this.jobRows = d.recordJobs === true ? [] : null
    if (d.options.checkInvariants) for (const p of this.pcpus) this.checkScheduler(p)
    this.ioJobHandlers.push(() => {})
    this.hInvoke = d.sim.register(`sandbox${d.sandbox}.invoke`, (pi) => this.invokeNow(this.pcpus[pi]!))
    this.hWake = d.sim.register(`sandbox${d.sandbox}.wake`, (tid, gen) => this.onSleepTimer(tid, gen))
    this.hIoDone = d.sim.register(`sandbox${d.sandbox}.ioDone`, (tid, wait) => this.onIoDone(tid, wait))
    // I/O VCPUs get their service threads.
    d.vcpus.forEach((v, i) => {
      if (v.kind === "io") this.ioService[i] = this.spawnService(i)
    })
  }

  /** Hangs vcpu-sched's invariant checker on `p`'s scheduler, with this core's clock and held time. */
  private checkScheduler(p: Pcpu): void {
    const lapic = this.machine.config.lapic
    Invariants.attach(p.sched, {
      fail: (message, v) => {
        const sv = v >= 0 ? p.vcpuOfSched[v] : undefined
        const name = sv === undefined ? "" : ` VCPU ${sv} "${this.vcpus[sv]!.name}"`
        this.sim.fail(`sandbox ${this.sandbox} core ${p.core.index}${name}: ${message}`)
      },
      globalNowNs: () => this.sim.now,
      globalAt: (local) => p.tsc.globalAt(local),
      heldNs: () => this.heldNs(p),
      timerSlackNs: lapic.timerTickNs - 1 + lapic.timerLatencyNs,
    })
  }

  /** ns `p`'s core has spent, up to now, in interrupt context and in the monitor (the scheduler cannot run there). */
  heldNs(p: Pcpu): number {
    const now = this.sim.now
    let ns = p.irqNs + p.monitorNs
    if (p.activity === Activity.Irq && p.irq !== null) ns += now - p.irqStartNs
    else if (p.activity === Activity.Monitor) ns += now - p.monitorStartNs
    return ns
  }

  /** Starts the cores: a first scheduler invocation on each at the current time. */
  start(): void {
    if (this.started) return
    this.started = true
    for (const p of this.pcpus) this.sim.at(this.sim.now, Simulation.EventClass.Scheduler, this.hInvoke, p.index)
  }

  /** The local time (TSC, ns) of `p`'s core now. */
  localNow(p: Pcpu): number {
    return p.tsc.localNs(this.sim.now)
  }

  // ------------------------------------------------------------------ threads

  /** Adds a thread (at construction or at run time); it becomes runnable at its `startNs` (local). */
  addThread(spec: ThreadSpec, parent: Thread | null = null): Thread {
    const v = this.vcpus[spec.vcpu]
    if (v === undefined) throw new RangeError(`sandbox ${this.sandbox}: thread "${spec.name}" on VCPU ${spec.vcpu}, which does not exist`)
    const p = this.pcpus[v.core]!
    const si = this.schedIndexOf[spec.vcpu]!
    const schedId = p.freeSched[si]!.pop() ?? p.sched.addThread(si)
    const tid = this.threads.length
    const pid = this.nextPid++
    const ctx: Program.ThreadContext = spec.adoptCtx ?? {
      sandbox: this.sandbox,
      name: spec.name,
      pid,
      rng: this.sim.rng(`sandbox${this.sandbox}/thread/${spec.name}`),
      ip: this.ip,
      dataBase: this.dataBase,
      sliceBase: this.sliceBase,
    }
    let gen: Generator<Program.Request, unknown, unknown>
    const who = `sandbox ${this.sandbox} thread "${spec.name}"`
    const problem = Program.programProblem(spec.program)
    if (problem !== undefined) throw new Program.ProgramError(`${who}: its program ${problem}`)
    try {
      gen = spec.program(ctx)
    } catch (e) {
      throw new Program.ProgramError(`${who}: its program threw when called: ${errorText(e)}`)
    }
    if (gen === null || typeof gen !== "object" || typeof gen.next !== "function") {
      throw new Program.ProgramError(`${who}: program must be a generator function (function*)`)
    }
    const th = new Thread(tid, spec.name, pid, spec.user, p, spec.vcpu, schedId, ctx, gen, spec.pages ?? this.options.processPages)
    th.parent = parent
    p.bySched[schedId] = th
    this.threads.push(th)
    this.procs.set(pid, th)
    if (spec.periodic !== undefined) {
      th.periodNs = spec.periodic.periodNs
      th.deadlineNs = spec.periodic.deadlineNs ?? spec.periodic.periodNs
      th.firstReleaseNs = spec.startNs + spec.periodic.offsetNs
      th.nextReleaseNs = th.firstReleaseNs
    }
    const local = this.localNow(p)
    if (spec.startNs === Infinity) return th // adopted: the caller wakes it
    if (spec.startNs <= local) {
      th.status = ThreadStatus.Runnable
      this.schedWake(p, th)
    } else {
      this.sleepThread(p, th, spec.startNs)
    }
    return th
  }

  /**
   * Adopts a thread migrated from another sandbox (spec §D.10 step 5): a new record on VCPU
   * `vcpu` running the same generator, its context re-pointed at this sandbox; it is runnable now
   * and its pending `migrate` request returns `true`. A periodic thread keeps its releases and its
   * active job, their times shifted by `shiftNs` (this clock minus the source's).
   */
  adoptThread(from: Thread, vcpu: number, shiftNs = 0): Thread {
    const ctx = from.ctx as { -readonly [K in keyof Program.ThreadContext]: Program.ThreadContext[K] }
    ctx.sandbox = this.sandbox
    ctx.ip = this.ip
    ctx.dataBase = this.dataBase
    ctx.sliceBase = this.sliceBase
    const gen = from.gen
    const th = this.addThread({ name: from.name, vcpu, program: () => gen, startNs: Infinity, user: from.user, pages: from.pages, adoptCtx: ctx })
    th.result = true
    th.periodNs = from.periodNs
    th.deadlineNs = from.deadlineNs
    if (from.periodNs > 0) {
      th.firstReleaseNs = from.firstReleaseNs + shiftNs
      th.nextReleaseNs = from.nextReleaseNs + shiftNs
      th.jobActive = from.jobActive
      th.jobReleaseNs = from.jobReleaseNs + shiftNs
      th.jobFirstStartNs = from.jobFirstStartNs < 0 ? -1 : from.jobFirstStartNs + shiftNs
      th.jobPreemptions = from.jobPreemptions
      // The active job is finished (and counted) here; the earlier ones stay the source's.
      th.jobBase = from.jobBase + from.stats.started - (from.jobActive ? 1 : 0)
      th.stats.started = from.jobActive ? 1 : 0
    }
    th.status = ThreadStatus.Runnable
    this.schedWake(th.pcpu, th)
    return th
  }

  /** Takes `th` (the running thread, which has just asked to migrate) off its VCPU for good. */
  detachThread(th: Thread): void {
    th.status = ThreadStatus.Detached
    th.pending = false
    if (th.pcpu.current === th) this.retiring.push(th)
    else this.releaseSlot(th.pcpu, this.schedIndexOf[th.vcpu]!, th.schedId)
  }

  /** Marks a detached thread as moved away (its record stays for statistics). */
  markMigrated(th: Thread): void {
    th.status = ThreadStatus.Migrated
    th.gen = FINISHED
  }

  /** The thread named `name`, or undefined. */
  threadNamed(name: string): Thread | undefined {
    for (const th of this.threads) if (th.name === name && th.status !== ThreadStatus.Migrated) return th
    return undefined
  }

  /** The request a library program yields to block until {@link wake}. */
  static blockRequest(): Program.Request {
    return BLOCK
  }

  /** Wakes `th` from a kernel block (or remembers the wake if it is not blocked). */
  wake(th: Thread): void {
    if (th.status === ThreadStatus.Blocked) {
      th.status = ThreadStatus.Runnable
      this.schedWake(th.pcpu, th)
    } else {
      th.wakePending = true
    }
  }

  /** Kills `th` (a fault): it ends at once if blocked, else at its next dispatch. */
  kill(th: Thread): void {
    if (th.status === ThreadStatus.Exited || th.status === ThreadStatus.Migrated) return
    th.killed = true
    if (th.status === ThreadStatus.Sleeping) this.unsleep(th)
    if (th.status !== ThreadStatus.Runnable && th.status !== ThreadStatus.Detached) this.finishExit(th, -9)
  }

  private schedWake(p: Pcpu, th: Thread): void {
    if (p.sched.wakeup(th.schedId, this.localNow(p)) && this.started) this.requestInvoke(p)
  }

  // ------------------------------------------------------------------ invocation

  /** Asks for a scheduler invocation on `p` as soon as the core can take it (now if it runs a thread or idles). */
  requestInvoke(p: Pcpu): void {
    switch (p.activity) {
      case Activity.Idle:
        this.invokeNow(p)
        return
      case Activity.Thread:
      case Activity.Overhead:
        this.suspendThread(p)
        this.invokeNow(p)
        return
      default:
        p.invokeWanted = true
    }
  }

  /** Runs the scheduler on `p` now and applies its decision. */
  invokeNow(p: Pcpu): void {
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) this.suspendThread(p)
    p.invokeWanted = false
    p.invocations++
    const now = this.sim.now
    const local = p.tsc.localNs(now)
    const d = p.sched.invoke(local)
    const th = d.thread >= 0 ? p.bySched[d.thread]! : null
    const prev = p.current
    // A started job that could go on loses the core: one preemption.
    if (prev !== null && prev !== th && prev.jobFirstStartNs >= 0 && prev.status === ThreadStatus.Runnable && prev.jobActive) prev.jobPreemptions++
    p.current = th
    if (this.retiring.length > 0) this.recycleRetired()
    p.currentVcpu = d.vcpu >= 0 ? p.vcpuOfSched[d.vcpu]! : -1
    this.trace.dispatch(p.index, p.currentVcpu, th === null ? -1 : th.tid, d.timerAtNs === Infinity ? -1 : d.timerAtNs, d.budgetNs)
    if (d.timerAtNs === Infinity) p.lapic.cancelTimer()
    else p.lapic.armTimer(Math.min(this.timerMaxDelayNs, Math.max(0, p.tsc.globalAt(d.timerAtNs) - now)))
    if (th === null) {
      p.activity = Activity.Idle
      return
    }
    th.dispatches++
    if (d.runFromNs > local) {
      p.activity = Activity.Overhead
      p.core.startWork(Math.max(0, p.tsc.globalAt(d.runFromNs) - now), W_OVERHEAD)
      return
    }
    this.runCurrent(p)
  }

  /** Stops the current thread's CPU work (an interrupt, a preemption), keeping what is left. */
  private suspendThread(p: Pcpu): void {
    if (p.activity === Activity.Overhead) {
      p.core.preempt()
      p.activity = Activity.Idle
      return
    }
    const th = p.current!
    const left = p.core.preempt()
    const now = this.sim.now
    if (left >= 0) {
      th.cpuNs += th.remainingNs - left
      th.remainingNs = left
    }
    this.ran(p, th, now)
    p.activity = Activity.Idle
  }

  /** `th` executed on `p` from `th.runStartNs` to `now`: its segment, and its job's first start. */
  private ran(p: Pcpu, th: Thread, now: number): void {
    if (th.jobFirstStartNs < 0 && th.jobActive && now > th.runStartNs) th.jobFirstStartNs = p.tsc.localNs(th.runStartNs)
    if (p.schedule !== null) p.schedule.add(th.runStartNs, now, p.currentVcpu, th.tid, jobOf(th))
  }

  // ------------------------------------------------------------------ stepping

  /**
   * Steps the current thread until it must compute (core work), blocks, stops or is preempted.
   * NOTE: zero-time requests (`now`, effects whose cost is 0) are chained in this loop within the
   * same event instead of one event each.
   */
  private runCurrent(p: Pcpu): void {
    const th = p.current!
    p.activity = Activity.Step
    if (th.killed) {
      this.finishExit(th, -9)
      this.blockCurrent(p, th)
      return
    }
    if (th.status === ThreadStatus.Detached || th.status === ThreadStatus.Migrated) {
      this.blockCurrent(p, th)
      return
    }
    let guard = 0
    for (;;) {
      if (th.remainingNs > 0) {
        p.activity = Activity.Thread
        th.runStartNs = this.sim.now
        p.core.startWork(th.remainingNs, W_THREAD)
        return
      }
      if (th.stopped) {
        // Resumed by the monitor without a resolution: the effect failed.
        th.stopped = false
        th.pending = false
        th.result = th.failValue
      }
      if (th.pending) {
        const o = this.finish(p, th)
        if (o === O_BLOCKED) {
          this.blockCurrent(p, th)
          return
        }
        if (o === O_STOPPED) {
          th.stopped = true
          p.activity = Activity.ExitWait
          return
        }
        if (o === O_AGAIN) continue
      }
      if (p.invokeWanted) {
        this.invokeNow(p)
        return
      }
      if (++guard > this.options.maxZeroTimeSteps) {
        this.misuse(th, `made ${guard - 1} requests without using any time (a program that never computes or sleeps?)`)
      }
      let r: IteratorResult<Program.Request, unknown>
      try {
        r = th.gen.next(th.result)
      } catch (e) {
        this.misuse(th, `its program threw: ${errorText(e)}`)
      }
      th.result = undefined
      if (r.done === true) {
        this.finishExit(th, typeof r.value === "number" ? r.value : 0)
        this.blockCurrent(p, th)
        return
      }
      const req = r.value
      if (typeof req !== "object" || req === null) {
        this.misuse(th, typeof (r as { then?: unknown }).then === "function"
          ? "its program is async (a program must be a generator function, function*)"
          : `yielded ${String(req)}, which is not a request (use the Program constructors)`)
      }
      this.begin(p, th, req)
    }
  }

  /** Stops the run on a program's misuse (see `Program.ProgramError`), naming the thread and the time. */
  misuse(th: { readonly name: string }, message: string): never {
    throw new Program.ProgramError(`sandbox ${this.sandbox} thread "${th.name}": ${message} (at t=${this.sim.now}ns)`)
  }

  /** The current thread stops being runnable: tell the scheduler and invoke it. */
  private blockCurrent(p: Pcpu, th: Thread): void {
    p.sched.block(th.schedId, this.localNow(p))
    this.invokeNow(p)
  }

  /** Starts request `req`: sets the CPU cost and marks its effect pending, or sets the result at once. */
  private begin(p: Pcpu, th: Thread, req: Program.Request): void {
    th.req = req
    th.pending = true
    const sys = th.user ? this.syscallNs : 0
    switch (req.op) {
      case Program.Op.Compute:
        th.remainingNs = req.ns
        th.pending = false
        return
      case Program.Op.Sleep:
      case Program.Op.SleepUntil:
      case Program.Op.WaitJob:
      case Program.Op.Io:
      case Program.Op.Migrate:
        th.remainingNs = sys
        return
      case Program.Op.Syscall:
        th.remainingNs = sys + this.machine.costs.toNs(req.cycles)
        th.pending = false
        return
      case Program.Op.Read:
      case Program.Op.Write:
        th.remainingNs = this.memAccessNs
        return
      case Program.Op.WriteBytes:
        th.remainingNs = this.memAccessNs + this.machine.costs.copyNs(req.length)
        return
      case Program.Op.Send:
      case Program.Op.Poll:
      case Program.Op.Recv:
      case Program.Op.PollUntilChanged: {
        const ops = this.channelOps(req.channel)
        if (ops === undefined) this.misuse(th, `no channel "${req.channel}" in sandbox ${this.sandbox}`)
        th.effectObj = ops
        th.effectState = 0
        th.remainingNs = ops.begin(this, p, th, req)
        return
      }
      case Program.Op.Fork: {
        const pages = req.pages >= 0 ? req.pages : th.pages
        const o = this.options
        const cycles = o.forkBaseCycles + pages * o.forkPageCycles
        th.remainingNs = sys + this.machine.costs.toNs(cycles) + pages * o.forkTlbMissesPerPage * this.eptWalkNs
        return
      }
      case Program.Op.Exit:
        th.remainingNs = sys + this.machine.costs.toNs(this.options.exitCycles)
        return
      case Program.Op.Waitpid:
        th.remainingNs = sys + this.machine.costs.toNs(this.options.waitpidCycles)
        return
      case Program.Op.Hypercall:
        th.remainingNs = 0
        return
      case Program.Op.Now:
        th.result = this.localNow(p)
        th.pending = false
        th.remainingNs = 0
        return
      case Program.Op.KernelCall:
        th.remainingNs = req.costNs
        return
      case Program.Op.TlbMisses:
        th.remainingNs = req.count * this.eptWalkNs
        th.pending = false
        return
      default:
        if ((req as { op: number }).op === OP_BLOCK) {
          th.remainingNs = 0
          return
        }
        this.misuse(th, `yielded ${safeJson(req)}, which is not a request (use the Program constructors)`)
    }
  }

  /** Applies the pending effect of `th`'s request (its CPU cost is done). */
  private finish(p: Pcpu, th: Thread): number {
    const req = th.req!
    th.pending = false
    switch (req.op) {
      case Program.Op.Sleep:
        this.sleepThread(p, th, this.localNow(p) + req.ns)
        return O_BLOCKED
      case Program.Op.SleepUntil:
        if (req.localNs <= this.localNow(p)) return O_DONE
        this.sleepThread(p, th, req.localNs)
        return O_BLOCKED
      case Program.Op.WaitJob:
        return this.waitJob(p, th)
      case Program.Op.Read: {
        th.failValue = -1
        let v: number
        try {
          v = this.machine.read(p.core.index, req.gpa, req.size)
        } catch (e) {
          this.misuse(th, `read at ${req.gpa}: ${errorText(e)}`)
        }
        if (p.core.inVmxRoot) return this.stop(th)
        th.result = v
        return O_DONE
      }
      case Program.Op.Write: {
        th.failValue = false
        const ok = this.machine.write(p.core.index, req.gpa, req.size, req.value)
        if (p.core.inVmxRoot) return this.stop(th)
        th.result = ok
        return O_DONE
      }
      case Program.Op.WriteBytes: {
        th.failValue = false
        const buf = fillBuffer(req.length, req.fill)
        const ok = this.machine.writeBytes(p.core.index, req.gpa, buf, 0, req.length)
        if (p.core.inVmxRoot) return this.stop(th)
        th.result = ok
        return O_DONE
      }
      case Program.Op.Io:
        return this.startIo(p, th, req)
      case Program.Op.Send:
      case Program.Op.Poll:
      case Program.Op.Recv:
      case Program.Op.PollUntilChanged: {
        const o = (th.effectObj as ChannelOps).finish(this, p, th)
        if (o === O_STOPPED) return this.stop(th)
        if (o === O_AGAIN || o === O_BLOCKED) th.pending = true
        return o
      }
      case Program.Op.Fork:
        th.result = this.forkChild(th, req)
        return O_DONE
      case Program.Op.Exit:
        this.finishExit(th, req.code)
        return O_BLOCKED
      case Program.Op.Waitpid:
        return this.waitpid(th, req.pid)
      case Program.Op.Hypercall:
        th.failValue = undefined
        p.core.vmExit(18 /* VMCALL */, req.number)
        return this.stop(th)
      case Program.Op.Migrate: {
        const m = this.migration
        if (m === null || req.sandbox === this.sandbox) {
          th.result = req.sandbox === this.sandbox
          return O_DONE
        }
        if (!m.request(this, p, th, req.sandbox)) {
          th.result = false
          return O_DONE
        }
        return O_BLOCKED
      }
      case Program.Op.KernelCall:
        th.result = req.fn(th.ctx)
        if (p.core.inVmxRoot) return this.stop(th)
        return th.status === ThreadStatus.Runnable ? O_DONE : O_BLOCKED
      default:
        if ((req as { op: number }).op === OP_BLOCK) {
          if (th.wakePending) {
            th.wakePending = false
            return O_DONE
          }
          th.status = ThreadStatus.Blocked
          return O_BLOCKED
        }
        return O_DONE
    }
  }

  private stop(th: Thread): number {
    th.pending = true
    return O_STOPPED
  }

  // ------------------------------------------------------------------ sleeping and periodic releases

  /** Puts `th` to sleep until local time `wakeLocalNs`. */
  sleepThread(p: Pcpu, th: Thread, wakeLocalNs: number): void {
    th.status = ThreadStatus.Sleeping
    th.wakeLocalNs = wakeLocalNs
    th.sleepGen++
    if (this.options.sleepWakeup === "exact") {
      const at = Math.max(this.sim.now, p.tsc.globalAt(wakeLocalNs))
      this.sim.at(at, Simulation.EventClass.Timer, this.hWake, th.tid, th.sleepGen)
      return
    }
    // Sorted insertion (after equal times: FIFO).
    const at = p.sleepAt
    let i = at.length
    while (i > 0 && at[i - 1]! > wakeLocalNs) i--
    at.splice(i, 0, wakeLocalNs)
    p.sleepers.splice(i, 0, th)
  }

  private unsleep(th: Thread): void {
    th.sleepGen++
    const p = th.pcpu
    const i = p.sleepers.indexOf(th)
    if (i >= 0) {
      p.sleepers.splice(i, 1)
      p.sleepAt.splice(i, 1)
    }
  }

  private onSleepTimer(tid: number, gen: number): void {
    const th = this.threads[tid]
    if (th === undefined || th.sleepGen !== gen || th.status !== ThreadStatus.Sleeping) return
    this.wakeSleeper(th)
  }

  private wakeSleeper(th: Thread): void {
    th.status = ThreadStatus.Runnable
    this.schedWake(th.pcpu, th)
  }

  /** W2: wakes every sleeper due at the core's local time (called by the timer handler). */
  processSleepQueue(p: Pcpu): void {
    const at = p.sleepAt
    if (at.length === 0) return
    const local = this.localNow(p)
    let n = 0
    while (n < at.length && at[n]! <= local) n++
    if (n === 0) return
    const due = p.sleepers.splice(0, n)
    at.splice(0, n)
    for (const th of due) this.wakeSleeper(th)
  }

  private waitJob(p: Pcpu, th: Thread): number {
    if (th.periodNs === 0) this.misuse(th, `called waitJob but has no "periodic" option`)
    const local = this.localNow(p)
    if (th.jobActive) this.completeJob(th, local)
    const r = th.nextReleaseNs
    th.nextReleaseNs = r + th.periodNs
    th.jobReleaseNs = r
    th.jobActive = true
    th.jobFirstStartNs = -1
    th.jobPreemptions = 0
    th.stats.started++
    if (r <= local) return O_DONE
    this.sleepThread(p, th, r)
    return O_BLOCKED
  }

  private completeJob(th: Thread, localNs: number): void {
    const s = th.stats
    const response = localNs - th.jobReleaseNs
    s.completed++
    s.sumResponseNs += response
    if (response > s.maxResponseNs) s.maxResponseNs = response
    const missed = response > th.deadlineNs
    if (missed) s.missed++
    if (this.jobRows !== null) {
      this.jobRows.push({
        thread: th.name, job: th.jobBase + s.started - 1, releaseNs: th.jobReleaseNs, firstStartNs: th.jobFirstStartNs,
        completeNs: localNs, deadlineNs: th.jobReleaseNs + th.deadlineNs, preemptions: th.jobPreemptions,
      })
    }
    th.jobActive = false
    this.trace.job(th.tid, s.completed - 1, response, missed ? 1 : 0)
  }

  // ------------------------------------------------------------------ I/O (PIBS, spec §C.2)

  /** The I/O VCPU (sandbox index) serving device-class `mask`: most shared bits, ties to the highest index; -1 if none. */
  selectIoVcpu(mask: number): number {
    let best = -1
    let bestBits = -1
    for (let i = 0; i < this.vcpus.length; i++) {
      const v = this.vcpus[i]!
      if (v.kind !== "io") continue
      const bits = popcount(v.classMask & mask)
      if (bits >= bestBits) {
        best = i
        bestBits = bits
      }
    }
    return best
  }

  /** The VCPU serving device class `mask`: its I/O VCPU, else the lowest-priority Main VCPU (spec §C.2). */
  ioVcpuFor(mask: number): number {
    const v = this.selectIoVcpu(mask)
    return v >= 0 ? v : this.lowestMain()
  }

  /** The lowest-priority Main VCPU (largest period; ties to the highest index). */
  private lowestMain(): number {
    let best = -1
    for (let i = 0; i < this.vcpus.length; i++) {
      const v = this.vcpus[i]!
      if (v.kind === "main" && (best < 0 || v.periodNs >= this.vcpus[best]!.periodNs)) best = i
    }
    return best
  }

  /** The service thread of VCPU `v` (created on first use for a Main VCPU standing in for I/O). */
  serviceOf(v: number): Thread {
    return this.ioService[v] ?? (this.ioService[v] = this.spawnService(v))
  }

  private spawnService(v: number): Thread {
    const q = this.ioJobs[v]!
    const kernel = this
    const program: Program.Program = function* () {
      for (;;) {
        if (q.length === 0) {
          yield BLOCK
          continue
        }
        const work = q.take()
        if (work > 0) yield Program.compute(work)
        yield q.doneCall
      }
    }
    q.doneCall = Program.kernelCall(() => kernel.ioJobDone(v))
    return this.addThread({ name: `io:${this.vcpus[v]!.name}`, vcpu: v, program, startNs: 0, user: false })
  }

  /**
   * Hands an I/O job to VCPU `ioVcpu`'s service thread with the period of `requesterVcpu`
   * inherited (P1). `kind` 0 is a user request from thread `arg` (device time `delayNs`, `wait`);
   * other kinds call `ioJobHandlers[kind](k, p, arg)` once the work is done.
   */
  submitIo(ioVcpu: number, requesterVcpu: number, workNs: number, kind: number, arg: number, delayNs = 0, wait = false): void {
    const svc = this.serviceOf(ioVcpu)
    this.ioJobs[ioVcpu]!.push(workNs, kind, arg, delayNs, wait ? 1 : 0)
    svc.wakePending = true
    const p = svc.pcpu
    const local = this.localNow(p)
    let preempt: boolean
    if (this.vcpus[ioVcpu]!.kind === "io") {
      const req = this.vcpus[requesterVcpu]
      const period = req === undefined ? this.vcpus[ioVcpu]!.periodNs : p.sched.vcpus[this.schedIndexOf[requesterVcpu]!]!.periodNs
      if (svc.status === ThreadStatus.Blocked) {
        svc.status = ThreadStatus.Runnable
        svc.wakePending = false
      }
      preempt = p.sched.requestIo(this.schedIndexOf[ioVcpu]!, period, svc.schedId, local)
    } else {
      if (svc.status === ThreadStatus.Blocked) {
        svc.status = ThreadStatus.Runnable
        svc.wakePending = false
      }
      preempt = p.sched.wakeup(svc.schedId, local)
    }
    if (preempt && this.started) this.requestInvoke(p)
  }

  private startIo(p: Pcpu, th: Thread, req: Program.Io): number {
    const v = this.ioVcpuFor(req.classMask)
    if (v < 0) this.misuse(th, `an I/O request but the sandbox has no VCPU to serve it`)
    this.submitIo(v, th.vcpu, req.workNs, 0, th.tid, req.delayNs, req.wait)
    if (!req.wait) return O_DONE
    th.status = ThreadStatus.IoWait
    return O_BLOCKED
  }

  private ioJobDone(v: number): void {
    const q = this.ioJobs[v]!
    const kind = q.curKind
    if (kind !== 0) {
      this.ioJobHandlers[kind]!(this, this.pcpus[this.vcpus[v]!.core]!, q.curArg)
      return
    }
    if (q.curWait === 0) return
    if (q.curDelay === 0) this.onIoDone(q.curArg, 1)
    else this.sim.after(q.curDelay, Simulation.EventClass.Device, this.hIoDone, q.curArg, 1)
  }

  private onIoDone(tid: number, wait: number): void {
    const th = this.threads[tid]!
    if (wait === 1 && th.status === ThreadStatus.IoWait) {
      th.status = ThreadStatus.Runnable
      this.schedWake(th.pcpu, th)
    }
  }

  // ------------------------------------------------------------------ processes

  private forkChild(parent: Thread, req: Program.Fork): number {
    const name = req.name !== "" ? req.name : `${parent.name}#${this.nextPid}`
    const child = this.addThread({ name, vcpu: parent.vcpu, program: req.program, startNs: 0, user: parent.user, pages: req.pages >= 0 ? req.pages : parent.pages }, parent)
    this.trace.thread("fork", parent.tid, child.tid)
    return child.pid
  }

  private waitpid(th: Thread, pid: number): number {
    const child = this.procs.get(pid)
    if (child === undefined || child.parent !== th) {
      th.result = -1
      return O_DONE
    }
    if (child.status === ThreadStatus.Exited) {
      th.result = this.reap(child)
      return O_DONE
    }
    th.waitingFor = pid
    th.status = ThreadStatus.WaitChild
    return O_BLOCKED
  }

  private reap(child: Thread): number {
    child.reaped = true
    this.procs.delete(child.pid)
    return child.exitCode
  }

  /** Ends `th` with `code`: wakes a parent waiting for it; frees its scheduler slot for reuse. */
  private finishExit(th: Thread, code: number): void {
    if (th.status === ThreadStatus.Exited) return
    if (th.jobActive) this.completeJob(th, this.localNow(th.pcpu))
    th.status = ThreadStatus.Exited
    th.exitCode = code
    th.remainingNs = 0
    th.pending = false
    th.gen = FINISHED
    this.trace.thread("exit", th.tid, code)
    const parent = th.parent
    if (parent !== null && parent.status === ThreadStatus.WaitChild && parent.waitingFor === th.pid) {
      parent.waitingFor = -1
      parent.result = this.reap(th)
      parent.status = ThreadStatus.Runnable
      this.schedWake(parent.pcpu, parent)
    } else if (parent === null || parent.status === ThreadStatus.Exited) {
      this.procs.delete(th.pid)
    }
    const p = th.pcpu
    const si = this.schedIndexOf[th.vcpu]!
    // The slot is reusable once the scheduler has retired the thread (it is not current any more).
    if (p.current !== th) this.releaseSlot(p, si, th.schedId)
    else this.retiring.push(th)
  }

  private readonly retiring: Thread[] = []

  private releaseSlot(p: Pcpu, si: number, schedId: number): void {
    if (p.bySched[schedId] !== null && p.sched.stateOf(schedId) === 0) {
      p.freeSched[si]!.push(schedId)
      p.bySched[schedId] = null
    }
  }

  /** Scheduler slots of exited threads retired by the latest invocation become reusable. */
  private recycleRetired(): void {
    const r = this.retiring
    for (let i = r.length - 1; i >= 0; i--) {
      const th = r[i]!
      const p = th.pcpu
      if (p.current === th) continue
      this.releaseSlot(p, this.schedIndexOf[th.vcpu]!, th.schedId)
      r.splice(i, 1)
    }
  }

  // ------------------------------------------------------------------ core events (the CoreListener)

  /** A piece of core work completed. */
  onWorkDone(core: number, tag: number): void {
    const p = this.pcpuOfCore[core]!
    if (tag === W_THREAD) {
      const th = p.current!
      th.cpuNs += th.remainingNs
      th.remainingNs = 0
      this.ran(p, th, this.sim.now)
      this.runCurrent(p)
    } else if (tag === W_IRQ) {
      this.continueIrq(p, p.irq!.next(this, p))
    } else if (tag === W_MONITOR) {
      this.continueMonitor(p, this.exitHandler!.next(this, p))
    } else if (tag === W_OVERHEAD) {
      this.runCurrent(p)
    }
  }

  /** The local APIC delivered `vector` on `core` (guest mode, interrupts enabled). */
  onInterrupt(core: number, vector: number): void {
    const p = this.pcpuOfCore[core]!
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) this.suspendThread(p)
    const timer = vector === this.timerVector
    if (this.exitOnInterrupt !== 0 && (this.exitOnInterrupt === 2 || !timer) && !this.directVectors.has(vector)) {
      // Hypervisor baseline: the interrupt exits; the monitor injects it when it is done.
      p.injectVector = vector
      p.activity = Activity.ExitWait
      p.core.vmExit(1 /* external interrupt */, vector)
      return
    }
    this.dispatchVector(p, vector)
  }

  private dispatchVector(p: Pcpu, vector: number): void {
    if (vector === this.timerVector) {
      if (this.timerIrqNs > 0) {
        this.startIrq(p, TIMER_HANDLER, vector)
        return
      }
      this.timerTick(p)
      return
    }
    const h = this.irqHandlers[vector]
    if (h === undefined) {
      // A vector nobody handles (e.g. a NIC interrupt on a sandbox outside the driver): entry cost only.
      this.startIrq(p, SPURIOUS_HANDLER, vector)
      return
    }
    this.startIrq(p, h, vector)
  }

  /** W2: the LAPIC timer handler — process the sleep queue, then run the scheduler. */
  timerTick(p: Pcpu): void {
    // In handler context: wakeups only ask for the invocation that follows anyway.
    p.activity = Activity.Irq
    this.processSleepQueue(p)
    this.invokeNow(p)
  }

  /** Starts interrupt-context work `h` on `p` (the thread, if any, is already suspended). */
  startIrq(p: Pcpu, h: IrqHandler, vector: number): void {
    p.irq = h
    if (vector >= 0) p.irqCount++
    p.irqStartNs = this.sim.now
    p.activity = Activity.Irq
    p.core.setInterruptsEnabled(false)
    const ns = h.start(this, p, vector)
    this.continueIrq(p, ns)
  }

  /** Runs a kernel-context task on `p` as soon as the core is in thread or idle context. */
  runTask(p: Pcpu, task: IrqHandler): void {
    if (p.activity === Activity.Idle || p.activity === Activity.Thread || p.activity === Activity.Overhead) {
      if (p.activity !== Activity.Idle) this.suspendThread(p)
      this.startIrq(p, task, -1)
    } else {
      p.tasks.push(task)
    }
  }

  private continueIrq(p: Pcpu, ns: number): void {
    for (;;) {
      if (p.core.inVmxRoot) {
        p.activity = Activity.ExitWait
        return
      }
      if (ns > 0) {
        p.core.startWork(ns, W_IRQ)
        return
      }
      if (ns < 0) break
      ns = p.irq!.next(this, p)
    }
    this.endIrq(p)
  }

  /** Accounts and records interrupt-context time from `irqStartNs` to now; the next piece starts now. */
  private closeIrqSegment(p: Pcpu): void {
    const now = this.sim.now
    p.irqNs += now - p.irqStartNs
    if (p.schedule !== null) p.schedule.add(p.irqStartNs, now, p.currentVcpu, SEGMENT_IRQ)
    p.irqStartNs = now
  }

  private endIrq(p: Pcpu): void {
    this.closeIrqSegment(p)
    p.irq = null
    const next = p.tasks.shift()
    if (next !== undefined) {
      this.startIrq(p, next, -1)
      return
    }
    p.activity = Activity.Idle
    p.core.setInterruptsEnabled(true)
    this.resume(p)
  }

  /** Back to thread context: invoke if asked, else continue the current thread (or idle). */
  private resume(p: Pcpu): void {
    if (p.invokeWanted) {
      this.invokeNow(p)
      return
    }
    if (p.current !== null) this.runCurrent(p)
    else p.activity = Activity.Idle
  }

  /** The core took a VM exit (listener event, same time). */
  onVmExit(core: number, reason: number, qualification: number): void {
    const p = this.pcpuOfCore[core]!
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) this.suspendThread(p)
    // An exit from interrupt context (e.g. a wild write by a driver): the interrupt-context
    // segment so far is closed here and reopened when the monitor returns to it, so the monitor's
    // time is neither double-counted in irqNs nor recorded as overlapping segments.
    if (p.activity === Activity.Irq) this.closeIrqSegment(p)
    if (p.activity !== Activity.ExitWait && p.activity !== Activity.Irq && p.activity !== Activity.Idle && p.activity !== Activity.Step) {
      this.sim.fail(`sandbox ${this.sandbox} core ${core}: VM exit (reason ${reason}) while the core is in activity ${p.activity}`)
    }
    p.activity = Activity.Monitor
    p.monitorStartNs = this.sim.now
    const h = this.exitHandler
    if (h === null) this.sim.fail(`sandbox ${this.sandbox} core ${core}: VM exit (reason ${reason}) with no monitor`)
    this.continueMonitor(p, h.start(this, p, reason, qualification))
  }

  private continueMonitor(p: Pcpu, ns: number): void {
    for (;;) {
      if (ns > 0) {
        p.core.startWork(ns, W_MONITOR)
        return
      }
      if (ns < 0) break
      ns = this.exitHandler!.next(this, p)
    }
    const now = this.sim.now
    p.monitorNs += now - p.monitorStartNs
    if (p.schedule !== null) p.schedule.add(p.monitorStartNs, now, p.currentVcpu, SEGMENT_MONITOR)
    if (p.core.inVmxRoot) p.core.vmEntry()
    // Back in the guest: inject, continue stopped interrupt-context work, or resume.
    if (p.injectVector >= 0) {
      const v = p.injectVector
      p.injectVector = -1
      p.activity = Activity.Idle
      this.dispatchVector(p, v)
      return
    }
    if (p.irq !== null) {
      p.activity = Activity.Irq
      p.irqStartNs = now
      this.continueIrq(p, p.irq.next(this, p))
      return
    }
    p.activity = Activity.Idle
    this.resume(p)
  }

  /** CPU `th` has executed so far, ns, including the piece running now. */
  executedNs(th: Thread): number {
    const p = th.pcpu
    return th.cpuNs + (p.current === th && p.activity === Activity.Thread ? this.sim.now - th.runStartNs : 0)
  }

  /**
   * Sets what is left of `th`'s current CPU cost to `ns` (another sandbox's write ends a busy-wait
   * early): if it is executing now, its core work is cut and restarted with the new length.
   */
  setRemaining(th: Thread, ns: number): void {
    const p = th.pcpu
    if (p.current === th && p.activity === Activity.Thread) {
      const now = this.sim.now
      const left = p.core.preempt()
      if (left >= 0) th.cpuNs += th.remainingNs - left
      this.ran(p, th, now)
      th.remainingNs = ns
      th.runStartNs = now
      if (ns > 0) {
        p.core.startWork(ns, W_THREAD)
        return
      }
      this.runCurrent(p)
      return
    }
    th.remainingNs = ns
  }

  /** Sets the result of the thread whose effect raised the VM exit being handled on `p` (the monitor resolves it). */
  resolveStopped(p: Pcpu, value: unknown): void {
    const th = p.current
    if (th === null || !th.stopped) return
    th.stopped = false
    th.pending = false
    th.result = value
  }

  /** The stopped thread on `p`, if the exit came from a thread's effect. */
  stoppedThread(p: Pcpu): Thread | null {
    const th = p.current
    return th !== null && th.stopped ? th : null
  }

  /** Kills the thread stopped on `p` (monitor policy `killThread`). */
  killStopped(p: Pcpu): void {
    const th = this.stoppedThread(p)
    if (th === null) return
    th.stopped = false
    th.pending = false
    th.killed = true
  }

  // ------------------------------------------------------------------ metrics

  /** Jobs of periodic threads released but not completed by now (`completeNs` -1), by thread. */
  openJobs(): JobRow[] {
    const out: JobRow[] = []
    for (const th of this.threads) {
      if (th.periodNs === 0 || th.status === ThreadStatus.Migrated || th.status === ThreadStatus.Detached) continue
      const taken = th.jobBase + th.stats.started
      if (th.jobActive) {
        out.push({ thread: th.name, job: taken - 1, releaseNs: th.jobReleaseNs, firstStartNs: th.jobFirstStartNs, completeNs: -1, deadlineNs: th.jobReleaseNs + th.deadlineNs, preemptions: th.jobPreemptions })
      }
      if (th.status === ThreadStatus.Exited) continue
      const released = th.releasedBy(this.localNow(th.pcpu))
      for (let j = taken; j < released; j++) {
        const r = th.firstReleaseNs + j * th.periodNs
        out.push({ thread: th.name, job: j, releaseNs: r, firstStartNs: -1, completeNs: -1, deadlineNs: r + th.deadlineNs, preemptions: 0 })
      }
    }
    return out
  }

  /** VM exits taken by the sandbox's cores. */
  vmExits(): number {
    let n = 0
    for (const p of this.pcpus) n += p.core.vmExits
    return n
  }
}

/** The queue of one I/O VCPU's service thread. */
export class IoQueue {
  private readonly work = new IntRing()
  private readonly kinds = new IntRing()
  private readonly args = new IntRing()
  private readonly delays = new IntRing()
  private readonly waits = new IntRing()
  curKind = 0
  curArg = 0
  curDelay = 0
  curWait = 0
  doneCall: Program.Request = BLOCK
  get length(): number {
    return this.work.length
  }
  push(work: number, kind: number, arg: number, delay: number, wait: number): void {
    this.work.push(work)
    this.kinds.push(kind)
    this.args.push(arg)
    this.delays.push(delay)
    this.waits.push(wait)
  }
  /** Takes the next job; returns its work (ns) and keeps the rest in `cur*`. */
  take(): number {
    this.curKind = this.kinds.shift()
    this.curArg = this.args.shift()
    this.curDelay = this.delays.shift()
    this.curWait = this.waits.shift()
    return this.work.shift()
  }
}

/** The timer handler when its entry costs cycles: the scheduler runs after it. */
const TIMER_HANDLER: IrqHandler = {
  start: (k) => k.timerIrqNs,
  next: (k, p) => {
    k.processSleepQueue(p)
    p.invokeWanted = true
    return -1
  },
}

/** A vector nobody registered: the interrupt entry, nothing else. */
const SPURIOUS_HANDLER: IrqHandler = {
  start: (k) => k.machine.costs.ns.interruptEntry,
  next: () => -1,
}

/** The generator of an exited thread (its own is dropped so it can be collected). */
const FINISHED: Generator<Program.Request, unknown, unknown> = (function* (): Generator<Program.Request, unknown, unknown> { return undefined })()

/** The job a thread is executing (for schedule segments), or -1. */
const jobOf = (th: Thread): number => (th.jobActive ? th.jobBase + th.stats.started - 1 : -1)

const popcount = (x: number): number => {
  let n = 0
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++
  return n
}

let fillCache = new Uint8Array(4096)
const fillBuffer = (length: number, fill: number): Uint8Array => {
  if (fillCache.length < length) fillCache = new Uint8Array(Math.max(length, fillCache.length * 2))
  fillCache.fill(fill, 0, length)
  return fillCache
}

