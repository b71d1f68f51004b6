/**
 * What a robust study concludes from its records (in design order): per claim "holds in k of n"
 * with a 95 % Wilson interval and the first counterexample (in design order) as a replayable
 * command line; for a thresholded claim the verdict as a function of the threshold; the pooled
 * claims; the distribution of every headline metric (mean with its Student-t 95 % interval, sd,
 * min, median, max). Also the text printed on stdout and the `results.json` object.
 *
 * Invariant: a pure function of the records in design order (the statistics of `sweep/Stats.ts`
 * sum in that order), so the same study gives the same bytes whatever the number of workers.
 *
 * @module
 */
import { describe, wilson } from "../sweep/Stats.ts"
import type { PooledClaim, Sample } from "./Contract.ts"
import { compare } from "./Contract.ts"
import { type Domain, describeValues, type InputValue, type Params, show } from "./Domain.ts"
import type { ClaimMeta, PointRecord } from "./RunPoint.ts"

export interface Counterexample {
  readonly key: string
  readonly seed: number
  readonly params: Params
  /** `qvsim run <experiment> --seed S --param ...`: this point alone. */
  readonly command: string
  readonly detail: string
}

export interface ThresholdSummary {
  readonly name: string
  readonly value: number
  readonly unit?: string
  readonly holdsWhen: string
  readonly ours: boolean
  /** The measured value over the sample. */
  readonly measured: MetricSummary
  /** The verdict at each shown threshold (ours and the alternatives), ascending. */
  readonly at: ReadonlyArray<{ readonly threshold: number; readonly holdsIn: number; readonly interval: readonly [number, number] }>
}

export interface ClaimSummary {
  readonly id: string
  readonly text: string
  /** Holds in every sample. */
  readonly holds: boolean
  readonly samples: number
  readonly holdsIn: number
  /** 95 % Wilson interval of the share of the domain where it holds. */
  readonly interval: readonly [number, number]
  readonly counterexample: Counterexample | null
  readonly threshold?: ThresholdSummary
}

export interface PooledSummary {
  readonly id: string
  readonly text: string
  readonly holds: boolean
  readonly detail: string
}

export interface MetricSummary {
  readonly name: string
  readonly count: number
  readonly mean: number | undefined
  readonly ci95: readonly [number, number] | null
  readonly sd: number | undefined
  readonly min: number | undefined
  readonly median: number | undefined
  readonly max: number | undefined
}

export interface Summary {
  readonly claims: readonly ClaimSummary[]
  readonly pooled: readonly PooledSummary[]
  readonly metrics: readonly MetricSummary[]
  readonly failed: ReadonlyArray<{ readonly key: string; readonly error: string; readonly command: string }>
  readonly samples: number
}

const round = (x: number): number => Number(x.toPrecision(6))

export const metricSummary = (name: string, values: readonly number[]): MetricSummary => {
  const d = describe(values)
  const sorted = [...values].sort((a, b) => a - b)
  const median = sorted.length === 0 ? undefined : sorted.length % 2 === 1 ? sorted[(sorted.length - 1) / 2]! : (sorted[sorted.length / 2 - 1]! + sorted[sorted.length / 2]!) / 2
  const r = (x: number | undefined) => (x === undefined ? undefined : round(x))
  return {
    name, count: d.count, mean: r(d.mean), ci95: d.ci95Low === undefined ? null : [round(d.ci95Low), round(d.ci95High!)], sd: r(d.sd),
    min: r(d.min), median: r(median), max: r(d.max),
  }
}

const interval = (k: number, n: number): [number, number] => {
  if (n === 0) return [0, 1]
  const w = wilson(k, n)
  return [round(w.low), round(w.high)]
}

/** The summary of a study's records (design order). */
export const summarise = (records: readonly PointRecord[], pooled: readonly PooledClaim[] = []): Summary => {
  const ok = records.filter((r) => r.ok)
  const meta = new Map<string, ClaimMeta>()
  for (const r of ok) for (const [id, m] of Object.entries(r.claims ?? {})) if (!meta.has(id)) meta.set(id, m)
  const claims: ClaimSummary[] = [...meta.entries()].map(([id, m]) => {
    const rs = ok.filter((r) => r.verdicts?.[id] !== undefined)
    const k = rs.filter((r) => r.verdicts![id] === true).length
    const bad = rs.find((r) => r.verdicts![id] === false)
    const t = m.threshold
    let threshold: ThresholdSummary | undefined
    if (t !== undefined) {
      const measured = rs.map((r) => r.metrics?.[`${id}.measured`]).filter((x): x is number => x !== undefined)
      const values = [...new Set([t.value, ...(t.alternatives ?? [])])].sort((a, b) => a - b)
      threshold = {
        name: t.name, value: t.value, ...(t.unit !== undefined ? { unit: t.unit } : {}), holdsWhen: t.holdsWhen, ours: t.ours,
        measured: metricSummary(`${id}.measured`, measured),
        at: values.map((v) => {
          const h = rs.filter((r) => r.metrics?.[`${id}.others`] === 1 && r.metrics[`${id}.measured`] !== undefined && compare(r.metrics[`${id}.measured`]!, t.holdsWhen, v)).length
          return { threshold: v, holdsIn: h, interval: interval(h, rs.length) }
        }),
      }
    }
    return {
      id, text: m.text, holds: k === rs.length, samples: rs.length, holdsIn: k, interval: interval(k, rs.length),
      counterexample: bad === undefined ? null : { key: bad.key, seed: bad.seed, params: bad.point, command: bad.replay, detail: bad.details?.[id] ?? "" },
      ...(threshold !== undefined ? { threshold } : {}),
    }
  })
  const samples: Sample[] = ok.map((r) => ({ seed: r.seed, params: r.point, metrics: r.metrics ?? {}, verdicts: r.verdicts ?? {} }))
  const names: string[] = []
  for (const r of ok) for (const k of Object.keys(r.metrics ?? {})) if (!k.endsWith(".measured") && !k.endsWith(".others") && !names.includes(k)) names.push(k)
  return {
    claims,
    pooled: pooled.map((p) => ({ id: p.id, text: p.text, ...p.from(samples) })),
    metrics: names.map((n) => metricSummary(n, ok.map((r) => r.metrics?.[n]).filter((x): x is number => x !== undefined))),
    failed: records.filter((r) => !r.ok).map((r) => ({ key: r.key, error: r.error ?? "", command: r.replay })),
    samples: ok.length,
  }
}

const pct = (x: number): string => `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)} %`
const num = (x: number | undefined): string => (x === undefined ? "–" : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 6 }))

/** The domain as text lines (kind, name, values, what, reason). */
export const formatDomain = (d: Domain): string[] => [
  `  seeds    ${d.seeds.length === 1 ? String(d.seeds[0]) : `${d.seeds.length} (${d.seeds[0]}..${d.seeds.at(-1)})`}${d.seedsReason !== "" ? ` — ${d.seedsReason}` : ""}`,
  ...d.params.map((p) => `  ${p.role === "choice" ? "choice " : "assumed"}  ${p.name} = ${describeValues(p)} (default ${show(p.default)}): ${p.description}\n             ${p.role === "assumed" ? `[${p.basis}] ` : ""}${p.reason}`),
]

/** The inputs as text lines. */
export const formatInputs = (inputs: readonly InputValue[]): string[] =>
  inputs.map((i) => `  ${i.name}: ${typeof i.value === "number" ? i.value.toLocaleString("en-US") : i.value}${i.unit !== undefined ? ` ${i.unit}` : ""}  (${i.source})`)

/** The claims' verdicts as text. */
export const formatClaims = (s: Summary): string[] => {
  const out: string[] = ["claims (holds in k of n samples, 95 % Wilson interval)"]
  for (const c of s.claims) {
    out.push(`  ${c.holds ? "✓" : "✗"} ${c.holdsIn}/${c.samples} [${pct(c.interval[0])}, ${pct(c.interval[1])}]  ${c.text}`)
    if (c.threshold !== undefined) {
      const t = c.threshold
      out.push(`      threshold ${t.ours ? "(ours)" : "(given)"}: ${t.name} ${t.holdsWhen} ${num(t.value)}${t.unit !== undefined ? ` ${t.unit}` : ""}; measured ${num(t.measured.min)}..${num(t.measured.max)} (mean ${num(t.measured.mean)})`)
      out.push(`      holds at ${t.at.map((a) => `${num(a.threshold)}${t.unit !== undefined ? ` ${t.unit}` : ""}: ${a.holdsIn}/${c.samples}`).join(", ")}`)
    }
    if (c.counterexample !== null) {
      out.push(`      first counterexample: ${c.counterexample.command}`)
      if (c.counterexample.detail !== "") out.push(`        ${c.counterexample.detail}`)
    }
  }
  for (const p of s.pooled) out.push(`  ${p.holds ? "✓" : "✗"} pooled  ${p.text}\n      ${p.detail}`)
  const failed = s.claims.filter((c) => !c.holds).length + s.pooled.filter((p) => !p.holds).length
  const total = s.claims.length + s.pooled.length
  out.push(failed === 0 ? `all ${total} claims hold over the whole sample` : `${failed} of ${total} claims do NOT hold over the whole sample`)
  return out
}

/** The metrics' distributions as text. */
export const formatMetrics = (s: Summary): string[] => {
  if (s.metrics.length === 0) return []
  const w = Math.max(...s.metrics.map((m) => m.name.length))
  return [
    "metrics (mean [95 % CI], min..max over the sample)",
    ...s.metrics.map((m) => `  ${m.name.padEnd(w)}  ${num(m.mean)}${m.ci95 !== null ? ` [${num(m.ci95[0])}, ${num(m.ci95[1])}]` : ""}  ${num(m.min)}..${num(m.max)}`),
  ]
}
