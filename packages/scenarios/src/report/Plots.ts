/**
 * The experiment's plot: the analogue of the paper's figure for a scenario. A plot is chosen by
 * scenario name in {@link PLOTS} (one line per experiment), else from what the scenario has:
 * event sources → histograms of firing intervals; PCPUs with completed jobs → response time per
 * job; PCPUs → cumulative execution per VCPU.
 *
 * @module
 */
import type { Summary } from "../Runner.ts"
import type { Scenario } from "../Scenario.ts"
import type { NamedSegment } from "../models/Pcpus.ts"
import type { PcpuCheck } from "../Check.ts"
import * as Charts from "./Charts.ts"
import type { Collected } from "./Collect.ts"
import * as Labels from "./Labels.ts"

/** Everything a plot may draw from. */
export interface PlotInput {
  readonly scenario: Scenario
  readonly summary: Summary
  /** Every executed segment of the run (empty when the scenario has no PCPUs). */
  readonly segments: ReadonlyArray<NamedSegment>
  readonly collected: Collected
  readonly checks: ReadonlyArray<PcpuCheck>
}

export interface Plot {
  readonly title: string
  /** What to look at, one or two sentences (plain text). */
  readonly caption: string
  readonly spec: Charts.TopLevelSpec
  /** Plain-text notes (e.g. series that were cut). */
  readonly notes: ReadonlyArray<string>
}

export type PlotHook = (input: PlotInput) => Plot | undefined

const MS = 1e6
/** Points a plot draws at most, over all its series (each series evenly strided to its share). */
export const MAX_POINTS = 2500

/** The stride that keeps `n` points of one of `series` series within its share of {@link MAX_POINTS}. */
const ordinal = (n: number): string => {
  const tens = n % 100
  const suffix = tens >= 11 && tens <= 13 ? "th" : n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th"
  return `${n}${suffix}`
}

const stride = (n: number, series: number): number => Math.max(1, Math.ceil(n / Math.max(100, Math.floor(MAX_POINTS / series))))

/** Response time of each completed job against its release, with RTA's bound of its VCPU. */
export const responseTimes: PlotHook = ({ scenario, collected, checks }) => {
  if (collected.jobs.length === 0) return undefined
  const names = scenario.pcpus.map(Labels.threadNames)
  const pcpus = Labels.pcpuNames(scenario)
  const multi = scenario.pcpus.length > 1
  const threadLabel = (scope: number, thread: number): string => {
    const name = names[scope]?.[thread] ?? `thread ${thread}`
    return multi ? `${pcpus[scope] ?? scope} · ${name}` : name
  }
  const notes: string[] = []
  const jobs: Charts.JobPoint[] = []
  for (const s of collected.jobs) {
    const label = threadLabel(s.scope, s.thread)
    const step = stride(s.releaseNs.length, collected.jobs.length)
    for (let i = 0; i < s.releaseNs.length; i += step) jobs.push({ thread: label, releaseMs: s.releaseNs[i]! / MS, responseMs: s.responseNs[i]! / MS })
    if (s.completed > s.releaseNs.length) notes.push(`${label}: the first ${s.releaseNs.length.toLocaleString("en-US")} of ${s.completed.toLocaleString("en-US")} jobs are drawn.`)
    if (step > 1) notes.push(`${label}: every ${ordinal(step)} job is drawn.`)
  }
  const levels: Charts.ThreadLevel[] = []
  for (const s of collected.jobs) {
    const decl = scenario.pcpus[s.scope]?.threads[s.thread]
    const check = checks[s.scope]
    if (decl === undefined || check === undefined || check.rule !== "rm") continue
    const v = check.vcpus.findIndex((x) => x.name === decl.vcpu)
    const r = check.analysis.rta.responses.find((x) => x.index === v)
    if (r !== undefined) levels.push({ thread: threadLabel(s.scope, s.thread), ms: r.responseNs / MS, label: `RTA response of VCPU ${decl.vcpu}` })
  }
  return {
    title: "Response time per job",
    caption: "Each point is a completed job: its release time and its response time (completion − release). Dashed: the worst-case response time that RTA gives for the thread's VCPU; a point above its line would contradict the analysis.",
    spec: Charts.responseTimes(jobs, levels),
    notes,
  }
}

/**
 * Cumulative execution of every VCPU against time, per PCPU (a system's core: `sandbox1/core1 ·
 * main0`, so the same VCPU name on four cores is four series), with its reserved share C/T · t;
 * a core's interrupt and monitor time as series of their own.
 */
export const cumulativeExecution: PlotHook = ({ scenario, segments, summary, checks }) => {
  if (segments.length === 0) return undefined
  const prefix = new Map<string, string>()
  for (const c of checks) {
    const m = /^(sandbox\d+)\/(core\d+)$/.exec(c.name)
    if (m !== null) prefix.set(m[2]!, c.name)
  }
  const multi = new Set(segments.map((s) => s.pcpu)).size > 1 || scenario.pcpus.length > 1
  const what = (s: NamedSegment): string => (s.thread === "irq" ? "interrupts" : s.thread === "monitor" ? "monitor" : s.vcpu)
  const key = (s: NamedSegment): string => (multi ? `${prefix.get(s.pcpu) ?? s.pcpu} · ${what(s)}` : what(s))
  const bySeries = new Map<string, NamedSegment[]>()
  for (const s of segments) {
    if (s.thread === "idle") continue
    const k = key(s)
    let list = bySeries.get(k)
    if (list === undefined) bySeries.set(k, list = [])
    list.push(s)
  }
  // Reservations: a scenario's PCPUs, or a system's cores (by their check).
  const pcpus = Labels.pcpuNames(scenario)
  const reservation = (s: NamedSegment): { budget: number; period: number } | undefined => {
    if (s.thread === "irq" || s.thread === "monitor") return undefined
    const check = checks.find((c) => c.name === (prefix.get(s.pcpu) ?? s.pcpu))
    const v = check?.vcpus.find((x) => x.name === s.vcpu)
    if (v !== undefined) return { budget: v.budgetNs, period: v.periodNs }
    const decl = scenario.pcpus[pcpus.indexOf(s.pcpu)]?.vcpus.find((x) => x.name === s.vcpu)
    return decl === undefined ? undefined : { budget: decl.budget, period: decl.period }
  }
  const endMs = summary.simTimeNs / MS
  const points: Charts.ExecPoint[] = []
  const notes: string[] = []
  let reserved = 0
  for (const [series, list] of bySeries) {
    const step = stride(list.length, bySeries.size)
    if (step > 1) notes.push(`${series}: every ${ordinal(step)} segment's end is drawn.`)
    let executed = 0
    points.push({ series, line: "executed", tMs: list[0]!.start / MS, executedMs: 0 })
    for (let i = 0; i < list.length; i++) {
      const s = list[i]!
      const before = executed
      executed += s.end - s.start
      if (i % step === 0 || i === list.length - 1) {
        if (step === 1) points.push({ series, line: "executed", tMs: s.start / MS, executedMs: before / MS })
        points.push({ series, line: "executed", tMs: s.end / MS, executedMs: executed / MS })
      }
    }
    points.push({ series, line: "executed", tMs: endMs, executedMs: executed / MS })
    const r = reservation(list[0]!)
    const share = r === undefined ? 0 : executed / ((summary.simTimeNs * r.budget) / r.period)
    if (r !== undefined && share < 0.1) {
      // A reservation ten times what was used would flatten every executed line: said, not drawn.
      notes.push(`${series} used ${(100 * share).toPrecision(2)} % of its reserved share C/T × t (${r.budget / 1e6} ms per ${r.period / 1e6} ms); its dashed line is not drawn.`)
    } else if (r !== undefined) {
      reserved++
      points.push({ series, line: "reserved share C/T", tMs: 0, executedMs: 0 })
      points.push({ series, line: "reserved share C/T", tMs: endMs, executedMs: (endMs * r.budget) / r.period })
    }
  }
  return {
    title: "Cumulative execution per core and VCPU",
    caption: `Solid: the CPU time each VCPU has received so far on its core${reserved > 0 ? "; dashed: its reserved share C/T × t. A VCPU whose solid line keeps rising faster than its dashed line receives more than C per period T: budget amplification" : ""}. A core's interrupt handling and monitor time (VM exits) are series of their own.`,
    spec: Charts.cumulativeExecution(points, reserved > 0),
    notes,
  }
}

/** Histograms of the intervals between successive firings, one per event source. */
export const firingIntervals: PlotHook = ({ scenario, collected }) => {
  if (collected.intervals.length === 0) return undefined
  const notes: string[] = []
  // In the scenario's order of sources (subjects `timer/<name>`), others after.
  const order = (subject: string): number => {
    const i = scenario.sources.findIndex((src) => `timer/${src.name}` === subject)
    return i < 0 ? Infinity : i
  }
  const sorted = [...collected.intervals].sort((a, b) => order(a.subject) - order(b.subject))
  const series = sorted.map((s) => {
    if (s.count > s.intervalNs.length) notes.push(`${s.subject}: the first ${s.intervalNs.length.toLocaleString("en-US")} of ${s.count.toLocaleString("en-US")} intervals are counted.`)
    const mean = s.intervalNs.length > 0 ? s.intervalNs.reduce((a, b) => a + b, 0) / s.intervalNs.length / MS : 0
    return { title: `${s.subject}: ${s.count.toLocaleString("en-US")} intervals, mean ${mean.toFixed(3)} ms`, valuesMs: s.intervalNs.map((ns) => ns / MS) }
  })
  return {
    title: "Firing intervals per source",
    caption: "Distribution of the time between successive firings of each source: a spike at the period for periodic sources (spread by the jitter), an exponential for Poisson sources.",
    spec: Charts.histograms(series, "interval (ms)"),
    notes,
  }
}

/** Plots by scenario name: the paper's experiments add a line each. */
export const PLOTS: Readonly<Record<string, PlotHook>> = {
  "rm-periodic": responseTimes,
  "ss-amplification": cumulativeExecution,
  timers: firingIntervals,
}

/** The plot of a run: by name, else the first fallback that has something to draw. */
export const plotFor = (input: PlotInput): Plot | undefined => {
  const named = PLOTS[input.scenario.name]
  if (named !== undefined) {
    const plot = named(input)
    if (plot !== undefined) return plot
  }
  return firingIntervals(input) ?? responseTimes(input) ?? cumulativeExecution(input)
}
