/**
 * A finished sweep's outputs, the same for a local run and a merge: `runs.jsonl` sorted in plan
 * order, `summary.csv`, `summary.json` (with provenance) and, when asked, the HTML report. Each
 * is written durably under a temporary name and renamed into place.
 *
 * @module
 */
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import { VERSION } from "../Version.ts"
import type { Plan } from "./Plan.ts"
import { matcher, type RunRecord } from "./RunOne.ts"
import * as Store from "./Store.ts"
import * as Summary from "./Summary.ts"
import type { LoadedSweep } from "./SweepFile.ts"

/** Provenance: in every output's header or `provenance` field. */
export interface Provenance {
  readonly qvsim: string
  readonly sweep: { readonly name: string; readonly file: string; readonly hash: string }
  readonly command: string
  readonly gridPoints: number
  readonly runs: number
  readonly seeds: ReadonlyArray<number>
  readonly sets: number
}

export const provenance = (loaded: LoadedSweep, plan: Plan, command: string): Provenance => ({
  qvsim: VERSION,
  sweep: { name: loaded.sweep.name, file: loaded.file, hash: loaded.hash },
  command,
  gridPoints: plan.points.length,
  runs: plan.runs.length,
  seeds: plan.seeds,
  sets: plan.sets,
})

export const header = (p: Provenance, shard: Store.Header["shard"]): Store.Header => ({ type: "header", ...p, shard })

export interface Written {
  readonly files: string[]
  readonly rows: Summary.Row[]
  readonly failed: number
  /** For the user, one line each (e.g. a `measure.metrics` pattern that matched nothing). */
  readonly warnings: string[]
}

/** `measure.metrics` patterns that matched no metric of any successful run (a typo, usually). */
export const unmatched = (loaded: LoadedSweep, runs: ReadonlyArray<RunRecord>): string[] => {
  const patterns = loaded.sweep.measure.metrics ?? []
  const names = new Set<string>()
  for (const r of runs) for (const k of Object.keys(r.metrics ?? {})) names.add(k)
  if (!runs.some((r) => r.ok)) return []
  return patterns.filter((p) => ![...names].some(matcher([p]))).map((p) => `measure.metrics: "${p}" matched no metric of any run (names are as \`qvsim run\` prints them, e.g. pcpus.pcpu0.threads.task1.maxResponseNs)`)
}

/**
 * Writes runs (sorted), summary.csv/json and (with `reportPath`) the report. `extra` goes into
 * summary.json's provenance (shards merged, wall time).
 */
export const write = async (
  outDir: string,
  loaded: LoadedSweep,
  plan: Plan,
  runs: ReadonlyArray<RunRecord>,
  runsHeader: Store.Header,
  extra: Readonly<Record<string, unknown>>,
  reportPath?: string,
): Promise<Written> => {
  const sorted = Summary.sortRuns(plan, runs)
  const rows = Summary.rows(plan, sorted)
  const failed = sorted.filter((r) => !r.ok).length
  const { type: _type, shard: _shard, ...prov } = runsHeader
  const provenanceJson = { ...prov, ...extra, completedRuns: sorted.length, failedRuns: failed }
  const files = [join(outDir, "runs.jsonl"), join(outDir, "summary.csv"), join(outDir, "summary.json")]
  Store.writeDurably(files[0]!, Store.format(runsHeader, sorted))
  Store.writeDurably(files[1]!, Summary.toCsv(plan, rows))
  Store.writeDurably(files[2]!, `${JSON.stringify(Summary.toJson(plan, rows, provenanceJson), null, 2)}\n`)
  if (reportPath !== undefined) {
    // Loaded only for a report: the charts' modules (vega) take about a second to load.
    const Report = await import("../report/SweepReport.ts")
    mkdirSync(dirname(reportPath), { recursive: true })
    Store.writeDurably(reportPath, await Report.build({ loaded, plan, runs: sorted, rows, provenance: provenanceJson }))
    files.push(reportPath)
  }
  return { files, rows, failed, warnings: unmatched(loaded, sorted) }
}
