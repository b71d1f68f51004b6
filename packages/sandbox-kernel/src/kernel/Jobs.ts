/**
 * Periodic releases and job statistics of the kernel's threads.
 *
 * @module
 */
/** Per-thread job statistics (periodic threads; responses in the sandbox's local ns). */
export class JobStats {
  /** Jobs started (a release taken by `waitJob`). */
  started = 0
  completed = 0
  /** Completed after their deadline. */
  missed = 0
  maxResponseNs = 0
  sumResponseNs = 0
}

/**
 * One job of a periodic thread (`waitJob` releases), times in the sandbox's local ns. The job's
 * deadline is `release + the thread's relative deadline` (its `periodic.deadlineNs`, else its period).
 */
export interface JobRow {
  readonly thread: string
  /** 0-based per thread name (it continues across a migration). */
  readonly job: number
  readonly releaseNs: number
  /** When the job's first CPU work started (-1: not yet). */
  readonly firstStartNs: number
  /** When it completed (-1: not by now). */
  readonly completeNs: number
  readonly deadlineNs: number
  /** Times the job lost its core while it could still run (another thread dispatched). */
  readonly preemptions: number
}
