/**
 * Robust-study designs and domains: the Latin hypercube is stratified in every dimension (checked
 * as a property over random domains, and shown to catch an unstratified sample), every seed runs
 * once when the sample is the seeds' size, Morris trajectories move one factor by Δ per step, and a
 * wrong domain declaration is refused naming the parameter.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Rng } from "@qvsim/sim-core"
import { defineDomain, parseAssignments, at, type Domain, type NamedParam, type Params } from "../../src/robust/Domain.ts"
import { levelsOf, morris, MORRIS_DELTA, oneAtATime, robustSample, type Point } from "../../src/robust/Design.ts"

type Range = NamedParam & { kind: "range" }

/** Whether each range's values fall one per stratum (log strata for log ranges) and each choice's values appear ⌊n/k⌋ or ⌈n/k⌉ times. */
const stratified = (d: Domain, pts: readonly Point[]): boolean => {
  const n = pts.length
  return d.params.every((p) => {
    if (p.kind === "choice") {
      const counts = p.values.map((v) => pts.filter((x) => x.params[p.name] === v).length)
      return counts.every((c) => c === Math.floor(n / p.values.length) || c === Math.ceil(n / p.values.length))
    }
    const r = p as Range
    const u = (x: number) => (r.log === true ? Math.log(x / r.min) / Math.log(r.max / r.min) : (x - r.min) / (r.max - r.min))
    // Rounding (4 significant digits or integers) can move a value across a stratum edge by less than a rounding step.
    const strata = pts.map((x) => Math.min(n - 1, Math.floor(u(x.params[p.name] as number) * n + 1e-9)))
    const seen = new Set(strata)
    // An integer range's strata narrower than one unit (a log range's lowest ones: 1…10,001 in 34
    // log strata starts 1, 1.31, 1.72, …) may hold no integer at all, so they may stay empty.
    const edge = (k: number) => (r.log === true ? r.min * (r.max / r.min) ** (k / n) : r.min + ((r.max - r.min) * k) / n)
    const narrow = r.integer === true ? Array.from({ length: n }, (_, k) => edge(k + 1) - edge(k)).filter((w) => w < 1).length : 0
    return r.integer === true && r.max - r.min < 4 * n ? true : seen.size >= n - Math.ceil(n / 10) - narrow
  })
}

const domainArb = fc.record({
  ranges: fc.array(fc.record({ min: fc.integer({ min: 1, max: 1000 }), width: fc.integer({ min: 10_000, max: 1_000_000 }), log: fc.boolean() }), { minLength: 1, maxLength: 4 }),
  choices: fc.array(fc.integer({ min: 2, max: 5 }), { maxLength: 2 }),
  seeds: fc.integer({ min: 1, max: 40 }),
})

const build = (g: { ranges: { min: number; width: number; log: boolean }[]; choices: number[]; seeds: number }): Domain =>
  defineDomain({
    seeds: g.seeds,
    choices: Object.fromEntries(g.choices.map((k, i) => [`c${i}`, { kind: "choice" as const, values: Array.from({ length: k }, (_, j) => j), default: 0, description: "c", reason: "r" }])),
    assumed: Object.fromEntries(g.ranges.map((r, i) => [`a${i}`, { kind: "range" as const, min: r.min, max: r.min + r.width, default: r.min, integer: true, log: r.log, basis: "order of magnitude" as const, description: "a", reason: "r" }])),
  })

describe("robust designs", () => {
  it("the Latin hypercube is stratified in every dimension, within the ranges, and seeded", () => {
    fc.assert(fc.property(domainArb, fc.integer({ min: 2, max: 60 }), (g, n) => {
      const d = build(g)
      const pts = robustSample(d, n)
      expect(pts.length).toBe(n)
      expect(stratified(d, pts)).toBe(true)
      for (const p of d.params) for (const x of pts) {
        const v = x.params[p.name]!
        if (p.kind === "range") expect(v as number).toBeGreaterThanOrEqual(p.min), expect(v as number).toBeLessThanOrEqual(p.max)
      }
      expect(robustSample(d, n)).toEqual(pts)
    }), { numRuns: 60 })
  })

  it("the stratification check catches an unstratified (plain random) sample", () => {
    const d = build({ ranges: [{ min: 1, width: 1_000_000, log: false }], choices: [], seeds: 30 })
    const rng = Rng.stream(7, "broken")
    const broken = Array.from({ length: 30 }, (_, i): Point => ({ key: String(i), seed: 1, params: { a0: Math.round(1 + rng.float() * 1_000_000) } }))
    expect(stratified(d, broken)).toBe(false)
    expect(stratified(d, robustSample(d, 30))).toBe(true)
  })

  it("with n = the number of seeds every seed runs exactly once; keys are unique", () => {
    const d = build({ ranges: [{ min: 1, width: 100_000, log: true }], choices: [3], seeds: 30 })
    const pts = robustSample(d, 30)
    expect(pts.map((p) => p.seed).sort((a, b) => a - b)).toEqual(d.seeds)
    expect(new Set(pts.map((p) => p.key)).size).toBe(30)
  })

  it("Morris: each trajectory is k + 1 points, each step moves exactly its factor by Δ on the grid", () => {
    const d = build({ ranges: [{ min: 1, width: 999_999, log: false }, { min: 10, width: 90_000, log: false }], choices: [], seeds: 5 })
    const names = d.params.map((p) => p.name)
    for (const t of morris(d, names, 6, d.seeds)) {
      expect(t.points.length).toBe(names.length + 1)
      expect([...t.steps].sort()).toEqual([...names].sort())
      t.steps.forEach((name, i) => {
        const a = t.points[i]!.params, b = t.points[i + 1]!.params
        for (const n of names) if (n !== name) expect(b[n]).toBe(a[n])
        const p = d.params.find((x) => x.name === name)! as Range
        expect(((b[name] as number) - (a[name] as number)) / (p.max - p.min)).toBeCloseTo(MORRIS_DELTA, 3)
      })
    }
  })

  it("one at a time: the base point, then each parameter over its levels with the others at their defaults", () => {
    const d = build({ ranges: [{ min: 1, width: 1000_000, log: false }], choices: [3], seeds: 2 })
    const pts = oneAtATime(d, ["a0", "c0"], 5, [1])
    expect(pts[0]!.param).toBeUndefined()
    for (const p of pts.filter((x) => x.param === "a0")) expect(p.params["c0"]).toBe(0)
    // Five evenly spaced levels, the default (here the minimum) among them once.
    const levels = levelsOf(d.params.find((p) => p.name === "a0")!, 5)
    expect(levels.length).toBe(5)
    expect(levels[0]).toBe(1)
    expect(pts.filter((x) => x.param === "a0").length).toBe(4)
  })
})

describe("domains", () => {
  it("refuse a wrong declaration, naming the parameter", () => {
    const base = { description: "d", reason: "r" }
    expect(() => defineDomain({ assumed: { x: { kind: "range", min: 5, max: 1, default: 3, basis: "datasheet", ...base } } })).toThrow(/assumed\.x: needs min < max/)
    expect(() => defineDomain({ assumed: { x: { kind: "range", min: 1, max: 5, default: 9, basis: "datasheet", ...base } } })).toThrow(/assumed\.x: default 9 is outside/)
    expect(() => defineDomain({ assumed: { x: { kind: "range", min: 1, max: 5, default: 2, basis: "guess" as never, ...base } } })).toThrow(/assumed\.x: needs a basis/)
    expect(() => defineDomain({ choices: { y: { kind: "choice", values: [1], default: 1, ...base } } })).toThrow(/choices\.y: a choice needs at least two/)
    expect(() => defineDomain({ choices: { y: { kind: "choice", values: [1, 2], default: 1, description: "d", reason: " " } } })).toThrow(/choices\.y: needs a description and the reason/)
  })

  it("--param values are checked against the domain; `at` fills the defaults", () => {
    const d = defineDomain({
      choices: { pinged: { kind: "choice", values: [0, 1, 2, 3], default: 0, description: "d", reason: "r" } },
      assumed: { delayNs: { kind: "range", min: 0, max: 1_000_000_000, default: 0, integer: true, unit: "ns", basis: "order of magnitude", description: "d", reason: "r" } },
    })
    expect(parseAssignments(d, ["pinged=3", "delayNs=250ms"])).toEqual({ pinged: 3, delayNs: 250_000_000 })
    expect(() => parseAssignments(d, ["pinged=7"])).toThrow(/--param pinged=7: not one of the values \(allowed: 0, 1, 2, 3\)/)
    expect(() => parseAssignments(d, ["delayNs=2s"])).toThrow(/out of range/)
    expect(() => parseAssignments(d, ["nope=1"])).toThrow(/unknown parameter \(known: pinged, delayNs\)/)
    const p: Params = { pinged: 2 }
    expect(at(d, p)).toEqual({ pinged: 2, delayNs: 0 })
    expect(at(d)).toEqual({ pinged: 0, delayNs: 0 })
  })
})
