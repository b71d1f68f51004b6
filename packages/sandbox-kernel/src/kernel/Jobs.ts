/**
 * Periodic threads' jobs: the `waitJob` request (a thread's next release, spec §C.1), job
 * completion with its response time and deadline, and the job statistics and rows the kernel
 * reports (`Kernel.openJobs`, `Kernel.jobRows`).
 *
 * A periodic thread releases a job every `periodNs` from `firstReleaseNs` (local ns); `waitJob`
 * completes the active job (if any) and takes the next release, sleeping until it when it lies
 * ahead. A job's response is `completion − release`; it misses when the response exceeds the
 * thread's relative deadline (`periodic.deadlineNs`, else the period).
 *
 * Invariants:
 * - jobs are taken in release order, one at a time per thread; `stats.started − stats.completed`
 *   is 1 while a job is active, else 0;
 * - job numbers continue across a migration (`Thread.jobBase`);
 * - all times are the sandbox's local ns.
 *
 * @module
 */
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"
import { beginSyscallEntry, Outcome, type FinishRequest, type RequestTable } from "./Requests.ts"
import { ThreadStatus, type Thread } from "./Thread.ts"

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


/** The job a thread is executing (for schedule segments), or -1. */
export const jobOf = (th: Thread): number => (th.jobActive ? th.jobBase + th.stats.started - 1 : -1)

export class Jobs {
  private readonly k: Kernel
  /** Completed jobs of periodic threads, when recorded (`recordJobs`), else null. */
  readonly rows: JobRow[] | null

  constructor(k: Kernel, table: RequestTable, recordJobs: boolean) {
    this.k = k
    this.rows = recordJobs ? [] : null
    table.register(Program.Op.WaitJob, "jobs", beginSyscallEntry, finishWaitJob)
  }

  /** `waitJob`: completes `th`'s active job, takes its next release (sleeping until it if ahead). */
  waitJob(p: Pcpu, th: Thread): Outcome {
    const k = this.k
    if (th.periodNs === 0) k.misuse(th, `called waitJob but has no "periodic" option`)
    const local = k.localNow(p)
    if (th.jobActive) this.complete(th, local)
    const r = th.nextReleaseNs
    th.nextReleaseNs = r + th.periodNs
    th.jobReleaseNs = r
    th.jobActive = true
    th.jobFirstStartNs = -1
    th.jobPreemptions = 0
    th.stats.started++
    if (r <= local) return Outcome.Done
    k.sleepQueue.sleep(p, th, r)
    return Outcome.Blocked
  }

  /** `th`'s active job completes at local time `localNs`. */
  complete(th: Thread, localNs: number): void {
    const s = th.stats
    const response = localNs - th.jobReleaseNs
    s.completed++
    s.sumResponseNs += response
    if (response > s.maxResponseNs) s.maxResponseNs = response
    const missed = response > th.deadlineNs
    if (missed) s.missed++
    if (this.rows !== null) {
      this.rows.push({
        thread: th.name, job: th.jobBase + s.started - 1, releaseNs: th.jobReleaseNs, firstStartNs: th.jobFirstStartNs,
        completeNs: localNs, deadlineNs: th.jobReleaseNs + th.deadlineNs, preemptions: th.jobPreemptions,
      })
    }
    th.jobActive = false
    this.k.trace.job(th.tid, s.completed - 1, response, missed ? 1 : 0)
  }

  /** Jobs of periodic threads released but not completed by now (`completeNs` -1), by thread. */
  open(): JobRow[] {
    const k = this.k
    const out: JobRow[] = []
    for (const th of k.threads) {
      if (th.periodNs === 0 || th.status === ThreadStatus.Migrated || th.status === ThreadStatus.Detached) continue
      const taken = th.jobBase + th.stats.started
      if (th.jobActive) {
        out.push({ thread: th.name, job: taken - 1, releaseNs: th.jobReleaseNs, firstStartNs: th.jobFirstStartNs, completeNs: -1, deadlineNs: th.jobReleaseNs + th.deadlineNs, preemptions: th.jobPreemptions })
      }
      if (th.status === ThreadStatus.Exited) continue
      const released = th.releasedBy(k.localNow(th.pcpu))
      for (let j = taken; j < released; j++) {
        const r = th.firstReleaseNs + j * th.periodNs
        out.push({ thread: th.name, job: j, releaseNs: r, firstStartNs: -1, completeNs: -1, deadlineNs: r + th.deadlineNs, preemptions: 0 })
      }
    }
    return out
  }
}

const finishWaitJob: FinishRequest<Program.WaitJob> = (k, p, th) => k.jobs.waitJob(p, th)
