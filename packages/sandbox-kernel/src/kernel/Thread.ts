/**
 * A kernel thread: the record every room of the kernel reads and writes — its program (a
 * generator), where it runs (PCPU, sandbox VCPU, scheduler thread id), the request it is executing,
 * its sleep, periodic-release, process and accounting state.
 *
 * Invariants:
 * - `tid` is dense in creation order within the sandbox and never reused (`Kernel.threads[tid]`,
 *   which holds a compact {@link ReapedThread} instead once a fork child is reaped);
 *   the scheduler thread id `schedId` may be reused once the thread has exited and been retired;
 * - `pending` is true exactly while the current request's effect waits: for `remainingNs` of CPU,
 *   for a wake-up (a channel's retry), or for the monitor (`stopped`);
 * - `status` is one of {@link ThreadStatus}; a thread in `Exited` or `Migrated` never runs again.
 *
 * @module
 */
import { Jobs as SchedJobs } from "@qvsim/vcpu-sched"
import type * as Program from "../Program.ts"
import { Steps } from "../ProgramSteps.ts"
import { JobStats } from "./Jobs.ts"
import type { Pcpu } from "./Pcpu.ts"

/** Thread states as the kernel sees them. */
export const ThreadStatus = {
  Runnable: 0,
  Sleeping: 1,
  IoWait: 2,
  WaitChild: 3,
  /** Blocked on a kernel condition (`Kernel.blockRequest`), woken by `Kernel.wake`. */
  Blocked: 4,
  Exited: 5,
  /** Moved to another sandbox (D.10); the record stays for statistics. */
  Migrated: 6,
  /** Taken off its VCPU for a migration in progress. */
  Detached: 7,
} as const
export type ThreadStatus = (typeof ThreadStatus)[keyof typeof ThreadStatus]

/** A thread as configured. */
export interface ThreadSpec {
  readonly name: string
  /** Sandbox VCPU index. */
  readonly vcpu: number
  readonly program: Program.Program
  readonly periodic?: { readonly periodNs: number; readonly offsetNs: number; readonly deadlineNs?: number | undefined } | undefined
  /** Local time the thread becomes runnable, ns. */
  readonly startNs: number
  /** Address-space pages (fork copies them). */
  readonly pages?: number | undefined
  /** User thread (system calls cost their entry) or kernel thread. */
  readonly user: boolean
  /** Migration only: the context the (already running) program holds. */
  readonly adoptCtx?: Program.ThreadContext | undefined
}

/** A kernel thread: its program, scheduler binding, pending request and statistics. */
export class Thread {
  /** Thread id in its sandbox (dense, in creation order). */
  readonly tid: number
  readonly name: string
  readonly pid: number
  readonly user: boolean
  pcpu: Pcpu
  /** Sandbox VCPU index. */
  vcpu: number
  /** Thread id in the PCPU scheduler. */
  schedId: number
  gen: Generator<Program.Request, unknown, unknown>
  /** `gen` when it is a {@link Steps} (resumed from a call site of its own: see `ProgramSteps`), else null. */
  steps: Steps | null
  readonly ctx: Program.ThreadContext
  pages: number
  status: ThreadStatus = ThreadStatus.Blocked
  /** CPU still needed by the current request before its effect, ns. */
  remainingNs = 0
  /** True while the current request's effect waits for `remainingNs`. */
  pending = false
  /** The current request. */
  req: Program.Request | null = null
  /**
   * CPU (ns) at the end of `remainingNs` that belongs to a `compute` merged into the running piece
   * (`Dispatch` look-ahead); 0 when nothing is merged. The first piece's boundary is at
   * `remainingNs === mergedNs`.
   */
  mergedNs = 0
  /**
   * The program's next step, taken early by the look-ahead (the request after the running piece,
   * its end, or {@link AHEAD_THREW}); null when none is held. Used at the piece's end instead of
   * stepping the program.
   */
  ahead: IteratorResult<Program.Request, unknown> | null = null
  /** What the program threw when `ahead` is {@link AHEAD_THREW}. */
  aheadError: unknown = undefined
  /** Value for the next `gen.next`. */
  result: unknown = undefined
  /** What the current memory effect yields when the monitor refuses it. */
  failValue: unknown = undefined
  /** Waiting for the monitor to resolve a VM exit its effect raised. */
  stopped = false
  /** A `wake` arrived while not blocked (semaphore). */
  wakePending = false
  /** Killed (a fault): exits at its next dispatch. */
  killed = false
  // sleep
  wakeLocalNs = 0
  sleepGen = 0
  // periodic releases (local ns)
  periodNs = 0
  deadlineNs = Infinity
  firstReleaseNs = 0
  nextReleaseNs = 0
  /** The job in progress (local ns): release, first CPU work, preemptions. */
  readonly job = new SchedJobs.CurrentJob()
  /** Jobs of this thread taken before it migrated here (job numbers continue from it). */
  jobBase = 0
  readonly stats = new JobStats()
  // processes
  parent: Thread | null = null
  exitCode = 0
  waitingFor = -1
  reaped = false
  // accounting
  runStartNs = 0
  /** CPU executed, ns (global). */
  cpuNs = 0
  /** Times the thread was dispatched with work. */
  dispatches = 0

  constructor(tid: number, name: string, pid: number, user: boolean, pcpu: Pcpu, vcpu: number, schedId: number, ctx: Program.ThreadContext, gen: Generator<Program.Request, unknown, unknown>, pages: number) {
    this.tid = tid
    this.name = name
    this.pid = pid
    this.user = user
    this.pcpu = pcpu
    this.vcpu = vcpu
    this.schedId = schedId
    this.ctx = ctx
    this.gen = gen
    this.steps = gen instanceof Steps ? gen : null
    this.pages = pages
  }

  /** Released jobs up to local time `localNs` (periodic threads). */
  releasedBy(localNs: number): number {
    if (this.periodNs === 0 || localNs < this.firstReleaseNs) return 0
    return Math.floor((localNs - this.firstReleaseNs) / this.periodNs) + 1
  }
}

/** The job statistics of a thread that never took a job (shared by every {@link ReapedThread}; made at first use: `Jobs.ts` and this module import each other). */
let noJobs: Readonly<JobStats> | null = null

/**
 * What `Kernel.threads[tid]` keeps of a fork child once its parent reaped it (issue 15: a fork
 * storm reaps tens of thousands of children; their full records were most of the heap, and most
 * of the collector's work): its name, ids, where it ran, its CPU and its exit code. Holders of the
 * {@link Thread} object itself (its scheduler slot while it retires, its own children's `parent`)
 * keep it as before; only the look-up by tid sees this record.
 *
 * Invariants: made only for an exited, reaped, non-periodic thread that never took a job (its job
 * statistics are zero, `releasedBy` is 0); every field has the thread's final value (an exited
 * thread's CPU, dispatches and status never change again).
 */
export class ReapedThread {
  readonly tid: number
  readonly name: string
  readonly pid: number
  readonly pcpu: Pcpu
  readonly vcpu: number
  readonly status = ThreadStatus.Exited
  readonly exitCode: number
  readonly killed: boolean
  readonly cpuNs: number
  readonly dispatches: number
  readonly periodNs = 0
  readonly stats: Readonly<JobStats>

  constructor(th: Thread) {
    this.tid = th.tid
    this.name = th.name
    this.pid = th.pid
    this.pcpu = th.pcpu
    this.vcpu = th.vcpu
    this.exitCode = th.exitCode
    this.killed = th.killed
    this.cpuNs = th.cpuNs
    this.dispatches = th.dispatches
    this.stats = noJobs ??= Object.freeze(new JobStats())
  }

  /** A reaped fork child is not periodic: no job released. */
  releasedBy(_localNs: number): number {
    return 0
  }

  /** Whether `th`'s record may be replaced by a {@link ReapedThread} (see its invariants). */
  static fits(th: Thread): boolean {
    return th.status === ThreadStatus.Exited && th.reaped && th.periodNs === 0 && th.stats.started === 0 && th.stats.completed === 0 && !th.job.active
  }
}

/** A thread as `Kernel.threads[tid]` holds it: live (or exited, not compacted), or a reaped fork child's record. */
export type ThreadEntry = Thread | ReapedThread

/** `Thread.ahead` when the program threw at the early step (`Thread.aheadError` holds what it threw). */
export const AHEAD_THREW: IteratorResult<Program.Request, unknown> = Object.freeze({ done: true, value: undefined })

/** The generator of an exited or migrated thread (its own is dropped so it can be collected). */
export const FINISHED: Generator<Program.Request, unknown, unknown> = (function* (): Generator<Program.Request, unknown, unknown> { return undefined })()
