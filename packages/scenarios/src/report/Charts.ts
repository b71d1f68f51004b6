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

export type { TopLevelSpec }

const FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif"

/** Shared look: quiet axes, the page's font, no outer frame. */
export const CONFIG: Config = {
  font: FONT,
  // No per-mark aria-label in the SVG: it repeats the tooltip per mark and triples the size.
  aria: false,
  view: { stroke: "#ddd" },
  axis: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500, gridColor: "#eee" },
  legend: { labelFontSize: 11, titleFontSize: 11, titleFontWeight: 500 },
  title: { fontSize: 12, fontWeight: 600, anchor: "start" },
}

/** One bar of the Gantt chart (times in ms). */
export interface GanttBar {
  readonly lane: string
  readonly pcpu: string
  readonly vcpu: string
  readonly thread: string
  readonly start: number
  readonly end: number
}

export interface GanttOptions {
  /** Lanes top to bottom (all of them, with or without bars). */
  readonly lanes: ReadonlyArray<string>
  /** Every VCPU name, for a colour scale independent of the bars given. */
  readonly vcpus: ReadonlyArray<string>
  /** The x window shown first, ms. */
  readonly initialMs: readonly [number, number]
  readonly width?: number
}

/** A Gantt chart of VCPU runs, one lane per PCPU and VCPU, colour by VCPU; zoomable along x. */
export const gantt = (bars: ReadonlyArray<GanttBar>, options: GanttOptions): TopLevelSpec => ({
  width: options.width ?? 920,
  height: Math.max(48, 26 * options.lanes.length),
  data: { values: bars as GanttBar[] },
  params: [{
    name: "zoom",
    select: { type: "interval", encodings: ["x"] },
    bind: "scales",
    value: { x: [options.initialMs[0], options.initialMs[1]] },
  }],
  transform: [{ calculate: "datum.end - datum.start", as: "duration" }],
  mark: { type: "bar", clip: true, cornerRadius: 0 },
  encoding: {
    y: { field: "lane", type: "nominal", scale: { domain: [...options.lanes] }, title: null, axis: { labelLimit: 240 } },
    x: { field: "start", type: "quantitative", title: "simulated time (ms)", axis: { tickCount: 10 } },
    x2: { field: "end" },
    color: { field: "vcpu", type: "nominal", title: "VCPU", scale: { domain: [...options.vcpus], scheme: "tableau10" } },
    tooltip: [
      { field: "pcpu", title: "PCPU" },
      { field: "vcpu", title: "VCPU" },
      { field: "thread", title: "thread" },
      { field: "start", title: "start (ms)", format: ",.6~f" },
      { field: "end", title: "end (ms)", format: ",.6~f" },
      { field: "duration", title: "ran (ms)", format: ",.6~f" },
    ],
  },
  config: CONFIG,
})

/** A point of a cumulative-execution line: VCPU `series` had executed `executedMs` by `tMs`. */
export interface ExecPoint {
  readonly series: string
  readonly line: "executed" | "reserved share C/T"
  readonly tMs: number
  readonly executedMs: number
}

/** Cumulative execution against time per VCPU, with its reserved share `C/T · t` dashed. */
export const cumulativeExecution = (points: ReadonlyArray<ExecPoint>, width = 920): TopLevelSpec => ({
  width,
  height: 300,
  data: { values: points as ExecPoint[] },
  mark: { type: "line", interpolate: "linear", strokeWidth: 1.75 },
  encoding: {
    x: { field: "tMs", type: "quantitative", title: "simulated time (ms)" },
    y: { field: "executedMs", type: "quantitative", title: "cumulative execution (ms)" },
    color: { field: "series", type: "nominal", title: "PCPU · VCPU", scale: { scheme: "tableau10" } },
    strokeDash: { field: "line", type: "nominal", title: null, scale: { domain: ["executed", "reserved share C/T"], range: [[1, 0], [5, 4]] } },
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
export const responseTimes = (jobs: ReadonlyArray<JobPoint>, levels: ReadonlyArray<ThreadLevel>, width = 920): TopLevelSpec => ({
  width,
  height: 300,
  layer: [
    {
      data: { values: jobs as JobPoint[] },
      mark: { type: "line", point: { size: 14, filled: true }, strokeWidth: 1, opacity: 0.85 },
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
export const histograms = (series: ReadonlyArray<{ readonly title: string; readonly valuesMs: ReadonlyArray<number> }>, xTitle: string, width = 920): TopLevelSpec => ({
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
