/**
 * The HTML report of a sweep (`qvsim sweep FILE --report sweep.html`, `qvsim merge DIR --report`):
 * one self-contained page, the same head, style and charts stack as the run and experiment reports
 * (Vega-Lite specs rendered to SVG in Node), with
 * - the sweep's provenance (qvsim version, sweep file and hash, command line, grid size, seeds);
 * - for verdicts: the classic schedulability figure, acceptance ratio against utilisation (or the
 *   grid's first axis), one line per test (Liu & Layland, hyperbolic, RTA, Main + I/O, and "no
 *   deadline miss in simulation"), with 95 % Wilson bands;
 * - per metric: against one axis a line of the mean with its 95 % CI band; against two or more a
 *   heatmap of the mean over the first two; with no axis (a seed study) a histogram of the runs.
 *
 * Every text is HTML-escaped; the page needs no network.
 *
 * @module
 */
import { VERSION } from "../Version.ts"
import type { Plan } from "../sweep/Plan.ts"
import type { RunRecord } from "../sweep/RunOne.ts"
import { NO_MISS } from "../sweep/RunOne.ts"
import type { Row } from "../sweep/Summary.ts"
import type { LoadedSweep } from "../sweep/SweepFile.ts"
import * as Charts from "./Charts.ts"
import { escapeHtml, pageHead } from "./Report.ts"

export interface Input {
  readonly loaded: LoadedSweep
  readonly plan: Plan
  /** Runs in plan order. */
  readonly runs: ReadonlyArray<RunRecord>
  readonly rows: ReadonlyArray<Row>
  readonly provenance: Readonly<Record<string, unknown>>
}

/** The tests' names in the figure, in legend order. */
export const TEST_LABELS: Readonly<Record<string, string>> = {
  "liu-layland": "Liu & Layland",
  hyperbolic: "hyperbolic bound",
  rta: "RTA (exact)",
  "main+io": "Main + I/O test",
  [NO_MISS]: "no deadline miss in simulation",
}

/** Metrics plotted at most (the rest are in summary.csv). */
export const MAX_METRIC_PLOTS = 24

const WIDTH = 640

const isNumericAxis = (values: ReadonlyArray<unknown>): boolean => values.every((v) => typeof v === "number")

const axisTitle = (plan: Plan, i: number): string => `${plan.params[i]!.path}${plan.params[i]!.durationNs ? " (ns)" : ""}`

/** The axis the figures use as x: the task sets' utilisation, else the first axis with more than one value. */
const xAxis = (plan: Plan): number | undefined => {
  const u = plan.params.findIndex((p) => p.path === "tasksets.utilisation" && p.values.length > 1)
  if (u >= 0) return u
  const i = plan.params.findIndex((p) => p.values.length > 1)
  return i >= 0 ? i : undefined
}

/** The other axes with more than one value: each combination of their values is a series group. */
const groupLabel = (plan: Plan, point: number, x: number | undefined): string =>
  plan.params.map((p, i) => (i === x || p.values.length <= 1 ? "" : `${p.path}=${JSON.stringify(plan.points[point]![i])}`)).filter((s) => s !== "").join(", ")

const acceptanceSpec = (plan: Plan, rows: ReadonlyArray<Row>, x: number | undefined): Charts.TopLevelSpec => {
  const numeric = x !== undefined && isNumericAxis(plan.params[x]!.values)
  const data = rows.filter((r) => r.kind === "verdict").map((r) => {
    const group = groupLabel(plan, r.point, x)
    const test = TEST_LABELS[r.name] ?? r.name
    return {
      x: x === undefined ? "all runs" : plan.points[r.point]![x],
      test: group === "" ? test : `${test} · ${group}`,
      ratio: r.acceptanceRatio,
      low: r.wilson95Low,
      high: r.wilson95High,
      accepted: r.accepted,
      count: r.count,
    }
  })
  const order = [...new Set(data.map((d) => d.test))]
  const xEnc = { field: "x", type: numeric ? "quantitative" : "ordinal", title: x === undefined ? null : axisTitle(plan, x), ...(numeric ? { scale: { zero: false } } : {}) } as const
  const color = { field: "test", type: "nominal", title: "test", sort: order, scale: { scheme: "tableau10" }, legend: { orient: "bottom", columns: 2, labelLimit: 320 } } as const
  return {
    width: WIDTH,
    height: 300,
    data: { values: data },
    layer: [
      {
        mark: { type: "line", point: true, strokeWidth: 2 },
        encoding: {
          x: xEnc,
          y: { field: "ratio", type: "quantitative", title: "acceptance ratio", scale: { domain: [0, 1] } },
          color,
          // Tests that agree draw on top of each other: a dash pattern per test keeps each visible.
          strokeDash: { field: "test", type: "nominal", title: "test", sort: order, legend: { orient: "bottom", columns: 2, labelLimit: 320 } },
          shape: { field: "test", type: "nominal", title: "test", sort: order, legend: { orient: "bottom", columns: 2, labelLimit: 320 } },
          tooltip: [
            { field: "test", title: "test" }, { field: "x", title: x === undefined ? "point" : plan.params[x]!.path },
            { field: "ratio", title: "acceptance", format: ".3f" }, { field: "accepted", title: "accepted" }, { field: "count", title: "runs" },
            { field: "low", title: "Wilson 95 % low", format: ".3f" }, { field: "high", title: "Wilson 95 % high", format: ".3f" },
          ],
        },
      },
      // The band after the line: the legend takes its symbols from the first layer.
      { mark: { type: "errorband", opacity: 0.12 }, encoding: { x: xEnc, y: { field: "low", type: "quantitative", title: "acceptance ratio", scale: { domain: [0, 1] } }, y2: { field: "high" }, color } },
    ],
    config: Charts.CONFIG,
  } as unknown as Charts.TopLevelSpec
}

const lineSpec = (plan: Plan, rows: ReadonlyArray<Row>, name: string, x: number): Charts.TopLevelSpec => {
  const numeric = isNumericAxis(plan.params[x]!.values)
  const data = rows.filter((r) => r.kind === "metric" && r.name === name && r.mean !== undefined).map((r) => ({
    x: plan.points[r.point]![x], group: groupLabel(plan, r.point, x) || "all", mean: r.mean, low: r.ci95Low ?? r.mean, high: r.ci95High ?? r.mean, count: r.count,
  }))
  const xEnc = { field: "x", type: numeric ? "quantitative" : "ordinal", title: axisTitle(plan, x), ...(numeric ? { scale: { zero: false } } : {}) } as const
  const color = { field: "group", type: "nominal", title: null, legend: new Set(data.map((d) => d.group)).size > 1 ? { orient: "bottom", labelLimit: 320 } : null } as const
  return {
    width: WIDTH,
    height: 200,
    title: name,
    data: { values: data },
    layer: [
      { mark: { type: "line", point: true }, encoding: { x: xEnc, y: { field: "mean", type: "quantitative", title: "mean (95 % CI)", scale: { zero: false } }, color, tooltip: [{ field: "x", title: plan.params[x]!.path }, { field: "mean", title: "mean", format: ",.6~g" }, { field: "low", title: "CI low", format: ",.6~g" }, { field: "high", title: "CI high", format: ",.6~g" }, { field: "count", title: "runs" }] } },
      { mark: { type: "errorband", opacity: 0.2 }, encoding: { x: xEnc, y: { field: "low", type: "quantitative", title: "mean (95 % CI)", scale: { zero: false } }, y2: { field: "high" }, color } },
    ],
    config: Charts.CONFIG,
  } as unknown as Charts.TopLevelSpec
}

const heatmapSpec = (plan: Plan, rows: ReadonlyArray<Row>, name: string, a: number, b: number): Charts.TopLevelSpec => ({
  width: WIDTH,
  height: Math.max(120, Math.min(400, 22 * plan.params[b]!.values.length)),
  title: `${name} (mean${plan.params.filter((p, i) => i !== a && i !== b && p.values.length > 1).length > 0 ? ", over the other axes' first value" : ""})`,
  data: {
    values: rows.filter((r) => r.kind === "metric" && r.name === name && r.mean !== undefined && plan.params.every((p, i) => i === a || i === b || plan.points[r.point]![i] === p.values[0]))
      .map((r) => ({ x: plan.points[r.point]![a], y: plan.points[r.point]![b], mean: r.mean, count: r.count })),
  },
  mark: "rect",
  encoding: {
    x: { field: "x", type: "ordinal", title: axisTitle(plan, a) },
    y: { field: "y", type: "ordinal", title: axisTitle(plan, b) },
    color: { field: "mean", type: "quantitative", title: "mean", scale: { scheme: "viridis" } },
    tooltip: [{ field: "x", title: plan.params[a]!.path }, { field: "y", title: plan.params[b]!.path }, { field: "mean", format: ",.6~g" }, { field: "count", title: "runs" }],
  },
  config: Charts.CONFIG,
}) as unknown as Charts.TopLevelSpec

const histogramSpec = (runs: ReadonlyArray<RunRecord>, name: string): Charts.TopLevelSpec => ({
  width: WIDTH,
  height: 160,
  title: `${name} over ${runs.length} runs`,
  data: { values: runs.flatMap((r) => (r.ok && (name === "events" ? r.events : r.metrics?.[name]) !== undefined ? [{ v: name === "events" ? r.events : r.metrics![name] }] : [])) },
  mark: "bar",
  encoding: {
    x: { field: "v", type: "quantitative", bin: { maxbins: 30 }, title: name },
    y: { aggregate: "count", type: "quantitative", title: "runs" },
  },
  config: Charts.CONFIG,
}) as unknown as Charts.TopLevelSpec

const fmt = (v: unknown): string => (typeof v === "number" ? v.toLocaleString("en-US", { maximumFractionDigits: 6 }) : v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v))

/** Builds the report page of a sweep. */
export const build = async (input: Input): Promise<string> => {
  const { loaded, plan, rows, runs, provenance } = input
  const sweep = loaded.sweep
  const x = xAxis(plan)
  const failed = runs.filter((r) => !r.ok)
  const facts: Array<[string, string]> = [
    ["sweep", `${sweep.name} (${loaded.file})`],
    ["hash", loaded.hash],
    ["command", String(provenance["command"] ?? "")],
    ["grid", `${plan.points.length} point(s): ${plan.params.map((p) => `${p.path} (${p.values.length})`).join(" × ") || "no axes"}`],
    ["seeds", plan.seeds.length <= 12 ? plan.seeds.join(", ") : `${plan.seeds.length} (${plan.seeds[0]} … ${plan.seeds[plan.seeds.length - 1]})`],
    ...(plan.sets > 0 ? [["task sets", `${plan.sets} per point (${sweep.tasksets!.generator})`] as [string, string]] : []),
    ["runs", `${runs.length} of ${plan.runs.length}${failed.length > 0 ? `, ${failed.length} failed` : ""}`],
    ["qvsim", VERSION],
  ]
  const sections: string[] = []
  sections.push(`<section id="summary"><h2>Sweep</h2><dl class="facts">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl></section>`)
  if (rows.some((r) => r.kind === "verdict") && x === undefined) {
    // One point: a sentence per test says it better than a chart of one dot.
    sections.push(`<section id="acceptance"><h2>Acceptance</h2>${rows.filter((r) => r.kind === "verdict").map((r) =>
      `<p><b>${escapeHtml(TEST_LABELS[r.name] ?? r.name)}</b>: ${fmt(r.accepted)} of ${fmt(r.count)} runs (${fmt(r.acceptanceRatio)}; 95 % Wilson interval ${fmt(r.wilson95Low)} – ${fmt(r.wilson95High)})</p>`).join("")}</section>`)
  } else if (rows.some((r) => r.kind === "verdict")) {
    const utilisation = x !== undefined && plan.params[x]!.path === "tasksets.utilisation"
    sections.push(`<section id="acceptance"><h2>${utilisation ? "Acceptance ratio against utilisation" : "Acceptance ratio"}</h2>
<p class="note">Per point, the share of runs each test accepts (schedulable), with its 95 % Wilson interval as a band. The analyses are sufficient tests (Liu &amp; Layland, hyperbolic, Main + I/O) or exact for fixed priorities (RTA); "no deadline miss in simulation" is what the simulated run observed.</p>
<div class="chart">${await Charts.toSvg(acceptanceSpec(plan, rows, x))}</div></section>`)
  }
  const names = [...new Set(rows.filter((r) => r.kind === "metric").map((r) => r.name))]
  const plotted = names.slice(0, MAX_METRIC_PLOTS)
  const multi = plan.params.filter((p) => p.values.length > 1).map((p) => plan.params.indexOf(p))
  const charts: string[] = []
  for (const name of plotted) {
    const spec = x === undefined ? histogramSpec(runs, name) : multi.length >= 2 && !(plan.params[x]!.path === "tasksets.utilisation") ? heatmapSpec(plan, rows, name, multi[0]!, multi[1]!) : lineSpec(plan, rows, name, x)
    charts.push(`<div class="chart">${await Charts.toSvg(spec)}</div>`)
  }
  sections.push(`<section id="metrics"><h2>Metrics</h2><p class="note">${x === undefined ? "One point: the distribution of each metric over the runs." : "Mean per point with its 95 % confidence interval (Student t) as a band."}${names.length > plotted.length ? ` ${names.length - plotted.length} more metrics are in summary.csv (choose with measure.metrics).` : ""}</p>${charts.join("\n")}</section>`)
  if (failed.length > 0) {
    sections.push(`<section id="failed"><h2>Failed runs</h2><table><thead><tr><th>run</th><th>error</th><th>replay</th></tr></thead><tbody>${failed.slice(0, 50).map((r) =>
      `<tr><td class="mono">${escapeHtml(r.key)}</td><td>${escapeHtml(r.error ?? "")}</td><td class="mono">${escapeHtml(r.replay)}</td></tr>`).join("")}</tbody></table>${failed.length > 50 ? `<p class="note">${failed.length - 50} more in runs.jsonl.</p>` : ""}</section>`)
  }
  const table = rows.filter((r) => r.kind === "verdict").length > 0
    ? `<section id="verdicts"><h2>Verdicts per point</h2><table><thead><tr>${[...plan.params.map((p) => p.path), "test", "accepted", "runs", "ratio", "Wilson 95 %"].map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
      rows.filter((r) => r.kind === "verdict").map((r) => `<tr>${[...plan.points[r.point]!.map(fmt), TEST_LABELS[r.name] ?? r.name, fmt(r.accepted), fmt(r.count), fmt(r.acceptanceRatio), `${fmt(r.wilson95Low)} – ${fmt(r.wilson95High)}`].map((c) => `<td>${escapeHtml(c)}</td>`).join("")}</tr>`).join("")
    }</tbody></table></section>`
    : ""
  return `${pageHead(`qvsim · sweep ${sweep.name}`)}
<main>
<header><h1>${escapeHtml(sweep.name)} <span class="seed">sweep</span></h1><p>${escapeHtml(sweep.description)}</p></header>
${sections.join("\n")}
${table}
<footer>qvsim ${escapeHtml(VERSION)} · sweep ${escapeHtml(loaded.hash)} · a self-contained page: plots by Vega-Lite (rendered to SVG), no network access.</footer>
</main>
</body>
</html>
`
}
