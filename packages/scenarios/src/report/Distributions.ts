/**
 * The distributions a run report shows: response times per thread (from the run's jobs) and
 * round-trip times per host (`host.echo.reply`), each as an empirical CDF with its p50, p99 and
 * maximum marked, and for a thread the RTA bound of its VCPU as a dashed line (a point right of
 * it would contradict the analysis); plus the same numbers as a table.
 *
 * Quantiles are nearest-rank (`p`-quantile = the ⌈p·n⌉-th smallest value), exact over every value
 * kept; the curve is drawn through at most {@link MAX_CURVE_POINTS} evenly spaced ranks per series.
 *
 * @module
 */
import type { PcpuCheck } from "../Check.ts"
import type { JobRow } from "../Jobs.ts"
import type { Scenario } from "../Scenario.ts"
import type { Collected } from "./Collect.ts"
import * as Labels from "./Labels.ts"

export const MAX_CURVE_POINTS = 400

export interface Series {
  /** Unique label (`sandbox1 · sender`, `host:pinger`). */
  readonly label: string
  /** Sorted ascending, ms. */
  readonly valuesMs: ReadonlyArray<number>
  /** Values seen (some may not be kept). */
  readonly count: number
  /** RTA's worst-case response of the thread's VCPU, ms. */
  readonly boundMs?: number
  readonly misses?: number
}

export interface Stats {
  readonly n: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank quantile of sorted values. */
export const quantile = (sorted: ReadonlyArray<number>, p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!

export const stats = (sorted: ReadonlyArray<number>): Stats => ({ n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1]! })

/** Response times per (where, thread) of the jobs that completed, with the RTA bound of the thread's VCPU. */
export const responseSeries = (scenario: Scenario, jobs: ReadonlyArray<JobRow>, checks: ReadonlyArray<PcpuCheck>): Series[] => {
  const groups = new Map<string, { where: string; thread: string; values: number[]; misses: number }>()
  for (const j of jobs) {
    const k = `${j.where}\u0000${j.thread}`
    let g = groups.get(k)
    if (g === undefined) groups.set(k, g = { where: j.where, thread: j.thread, values: [], misses: 0 })
    if (j.response !== null) g.values.push(j.response / 1e6)
    if (j.missed === true) g.misses++
  }
  const multi = new Set([...groups.values()].map((g) => g.where)).size > 1
  const pcpus = Labels.pcpuNames(scenario)
  const bound = (where: string, thread: string): number | undefined => {
    for (const c of checks) {
      const vcpu = c.system !== undefined
        ? (`sandbox${c.system.sandbox}` === where ? c.system.threads.find((t) => t.name === thread)?.vcpu : undefined)
        : (c.name === where ? scenario.pcpus[pcpus.indexOf(where)]?.threads.find((t) => t.name === thread)?.vcpu : undefined)
      if (vcpu === undefined) continue
      const index = c.vcpus.findIndex((v) => v.name === vcpu)
      const r = c.analysis.rta.responses.find((x) => x.index === index)
      if (r !== undefined) return r.responseNs / 1e6
    }
    return undefined
  }
  return [...groups.values()].filter((g) => g.values.length > 0).map((g) => {
    const b = bound(g.where, g.thread)
    return {
      label: multi ? `${g.where} · ${g.thread}` : g.thread,
      valuesMs: g.values.sort((a, b) => a - b),
      count: g.values.length,
      misses: g.misses,
      ...(b !== undefined ? { boundMs: b } : {}),
    }
  })
}

/** Round-trip times per host. */
export const rttSeries = (collected: Collected): Series[] =>
  (collected.rtts ?? []).filter((s) => s.rttNs.length > 0).map((s) => ({
    label: s.subject,
    valuesMs: s.rttNs.map((ns) => ns / 1e6).sort((a, b) => a - b),
    count: s.count,
  }))

/** The ECDF curve of a series: at most {@link MAX_CURVE_POINTS} (value, fraction ≤ value) points, first and last included. */
export const curve = (s: Series): Array<{ series: string; ms: number; fraction: number }> => {
  const v = s.valuesMs
  const n = v.length
  const step = Math.max(1, Math.ceil(n / MAX_CURVE_POINTS))
  const out: Array<{ series: string; ms: number; fraction: number }> = [{ series: s.label, ms: v[0]!, fraction: 0 }]
  for (let i = 0; i < n; i += step) out.push({ series: s.label, ms: v[i]!, fraction: (i + 1) / n })
  if ((n - 1) % step !== 0) out.push({ series: s.label, ms: v[n - 1]!, fraction: 1 })
  return out
}
