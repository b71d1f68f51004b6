/**
 * What a sensitivity study concludes (`qvsim sensitivity <experiment>`): for each parameter, how
 * much each headline metric (and each thresholded claim's measured value) moves over the
 * parameter's range, one at a time (OAT: the others at their defaults), and its Morris elementary
 * effects (μ* = mean |EE|, μ = mean EE, σ = sd EE, in the metric's unit per full range of the
 * parameter); and where each claim's verdict flips along each parameter.
 *
 * The design (robust/Design.ts): OAT over every parameter (choices and assumed constants) at the
 * given seeds; Morris over the assumed constants, `r` trajectories. A parameter's tornado bar is
 * the OAT range of the metric (mean over the seeds at each level): from its lowest to its highest
 * value, drawn against the value at the defaults.
 *
 * Invariant: a pure function of the design and the records (by key), in design order.
 *
 * @module
 */
import { describe } from "../sweep/Stats.ts"
import { type Domain, type NamedParam, show, type Value } from "./Domain.ts"
import { levelsOf, MORRIS_DELTA, type OatPoint, type Trajectory } from "./Design.ts"
import type { PointRecord } from "./RunPoint.ts"

export interface Level {
  readonly value: Value
  /** Mean of the metric over the seeds at this level (undefined: no run gave it). */
  readonly mean: number | undefined
}

export interface Effect {
  readonly metric: string
  readonly param: string
  readonly role: "choice" | "assumed"
  /** The metric at the defaults (mean over the seeds). */
  readonly base: number | undefined
  readonly levels: readonly Level[]
  /** Lowest and highest mean over the levels, and their difference (the tornado bar). */
  readonly low: number | undefined
  readonly high: number | undefined
  readonly swing: number
  /** Morris (assumed constants only; undefined otherwise or without trajectories). */
  readonly muStar?: number
  readonly mu?: number
  readonly sigma?: number
  readonly effects?: number
}

export interface Flip {
  readonly claim: string
  readonly param: string
  /** Per level: the claim's verdict in how many of the seeds. */
  readonly verdicts: ReadonlyArray<{ readonly value: Value; readonly holds: number; readonly of: number }>
  /** One line: "holds at 200..1,100, fails at 1,400..2,000". */
  readonly text: string
}

export interface Result {
  readonly metrics: readonly string[]
  readonly effects: readonly Effect[]
  /** Claims whose verdict changes along some parameter (one entry per claim and parameter). */
  readonly flips: readonly Flip[]
  /** Claims that hold at the defaults at every seed, and never flip. */
  readonly steady: readonly string[]
  readonly claimTexts: Readonly<Record<string, string>>
}

const mean = (xs: readonly number[]): number | undefined => (xs.length === 0 ? undefined : xs.reduce((a, b) => a + b, 0) / xs.length)

/** The metric names of a study: headline metrics, then claims' measured values. */
const metricNames = (records: readonly PointRecord[]): string[] => {
  const plain: string[] = []
  const measured: string[] = []
  for (const r of records) {
    for (const k of Object.keys(r.metrics ?? {})) {
      if (k.endsWith(".others")) continue
      const list = k.endsWith(".measured") ? measured : plain
      if (!list.includes(k)) list.push(k)
    }
  }
  return [...plain, ...measured]
}

const runs = (by: ReadonlyMap<string, PointRecord>, pts: readonly OatPoint[]): PointRecord[] => pts.flatMap((p) => {
  const r = by.get(p.key)
  return r !== undefined && r.ok ? [r] : []
})

const fmt = (v: Value): string => (typeof v === "number" ? (Math.abs(v) >= 1000 ? v.toLocaleString("en-US") : String(v)) : show(v))

/** "holds at a..b, fails at c..d" from per-level verdicts (runs of equal verdicts joined). */
const flipText = (p: NamedParam, verdicts: Flip["verdicts"]): string => {
  const word = (v: Flip["verdicts"][number]) => (v.holds === v.of ? "holds" : v.holds === 0 ? "fails" : `holds in ${v.holds}/${v.of} seeds`)
  const parts: Array<{ word: string; from: Value; to: Value }> = []
  for (const v of verdicts) {
    const w = word(v)
    const last = parts.at(-1)
    if (last !== undefined && last.word === w && p.kind === "range") last.to = v.value
    else parts.push({ word: w, from: v.value, to: v.value })
  }
  const unit = p.kind === "range" && p.unit !== undefined ? ` ${p.unit}` : ""
  return parts.map((x) => `${x.word} at ${x.from === x.to ? fmt(x.from) : `${fmt(x.from)}..${fmt(x.to)}`}${unit}`).join(", ")
}

/** Analyses the records of a sensitivity design (OAT points and Morris trajectories). */
export const analyse = (d: Domain, oat: readonly OatPoint[], trajectories: readonly Trajectory[], records: readonly PointRecord[], levels: number): Result => {
  const by = new Map(records.map((r) => [r.key, r]))
  const metrics = metricNames(records.filter((r) => r.ok))
  const basePts = oat.filter((p) => p.param === undefined)
  const base = runs(by, basePts)
  const oatParams = [...new Set(oat.flatMap((p) => (p.param === undefined ? [] : [p.param])))]
  const at = (name: string, v: Value): PointRecord[] => {
    const p = d.params.find((x) => x.name === name)!
    // The default level is the base point (not repeated in the design).
    if (v === p.default) return base
    return runs(by, oat.filter((x) => x.param === name && x.params[name] === v))
  }
  const effects: Effect[] = []
  for (const metric of metrics) {
    const b = mean(base.flatMap((r) => (r.metrics?.[metric] !== undefined ? [r.metrics[metric]!] : [])))
    for (const name of oatParams) {
      const p = d.params.find((x) => x.name === name)!
      const ls = levelsOf(p, levels).map((value) => ({ value, mean: mean(at(name, value).flatMap((r) => (r.metrics?.[metric] !== undefined ? [r.metrics[metric]!] : []))) }))
      const ms = ls.flatMap((l) => (l.mean === undefined ? [] : [l.mean]))
      const low = ms.length === 0 ? undefined : Math.min(...ms)
      const high = ms.length === 0 ? undefined : Math.max(...ms)
      let morris = {}
      if (p.role === "assumed" && trajectories.length > 0) {
        const ee: number[] = []
        for (const t of trajectories) {
          t.steps.forEach((step, i) => {
            if (step !== name) return
            const y0 = by.get(t.points[i]!.key), y1 = by.get(t.points[i + 1]!.key)
            const a = y0?.ok === true ? y0.metrics?.[metric] : undefined, c = y1?.ok === true ? y1.metrics?.[metric] : undefined
            if (a !== undefined && c !== undefined) ee.push((c - a) / MORRIS_DELTA)
          })
        }
        if (ee.length > 0) {
          const s = describe(ee)
          morris = { muStar: mean(ee.map(Math.abs))!, mu: s.mean!, sigma: s.sd ?? 0, effects: ee.length }
        }
      }
      effects.push({ metric, param: name, role: p.role, base: b, levels: ls, low, high, swing: low === undefined ? 0 : high! - low, ...morris })
    }
  }
  const claimTexts: Record<string, string> = {}
  for (const r of records) for (const [id, m] of Object.entries(r.claims ?? {})) claimTexts[id] ??= m.text
  const flips: Flip[] = []
  const flipping = new Set<string>()
  for (const claim of Object.keys(claimTexts)) {
    for (const name of oatParams) {
      const p = d.params.find((x) => x.name === name)!
      const verdicts = levelsOf(p, levels).map((value) => {
        const rs = at(name, value).filter((r) => r.verdicts?.[claim] !== undefined)
        return { value, holds: rs.filter((r) => r.verdicts![claim]).length, of: rs.length }
      }).filter((v) => v.of > 0)
      const kinds = new Set(verdicts.map((v) => (v.holds === v.of ? "h" : v.holds === 0 ? "f" : "m")))
      if (kinds.size > 1 || kinds.has("m")) {
        flips.push({ claim, param: name, verdicts, text: flipText(p, verdicts) })
        flipping.add(claim)
      }
    }
  }
  const steady = Object.keys(claimTexts).filter((c) => !flipping.has(c) && base.length > 0 && base.every((r) => r.verdicts?.[c] === true))
  return { metrics, effects, flips, steady, claimTexts }
}

const num = (x: number | undefined): string => (x === undefined ? "–" : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 6 }))

/** The study as text: per metric a table of parameters by swing, then the claims that flip. */
export const format = (r: Result): string[] => {
  const out: string[] = []
  for (const metric of r.metrics) {
    const rows = r.effects.filter((e) => e.metric === metric).sort((a, b) => b.swing - a.swing || (b.muStar ?? 0) - (a.muStar ?? 0))
    if (rows.length === 0) continue
    const cells = rows.map((e) => [e.param, e.role, num(e.low), num(e.base), num(e.high), num(e.swing), num(e.muStar), num(e.sigma)])
    const head = ["parameter", "kind", "OAT min", "at defaults", "OAT max", "swing", "Morris μ*", "σ"]
    const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
    const line = (c: readonly string[]) => c.map((x, i) => (i < 2 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ").trimEnd()
    out.push("", `${metric}`, `  ${line(head)}`, `  ${line(w.map((n) => "─".repeat(n)))}`, ...cells.map((c) => `  ${line(c)}`))
  }
  out.push("", "claims along each parameter (one at a time)")
  if (r.flips.length === 0) out.push("  no claim changes its verdict over any parameter's range")
  for (const claim of [...new Set(r.flips.map((f) => f.claim))]) {
    out.push(`  ${claim}: ${r.claimTexts[claim] ?? ""}`)
    for (const f of r.flips.filter((x) => x.claim === claim)) out.push(`      ${f.param}: ${f.text}`)
  }
  for (const c of r.steady) out.push(`  ${c}: holds over every parameter's range (one at a time)`)
  return out
}

/** `sensitivity.csv`: one row per metric and parameter. */
export const csv = (r: Result): string => {
  const cols = ["metric", "parameter", "kind", "oat_min", "at_defaults", "oat_max", "swing", "morris_mu_star", "morris_mu", "morris_sigma", "morris_effects"]
  const cell = (x: unknown) => (x === undefined ? "" : String(x))
  return [cols.join(","), ...r.effects.map((e) => [e.metric, e.param, e.role, e.low, e.base, e.high, e.swing, e.muStar, e.mu, e.sigma, e.effects].map(cell).join(","))].join("\n") + "\n"
}
