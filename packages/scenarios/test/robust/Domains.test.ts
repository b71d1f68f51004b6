/**
 * Every paper experiment's domain: well formed (each assumed constant with a basis and a reason,
 * each path a field of every variant it names, inputs with a source), the headline point is the
 * defaults (a point at the defaults builds the headline run's inputs), and the claims that are
 * properties of the model hold over a small sample of the domain (a few Latin-hypercube points at
 * a small scale): fast tests of derived behaviour in place of single lucky points.
 */
import { describe, expect, it } from "vitest"
import * as Experiments from "../../src/Experiments.ts"
import { experiments, find } from "../../src/paper/registry.ts"
import { robustSample } from "../../src/robust/Design.ts"
import { defaults } from "../../src/robust/Domain.ts"
import { domainOf, execute, overridesFor } from "../../src/robust/RunPoint.ts"
import * as Override from "../../src/Override.ts"

describe("paper experiments' domains", () => {
  it.each(experiments.map((e) => e.name))("%s: a well-formed domain, inputs with sources, paths that exist in the variants they name", (name) => {
    const e = find(name)!
    expect(e.domain, `${name} declares a domain`).toBeDefined()
    const d = domainOf(e)
    expect(d.seedsReason).not.toBe("")
    for (const p of d.params) {
      if (p.role === "assumed") expect(p.basis, p.name).toBeDefined()
      for (const v of p.variants ?? []) expect(e.variants.map((x) => x.name), `${p.name} names variant ${v}`).toContain(v)
    }
    for (const i of e.inputs ?? []) expect(i.source.trim(), i.name).not.toBe("")
    // At a sampled point every path lands on an existing field (an Override error names it otherwise).
    for (const pt of robustSample(d, 3)) {
      for (const v of e.variants) {
        const { input } = Experiments.parseVariant(e, v, pt.seed, 0.01, pt.params)
        for (const o of overridesFor(d, v.name, pt.params)) expect(Override.format(o.segments)).toBe(o.path)
        expect(input.system).toBeDefined()
      }
    }
  })

  it.each(experiments.filter((e) => e.variants.length > 0).map((e) => e.name))("%s: the defaults are the headline point (the same validated scenario)", (name) => {
    const e = find(name)!
    for (const v of e.variants) {
      const headline = Experiments.parseVariant(e, v, e.seed, 0.01).scenario
      const atDefaults = Experiments.parseVariant(e, v, e.seed, 0.01, defaults(domainOf(e))).scenario
      expect(JSON.stringify(atDefaults.system, (_k, x) => (typeof x === "function" ? "fn" : x))).toBe(JSON.stringify(headline.system, (_k, x) => (typeof x === "function" ? "fn" : x)))
      expect(atDefaults.duration).toBe(headline.duration)
    }
  })
})

/** Claims that are properties of the model (not of the chosen constants): they must hold at every sampled point. */
const INVARIANT: ReadonlyArray<{ readonly experiment: string; readonly claims: readonly string[]; readonly points: number; readonly scale: number }> = [
  { experiment: "forkwait", claims: ["noExit"], points: 4, scale: 0.01 },
  { experiment: "interrupts", claims: ["earlyDemux", "noMonitor"], points: 4, scale: 0.01 },
  { experiment: "driver-recovery", claims: ["localLikeRemote", "reinitDominates"], points: 3, scale: 0.2 },
  { experiment: "isolation", claims: ["othersUnaffected", "wildWritesTrap", "sandbox0Recovers"], points: 3, scale: 0.6 },
  { experiment: "pibs-conformance", claims: ["clampNoMiss"], points: 3, scale: 0.1 },
  { experiment: "dma-isolation", claims: ["eptAloneLands", "vtdContains"], points: 1, scale: 0.6 },
]

describe("model properties hold over a small sample of each domain", () => {
  it.each(INVARIANT.map((x) => [x.experiment, x] as const))("%s", (_name, x) => {
    const e = find(x.experiment)!
    for (const pt of robustSample(domainOf(e), x.points, 7)) {
      const r = execute(e, e.name, pt, x.scale)
      expect(r.ok, r.error).toBe(true)
      for (const c of x.claims) expect(r.verdicts![c], `${c} at ${r.replay}: ${r.details?.[c] ?? ""}`).toBe(true)
    }
  })
})
