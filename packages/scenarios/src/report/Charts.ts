/**
 * The report's charts as Vega-Lite specs, compiled to Vega and rendered to SVG in Node (`vega`,
 * `vega-lite`): the Gantt chart of executed segments, cumulative execution per VCPU, response
 * time per job, and histograms of intervals. Specs carry their data inline; times are in ms.
 *
 * The Gantt chart zooms and pans along x (an interval selection bound to the scales) when the
 * page runs its compiled Vega spec with the Vega runtime; the SVG rendered here is what the page
 * shows before (and without) scripts, at the same initial window.
 *
 * @module
 */
import * as vega from "vega"
import { compile, type Config, type TopLevelSpec } from "vega-lite"
import type * as Gantt from "./Gantt.ts"

export type { TopLevelSpec }

const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif"

/** Shared look: quiet axes, the page's font, no outer frame. */
export const CONFIG: Config = {
  font: FONT,
  // No per-mark aria-label in the SVG: it repeats the tooltip per mark and triples the size.
  aria: false,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500, gridColor: "#eee" },
  // No truncated legend labels: two series whose names differ only at the end must not look alike.
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500, labelLimit: 0 },
  title: { fontSize: 12, fontWeight: 600, anchor: "start" },
}

export interface GanttOptions {
  readonly width?: number
  /** The lanes the chart opens with (default `VCPU`; the live chart's radio button switches them). */
  readonly laneBy?: "VCPU" | "thread"
}

const MARKERS = { domain: ["release", "deadline", "miss"], shapes: ["triangle-down", "triangle-up", "cross"], colours: ["#3a3a3a", "#3a3a3a", "#d62728"] }

/**
 * A Gantt chart of a run ({@link Gantt.GanttData}): a lane per PCPU and VCPU (and the cores'
 * interrupt and monitor lanes), a bar per segment coloured by VCPU, a tick at each bar's start
 * (so a bar narrower than a pixel still shows; its tooltip gives the true duration), job
 * markers (release ▼, deadline ▲, miss ✕) and shaded spans (recovery phases); zoomable along x.
 */
export const gantt = (data: Gantt.GanttData, options: GanttOptions = {}): TopLevelSpec => {
  // Lanes per VCPU, or per thread (the radio button under the live chart): the y field and its domain follow `laneBy`.
  const shown = { calculate: "laneBy === 'thread' ? datum.threadLane : datum.lane", as: "shownLane" }
  const lanes = { field: "shownLane", type: "nominal" as const, scale: { domain: { expr: "laneBy === 'thread' ? threadLanes : vcpuLanes" } }, title: null, axis: { labelLimit: 320 } }
  const colour = { field: "colour", type: "nominal" as const, title: "VCPU", scale: { domain: [...data.colours, "interrupts", "monitor"], range: [...data.colours.map((_, i) => TABLEAU10[i % TABLEAU10.length]!), "#9d9d9d", "#6f4e7c"] } }
  const x = { field: "start", type: "quantitative" as const, title: "simulated time (ms)", axis: { tickCount: 10 } }
  const barTooltip = [
    { field: "pcpu", title: "PCPU" },
    { field: "vcpu", title: "VCPU" },
    { field: "thread", title: "thread" },
    { field: "start", title: "start (ms)", format: ",.6~f" },
    { field: "end", title: "end (ms)", format: ",.6~f" },
    { field: "us", title: "ran (µs)", format: ",.3~f" },
  ]
  return {
    width: options.width ?? 760,
    height: { step: 22 },
    params: [
      { name: "laneBy", value: options.laneBy ?? "VCPU", bind: { input: "radio", options: ["VCPU", "thread"], name: "lanes per " } },
      { name: "vcpuLanes", value: [...data.lanes] },
      { name: "threadLanes", value: [...data.threadLanes] },
    ],
    layer: [
      {
        data: { values: data.spans as Array<{ label: string; start: number; end: number }> },
        mark: { type: "rect", color: "#e45756", opacity: 0.13, clip: true },
        encoding: { x: { field: "start", type: "quantitative" }, x2: { field: "end" }, tooltip: [{ field: "label", title: "recovery phase" }, { field: "start", title: "from (ms)", format: ",.6~f" }, { field: "end", title: "to (ms)", format: ",.6~f" }] },
      },
      {
        data: { values: data.bars as Gantt.Bar[] },
        params: [{ name: "zoom", select: { type: "interval", encodings: ["x"] }, bind: "scales", value: { x: [data.initialMs[0], data.initialMs[1]] } }],
        transform: [shown],
        mark: { type: "bar", clip: true, cornerRadius: 0 },
        encoding: { y: lanes, x, x2: { field: "end" }, color: colour, tooltip: barTooltip },
      },
      {
        data: { values: data.bars as Gantt.Bar[] },
        transform: [shown],
        mark: { type: "tick", orient: "vertical", thickness: 1.25, clip: true },
        encoding: { y: lanes, x, color: colour, tooltip: barTooltip },
      },
      // Job markers, one layer per kind: releases just above a lane's centre, deadlines just below
      // (a periodic job's deadline is the next one's release), misses on it.
      ...MARKERS.domain.map((kind, i) => ({
        data: { values: data.markers.filter((m) => m.kind === kind) as Gantt.Marker[] },
        transform: [shown],
        mark: { type: "point" as const, shape: MARKERS.shapes[i]!, filled: true, size: kind === "miss" ? 70 : 30, color: MARKERS.colours[i]!, clip: true, yOffset: kind === "release" ? -5 : kind === "deadline" ? 5 : 0 },
        encoding: {
          y: lanes,
          x: { field: "t", type: "quantitative" as const },
          tooltip: [{ field: "kind", title: "job" }, { field: "thread" }, { field: "job", title: "job no." }, { field: "t", title: "at (ms)", format: ",.6~f" }],
        },
      })),
    ],
    config: CONFIG,
  }
}

const TABLEAU10 = ["#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6", "#9d755d", "#bab0ac"]

/** A point of a cumulative-execution line: VCPU `series` had executed `executedMs` by `tMs`. */
export interface ExecPoint {
  readonly series: string
  readonly line: "executed" | "reserved share C/T"
  readonly tMs: number
  readonly executedMs: number
}

/** Cumulative execution against time per VCPU, with its reserved share `C/T · t` dashed (its legend entry only when `reserved`). */
export const cumulativeExecution = (points: ReadonlyArray<ExecPoint>, reserved = true, width = 760): TopLevelSpec => ({
  width,
  height: 300,
  data: { values: points as ExecPoint[] },
  mark: { type: "line", interpolate: "linear", strokeWidth: 1.75 },
  encoding: {
    x: { field: "tMs", type: "quantitative", title: "simulated time (ms)" },
    y: { field: "executedMs", type: "quantitative", title: "cumulative execution (ms)" },
    color: { field: "series", type: "nominal", title: "PCPU · VCPU", scale: { scheme: "tableau20" } },
    strokeDash: { field: "line", type: "nominal", title: null, scale: { domain: reserved ? ["executed", "reserved share C/T"] : ["executed"], range: reserved ? [[1, 0], [5, 4]] : [[1, 0]] }, ...(reserved ? {} : { legend: null }) },
    detail: { field: "line" },
  },
  config: CONFIG,
})

/** One job: released at `releaseMs`, responded in `responseMs`. */
export interface JobPoint {
  readonly thread: string
  readonly releaseMs: number
  readonly responseMs: number
}

/** A reference level per thread (e.g. RTA's worst-case response of its VCPU). */
export interface ThreadLevel {
  readonly thread: string
  readonly ms: number
  readonly label: string
}

/** Response time of every job against its release, one colour per thread; levels as dashed rules. */
export const responseTimes = (jobs: ReadonlyArray<JobPoint>, levels: ReadonlyArray<ThreadLevel>, width = 760): TopLevelSpec => ({
  width,
  height: 300,
  layer: [
    {
      data: { values: jobs as JobPoint[] },
      // Points, not lines: joined, the jobs of several threads blur into bands.
      mark: { type: "point", filled: true, size: 16, opacity: 0.8 },
      encoding: {
        x: { field: "releaseMs", type: "quantitative", title: "job release (ms)" },
        y: { field: "responseMs", type: "quantitative", title: "response time (ms)" },
        color: { field: "thread", type: "nominal", title: "thread", scale: { scheme: "tableau10" } },
        tooltip: [{ field: "thread" }, { field: "releaseMs", title: "release (ms)", format: ",.6~f" }, { field: "responseMs", title: "response (ms)", format: ",.6~f" }],
      },
    },
    {
      data: { values: levels as ThreadLevel[] },
      mark: { type: "rule", strokeDash: [5, 4], strokeWidth: 1.25 },
      encoding: {
        y: { field: "ms", type: "quantitative" },
        color: { field: "thread", type: "nominal" },
        tooltip: [{ field: "thread" }, { field: "label", title: "level" }, { field: "ms", title: "ms", format: ",.6~f" }],
      },
    },
  ],
  config: CONFIG,
})

/** One histogram per series (own bins), stacked vertically. */
export const histograms = (series: ReadonlyArray<{ readonly title: string; readonly valuesMs: ReadonlyArray<number> }>, xTitle: string, width = 760): TopLevelSpec => ({
  vconcat: series.map((s) => ({
    title: s.title,
    width,
    height: 90,
    data: { values: s.valuesMs.map((ms) => ({ ms })) },
    mark: { type: "bar", color: "#4c78a8" },
    encoding: {
      x: { field: "ms", type: "quantitative", bin: { maxbins: 50 }, title: xTitle },
      y: { aggregate: "count", type: "quantitative", title: "count" },
      tooltip: [{ field: "ms", bin: { maxbins: 50 }, title: xTitle }, { aggregate: "count", title: "count" }],
    },
  })),
  config: CONFIG,
})

/** The Vega spec of a Vega-Lite spec (what the page's runtime executes). */
export const toVega = (spec: TopLevelSpec): vega.Spec => {
  const compiled = compile(spec).spec as vega.Spec & { $schema?: string }
  delete compiled.$schema
  return compiled
}

const GEOMETRY = / (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g

/** Geometry attributes with two decimals (Vega writes up to 16: a third of the SVG's size). */
export const trimSvg = (svg: string): string =>
  svg.replace(GEOMETRY, (_m, key: string, value: string) => ` ${key}="${value.replace(/(\.\d\d)\d+/g, "$1")}"`)

/** Renders a Vega-Lite spec to a standalone SVG string. */
export const toSvg = async (spec: TopLevelSpec): Promise<string> => {
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: "none", logLevel: vega.Error })
  try {
    return trimSvg(await view.toSVG())
  } finally {
    view.finalize()
  }
}

/** One series of an ECDF chart with its marked statistics (ms) and optional bound. */
export interface EcdfSeries {
  readonly label: string
  readonly curve: ReadonlyArray<{ readonly series: string; readonly ms: number; readonly fraction: number }>
  readonly marks: ReadonlyArray<{ readonly series: string; readonly stat: "p50" | "p99" | "max"; readonly ms: number; readonly fraction: number }>
  readonly boundMs?: number
}

/**
 * Empirical CDFs, one colour per series: the fraction of values ≤ x; p50, p99 and max marked
 * (shapes); a series' bound (RTA) as a dashed vertical rule in its colour. Log x when the values
 * span more than a factor 50.
 */
export const ecdf = (series: ReadonlyArray<EcdfSeries>, xTitle: string, boundTitle: string, width = 760): TopLevelSpec => {
  const curve = series.flatMap((s) => s.curve)
  const marks = series.flatMap((s) => s.marks)
  const bounds = series.flatMap((s) => (s.boundMs === undefined ? [] : [{ series: s.label, ms: s.boundMs, what: boundTitle }]))
  const all = [...curve.map((p) => p.ms), ...bounds.map((b) => b.ms)].filter((x) => x > 0)
  const log = all.length > 0 && Math.min(...all) > 0 && curve.every((p) => p.ms > 0) && Math.max(...all) / Math.min(...all) > 50
  const x = { field: "ms", type: "quantitative" as const, title: xTitle, scale: log ? { type: "log" as const } : { zero: false } }
  const colour = { field: "series", type: "nominal" as const, title: null, scale: { domain: series.map((s) => s.label), scheme: "tableau10" } }
  return {
    width,
    height: 240,
    layer: [
      {
        data: { values: curve as Array<Record<string, unknown>> },
        mark: { type: "line", interpolate: "step-after", strokeWidth: 1.6 },
        encoding: { x, y: { field: "fraction", type: "quantitative", title: "fraction of values ≤ x", scale: { domain: [0, 1] } }, color: colour },
      },
      {
        data: { values: marks as Array<Record<string, unknown>> },
        mark: { type: "point", filled: true, size: 60, stroke: "#222", strokeWidth: 0.6 },
        encoding: {
          x, y: { field: "fraction", type: "quantitative" }, color: colour,
          shape: { field: "stat", type: "nominal", title: "marked", scale: { domain: ["p50", "p99", "max"], range: ["circle", "square", "diamond"] } },
          tooltip: [{ field: "series" }, { field: "stat" }, { field: "ms", title: "ms", format: ",.6~f" }],
        },
      },
      ...(bounds.length === 0 ? [] : [{
        data: { values: bounds },
        mark: { type: "rule" as const, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: { x, color: colour, tooltip: [{ field: "series" }, { field: "what", title: "line" }, { field: "ms", title: "ms", format: ",.6~f" }] },
      }]),
    ],
    config: CONFIG,
  }
}
