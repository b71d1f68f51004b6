/**
 * Job accounting shared by the two scheduler drivers — the single-PCPU {@link Harness} and the
 * sandbox kernel (`sandbox-kernel/src/kernel/`): a thread's job statistics, the job it is
 * executing, and the accounting of one executed piece of it (its schedule segment and the job's
 * first start). Both drivers count a job the same way; they differ only in when they invoke the
 * scheduler ({@link InvokeTiming}) and in where a job's release comes from (the harness's release
 * events; the kernel's `waitJob`).
 *
 * Rules (each driver calls them at the same points of its run):
 * - a job's response is `completion − release`; it misses when the response exceeds the thread's
 *   relative deadline ({@link JobStats.complete});
 * - a job's first start is the start of the first executed piece after its release that has a
 *   positive length ({@link CurrentJob.ran});
 * - a job loses the core (one preemption) when an invocation picks another thread while the job
 *   has started and could go on ({@link CurrentJob.lostCore}).
 *
 * Invariants: `completed ≤` jobs begun; `missed ≤ completed`; `maxResponseNs ≤ sumResponseNs`;
 * `CurrentJob.firstStartNs` is -1 or in `[releaseNs, now]`.
 *
 * NOTE: hot path (every completion, invocation and executed piece): plain fields, no allocation
 * unless a job record is kept.
 *
 * @module
 */
import type { Schedule } from "./Schedule.ts"

/** Per-thread job statistics: completions, deadline misses, response times (ns). */
export class JobStats {
  completed = 0
  /** Jobs that completed after their deadline. */
  missed = 0
  maxResponseNs = 0
  sumResponseNs = 0

  /** A job completed `responseNs` after its release against relative deadline `relativeDeadlineNs`; true when it missed. */
  complete(responseNs: number, relativeDeadlineNs: number): boolean {
    this.completed++
    this.sumResponseNs += responseNs
    if (responseNs > this.maxResponseNs) this.maxResponseNs = responseNs
    if (responseNs > relativeDeadlineNs) {
      this.missed++
      return true
    }
    return false
  }
}

/** The job a thread is executing: its release, first start and preemptions (one reused record per thread). */
export class CurrentJob {
  /** A job is in progress. */
  active = false
  releaseNs = 0
  /** When it first executed (-1: not yet). */
  firstStartNs = -1
  /** Times it lost the core while it could still run. */
  preemptions = 0

  /** The job released at `releaseNs` begins. */
  begin(releaseNs: number): void {
    this.active = true
    this.releaseNs = releaseNs
    this.firstStartNs = -1
    this.preemptions = 0
  }

  /** The job is over (completed, or the thread left). */
  end(): void {
    this.active = false
  }

  /** Continues `from` (a migrated thread's job), its times moved by `shiftNs` into this clock. */
  adopt(from: CurrentJob, shiftNs: number): void {
    this.active = from.active
    this.releaseNs = from.releaseNs + shiftNs
    this.firstStartNs = from.firstStartNs < 0 ? -1 : from.firstStartNs + shiftNs
    this.preemptions = from.preemptions
  }

  /** The thread executed a piece starting at `fromNs` (in the job's clock): the job's first start if it is the first. */
  ran(fromNs: number): void {
    if (this.firstStartNs < 0 && this.active) this.firstStartNs = fromNs
  }

  /** An invocation took the core from the thread while `couldGoOn`: one preemption if the job has started. */
  lostCore(couldGoOn: boolean): void {
    if (couldGoOn && this.active && this.firstStartNs >= 0) this.preemptions++
  }
}

/**
 * One job of a thread: completed (`completeNs` ≥ 0) or still open (-1). `Thread` is how the driver
 * names threads (the harness: an index; the kernel: the thread's name).
 */
export interface JobRecord<Thread = number> {
  readonly thread: Thread
  /** 0-based, per thread. */
  readonly job: number
  readonly releaseNs: number
  /** When the job first executed, ns (-1: it never did). */
  readonly firstStartNs: number
  /** When it completed, ns (-1: not by now). */
  readonly completeNs: number
  /** Absolute deadline `release + relative deadline`, ns (`Infinity`: none, an I/O job). */
  readonly deadlineNs: number
  /** Times the job lost the core while it could still run. */
  readonly preemptions: number
}

/** The record of `job` (number `jobNo` of `thread`), completed at `completeNs` (-1: open), relative deadline `relativeDeadlineNs`. */
export const recordOf = <T>(thread: T, jobNo: number, job: CurrentJob, completeNs: number, relativeDeadlineNs: number): JobRecord<T> => ({
  thread, job: jobNo, releaseNs: job.releaseNs, firstStartNs: job.firstStartNs, completeNs, deadlineNs: job.releaseNs + relativeDeadlineNs, preemptions: job.preemptions,
})

/**
 * A thread executed `[fromNs, toNs)` (schedule time) on `vcpu` for job number `jobNo` (-1: none):
 * the job's first start (at `jobFromNs`, the same instant in the job's clock) and the segment in
 * `schedule` (null: not recorded). An empty piece changes nothing.
 */
export const accountPiece = (job: CurrentJob, schedule: Schedule | null, fromNs: number, toNs: number, jobFromNs: number, vcpu: number, thread: number, jobNo: number): void => {
  if (!(toNs > fromNs)) return
  job.ran(jobFromNs)
  if (schedule !== null) schedule.add(fromNs, toNs, vcpu, thread, jobNo)
}
