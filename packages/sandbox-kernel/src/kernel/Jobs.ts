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
import { Jobs as SchedJobs } from "@qvsim/vcpu-sched"
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"
import { beginSyscallEntry, Outcome, type FinishRequest, type RequestTable } from "./Requests.ts"
import { ReapedThread, ThreadStatus, type Thread } from "./Thread.ts"

/** Per-thread job statistics (periodic threads; responses in the sandbox's local ns): the shared ones, and the jobs begun. */
export class JobStats extends SchedJobs.JobStats {
  /** Jobs started (a release taken by `waitJob`). */
  started = 0
}

/**
 * One job of a periodic thread (`waitJob` releases), named by its thread's name, times in the
 * sandbox's local ns; its number continues across a migration. The job's deadline is
 * `release + the thread's relative deadline` (its `periodic.deadlineNs`, else its period).
 */
export type JobRow = SchedJobs.JobRecord<string>

/** The job a thread is executing (for schedule segments), or -1. */
export const jobOf = (th: Thread): number => (th.job.active ? th.jobBase + th.stats.started - 1 : -1)

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
    if (th.job.active) this.complete(th, local)
    const r = th.nextReleaseNs
    th.nextReleaseNs = r + th.periodNs
    th.job.begin(r)
    th.stats.started++
    if (r <= local) return Outcome.Done
    k.sleepQueue.sleep(p, th, r)
    return Outcome.Blocked
  }

  /** `th`'s active job completes at local time `localNs`. */
  complete(th: Thread, localNs: number): void {
    const s = th.stats
    const response = localNs - th.job.releaseNs
    const missed = s.complete(response, th.deadlineNs)
    if (this.rows !== null) this.rows.push(SchedJobs.recordOf(th.name, th.jobBase + s.started - 1, th.job, localNs, th.deadlineNs))
    th.job.end()
    this.k.trace.job(th.tid, s.completed - 1, response, missed ? 1 : 0)
  }

  /** Jobs of periodic threads released but not completed by now (`completeNs` -1), by thread. */
  open(): JobRow[] {
    const k = this.k
    const out: JobRow[] = []
    for (const th of k.threads) {
      if (th instanceof ReapedThread || th.periodNs === 0 || th.status === ThreadStatus.Migrated || th.status === ThreadStatus.Detached) continue
      const taken = th.jobBase + th.stats.started
      if (th.job.active) out.push(SchedJobs.recordOf(th.name, taken - 1, th.job, -1, th.deadlineNs))
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
