/**
 * The HTML reports of robust studies, same head, style and charts stack as the other reports
 * (Vega-Lite rendered to SVG in Node; every text HTML-escaped; no network):
 *
 * - `robust` (`qvsim run <experiment> --robust --report r.html`): the design, the inputs (values
 *   configured from the paper, never claims), the domain (every choice and assumed constant with
 *   its range, its basis and why), per claim "holds in k of n" with its 95 % Wilson interval and
 *   the first counterexample's command line; per thresholded claim the distribution of the
 *   measured value against the thresholds (ours named as ours) and the verdict at each threshold;
 *   the headline metrics' distributions.
 * - `sensitivity` (`qvsim sensitivity <experiment> --report s.html`): per metric a tornado chart
 *   (each parameter's one-at-a-time range of the metric, widest first, against its value at the
 *   defaults) with the Morris μ* and σ, and where each claim flips.
 *
 * @module
 */
import type { Experiment } from "../paper/Experiment.ts"
import type { Domain, InputValue } from "../robust/Domain.ts"
import { describeValues, show } from "../robust/Domain.ts"
import type { PointRecord } from "../robust/RunPoint.ts"
import type * as Sensitivity from "../robust/Sensitivity.ts"
import type { Summary } from "../robust/Verdicts.ts"
import { VERSION } from "../Version.ts"
import * as Charts from "./Charts.ts"
import { escapeHtml, pageHead } from "./Report.ts"

const EXTRA_STYLE = `
.claim { margin: 10px 0; }
.claim .detail { color: var(--muted); margin-left: 2.2em; }
.claim .cmd { margin-left: 2.2em; }
`

const num = (x: number | undefined): string =>
  x === undefined ? "–" : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 6 })
const pct = (x: number): string => `${(x * 100).toFixed(x === 0 || x === 1 ? 0 : 1)} %`

const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string =>
  `<table><thead><tr>${header.map((h) => `<th>${escapeHtml(h)}</th>`).join("")}</tr></thead><tbody>${
    rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join("")}</tr>`).join("")
  }</tbody></table>`

const facts = (rows: ReadonlyArray<readonly [string, string]>): string =>
  `<dl class="facts">${rows.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`

const inputsSection = (inputs: readonly InputValue[]): string =>
  inputs.length === 0
    ? ""
    : `<section id="inputs"><h2>Inputs</h2><p class="note">Values configured from the paper (or the code): the simulation is given them; they are not claims.</p>${
      table(["input", "value", "source"], inputs.map((i) => [escapeHtml(i.name), escapeHtml(`${typeof i.value === "number" ? i.value.toLocaleString("en-US") : i.value}${i.unit !== undefined ? ` ${i.unit}` : ""}`), escapeHtml(i.source)]))}</section>`

const domainSection = (d: Domain): string =>
  `<section id="domain"><h2>Domain</h2><p class="note">Seeds: ${escapeHtml(d.seeds.length === 1 ? String(d.seeds[0]) : `${d.seeds.length} (${d.seeds[0]}..${d.seeds.at(-1)})`)}${d.seedsReason !== "" ? ` — ${escapeHtml(d.seedsReason)}` : ""}</p>${
    d.params.length === 0
      ? `<p class="note">No choices and no assumed constants: the claims are stated over the seeds only.</p>`
      : table(["parameter", "kind", "values", "default", "what", "basis", "why this range"], d.params.map((p) => [
        `<span class="mono">${escapeHtml(p.name)}</span>`, escapeHtml(p.role === "choice" ? "choice" : "assumed"), escapeHtml(describeValues(p)), escapeHtml(show(p.default)),
        escapeHtml(p.description), escapeHtml(p.basis ?? ""), escapeHtml(p.reason),
      ]))
  }</section>`

/** The measured value of a thresholded claim over the sample, with a rule at each threshold. */
const thresholdSpec = (id: string, t: NonNullable<Summary["claims"][number]["threshold"]>, records: readonly PointRecord[]): Charts.TopLevelSpec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  width: 640,
  height: 140,
  title: `${t.name}${t.unit !== undefined ? ` (${t.unit})` : ""} over ${t.measured.count} samples`,
  layer: [
    {
      data: { values: records.flatMap((r) => (r.ok && r.metrics?.[`${id}.measured`] !== undefined ? [{ v: r.metrics[`${id}.measured`]! }] : [])) },
      mark: "bar",
      encoding: {
        x: { field: "v", type: "quantitative", bin: { maxbins: 30 }, title: t.name },
        y: { aggregate: "count", type: "quantitative", title: "samples" },
      },
    },
    {
      data: { values: t.at.map((a) => ({ threshold: a.threshold, label: `${num(a.threshold)}${a.threshold === t.value ? (t.ours ? " (ours)" : " (given)") : ""}: ${a.holdsIn}/${t.measured.count}` })) },
      layer: [
        { mark: { type: "rule", color: "#c0392b", strokeDash: [4, 3] }, encoding: { x: { field: "threshold", type: "quantitative" } } },
        { mark: { type: "text", align: "left", dx: 3, dy: -4, color: "#c0392b" }, encoding: { x: { field: "threshold", type: "quantitative" }, y: { value: 0 }, text: { field: "label" } } },
      ],
    },
  ],
  config: Charts.CONFIG,
}) as unknown as Charts.TopLevelSpec

export interface RobustInput {
  readonly experiment: Experiment
  readonly scale: number
  readonly samples: number
  readonly design: string
  readonly domain: Domain
  readonly inputs: readonly InputValue[]
  readonly summary: Summary
  readonly records: readonly PointRecord[]
}

/** The report page of `qvsim run <experiment> --robust`. */
export const robust = async (input: RobustInput): Promise<string> => {
  const { experiment: e, summary: s } = input
  const bad = s.claims.filter((c) => !c.holds).length + s.pooled.filter((p) => !p.holds).length
  const claims: string[] = []
  for (const c of s.claims) {
    const parts = [`<div class="claim"><span class="verdict ${c.holds ? "ok" : "bad"}">${c.holds ? "✓" : "✗"} holds in ${c.holdsIn} of ${c.samples}</span> <span class="note">[${pct(c.interval[0])}, ${pct(c.interval[1])}] 95 % Wilson</span> ${escapeHtml(c.text)}`]
    if (c.counterexample !== null) {
      parts.push(`<div class="cmd">first counterexample: <span class="mono">${escapeHtml(c.counterexample.command)}</span></div>`)
      if (c.counterexample.detail !== "") parts.push(`<div class="detail">${escapeHtml(c.counterexample.detail)}</div>`)
    }
    if (c.threshold !== undefined) {
      const t = c.threshold
      parts.push(`<div class="detail">threshold ${t.ours ? "<b>chosen by us</b> (the paper gives none)" : "given"}: ${escapeHtml(`${t.name} ${t.holdsWhen} ${num(t.value)}${t.unit !== undefined ? ` ${t.unit}` : ""}`)}; measured ${escapeHtml(`${num(t.measured.min)}..${num(t.measured.max)}, median ${num(t.measured.median)}`)}</div>`)
      parts.push(table(["threshold", "holds in", "95 % Wilson"], t.at.map((a) => [escapeHtml(`${num(a.threshold)}${t.unit !== undefined ? ` ${t.unit}` : ""}${a.threshold === t.value ? (t.ours ? " (ours)" : " (given)") : ""}`), escapeHtml(`${a.holdsIn} of ${c.samples}`), escapeHtml(`${pct(a.interval[0])} – ${pct(a.interval[1])}`)])))
      if (t.measured.count > 0) parts.push(`<div class="chart">${await Charts.toSvg(thresholdSpec(c.id, t, input.records))}</div>`)
    }
    parts.push("</div>")
    claims.push(parts.join(""))
  }
  for (const p of s.pooled) claims.push(`<div class="claim"><span class="verdict ${p.holds ? "ok" : "bad"}">${p.holds ? "✓" : "✗"} pooled</span> ${escapeHtml(p.text)}<div class="detail">${escapeHtml(p.detail)}</div></div>`)
  const metrics = s.metrics.length === 0 ? "" : `<section id="metrics"><h2>Metrics</h2>${table(["metric", "mean", "95 % CI", "sd", "min", "median", "max"], s.metrics.map((m) => [
    `<span class="mono">${escapeHtml(m.name)}</span>`, escapeHtml(num(m.mean)), escapeHtml(m.ci95 === null ? "–" : `${num(m.ci95[0])} – ${num(m.ci95[1])}`), escapeHtml(num(m.sd)), escapeHtml(num(m.min)), escapeHtml(num(m.median)), escapeHtml(num(m.max)),
  ]))}</section>`
  const failed = s.failed.length === 0 ? "" : `<section id="failed"><h2>Failed points</h2>${table(["point", "error", "replay"], s.failed.slice(0, 50).map((f) => [`<span class="mono">${escapeHtml(f.key)}</span>`, escapeHtml(f.error), `<span class="mono">${escapeHtml(f.command)}</span>`]))}</section>`
  return `${pageHead(`qvsim · ${e.name} --robust`, EXTRA_STYLE)}
<main>
<header><h1>${escapeHtml(e.name)} <span class="seed">robust</span></h1><p>${escapeHtml(e.description)}</p></header>
<section id="summary"><h2>Study</h2>${facts([
    ["experiment", e.name], ["source", e.source], ["design", input.design], ["scale", String(input.scale)],
    ["samples", `${s.samples} of ${input.samples}${s.failed.length > 0 ? `, ${s.failed.length} failed` : ""}`],
    ["claims", bad === 0 ? "all hold over the whole sample" : `${bad} do not hold over the whole sample`], ["qvsim", VERSION],
  ])}</section>
${inputsSection(input.inputs)}
${domainSection(input.domain)}
<section id="claims"><h2>Claims over the domain</h2><p class="note">Each claim's verdict at every sampled point: "holds in k of n" and the 95 % Wilson interval of the share of the domain where it holds; the first counterexample in design order replays with the command shown.</p>${claims.join("\n")}</section>
${metrics}
${failed}
<footer>qvsim ${escapeHtml(VERSION)} · a self-contained page: plots by Vega-Lite (rendered to SVG), no network access.</footer>
</main>
</body>
</html>
`
}

/** A tornado chart: one bar per parameter from the metric's lowest to its highest one-at-a-time mean, widest first, a rule at the defaults. */
export const tornadoSpec = (metric: string, effects: readonly Sensitivity.Effect[]): Charts.TopLevelSpec => {
  const rows = [...effects].filter((e) => e.low !== undefined).sort((a, b) => b.swing - a.swing)
  const base = rows[0]?.base
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width: 560,
    height: Math.max(40, rows.length * 22),
    title: metric,
    layer: [
      {
        data: { values: rows.map((e) => ({ param: `${e.param}${e.role === "choice" ? " (choice)" : ""}`, low: e.low, high: e.high, swing: e.swing, muStar: e.muStar ?? null })) },
        mark: { type: "bar", color: "#4c78a8" },
        encoding: {
          y: { field: "param", type: "nominal", sort: rows.map((e) => `${e.param}${e.role === "choice" ? " (choice)" : ""}`), title: null },
          x: { field: "low", type: "quantitative", title: metric, scale: { zero: false } },
          x2: { field: "high" },
          tooltip: [{ field: "param" }, { field: "low" }, { field: "high" }, { field: "swing" }, { field: "muStar", title: "Morris μ*" }],
        },
      },
      ...(base === undefined ? [] : [{ data: { values: [{ base }] }, mark: { type: "rule", color: "#c0392b" }, encoding: { x: { field: "base", type: "quantitative" } } }]),
    ],
    config: Charts.CONFIG,
  } as unknown as Charts.TopLevelSpec
}

export interface SensitivityInput {
  readonly experiment: Experiment
  readonly scale: number
  readonly design: string
  readonly domain: Domain
  readonly result: Sensitivity.Result
}

/** The report page of `qvsim sensitivity <experiment>`. */
export const sensitivity = async (input: SensitivityInput): Promise<string> => {
  const { experiment: e, result: r } = input
  const charts: string[] = []
  for (const metric of r.metrics) {
    const effects = r.effects.filter((x) => x.metric === metric)
    if (effects.every((x) => x.swing === 0)) {
      charts.push(`<h3>${escapeHtml(metric)}</h3><p class="note">No parameter moves it (one at a time): ${escapeHtml(num(effects[0]?.base))} throughout.</p>`)
      continue
    }
    charts.push(`<div class="chart">${await Charts.toSvg(tornadoSpec(metric, effects))}</div>`)
    charts.push(table(["parameter", "kind", "OAT min", "at defaults", "OAT max", "swing", "Morris μ*", "μ", "σ"], [...effects].sort((a, b) => b.swing - a.swing).map((x) => [
      `<span class="mono">${escapeHtml(x.param)}</span>`, escapeHtml(x.role), escapeHtml(num(x.low)), escapeHtml(num(x.base)), escapeHtml(num(x.high)), escapeHtml(num(x.swing)), escapeHtml(num(x.muStar)), escapeHtml(num(x.mu)), escapeHtml(num(x.sigma)),
    ])))
  }
  const flips = r.flips.length === 0
    ? `<p>No claim changes its verdict over any parameter's range (one at a time).</p>`
    : [...new Set(r.flips.map((f) => f.claim))].map((c) => `<div class="claim"><b>${escapeHtml(c)}</b>: ${escapeHtml(r.claimTexts[c] ?? "")}${r.flips.filter((f) => f.claim === c).map((f) => `<div class="detail"><span class="mono">${escapeHtml(f.param)}</span>: ${escapeHtml(f.text)}</div>`).join("")}</div>`).join("")
  const steady = r.steady.length === 0 ? "" : `<p class="note">Hold over every parameter's range: ${r.steady.map(escapeHtml).join(", ")}.</p>`
  return `${pageHead(`qvsim · ${e.name} sensitivity`, EXTRA_STYLE)}
<main>
<header><h1>${escapeHtml(e.name)} <span class="seed">sensitivity</span></h1><p>${escapeHtml(e.description)}</p></header>
<section id="summary"><h2>Study</h2>${facts([["experiment", e.name], ["source", e.source], ["design", input.design], ["scale", String(input.scale)], ["qvsim", VERSION]])}</section>
${domainSection(input.domain)}
<section id="flips"><h2>Where claims flip</h2>${flips}${steady}</section>
<section id="tornado"><h2>Tornado charts</h2><p class="note">Per headline metric: each parameter's bar spans the metric's mean (over the seeds) from its lowest to its highest one-at-a-time level, the others at their defaults; the red rule is the value at the defaults. Morris μ* (mean absolute elementary effect over the parameter's full range) ranks the assumed constants with the others varied too.</p>${charts.join("\n")}</section>
<footer>qvsim ${escapeHtml(VERSION)} · a self-contained page: plots by Vega-Lite (rendered to SVG), no network access.</footer>
</main>
</body>
</html>
`
}
