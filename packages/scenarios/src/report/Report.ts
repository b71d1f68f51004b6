/**
 * The HTML report of one run: a single self-contained page (styles, SVG charts, the Vega runtime
 * and chart specs inline; a Content-Security-Policy forbids any network access) with the run
 * summary, a zoomable Gantt chart ({@link Gantt}: lanes per core and VCPU or per thread,
 * interrupt and monitor lanes, job markers, recovery phases, opening on the first fault or miss),
 * the experiment's plot ({@link Plots}), the response-time and RTT distributions
 * ({@link Distributions}) and the schedulability analysis ({@link Check}: what it covers, its
 * verdicts, the I/O VCPUs' bounds) beside what the run observed.
 *
 * Invariants:
 * - every text from the scenario or the run is HTML-escaped; JSON inside `<script>` has `<`
 *   escaped, so no name can close the element;
 * - the page reads without scripts (charts are SVG rendered in Node); with scripts, the Gantt
 *   chart is re-rendered live by Vega at the same window and zooms (wheel) and pans (drag);
 * - the size is bounded: the Gantt chart holds at most `maxSegments` segments (those nearest the
 *   window it opens on, said on the page), a plot at most {@link Plots.MAX_POINTS} points in all
 *   (strided, said too), a distribution curve at most {@link Distributions.MAX_CURVE_POINTS}.
 *
 * @module
 */
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { Time } from "@qvsim/sim-core"
import * as Check from "../Check.ts"
import type { NamedSegment } from "../models/Pcpus.ts"
import type { Summary } from "../Runner.ts"
import type { Scenario } from "../Scenario.ts"
import { metricRows } from "../Summary.ts"
import { VERSION } from "../Version.ts"
import type { JobRow } from "../Jobs.ts"
import * as Charts from "./Charts.ts"
import type { Collected } from "./Collect.ts"
import * as Distributions from "./Distributions.ts"
import * as Gantt from "./Gantt.ts"
import * as Plots from "./Plots.ts"

export interface ReportInput {
  readonly scenario: Scenario
  /** The run's summary; `wallMs` when measured. */
  readonly summary: Summary & { readonly wallMs?: number }
  /** Executed segments in start order (`Runner.prepare(..., { recordSchedule: true })`). */
  readonly segments: ReadonlyArray<NamedSegment>
  readonly collected: Collected
  /** The scenario's identity hash and source (`Load`), shown in the summary. */
  readonly identity?: { readonly hash: string; readonly source: string }
  /** Every job of the run (`recordJobs`): the Gantt chart's release, deadline and miss markers, the response-time distributions. */
  readonly jobs?: ReadonlyArray<JobRow>
  /** Recovery phases (a system run's `recoveries()`), shaded on the Gantt chart. */
  readonly spans?: ReadonlyArray<Gantt.Span>
}

export interface ReportOptions {
  /** Segments the Gantt chart holds at most (default 5,000: those nearest the window it opens on). */
  readonly maxSegments?: number
  /** Without a fault or a miss to open on, the Gantt chart first shows about this many segments (default 100). */
  readonly initialSegments?: number
}

/** Escapes text for HTML content and attribute values. */
export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => (c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : "&#39;"))

/** JSON safe inside a `<script>` element. */
export const scriptJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029")

const MS = 1e6
const fmtInt = (n: number): string => n.toLocaleString("en-US")
const fmt4 = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x))

/** The smallest 1, 2, 5 × 10^k at or above `x` (> 0). */
export const niceCeil = Gantt.niceCeil

let vegaRuntime: string | undefined
/** The Vega runtime (vega.min.js from the `vega` package), read once. */
const vegaScript = (): string => {
  if (vegaRuntime === undefined) {
    const entry = createRequire(import.meta.url).resolve("vega")
    vegaRuntime = readFileSync(join(dirname(entry), "vega.min.js"), "utf8").replace(/<\/script/gi, "<\\/script")
  }
  return vegaRuntime
}

// ---------------------------------------------------------------- sections

interface GanttPart {
  readonly html: string
  /** The compiled Vega spec for the live chart, if any. */
  readonly vega?: unknown
}

const ganttSection = async (input: ReportInput, checks: ReadonlyArray<Check.PcpuCheck>, options: ReportOptions): Promise<GanttPart> => {
  const { scenario, segments, summary } = input
  const head = `<h2>Schedule</h2>`
  if (scenario.pcpus.length === 0 && segments.length === 0) {
    return { html: `${head}<p class="note">This scenario declares no PCPUs and recorded no executed segments: there is no schedule to draw.</p>` }
  }
  const data = Gantt.build({ scenario, segments, checks, jobs: input.jobs ?? [], spans: input.spans ?? [], simTimeNs: summary.simTimeNs }, {
    ...(options.maxSegments !== undefined ? { maxSegments: options.maxSegments } : {}),
    ...(options.initialSegments !== undefined ? { initialSegments: options.initialSegments } : {}),
  })
  const spec = Charts.gantt(data)
  // The SVGs show the initial window only: the marks outside it would be clipped anyway. Both
  // lane views are drawn, per VCPU and per thread, so a page read without scripts has both; the
  // live chart replaces them with one view and its toggle.
  const [a, b] = data.initialMs
  const windowed = { ...data, bars: data.bars.filter((x) => x.end >= a && x.start <= b), markers: data.markers.filter((m) => m.t >= a && m.t <= b) }
  const svg = await Charts.toSvg(Charts.gantt(windowed))
  const threadSvg = await Charts.toSvg(Charts.gantt(windowed, { laneBy: "thread" }))
  const extent = data.shownSegments < data.totalSegments
    ? `${fmtInt(data.shownSegments)} of ${fmtInt(data.totalSegments)} executed segments, those nearest the opening window`
    : `all ${fmtInt(data.totalSegments)} executed segments`
  const markers = data.totalMarkers === 0 ? "" : ` Job markers: ▼ release, ▲ deadline, ✕ miss (${data.shownMarkers < data.totalMarkers ? `${fmtInt(data.shownMarkers)} of ${fmtInt(data.totalMarkers)}` : fmtInt(data.totalMarkers)}).`
  const spans = data.spans.length === 0 ? "" : " Shaded: recovery phases."
  const idleNames = [...new Set(data.idleLanes.map((l) => l.slice(l.lastIndexOf(" · ") + 3)))]
  const hidden = data.idleLanes.length === 0 ? "" : ` ${fmtInt(data.idleLanes.length)} declared VCPU lanes that never ran and have no jobs are left out (${idleNames.join(", ")}).`
  const at = (ms: number): string => `${ms.toLocaleString("en-US", { maximumFractionDigits: 3 })} ms`
  const note = `One lane per PCPU and VCPU; a core's interrupt handling and monitor time (VM exits) have lanes of their own.${hidden} A bar is an uninterrupted run; each starts with a tick, so a run shorter than a pixel still shows (hover for its true duration).${markers}${spans} Showing ${extent}; the view opens ${data.why}, ${at(a)} – ${at(b)} of ${at(summary.simTimeNs / MS)} simulated. Scroll over the chart to zoom, drag to pan.`
  return {
    html: `${head}<p class="note">${escapeHtml(note)}</p><div class="chart" id="gantt" data-live="0"><h3>Lanes per VCPU</h3>${svg}<h3 id="gantt-threads">Lanes per thread</h3><p class="note">${escapeHtml("The same window, one lane per thread (a thread's segments, whichever VCPU ran them), with the interrupt and monitor lanes.")}</p>${threadSvg}</div>`,
    vega: Charts.toVega(spec),
  }
}

const plotSection = async (input: ReportInput, checks: ReadonlyArray<Check.PcpuCheck>): Promise<string> => {
  const plot = Plots.plotFor({ ...input, checks })
  if (plot === undefined) return `<h2>Experiment</h2><p class="note">No plot for this scenario: it produced no data a plot draws.</p>`
  const svg = await Charts.toSvg(plot.spec)
  const notes = plot.notes.length > 0 ? `<ul class="notes">${plot.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join("")}</ul>` : ""
  return `<h2>${escapeHtml(plot.title)}</h2><p class="note">${escapeHtml(plot.caption)}</p><div class="chart" id="plot">${svg}</div>${notes}`
}

/** The response-time and round-trip-time distributions, each with its table of p50, p99, max. */
const distributionsSection = async (input: ReportInput, checks: ReadonlyArray<Check.PcpuCheck>): Promise<string> => {
  const parts: string[] = []
  const ms = (x: number | undefined): string => (x === undefined ? "—" : x.toLocaleString("en-US", { maximumSignificantDigits: 6 }))
  const chart = async (id: string, series: ReadonlyArray<Distributions.Series>, xTitle: string, bound: boolean): Promise<string> => {
    const spec = Charts.ecdf(series.map((s) => {
      const st = Distributions.stats(s.valuesMs)
      const mark = (stat: "p50" | "p99" | "max", v: number) => ({ series: s.label, stat, ms: v, fraction: s.valuesMs.filter((x) => x <= v).length / s.valuesMs.length })
      return { label: s.label, curve: Distributions.curve(s), marks: [mark("p50", st.p50), mark("p99", st.p99), mark("max", st.max)], ...(s.boundMs !== undefined ? { boundMs: s.boundMs } : {}) }
    }), xTitle, "RTA bound of its VCPU")
    const rows = series.map((s) => {
      const st = Distributions.stats(s.valuesMs)
      return [escapeHtml(s.label), fmtInt(s.count), ms(st.p50), ms(st.p99), ms(st.max), ...(bound ? [ms(s.boundMs), s.misses === undefined ? "—" : fmtInt(s.misses)] : [])]
    })
    const cut = series.filter((s) => s.count > s.valuesMs.length).map((s) => `${s.label}: the first ${fmtInt(s.valuesMs.length)} of ${fmtInt(s.count)}`)
    return `<div class="chart" id="${id}">${await Charts.toSvg(spec)}</div>${table(["series", "n", "p50 (ms)", "p99 (ms)", "max (ms)", ...(bound ? ["RTA bound (ms)", "deadline misses"] : [])], rows, "stats")}${cut.length > 0 ? `<p class="note">${escapeHtml(`Kept: ${cut.join("; ")}.`)}</p>` : ""}`
  }
  const responses = Distributions.responseSeries(input.scenario, input.jobs ?? [], checks)
  if (responses.length > 0) {
    parts.push(`<h3>Response times per thread</h3><p class="note">${escapeHtml("Empirical CDF of each thread's job response times (completion − release): the fraction of jobs that responded within x. Marked: p50 ●, p99 ■, max ◆. Dashed: the worst-case response RTA gives for the thread's VCPU; a curve reaching right of its line would contradict the analysis (the analysis covers the VCPU's reservation; a thread's job may also wait for its own earlier jobs).")}</p>${await chart("responses", responses, "response time (ms)", true)}`)
  }
  const rtts = Distributions.rttSeries(input.collected)
  if (rtts.length > 0) {
    parts.push(`<h3>Round-trip times per host</h3><p class="note">${escapeHtml("Empirical CDF of the round-trip times each host measured (echo request sent → reply received). Marked: p50 ●, p99 ■, max ◆.")}</p>${await chart("rtts", rtts, "round-trip time (ms)", false)}`)
  }
  return parts.length === 0 ? "" : `<h2>Distributions</h2>${parts.join("")}`
}

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, cls = ""): string =>
  `<table${cls === "" ? "" : ` class="${cls}"`}><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`

const verdict = (v: string): string => `<span class="verdict ${v === "schedulable" ? "ok" : v === "unschedulable" ? "bad" : "maybe"}">${escapeHtml(v)}</span>`

/** `metrics.pcpus[pcpu].threads[thread]` of the scheduling model, if present. */
const threadMetrics = (summary: Summary, pcpu: string, thread: string): { maxResponseNs?: number; missed?: number; completed?: number } | undefined => {
  const pcpus = (summary.metrics as { pcpus?: Record<string, { threads?: Record<string, { maxResponseNs?: number; missed?: number; completed?: number }> }> }).pcpus
  return pcpus?.[pcpu]?.threads?.[thread]
}

/** `metrics.system.sandboxes.sandbox<s>.threads[thread]` of a system run, in the scheduling model's terms. */
const systemThreadMetrics = (summary: Summary, sandbox: number, thread: string): { maxResponseNs?: number; missed?: number; completed?: number; cpuNs?: number } | undefined => {
  type T = { maxResponseNs?: number; jobsMissed?: number; jobsCompleted?: number; cpuNs?: number }
  const sys = (summary.metrics as { system?: { sandboxes?: Record<string, { threads?: Record<string, T> }> } }).system
  const t = sys?.sandboxes?.[`sandbox${sandbox}`]?.threads?.[thread]
  return t === undefined ? undefined : { maxResponseNs: t.maxResponseNs ?? 0, missed: t.jobsMissed ?? 0, completed: t.jobsCompleted ?? 0, ...(t.cpuNs !== undefined ? { cpuNs: t.cpuNs } : {}) }
}

const analysisSection = (input: ReportInput, checks: ReadonlyArray<Check.PcpuCheck>): string => {
  const head = `<h2>Schedulability analysis</h2>`
  if (checks.length === 0) return `${head}<p class="note">This scenario declares no PCPUs with VCPUs: nothing to analyse.</p>`
  const system = input.scenario.system !== undefined
  const parts: string[] = [head, `<p class="note">${escapeHtml(`What is analysed: the VCPUs declared on each ${system ? "sandbox core" : "PCPU"}, as servers (C, T) under the ${system ? "core" : "PCPU"}'s priority rule, each through its policy's analysis: their reservations, not the load their threads put on them (a thread may use less than its VCPU's C per T, or be left waiting when it needs more). Per ${system ? "core" : "PCPU"}: the verdict and its reasons; under rate monotonic the sufficient utilisation tests, the §C.3 Main + I/O test, exact response-time analysis (RTA) per Main VCPU beside the largest response its threads showed in this run, and each I/O VCPU with its bound; under EDF the utilisation and processor-demand tests.`)}</p>`]
  for (const c of checks) {
    const a = c.analysis
    const mains = c.vcpus.filter((v) => v.kind === "main")
    const ios = c.vcpus.filter((v) => v.kind === "io")
    const overall = c.verdict === "schedulable"
      ? `<span class="verdict ok">schedulable</span>`
      : c.verdict === "unschedulable"
        ? `<span class="verdict bad">unschedulable</span> <span class="reasons">${escapeHtml(c.unschedulable.join("; "))}</span>`
        : `<span class="verdict maybe">no verdict</span> <span class="reasons">${escapeHtml(c.inconclusive.join("; "))}</span>`
    parts.push(`<h3>${escapeHtml(c.name)}</h3><p class="facts-line">${overall}</p><p class="facts-line">${escapeHtml(`declared reservations Σ C/T = ${fmt4(a.utilisation)} (Main ${fmt4(a.mainUtilisation)}, I/O ${fmt4(a.utilisation - a.mainUtilisation)}; ${mains.length} Main, ${ios.length} I/O VCPUs) · hyperperiod ${Time.show(Number(a.hyperperiodNs))}`)}</p>`)
    if (c.rule === "edf") {
      const e = a.edf!
      parts.push(table(["test", "verdict", "condition"], [
        ["EDF utilisation", verdict(e.utilisation.verdict), escapeHtml(`Σ C/T = ${fmt4(e.utilisation.value)} ≤ 1`)],
        ["processor demand", verdict(e.demand.verdict), escapeHtml(e.demand.failedAtNs >= 0 ? `Σ dbf(L) = ${Time.show(e.demand.demandNs)} > L = ${Time.show(e.demand.failedAtNs)}` : e.demand.note ?? `Σ dbf(L) ≤ L at ${e.demand.points} testing points`)],
      ], "tests"))
      continue
    }
    parts.push(table(["test", "verdict", "condition"], [
      ["Liu &amp; Layland", verdict(a.liuLayland.verdict), escapeHtml(`Σ C/T = ${fmt4(a.liuLayland.value)} ≤ n(2^(1/n) − 1) = ${fmt4(a.liuLayland.bound)}`)],
      ["hyperbolic", verdict(a.hyperbolic.verdict), escapeHtml(`Π (U_i + 1) = ${fmt4(a.hyperbolic.value)} ≤ ${fmt4(a.hyperbolic.bound)}`)],
      ["Main + I/O", verdict(a.mainIo.verdict), escapeHtml(`Σ C/T + Σ (2 − U)U = ${fmt4(a.mainIo.value)} ≤ ${fmt4(a.mainIo.bound)}`)],
      ["RTA", verdict(a.rta.verdict), escapeHtml(`exact response times of the Main VCPUs (ties: ${a.rta.ties}); I/O VCPUs run at inherited priorities and are bounded by the Main + I/O test`)],
    ], "tests"))
    const decl = input.scenario.pcpus[checks.indexOf(c)]
    const rows = a.rta.responses.map((r) => {
      const v = c.vcpus[r.index]!
      const threads = c.system !== undefined ? c.system.threads.filter((t) => t.vcpu === v.name) : decl?.threads.filter((t) => t.vcpu === v.name) ?? []
      let observed = 0, missed = 0, completed = 0, cpuNs = 0, cpuKnown = false
      for (const t of threads) {
        const m: { maxResponseNs?: number; missed?: number; completed?: number; cpuNs?: number } | undefined = c.system !== undefined ? systemThreadMetrics(input.summary, c.system.sandbox, t.name) : threadMetrics(input.summary, c.name, t.name)
        observed = Math.max(observed, m?.maxResponseNs ?? 0)
        missed += m?.missed ?? 0
        completed += m?.completed ?? 0
        if (m?.cpuNs !== undefined) { cpuNs += m.cpuNs; cpuKnown = true }
      }
      const load = cpuKnown && input.summary.simTimeNs > 0 ? `${fmt4(cpuNs / input.summary.simTimeNs)} of ${fmt4(r.budgetNs / r.periodNs)}` : "—"
      return [
        escapeHtml(v.name),
        escapeHtml(Time.show(r.budgetNs)),
        escapeHtml(Time.show(r.periodNs)),
        escapeHtml(Time.show(r.responseNs)),
        r.schedulable ? `<span class="verdict ok">R ≤ ${r.deadlineNs === r.periodNs ? "T" : "D"}</span>` : `<span class="verdict bad">R &gt; ${r.deadlineNs === r.periodNs ? "T" : "D"}</span>`,
        escapeHtml(threads.map((t) => t.name).join(", ") || "—"),
        completed > 0 ? escapeHtml(Time.show(observed)) : "—",
        completed > 0 ? `${fmtInt(missed)} of ${fmtInt(completed)}` : "—",
        escapeHtml(load),
      ]
    })
    parts.push(table(["Main VCPU", "C", "T", "RTA response R", "", "threads", "observed max response", "deadline misses", "threads' CPU share of C/T"], rows, "rta"))
    if (ios.length > 0) {
      parts.push(table(["I/O VCPU", "C", "T", "U = C/T", "bound on its share (2 − U)·U", "threads"], ios.map((v) => {
        const u = v.budgetNs / v.periodNs
        const threads = c.system !== undefined ? c.system.threads.filter((t) => t.vcpu === v.name).map((t) => t.name) : []
        return [escapeHtml(v.name), escapeHtml(Time.show(v.budgetNs)), escapeHtml(Time.show(v.periodNs)), fmt4(u), fmt4((2 - u) * u), escapeHtml(threads.join(", ") || "— (serves I/O on demand)")]
      }), "rta"))
    }
  }
  return parts.join("")
}

const summarySection = (input: ReportInput): string => {
  const s = input.summary
  const wall = s.wallMs
  const facts: Array<[string, string]> = [
    ["scenario", s.scenario],
    ...(input.scenario.description !== "" ? [["description", input.scenario.description] as [string, string]] : []),
    ["seed", String(s.seed)],
    ["simulated", Time.show(s.simTimeNs)],
    ["stopped by", String(s.stopReason)],
    ["events", fmtInt(s.events)],
    ["trace records", fmtInt(s.records)],
    ...(wall !== undefined ? [["wall time", `${wall.toFixed(0)} ms (${fmtInt(wall > 0 ? Math.round(s.events / (wall / 1000)) : 0)} events/s)`] as [string, string]] : []),
    ["fingerprint", s.fingerprint],
    ...(input.identity !== undefined ? [["scenario hash", `${input.identity.hash} (${input.identity.source})`] as [string, string]] : []),
    ["qvsim", VERSION],
  ]
  const dl = `<dl class="facts">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd${k === "fingerprint" ? ` class="mono"` : ""}>${escapeHtml(v)}</dd>`).join("")}</dl>`
  const rows = metricRows(s.metrics)
  const metrics = rows.length === 0 ? "" : `<details${rows.length <= 12 ? " open" : ""}><summary>Metrics (${rows.length})</summary>${
    table(["metric", "value"], rows.map(([k, v]) => [`<span class="mono">${escapeHtml(k)}</span>`, escapeHtml(v)]), "metrics")
  }</details>`
  return `<h2>Run</h2>${dl}${metrics}`
}

export const STYLE = `
:root { color-scheme: light; --fg: #1d232b; --muted: #5b6570; --line: #e3e6ea; --accent: #2f6fb3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: #fafbfc; }
main { max-width: 1040px; margin: 0 auto; padding: 24px 24px 48px; }
header h1 { font-size: 22px; margin: 0 0 2px; }
header h1 .seed { font-weight: 400; color: var(--muted); font-size: 16px; }
header p { margin: 0; color: var(--muted); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px 16px; margin-top: 18px; }
h2 { font-size: 16px; margin: 0 0 6px; }
h3 { font-size: 14px; margin: 14px 0 2px; }
.note { color: var(--muted); margin: 0 0 10px; max-width: 90ch; }
.notes { color: var(--muted); margin: 6px 0 0; padding-left: 18px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 0 0 10px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.facts-line { color: var(--muted); margin: 0 0 6px; }
.mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; }
details summary { cursor: pointer; color: var(--accent); margin: 4px 0; }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 3px 12px 3px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; font-size: 12.5px; color: var(--muted); }
table.metrics td:last-child { text-align: right; }
table.metrics td:last-child, table.rta td:nth-child(n+2):nth-child(-n+5) { font-variant-numeric: tabular-nums; text-align: right; }
.reasons { color: #a12626; margin-left: 6px; }
table.stats td:nth-child(n+2) { font-variant-numeric: tabular-nums; text-align: right; }
.verdict { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.verdict.ok { background: #e3f4e8; color: #1c6b34; }
.verdict.bad { background: #fbe4e4; color: #a12626; }
.verdict.maybe { background: #fdf1d8; color: #85570b; }
.chart { overflow-x: auto; }
.chart svg { display: block; max-width: 100%; height: auto; }
footer { color: var(--muted); font-size: 12px; margin-top: 18px; }
`

const LIVE = `
(function () {
  var holder = document.getElementById("gantt");
  var specEl = document.getElementById("gantt-spec");
  if (!holder || !specEl || typeof vega === "undefined") return;
  var live = document.createElement("div");
  var view = new vega.View(vega.parse(JSON.parse(specEl.textContent)), { renderer: "svg", hover: true });
  view.initialize(live);
  view.runAsync().then(function () {
    holder.replaceChildren(live);
    holder.setAttribute("data-live", "1");
  }, function (e) { console.error("qvsim report: the live chart failed: " + e); });
})();
`

/** The CSP: inline styles and scripts only (Vega compiles expressions with `Function`), no network. */
export const CSP = "default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; style-src 'unsafe-inline'; img-src data:"

/** The start of every report page up to `<body>`: charset, viewport, CSP (no network), title, style. */
export const pageHead = (title: string, extraStyle = ""): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}${extraStyle}</style>
</head>
<body>`

/** Builds the report page of a run. */
export const build = async (input: ReportInput, options: ReportOptions = {}): Promise<string> => {
  const checks = Check.check(input.scenario)
  const gantt = await ganttSection(input, checks, options)
  const plot = await plotSection(input, checks)
  const distributions = await distributionsSection(input, checks)
  const s = input.summary
  const scripts = gantt.vega === undefined ? "" : [
    `<script>${vegaScript()}</script>`,
    `<script type="application/json" id="gantt-spec">${scriptJson(gantt.vega)}</script>`,
    `<script>${LIVE}</script>`,
  ].join("\n")
  return `${pageHead(`qvsim · ${s.scenario} (seed ${s.seed})`)}
<main>
<header><h1>${escapeHtml(s.scenario)} <span class="seed">seed ${escapeHtml(String(s.seed))} · ${escapeHtml(Time.show(s.simTimeNs))} simulated</span></h1>${
    input.scenario.description === "" ? "" : `<p>${escapeHtml(input.scenario.description)}</p>`
  }</header>
<section id="summary">${summarySection(input)}</section>
<section id="schedule">${gantt.html}</section>
<section id="experiment">${plot}</section>
${distributions === "" ? "" : `<section id="distributions">${distributions}</section>`}
<section id="analysis">${analysisSection(input, checks)}</section>
<footer>qvsim ${escapeHtml(VERSION)} · a self-contained page: charts by Vega-Lite ${escapeHtml("(rendered to SVG; the schedule re-rendered live by Vega)")}, no network access.</footer>
</main>
${scripts}
</body>
</html>
`
}
