/**
 * The sandbox kernel: threads whose behaviour is a generator program, stepped on the sandbox's
 * cores under a per-core `PcpuScheduler` wired to the core's LAPIC one-shot timer. This module
 * builds a sandbox's kernel from its rooms and is its public face; each room is one concept in
 * its own file:
 *
 * | room | file | what |
 * |---|---|---|
 * | `lifecycle` | `Threads.ts` | creating, adopting, waking, killing threads; scheduler slots |
 * | `dispatch` | `Dispatch.ts` | scheduler invocation on a PCPU, stepping the current thread |
 * | `requests` | `Requests.ts` | the request table: each op's cost and effect, registered by its owner |
 * | `sleepQueue` | `SleepQueue.ts` | `sleep`, `sleepUntil`, the W2 wakeups |
 * | `jobs` | `Jobs.ts` | `waitJob`, periodic releases, job statistics |
 * | `io` | `IoService.ts` | `io`, PIBS service threads, drivers' jobs |
 * | `processes` | `Processes.ts` | pids, `fork`, `exit`, `waitpid` |
 * | `interrupts` | `Interrupts.ts` | handlers by vector, top halves, kernel-context tasks, the timer |
 * | `exits` | `Exits.ts` | memory effects and hypercalls, VM exits, the monitor hand-off |
 *
 * The per-thread and per-core records are `Thread.ts` and `Pcpu.ts`; trace records `KernelTrace.ts`.
 * The system hands each core event to the kernel that owns the core: `onWorkDone` (by work tag),
 * `onInterrupt`, `onVmExit`.
 *
 * Invariants:
 * - at most one piece of core work is outstanding per core (the core model asserts it);
 * - the rooms are built, and register their requests and handlers, in a fixed order, before any
 *   thread exists (the I/O VCPUs' service threads are the first);
 * - with `kernel.checkInvariants`, every core's scheduler is checked at every wakeup and decision
 *   (vcpu-sched `Invariants`), knowing the core's clock and the time it held interrupts (handlers,
 *   monitor), during which the scheduler cannot run.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import type { Machine as MachineNs } from "@qvsim/hardware"
import { Invariants, type CoreScheduler as CoreSchedulerNs, PcpuScheduler as PcpuSchedulerNs, Schedule as ScheduleNs, type Options as SchedOptions } from "@qvsim/vcpu-sched"
import * as Program from "../Program.ts"
import type { KernelOptions } from "../Options.ts"
import { CostNoise } from "./CostNoise.ts"
import { Dispatch } from "./Dispatch.ts"
import { Exits } from "./Exits.ts"
import { Interrupts, type ExitOnInterrupt, type IrqHandler } from "./Interrupts.ts"
import { IoService } from "./IoService.ts"
import { Jobs, type JobRow } from "./Jobs.ts"
import { KernelTrace } from "./KernelTrace.ts"
import { misuseError } from "./Misuse.ts"
import { Activity, Pcpu, Work } from "./Pcpu.ts"
import { Processes } from "./Processes.ts"
import { BLOCK, RequestTable } from "./Requests.ts"
import { SleepQueue } from "./SleepQueue.ts"
import { ThreadStatus, type Thread, type ThreadEntry, type ThreadSpec } from "./Thread.ts"
import { ThreadLifecycle } from "./Threads.ts"
import type { Smp } from "../smp/Smp.ts"

type Machine = MachineNs.Machine
type CoreScheduler = CoreSchedulerNs.CoreScheduler
const PcpuScheduler = PcpuSchedulerNs.PcpuScheduler
const Schedule = ScheduleNs.Schedule

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
  /** Main VCPUs: relative deadline and policy (vcpu-sched `PcpuScheduler.MainVcpuParams`; absent: `T`, the scheduler's `policy`). */
  readonly deadlineNs?: number | undefined
  readonly policy?: string | undefined
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
  /** Which interrupts exit to the monitor (`ExitOnInterrupt`: none in Quest-V; device or all in the hypervisor baseline). */
  readonly exitOnInterrupt: ExitOnInterrupt
  /** The sandbox's IP (for thread contexts). */
  readonly ip: number
  /** Replace a PCPU scheduler (tests inject broken variants; a Linux sandbox's cores get fair schedulers). */
  readonly makeScheduler?: ((core: number) => CoreScheduler | undefined) | undefined
  /** Bytes of the data area the kernel keeps for itself before programs' data (SMP Quest's shared structures); default 0. */
  readonly kernelDataBytes?: number
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
  /** Every thread the sandbox has had, by tid. */
  readonly threads: ThreadEntry[] = []
  readonly ip: number
  /** Guest-physical base of the sandbox's slice and of its bytes-backed data area. */
  readonly sliceBase: number
  readonly dataBase: number
  /** Where programs' data starts (`ctx.dataBase`): `dataBase` plus what the kernel keeps for itself. */
  readonly userDataBase: number
  readonly eptActive: boolean
  /** A user thread's system-call entry, ns (`kernel.syscallEntry`). */
  readonly syscallNs: number
  /** The extra 2-D page walk of a TLB miss under EPT, ns (0 without EPT). */
  readonly eptWalkNs: number
  /** Cost jitter, TLB misses and spin phases of this sandbox (`kernel.costJitter`, `kernel.tlbMissRate`). */
  readonly noise: CostNoise
  readonly trace: KernelTrace
  // the rooms
  readonly requests: RequestTable
  readonly lifecycle: ThreadLifecycle
  readonly processes: Processes
  readonly dispatch: Dispatch
  readonly sleepQueue: SleepQueue
  readonly jobs: Jobs
  readonly io: IoService
  readonly interrupts: Interrupts
  readonly exits: Exits
  /** Set by {@link start}: from then on a preempting wakeup invokes the scheduler. */
  started = false
  /** SMP Quest's single-system-image mechanisms (`kind: "smp"`, set by `Smp`), else null. */
  smp: Smp | null = null
  /** The machine core whose event the kernel is handling now (-1 outside core events): who wakes whom. */
  executingCore = -1
  private readonly hInvoke: number

  constructor(d: KernelDeps) {
    this.sim = d.sim
    this.machine = d.machine
    this.sandbox = d.sandbox
    this.options = d.options
    this.vcpus = d.vcpus
    this.ip = d.ip
    this.sliceBase = d.machine.layout.slices[d.sandbox]!.base
    this.dataBase = this.sliceBase + d.machine.layout.kernelImageBytes
    this.userDataBase = this.dataBase + (d.kernelDataBytes ?? 0)
    this.eptActive = d.eptActive
    const costs = d.machine.costs
    this.syscallNs = d.options.syscallEntry === "sysenter" ? costs.ns.syscallSysenter : d.options.syscallEntry === "int" ? costs.ns.syscallInt : 0
    this.eptWalkNs = d.eptActive ? costs.ns.eptWalkExtra : 0
    this.noise = new CostNoise(d.sim, d.machine, d.sandbox, d.options.costJitter, d.options.tlbMissRate, d.eptActive)
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
      const si = v.kind === "io" ? p.sched.addIoVcpu(v.budgetNs, v.periodNs, local0) : p.sched.addMainVcpu(v.budgetNs, v.periodNs, local0, v)
      this.schedIndexOf.push(si)
      p.vcpuOfSched[si] = this.schedIndexOf.length - 1
      p.freeSched[si] = []
    }
    if (d.options.checkInvariants) for (const p of this.pcpus) this.checkScheduler(p)
    // The rooms (the order of their simulation handlers is invoke, wake, ioDone).
    const table = new RequestTable()
    this.requests = table
    this.lifecycle = new ThreadLifecycle(this)
    this.processes = new Processes(this, table)
    this.dispatch = new Dispatch(this, table)
    this.jobs = new Jobs(this, table, d.recordJobs === true)
    this.interrupts = new Interrupts(this, d.exitOnInterrupt)
    this.exits = new Exits(this, table)
    this.hInvoke = d.sim.register(`sandbox${d.sandbox}.invoke`, (pi) => {
      const p = this.pcpus[pi]!
      const outer = this.executingCore
      this.executingCore = p.core.index
      this.dispatch.invokeNow(p)
      this.executingCore = outer
    })
    this.sleepQueue = new SleepQueue(this, table)
    this.io = new IoService(this, table)
    // I/O VCPUs get their service threads.
    this.io.spawnIoVcpuServices()
  }

  /**
   * Hangs vcpu-sched's invariant checker on `p`'s scheduler, with this core's clock and held time.
   * The checker states Quest-V's rules (§C.1): a core under another discipline (a Linux sandbox's
   * fair scheduler) is not checked by it.
   */
  private checkScheduler(p: Pcpu): void {
    const lapic = this.machine.config.lapic
    if (!(p.sched instanceof PcpuScheduler)) return
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

  /** Stops the run on a program's misuse (see `Program.ProgramError`), naming the thread and the time. */
  misuse(th: { readonly name: string }, message: string): never {
    throw misuseError(this.sandbox, th, message, this.sim.now)
  }

  // ------------------------------------------------------------------ threads (ThreadLifecycle)

  /** Adds a thread (at construction or at run time); it becomes runnable at its `startNs` (local). */
  addThread(spec: ThreadSpec, parent: Thread | null = null): Thread {
    return this.lifecycle.add(spec, parent)
  }

  /** Adopts a thread migrated from another sandbox (spec §D.10 step 5); see `ThreadLifecycle.adopt`. */
  adoptThread(from: Thread, vcpu: number, shiftNs = 0): Thread {
    return this.lifecycle.adopt(from, vcpu, shiftNs)
  }

  /** Takes `th` (the running thread, which has just asked to migrate) off its VCPU for good. */
  detachThread(th: Thread): void {
    this.lifecycle.detach(th)
  }

  /** Marks a detached thread as moved away (its record stays for statistics). */
  markMigrated(th: Thread): void {
    this.lifecycle.markMigrated(th)
  }

  /** Wakes `th` from a kernel block (or remembers the wake if it is not blocked). */
  wake(th: Thread): void {
    this.lifecycle.wake(th)
  }

  /** Kills `th` (a fault): it ends at once if blocked, else at its next dispatch. */
  kill(th: Thread): void {
    this.lifecycle.kill(th)
  }

  /** The thread named `name` (the first by tid; a reaped fork child's record too), or undefined. */
  threadNamed(name: string): ThreadEntry | undefined {
    for (const th of this.threads) if (th.name === name && th.status !== ThreadStatus.Migrated) return th
    return undefined
  }

  /** The request a library program yields to block until {@link wake}. */
  static blockRequest(): Program.Request {
    return BLOCK
  }

  /** Runs a kernel-context task on `p` as soon as the core is in thread or idle context. */
  runTask(p: Pcpu, task: IrqHandler): void {
    this.interrupts.runTask(p, task)
  }

  // ------------------------------------------------------------------ core events (System's CoreListener)

  // The CoreListener of this sandbox's cores (`System` registers the kernel on them).
  workDone(core: number, tag: number): void {
    this.onWorkDone(core, tag)
  }

  interrupt(core: number, vector: number): void {
    this.onInterrupt(core, vector)
  }

  vmExit(core: number, reason: number, qualification: number): void {
    this.onVmExit(core, reason, qualification)
  }

  /** A piece of core work completed. */
  onWorkDone(core: number, tag: number): void {
    const p = this.pcpuOfCore[core]!
    const outer = this.executingCore
    this.executingCore = core
    if (tag === Work.Thread) this.dispatch.threadWorkDone(p)
    else if (tag === Work.Irq) this.interrupts.continue(p, p.irq!.next(this, p))
    else if (tag === Work.Monitor) this.exits.workDone(p)
    else if (tag === Work.Overhead) this.dispatch.runCurrent(p)
    this.executingCore = outer
  }

  /** The local APIC delivered `vector` on `core` (guest mode, interrupts enabled). */
  onInterrupt(core: number, vector: number): void {
    // An interrupt may be delivered inside another core event (interrupts re-enabled): restore the outer core after.
    const outer = this.executingCore
    this.executingCore = core
    this.interrupts.onInterrupt(this.pcpuOfCore[core]!, vector)
    this.executingCore = outer
  }

  /** The core took a VM exit (listener event, same time). */
  onVmExit(core: number, reason: number, qualification: number): void {
    const outer = this.executingCore
    this.executingCore = core
    this.exits.onVmExit(this.pcpuOfCore[core]!, reason, qualification)
    this.executingCore = outer
  }

  // ------------------------------------------------------------------ metrics

  /** Completed jobs of periodic threads, when recorded (`recordJobs`), else null. */
  get jobRows(): JobRow[] | null {
    return this.jobs.rows
  }

  /** Jobs of periodic threads released but not completed by now (`completeNs` -1), by thread. */
  openJobs(): JobRow[] {
    return this.jobs.open()
  }

  /** VM exits taken by the sandbox's cores. */
  vmExits(): number {
    let n = 0
    for (const p of this.pcpus) n += p.core.vmExits
    return n
  }
}
