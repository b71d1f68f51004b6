/**
 * The jobs of a run as one table (`qvsim run --jobs jobs.csv|jobs.json`): one row per job, released
 * by the end of the run, with its release, first start, finish, response, absolute deadline,
 * whether it missed it, and how often it was preempted. Also what `--strict` counts.
 *
 * Definitions (times in ns):
 * - `pcpus` runs: every job of every declared thread, and every I/O request served by an I/O VCPU's
 *   service thread (`io-service/<vcpu>`, no deadline). A job's deadline is its release plus the
 *   thread's `deadline`, else the period (periodic) or minimum inter-arrival time (sporadic) of its
 *   arrivals, else its VCPU's period (Poisson and explicit arrivals). Times are simulated time.
 * - `system` runs: every job of every periodic thread (`periodic`, or a declarative job with
 *   `every`); deadline = release + `periodic.deadlineNs`, else the period. Times are the sandbox's
 *   local clock (equal to simulated time without clock offsets or drift).
 * - `firstStart`: when the job first executed (null: not yet); `finish`, `response`: null while it
 *   runs; `missed`: finished after its deadline, or unfinished with its deadline passed (null:
 *   unfinished, deadline still ahead; false when the job has no deadline); `preemptions`: times the
 *   job lost its PCPU while it could still run (a higher-priority VCPU, its VCPU's budget, the
 *   round-robin quantum), not counting its own sleeps and I/O waits.
 *
 * @module
 */
import type { Harness } from "@qvsim/vcpu-sched"
import type { System } from "@qvsim/sandbox-kernel"

export interface JobRow {
  /** `pcpus` runs: the PCPU's name; `system` runs: `sandbox<s>`. */
  readonly where: string
  readonly thread: string
  readonly job: number
  readonly release: number
  readonly firstStart: number | null
  readonly finish: number | null
  readonly response: number | null
  readonly deadline: number | null
  readonly missed: boolean | null
  readonly preemptions: number
}

export const COLUMNS = ["where", "thread", "job", "release", "firstStart", "finish", "response", "deadline", "missed", "preemptions"] as const

interface Raw {
  readonly releaseNs: number
  readonly firstStartNs: number
  readonly completeNs: number
  readonly deadlineNs: number
  readonly job: number
  readonly preemptions: number
}

const row = (where: string, thread: string, j: Raw, nowNs: number): JobRow => {
  const finish = j.completeNs >= 0 ? j.completeNs : null
  const deadline = Number.isFinite(j.deadlineNs) ? j.deadlineNs : null
  const missed = deadline === null ? false : finish !== null ? finish > deadline : nowNs > deadline ? true : null
  return {
    where, thread, job: j.job, release: j.releaseNs, firstStart: j.firstStartNs >= 0 ? j.firstStartNs : null,
    finish, response: finish === null ? null : finish - j.releaseNs, deadline, missed, preemptions: j.preemptions,
  }
}

const order = (a: JobRow, b: JobRow): number =>
  a.release - b.release || (a.where < b.where ? -1 : a.where > b.where ? 1 : 0) || (a.thread < b.thread ? -1 : a.thread > b.thread ? 1 : 0) || a.job - b.job

/** The jobs of harness PCPUs (built with `recordJobs`), at simulated time `nowNs`. */
export const fromHarnesses = (
  harnesses: ReadonlyArray<{ readonly name: string; readonly harness: Harness.Harness; readonly threadName: (thread: number) => string }>,
  nowNs: number,
): JobRow[] => {
  const out: JobRow[] = []
  for (const { name, harness, threadName } of harnesses) {
    for (const j of [...harness.jobs, ...harness.ioJobs, ...harness.unfinishedJobs()]) out.push(row(name, threadName(j.thread), j, nowNs))
  }
  return out.sort(order)
}

/** The jobs of a system (built with `recordJobs`), each sandbox at its own local time now. */
export const fromSystem = (sys: System.System): JobRow[] => {
  const now = sys.sandboxes.map((sb) => sb.kernel.localNow(sb.kernel.pcpus[0]!))
  return sys.jobs().map((j) => row(`sandbox${j.sandbox}`, j.thread, j, now[j.sandbox]!)).sort(order)
}

/** CSV (RFC 4180; empty cells for null). */
export const toCsv = (rows: readonly JobRow[]): string => {
  const cell = (v: unknown): string => {
    const s = v === null ? "" : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [COLUMNS.join(","), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(","))].join("\n") + "\n"
}

/** A JSON array, one row per line. */
export const toJson = (rows: readonly JobRow[]): string => `[\n${rows.map((r) => JSON.stringify(r)).join(",\n")}\n]\n`

/** The missed deadlines of a run, by `where/thread` (what `--strict` refuses). */
export const misses = (rows: readonly JobRow[]): { readonly count: number; readonly byThread: ReadonlyMap<string, number> } => {
  const byThread = new Map<string, number>()
  let count = 0
  for (const r of rows) {
    if (r.missed !== true) continue
    count++
    const key = `${r.where}/${r.thread}`
    byThread.set(key, (byThread.get(key) ?? 0) + 1)
  }
  return { count, byThread }
}
