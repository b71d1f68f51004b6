/**
 * Running a sweep (or one shard of it) on this machine: plan, skip the runs already in
 * `runs.jsonl` (`--resume`), hand batches of run indices to the worker pool, append each result
 * as it arrives, show progress, and at the end write the sorted runs, the summary and the report.
 *
 * Invariants:
 * - the results do not depend on `jobs` or batch sizes: runs are keyed and sorted in plan order
 *   before anything is summarised;
 * - a run that throws is a failed record (RunOne), never the end of the sweep; a worker that dies
 *   fails its batch's runs the same way;
 * - cancelling (the `signal`) writes every finished run durably at once, stops the workers and
 *   leaves `runs.jsonl` ready for `--resume`: only the runs in flight are lost;
 * - a shard writes only its `runs.jsonl` (in `DIR/shards/<i>/`); `merge` writes the summary.
 *
 * @module
 */
import { existsSync, mkdirSync, statSync } from "node:fs"
import { join } from "node:path"
import * as Feed from "./Feed.ts"
import * as Plan from "./Plan.ts"
import * as Pool from "./Pool.ts"
import * as Results from "./Results.ts"
import * as RunOne from "./RunOne.ts"
import * as Shards from "./Shards.ts"
import * as Store from "./Store.ts"
import * as Summary from "./Summary.ts"
import { CHANGED } from "./Worker.ts"
import { ScenarioError } from "../Scenario.ts"
import type { LoadedSweep } from "./SweepFile.ts"

export interface Options {
  readonly loaded: LoadedSweep
  readonly plan: Plan.Plan
  /** The sweep file as the user named it (replay lines). */
  readonly fileArg: string
  readonly jobs: number
  readonly outDir: string
  readonly resume: boolean
  readonly shard?: Shards.Shard
  readonly command: string
  readonly reportPath?: string
  /** Progress lines on stderr. */
  readonly progress: boolean
  readonly signal?: AbortSignal
  readonly runtime?: Pool.Runtime
  /** The wall clock in ms, handed in by the CLI: progress, timings, the store's sync pacing. */
  readonly clock: () => number
}

export interface Outcome {
  /** Where runs.jsonl went (`DIR`, or `DIR/shards/<i>`). */
  readonly dir: string
  /** Runs of this sweep or shard, those skipped as already done, those run now, and failed (all). */
  readonly total: number
  readonly skipped: number
  readonly ran: number
  readonly failed: number
  readonly wallMs: number
  readonly files: string[]
  readonly interrupted: boolean
  readonly warnings: string[]
}

/** Runs per batch: small enough to balance the workers and stream results, large enough to amortise messages. */
export const batchSize = (todo: number, jobs: number): number => Math.max(1, Math.min(8, Math.ceil(todo / (jobs * 16))))

export const run = async (o: Options): Promise<Outcome> => {
  const start = o.clock()
  const { loaded, plan } = o
  const dir = o.shard === undefined ? o.outDir : Shards.dirOf(o.outDir, o.shard.index)
  if (existsSync(dir) && !statSync(dir).isDirectory()) throw new ScenarioError(`--out ${o.outDir}: ${dir} is not a folder`)
  mkdirSync(dir, { recursive: true })
  const prov = Results.provenance(loaded, plan, o.command)
  const header = Results.header(prov, o.shard === undefined ? null : { index: o.shard.index, count: o.shard.count })
  const runsPath = join(dir, "runs.jsonl")
  const mine = Shards.select(plan, o.shard)
  const { writer, done } = Store.Writer.open(runsPath, header, o.resume)
  const doneKeys = new Set(done.map((r) => r.key))
  const todo = mine.filter((r) => !doneKeys.has(r.key))
  const records: RunOne.RunRecord[] = [...done]
  let ran = 0
  let failed = done.filter((r) => !r.ok).length
  let interrupted = false
  let stopped: ScenarioError | undefined

  // Progress: done/total, runs/s, ETA; redrawn at most every 250 ms (every 5 s when stderr is a file).
  const progress = Feed.progressLine(o.progress, o.clock, "runs", 1)
  const draw = (final: boolean): void => progress({ done: done.length + ran, total: mine.length, failed, ran, remaining: todo.length - ran }, final)

  const onAbort = (): void => {
    interrupted = true
    // Every finished run is already written: make it durable now (the process may exit next).
    writer.sync()
  }
  o.signal?.addEventListener("abort", onAbort, { once: true })
  try {
    if (todo.length > 0 && !o.signal?.aborted) {
      const jobs = Math.max(1, Math.min(o.jobs, todo.length))
      await Feed.feed({
        pool: Pool.make(jobs, o.runtime),
        todo,
        jobs,
        batchSize: batchSize(todo.length, jobs),
        task: (specs) => ({ file: loaded.file, fileArg: o.fileArg, hash: loaded.hash, indices: specs.map((s) => s.index) }),
        // A worker that died (out of memory, a crash in native code) fails its batch's runs, not the sweep.
        failed: (specs, error) => specs.map((s) => ({
          type: "run", key: s.key, point: Object.fromEntries(plan.params.map((p, i) => [p.path, plan.points[s.point]![i]])),
          ...(s.set !== undefined ? { set: s.set } : {}), seed: s.seed, ok: false, error, replay: RunOne.replayLine(o.fileArg, s.key), wallMs: 0,
        })),
        accept: (batch) => {
          const now = o.clock()
          for (const r of batch) {
            writer.append(r, now)
            records.push(r)
            ran++
            if (!r.ok) failed++
          }
          draw(false)
        },
        stopped: () => interrupted,
        fatal: (e) => {
          if (!(e instanceof Error && e.message.includes(CHANGED))) return false
          // Not a failed run: the plan no longer matches the file. Stop; what is written stays (resume refuses a changed file).
          interrupted = true
          stopped = new ScenarioError(`${e.message.split("\n")[0]}: stopped (the runs written so far are in ${runsPath})`)
          return true
        },
      })
    }
    writer.close()
    draw(true)
    if (stopped !== undefined) throw stopped
    if (interrupted || o.signal?.aborted) {
      return { dir, total: mine.length, skipped: done.length, ran, failed, wallMs: o.clock() - start, files: [runsPath], interrupted: true, warnings: [] }
    }
    const wallS = Math.round((o.clock() - start) / 10) / 100
    const written = o.shard === undefined
      ? await Results.write(dir, loaded, plan, records, header, { wallS, jobs: o.jobs }, o.reportPath)
      : (Store.writeDurably(runsPath, Store.format(header, Summary.sortRuns(plan, records))), { files: [runsPath], failed, warnings: Results.unmatched(loaded, records) })
    return { dir, total: mine.length, skipped: done.length, ran, failed: written.failed, wallMs: o.clock() - start, files: written.files, interrupted: false, warnings: written.warnings }
  } finally {
    o.signal?.removeEventListener("abort", onAbort)
    writer.close()
  }
}
