/**
 * Running the points of a robust or sensitivity study on this machine, the way a sweep runs: the
 * sweep engine's pool of long-lived workers (`sweep/Pool.ts`, with `cli/robustWorker.mjs`) fed by the
 * sweep's own loop (`sweep/Feed.ts`), one point per task, every record appended to `runs.jsonl` as
 * it arrives (`sweep/Store.ts`: one write per line, fsync'ed per batch), progress on stderr, and at
 * the end the records sorted back into the design's order. The wall clock is the caller's (`clock`).
 *
 * Invariants:
 * - the records do not depend on `jobs` or on batch sizes: points are keyed, a point's record is a
 *   pure function of (experiment, scale, point) less `wallMs`, and the result is sorted by design
 *   order before anything is summarised;
 * - a point that throws is a failed record; a worker that dies fails its batch's points the same way;
 * - cancelling (the `signal`) makes every finished record durable at once, stops the workers and
 *   leaves `runs.jsonl` ready for `resume`: only the points in flight are lost. Resuming refuses a
 *   `runs.jsonl` of another study (the header's hash covers the experiment, scale, design and qvsim version).
 *
 * @module
 */
import { existsSync, mkdirSync, rmSync, statSync } from "node:fs"
import { join } from "node:path"
import { hashOf } from "../Hash.ts"
import { ScenarioError } from "../Scenario.ts"
import * as Feed from "../sweep/Feed.ts"
import * as Pool from "../sweep/Pool.ts"
import type { RunRecord } from "../sweep/RunOne.ts"
import * as Store from "../sweep/Store.ts"
import { VERSION } from "../Version.ts"
import type { Point } from "./Design.ts"
import type { PointRecord } from "./RunPoint.ts"
import type { Task } from "./Worker.ts"

export interface Options {
  /** The experiment as the user named it (a registry name or a `.ts` path). */
  readonly source: string
  readonly experiment: string
  /** `robust` or `sensitivity`. */
  readonly study: string
  readonly scale: number
  readonly points: ReadonlyArray<Point>
  readonly jobs: number
  readonly dir: string
  readonly resume: boolean
  readonly command: string
  readonly progress: boolean
  readonly signal?: AbortSignal
  readonly runtime?: Pool.Runtime
  /** The wall clock in ms, handed in by the CLI: progress and the study's wall time. */
  readonly clock: () => number
}

export interface Outcome {
  /** Records in design order (finished ones only when interrupted). */
  readonly records: PointRecord[]
  readonly skipped: number
  readonly ran: number
  readonly failed: number
  readonly wallMs: number
  readonly interrupted: boolean
  readonly runsPath: string
}

/** The study's identity: what a resumed `runs.jsonl` must match. */
export const studyHash = (o: Pick<Options, "experiment" | "source" | "study" | "scale" | "points">): string =>
  hashOf({ qvsim: VERSION, experiment: o.experiment, source: o.source, study: o.study, scale: o.scale, keys: o.points.map((p) => p.key) })

const WORKER = new URL("../cli/robustWorker.mjs", import.meta.url).href

export const run = async (o: Options): Promise<Outcome> => {
  const start = o.clock()
  if (existsSync(o.dir) && !statSync(o.dir).isDirectory()) throw new ScenarioError(`--out ${o.dir}: not a folder`)
  mkdirSync(o.dir, { recursive: true })
  const runsPath = join(o.dir, "runs.jsonl")
  const hash = studyHash(o)
  const header: Store.Header = {
    type: "header", qvsim: VERSION, sweep: { name: `${o.experiment}--${o.study}`, file: o.source, hash }, command: o.command,
    gridPoints: o.points.length, runs: o.points.length, seeds: [...new Set(o.points.map((p) => p.seed))].sort((a, b) => a - b), sets: 0, shard: null,
  }
  // A new study replaces the folder's old runs; `resume` continues them (refused when they are another study's).
  if (!o.resume) rmSync(runsPath, { force: true })
  const { writer, done } = Store.Writer.open(runsPath, header, o.resume)
  const order = new Map(o.points.map((p, i) => [p.key, i]))
  const have = new Map<string, PointRecord>()
  for (const r of done as unknown as PointRecord[]) if (order.has(r.key)) have.set(r.key, r)
  const todo = o.points.filter((p) => !have.has(p.key))
  let ran = 0
  let failed = [...have.values()].filter((r) => !r.ok).length
  let interrupted = false

  const progress = Feed.progressLine(o.progress, o.clock, "points", 2)
  const draw = (final: boolean): void => progress({ done: have.size, total: o.points.length, failed, ran, remaining: todo.length - ran }, final)
  const onAbort = (): void => {
    interrupted = true
    writer.sync()
  }
  o.signal?.addEventListener("abort", onAbort, { once: true })
  try {
    if (todo.length > 0 && o.signal?.aborted !== true) {
      const jobs = Math.max(1, Math.min(o.jobs, todo.length))
      await Feed.feed({
        pool: Pool.open<Task, PointRecord[]>(WORKER, jobs, o.runtime),
        todo,
        jobs,
        // A point is seconds of work (every variant of an experiment): one point per task balances the workers.
        batchSize: 1,
        task: (batch) => ({ source: o.source, scale: o.scale, points: batch }),
        failed: (batch, error) => batch.map((p) => ({ type: "run", key: p.key, point: p.params, seed: p.seed, ok: false, error, replay: "", wallMs: 0 })),
        accept: (records) => {
          const now = o.clock()
          for (const r of records) {
            writer.append(r as unknown as RunRecord, now)
            have.set(r.key, r)
            ran++
            if (!r.ok) failed++
          }
          draw(false)
        },
        stopped: () => interrupted,
      })
    }
    writer.close()
    draw(true)
    const records = [...have.values()].sort((a, b) => order.get(a.key)! - order.get(b.key)!)
    interrupted ||= o.signal?.aborted === true
    if (!interrupted) Store.writeDurably(runsPath, Store.format(header, records as unknown as RunRecord[]))
    return { records, skipped: done.length, ran, failed, wallMs: o.clock() - start, interrupted, runsPath }
  } finally {
    o.signal?.removeEventListener("abort", onAbort)
    writer.close()
  }
}
