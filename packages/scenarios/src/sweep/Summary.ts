/**
 * A sweep's summary: per grid point, per metric, count, mean, sd, min, max and a 95 % CI of the
 * mean (Student t); per verdict, the acceptance ratio with a 95 % Wilson interval. Written as a
 * tidy `summary.csv` (one column per quantity, parameters in columns named by path, `_ns` on
 * durations, numbers as numbers, missing as empty) and `summary.json` (the same rows, `null` for
 * missing, with the sweep's provenance).
 *
 * Invariants: computed from the runs sorted in plan order, with sums in that order, so the bytes
 * of `summary.csv` do not depend on the number of workers or shards, on completion order, or on
 * resuming; `summary.csv` holds data only (no command line, no wall times: those are in
 * `summary.json`'s provenance), which is what makes it byte-identical across `--jobs` and shards.
 *
 * @module
 */
import type { Plan } from "./Plan.ts"
import type { RunRecord } from "./RunOne.ts"
import * as Stats from "./Stats.ts"

/** One row: a metric or a verdict at a point. */
export interface Row {
  /** Index of the point in the plan. */
  readonly point: number
  readonly kind: "metric" | "verdict"
  readonly name: string
  /** Runs planned at this point, and how many failed. */
  readonly runs: number
  readonly failed: number
  readonly count: number
  readonly mean?: number | undefined
  readonly sd?: number | undefined
  readonly min?: number | undefined
  readonly max?: number | undefined
  readonly ci95Low?: number | undefined
  readonly ci95High?: number | undefined
  readonly accepted?: number
  readonly acceptanceRatio?: number
  readonly wilson95Low?: number
  readonly wilson95High?: number
}

/** Sorts runs into plan order (by key); runs of keys the plan does not have are left out. */
export const sortRuns = (plan: Plan, runs: ReadonlyArray<RunRecord>): RunRecord[] => {
  const order = new Map(plan.runs.map((r) => [r.key, r.index]))
  return runs.filter((r) => order.has(r.key)).sort((a, b) => order.get(a.key)! - order.get(b.key)!)
}

/** The rows of the summary, from runs sorted in plan order. */
export const rows = (plan: Plan, sorted: ReadonlyArray<RunRecord>): Row[] => {
  const pointOf = new Map(plan.runs.map((r) => [r.key, r.point]))
  const planned = new Array<number>(plan.points.length).fill(0)
  for (const r of plan.runs) planned[r.point]!++
  const byPoint: RunRecord[][] = plan.points.map(() => [])
  for (const r of sorted) byPoint[pointOf.get(r.key)!]!.push(r)
  const out: Row[] = []
  byPoint.forEach((runs, point) => {
    const ok = runs.filter((r) => r.ok)
    const failed = runs.length - ok.length
    const base = { point, runs: planned[point]!, failed }
    const metrics = new Map<string, number[]>([["events", []]])
    const verdicts = new Map<string, boolean[]>()
    for (const r of ok) {
      metrics.get("events")!.push(r.events!)
      for (const [k, v] of Object.entries(r.metrics ?? {})) {
        let list = metrics.get(k)
        if (list === undefined) metrics.set(k, (list = []))
        list.push(v)
      }
      for (const [k, v] of Object.entries(r.verdicts ?? {})) {
        let list = verdicts.get(k)
        if (list === undefined) verdicts.set(k, (list = []))
        list.push(v)
      }
    }
    for (const [name, values] of verdicts) {
      const accepted = values.filter((v) => v).length
      const w = Stats.wilson(accepted, values.length)
      out.push({ ...base, kind: "verdict", name, count: values.length, accepted, acceptanceRatio: accepted / values.length, wilson95Low: w.low, wilson95High: w.high })
    }
    for (const [name, values] of metrics) out.push({ ...base, kind: "metric", name, ...Stats.describe(values) })
  })
  return out
}

/** The CSV column of each parameter: its path, `_ns` for durations. */
export const paramColumns = (plan: Plan): string[] => plan.params.map((p) => (p.durationNs ? `${p.path}_ns` : p.path))

const QUANTITIES = [
  ["kind", "kind"], ["name", "name"], ["runs", "runs"], ["failed", "failed"], ["count", "count"],
  ["mean", "mean"], ["sd", "sd"], ["min", "min"], ["max", "max"], ["ci95_low", "ci95Low"], ["ci95_high", "ci95High"],
  ["accepted", "accepted"], ["acceptance_ratio", "acceptanceRatio"], ["wilson95_low", "wilson95Low"], ["wilson95_high", "wilson95High"],
] as const

const cell = (v: unknown): string => {
  if (v === undefined || v === null) return ""
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : ""
  const s = typeof v === "string" ? v : JSON.stringify(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** `summary.csv`: a header line, one line per row (RFC 4180 quoting; empty cells for missing). */
export const toCsv = (plan: Plan, rs: ReadonlyArray<Row>): string => {
  const header = [...paramColumns(plan), ...QUANTITIES.map(([c]) => c)]
  const lines = rs.map((r) => [...plan.points[r.point]!.map(cell), ...QUANTITIES.map(([, k]) => cell(r[k]))].join(","))
  return `${[header.map(cell).join(","), ...lines].join("\n")}\n`
}

/** `summary.json`: provenance, the parameters, the rows (null for missing). */
export const toJson = (plan: Plan, rs: ReadonlyArray<Row>, provenance: Readonly<Record<string, unknown>>): Record<string, unknown> => ({
  provenance,
  statistics: {
    ci95: "two-sided 95 % confidence interval of the mean, Student t with n − 1 degrees of freedom: mean ± t(0.975, n−1)·sd/√n (sd: sample standard deviation)",
    acceptance: "acceptance ratio = accepted / count of successful runs; 95 % Wilson score interval",
  },
  params: plan.params.map((p, i) => ({ name: p.path, column: paramColumns(plan)[i], durationNs: p.durationNs, values: p.values })),
  rows: rs.map((r) => ({
    point: Object.fromEntries(plan.params.map((p, i) => [p.path, plan.points[r.point]![i]])),
    ...Object.fromEntries(QUANTITIES.map(([c, k]) => [c, r[k] === undefined || (typeof r[k] === "number" && !Number.isFinite(r[k])) ? null : r[k]])),
  })),
})
