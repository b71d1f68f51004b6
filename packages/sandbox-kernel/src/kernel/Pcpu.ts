/**
 * One core of a sandbox as its kernel sees it: the core and its LAPIC and TSC, the core's VCPU
 * scheduler, what the core is doing now ({@link Activity}), the scheduler's current thread, and
 * the per-core state of the kernel's rooms (sleep queue, kernel-context tasks, free scheduler slots)
 * and statistics.
 *
 * Invariants:
 * - `activity` says who owns the core: at most one piece of core work is outstanding, and its tag
 *   ({@link Work}) matches the activity (`Thread`, `Overhead`, `Irq`, `Monitor`);
 * - `bySched[id]` is the kernel thread bound to scheduler thread `id` (null once its slot is free);
 * - `sleepAt` is sorted ascending and `sleepers[i]` sleeps until `sleepAt[i]` (local ns).
 *
 * @module
 */
import type { Core as CoreNs, LocalApic as LocalApicNs, Tsc as TscNs } from "@qvsim/hardware"
import type { CoreScheduler as CoreSchedulerNs, Schedule as ScheduleNs } from "@qvsim/vcpu-sched"
import type { IrqHandler } from "./Interrupts.ts"
import type { Thread } from "./Thread.ts"

type Core = CoreNs.Core
type LocalApic = LocalApicNs.LocalApic
type Tsc = TscNs.Tsc
type CoreScheduler = CoreSchedulerNs.CoreScheduler
type Schedule = ScheduleNs.Schedule

/** What a core is doing. */
export const Activity = {
  /** No thread, no handler: the idle loop. */
  Idle: 0,
  /** Inside the kernel's stepping of the current thread (zero simulated time). */
  Step: 1,
  /** The current thread's CPU work runs on the core. */
  Thread: 2,
  /** The scheduler's per-invocation overhead runs before the thread. */
  Overhead: 3,
  /** An interrupt handler (or a kernel-context task) runs, interrupts disabled. */
  Irq: 4,
  /** A VM exit was raised; the monitor's listener event has not run yet. */
  ExitWait: 5,
  /** The monitor works (VMX root mode). */
  Monitor: 6,
  /** SMP Quest: the core's kernel stopped (corrupted shared state): interrupts off, nothing runs again. */
  Hung: 7,
} as const
export type Activity = (typeof Activity)[keyof typeof Activity]

/** Tags of the core work the kernel starts (`Core.startWork`), handed back by `Kernel.onWorkDone`. */
export const Work = {
  /** The current thread's CPU work. */
  Thread: 1,
  /** A piece of interrupt-context work. */
  Irq: 2,
  /** A piece of monitor work (VMX root). */
  Monitor: 3,
  /** The scheduler's per-invocation overhead before the thread runs. */
  Overhead: 4,
} as const
export type Work = (typeof Work)[keyof typeof Work]

/** Segment thread ids for non-thread work in recorded schedules. */
export const SEGMENT_IRQ = -2
export const SEGMENT_MONITOR = -3

/** One core of the sandbox: its scheduler, what it runs, its sleep queue. */
export class Pcpu {
  /** Index of the core in the sandbox. */
  readonly index: number
  readonly core: Core
  readonly lapic: LocalApic
  readonly tsc: Tsc
  /** Its scheduler: Quest-V's VCPU scheduler, or a Linux sandbox's fair scheduler. */
  readonly sched: CoreScheduler
  readonly schedule: Schedule | null
  activity: Activity = Activity.Idle
  /** The scheduler's current thread (dispatched by the last invocation), or null. */
  current: Thread | null = null
  /** Its VCPU (sandbox index), or -1. */
  currentVcpu = -1
  /** Scheduler-thread id → kernel thread. */
  readonly bySched: (Thread | null)[] = []
  /** Sandbox VCPU index of each scheduler VCPU index. */
  readonly vcpuOfSched: number[] = []
  /** A wakeup asked for an invocation while the core could not take it. */
  invokeWanted = false
  /** Interrupt-context work in progress (or stopped by a VM exit). */
  irq: IrqHandler | null = null
  irqStartNs = 0
  /** Vector the monitor injects when it is done (hypervisor baseline), or -1. */
  injectVector = -1
  /** Kernel-context tasks waiting for the core. */
  readonly tasks: IrqHandler[] = []
  monitorStartNs = 0
  // sleep queue, sorted by local wake time
  readonly sleepAt: number[] = []
  readonly sleepers: Thread[] = []
  /** Scheduler thread ids of exited threads, per scheduler VCPU, for reuse. */
  readonly freeSched: number[][] = []
  // statistics
  invocations = 0
  irqCount = 0
  irqNs = 0
  monitorNs = 0
  haltedUntilNs = 0

  constructor(index: number, core: Core, sched: CoreScheduler, schedule: Schedule | null) {
    this.index = index
    this.core = core
    this.lapic = core.lapic
    this.tsc = core.tsc
    this.sched = sched
    this.schedule = schedule
  }
}
