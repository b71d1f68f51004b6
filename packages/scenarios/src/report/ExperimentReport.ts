/**
 * The HTML report of an experiment run (`qvsim run <experiment> --report r.html`): one
 * self-contained page with every results table, each claim with its verdict and numbers, and the
 * experiment's plot (`ExperimentResult.plot`, a Vega-Lite spec rendered to SVG in Node). Same
 * style and Content-Security-Policy as the run report; every text is HTML-escaped.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { cellText } from "../Experiments.ts"
import type { Experiment, ExperimentResult, ResultTable } from "../paper/Experiment.ts"
import { compare } from "../robust/Contract.ts"
import { VERSION } from "../Version.ts"
import * as Charts from "./Charts.ts"
import { escapeHtml, pageHead } from "./Report.ts"

export interface ExperimentReportInput {
  readonly experiment: Experiment
  readonly seed: number
  readonly scale: number
  readonly result: ExperimentResult
  readonly wallMs?: number
  /** Per variant: simulated time and events (absent for experiments computed without systems). */
  readonly variants: ReadonlyArray<{ readonly name: string; readonly description: string; readonly simTimeNs: number; readonly events: number; readonly fingerprint: string }>
}

const cell = (v: unknown): string => escapeHtml(cellText(v))

/** A table; columns whose every cell is a number (or missing) are right-aligned with tabular digits. */
const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, numeric: ReadonlyArray<boolean> = []): string =>
  `<table><thead><tr>${header.map((h, i) => `<th${numeric[i] === true ? ` class="num"` : ""}>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c, i) => `<td${numeric[i] === true ? ` class="num"` : ""}>${c}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`

const numericColumns = (t: ResultTable): boolean[] =>
  t.columns.map((c) => t.rows.some((r) => typeof r[c] === "number") && t.rows.every((r) => typeof r[c] === "number" || r[c] === null || r[c] === undefined))

/** A table with more columns than this is wide: set tighter (`table.wide`), or transposed when it has few rows. */
const WIDE_COLUMNS = 8
/** A wide table with at most this many rows, each named by its first cell, is shown transposed. */
const TRANSPOSE_ROWS = 6

/**
 * A results table as HTML, laid out to fit the page: a table of many columns and few rows (one
 * per variant, say) is transposed, one column per row of the original, named by its first cell,
 * and one row per measure, so its long column titles read as row labels instead of squeezing the
 * numbers; other wide tables are set tighter. Text cells never break at a hyphen (variant names).
 */
const resultTable = (t: ResultTable): string => {
  const numeric = numericColumns(t)
  const names = t.rows.map((r) => r[t.columns[0]!])
  const transpose = t.columns.length > WIDE_COLUMNS && t.rows.length > 0 && t.rows.length <= TRANSPOSE_ROWS &&
    names.every((n) => typeof n === "string" && n !== "") && new Set(names).size === names.length
  if (transpose) {
    const header = [t.columns[0]!, ...names.map(String)]
    const rows = t.columns.slice(1).map((c) => [`<th scope="row">${escapeHtml(c)}</th>`, ...t.rows.map((r) => cellHtml(r[c]))])
    return `<p class="note">${escapeHtml(`Shown transposed: one column per ${t.columns[0]}.`)}</p><table class="transposed"><thead><tr>${header.map((h, i) => `<th${i > 0 ? ` class="num"` : ""}>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
      rows.map((r) => `<tr>${r.join("")}</tr>`).join("")}</tbody></table>`
  }
  const body = t.rows.map((r) => `<tr>${t.columns.map((c, i) => cellHtml(r[c], numeric[i] === true)).join("")}</tr>`).join("")
  return `<table${t.columns.length > WIDE_COLUMNS ? ` class="wide"` : ""}><thead><tr>${t.columns.map((h, i) => `<th${numeric[i] === true ? ` class="num"` : ""}>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${body}</tbody></table>`
}

/** A `<td>`: numbers (and missing values beside them) right-aligned; short text kept on one line. */
const cellHtml = (v: unknown, numericColumn = typeof v === "number" || v === null): string => {
  const text = cellText(v)
  const cls = numericColumn ? "num" : text.length <= 28 ? "nowrap" : ""
  return `<td${cls === "" ? "" : ` class="${cls}"`}>${escapeHtml(text)}</td>`
}

/** The experiment's plot with the report's look (font, untruncated legend labels) under its own config. */
const withConfig = (plot: Readonly<Record<string, unknown>>): Charts.TopLevelSpec =>
  ({ ...plot, config: { ...Charts.CONFIG, ...((plot["config"] as Record<string, unknown> | undefined) ?? {}) } }) as unknown as Charts.TopLevelSpec

/** Tables with more rows than this are folded (`<details>`). */
const LONG_TABLE_ROWS = 40

const EXTRA_STYLE = `
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; padding-left: 12px; }
td.num, td.nowrap { white-space: nowrap; }
table.wide { font-size: 12.5px; }
table.wide th, table.wide td { padding-right: 8px; }
table.wide th.num, table.wide td.num { padding-left: 6px; }
table.transposed td { text-align: right; }
table.transposed tbody th { text-align: left; font-weight: 400; font-size: 13px; color: var(--fg); max-width: 34ch; padding-right: 16px; }
.claim { margin: 6px 0; }
.claim .detail { color: var(--muted); margin-left: 2.2em; }
`

/** Builds the report page of an experiment run. */
export const build = async (input: ExperimentReportInput): Promise<string> => {
  const { experiment: e, result } = input
  const failed = result.claims.filter((c) => !c.holds).length
  const facts: Array<[string, string]> = [
    ["experiment", e.name],
    ["source", e.source],
    ["seed", String(input.seed)],
    ["scale", String(input.scale)],
    ...(input.wallMs !== undefined ? [["wall time", `${input.wallMs.toFixed(0)} ms`] as [string, string]] : []),
    ["claims", failed === 0 ? `all ${result.claims.length} hold` : `${failed} of ${result.claims.length} do not hold`],
    ["qvsim", VERSION],
  ]
  const run = `<h2>Run</h2><dl class="facts">${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>${
    input.variants.length === 0 ? "" : table(["variant", "what", "simulated", "events", "fingerprint"], input.variants.map((v) => [
      escapeHtml(v.name), escapeHtml(v.description), escapeHtml(Time.show(v.simTimeNs)), cell(v.events), `<span class="mono">${escapeHtml(v.fingerprint)}</span>`,
    ]))
  }`
  const threshold = (c: ExperimentResult["claims"][number]): string => {
    const t = c.threshold
    if (t === undefined) return ""
    const unit = t.unit !== undefined ? ` ${t.unit}` : ""
    const at = [...new Set([t.value, ...(t.alternatives ?? [])])].sort((a, b) => a - b)
      .map((v) => `${v}${unit}: ${t.otherConditionsHold && compare(t.measured, t.holdsWhen, v) ? "✓" : "✗"}`).join(", ")
    return `<div class="detail">threshold ${t.ours ? "<b>chosen by us</b> (the paper gives none)" : "given"}: ${escapeHtml(`${t.name} ${t.holdsWhen} ${t.value}${unit}; measured ${Number(t.measured.toPrecision(6))}${unit}; at ${at}`)}</div>`
  }
  const inputs = (e.inputs ?? []).length === 0 ? "" : `<h2>Inputs</h2><p class="note">Configured from the paper (or the code): given to the simulation, not claims.</p>${table(["input", "value", "source"], e.inputs!.map((i) => [escapeHtml(i.name), cell(`${typeof i.value === "number" ? i.value.toLocaleString("en-US") : i.value}${i.unit !== undefined ? ` ${i.unit}` : ""}`), escapeHtml(i.source)]))}`
  const claims = `${inputs}<h2>Claims</h2>${result.claims.length === 0 ? `<p class="note">This experiment checks no claims.</p>` : result.claims.map((c) =>
    `<div class="claim"><span class="verdict ${c.holds ? "ok" : "bad"}">${c.holds ? "✓ holds" : "✗ does not hold"}</span> ${escapeHtml(c.text)}<div class="detail">${escapeHtml(c.detail)}</div>${threshold(c)}</div>`).join("")}${
    e.domain === undefined ? "" : `<p class="note">One point of the experiment's domain: <span class="mono">qvsim run ${escapeHtml(e.name)} --robust</span> states each claim over it.</p>`}`
  // A long table (e.g. one row per observation) folds away under its row count.
  const tables = result.tables.map((t) => {
    const body = resultTable(t)
    return `<h2>${escapeHtml(t.title)}</h2>${t.rows.length > LONG_TABLE_ROWS ? `<details><summary>${t.rows.length.toLocaleString("en-US")} rows</summary>${body}</details>` : body}`
  }).join("")
  const plot = result.plot === undefined
    ? `<h2>Plot</h2><p class="note">This experiment has no plot.</p>`
    : `<h2>Plot</h2><div class="chart" id="plot">${await Charts.toSvg(withConfig(result.plot))}</div>`
  return `${pageHead(`qvsim · ${e.name} (seed ${input.seed})`, EXTRA_STYLE)}
<main>
<header><h1>${escapeHtml(e.name)} <span class="seed">seed ${escapeHtml(String(input.seed))}</span></h1><p>${escapeHtml(e.description)}</p></header>
<section id="summary">${run}</section>
<section id="claims">${claims}</section>
<section id="tables">${tables}</section>
<section id="experiment">${plot}</section>
<footer>qvsim ${escapeHtml(VERSION)} · a self-contained page: the plot by Vega-Lite (rendered to SVG), no network access.</footer>
</main>
</body>
</html>
`
}
