/**
 * E8: the clamp claim over a small domain of seeds (each seed draws its own sets); the rate without
 * the clamp as the pooled claim states it; the pooled and per-run claims caught on swapped
 * outcomes (the model's clamp forced the other way); the generator's knobs reshape the sets and
 * change nothing at their defaults.
 */
import { describe, expect, it } from "vitest"
import { Rng } from "@qvsim/sim-core"
import { runAll } from "../../src/paper/Experiment.ts"
import { analysePibs, mixedSet, pibsConformance, pibsOutcomes, POOLED } from "../../src/paper/PibsConformance.ts"
import type { Sample } from "../../src/robust/Contract.ts"

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
const SCALE = 0.1

const sampleOf = (seed: number, outcomes: ReturnType<typeof pibsOutcomes>): Sample => {
  const r = analysePibs(outcomes)
  return { seed, params: {}, metrics: r.metrics!, verdicts: Object.fromEntries(r.claims.map((c) => [c.id!, c.holds])) }
}

describe("pibs-conformance (E8)", () => {
  const outcomes = SEEDS.map((s) => pibsOutcomes(s, SCALE))

  it("with the clamp no passing set misses, at every seed of a small domain (10 seeds × 30 sets)", () => {
    for (const [i, o] of outcomes.entries()) {
      const r = analysePibs(o)
      expect(r.tables[0]!.rows[0]!["sets passing the §C.3 test"]).toBeGreaterThan(0)
      expect(r.claims.find((c) => c.id === "clampNoMiss")!.holds, `seed ${SEEDS[i]}: ${r.claims[0]!.detail}`).toBe(true)
    }
  })

  it("the pooled claims: a rate with its Wilson interval over every seed's sets", () => {
    const samples = outcomes.map((o, i) => sampleOf(SEEDS[i]!, o))
    const rate = POOLED.find((p) => p.id === "faithfulMissRate")!.from(samples)
    expect(rate.detail).toMatch(/^\d+ of \d[\d,]* passing sets: \d+\.\d\d per 300 sets \(95 % Wilson \d+\.\d\d–\d+\.\d\d\) over 10 seeds/)
    expect(POOLED.find((p) => p.id === "clampMissRate")!.from(samples).holds).toBe(true)
  })

  it("both claims fail when the clamp is forced the other way (outcomes swapped, a set that misses planted)", () => {
    const swapped = outcomes.map((o) => o.map((x, j) => ({ ...x, missesClamp: j === 0 && x.passes ? 1 : x.missesFaithful, missesFaithful: x.missesClamp })))
    const samples = swapped.map((o, i) => sampleOf(SEEDS[i]!, o))
    expect(swapped.some((o) => analysePibs(o).claims[0]!.holds === false)).toBe(true)
    expect(POOLED.find((p) => p.id === "clampMissRate")!.from(samples).holds).toBe(false)
    expect(POOLED.find((p) => p.id === "faithfulMissRate")!.from(samples).holds).toBe(false)
  })

  it("runAll computes the default seed's result from the seed (no systems)", () => {
    const { runs, result: r } = runAll(pibsConformance, { scale: SCALE })
    expect(runs).toEqual([])
    expect(r).toEqual(analysePibs(outcomes[0]!))
  })

  it("a smaller scale draws fewer sets from the same streams; the generator's knobs at their defaults draw the same sets", () => {
    expect(pibsOutcomes(1, 0.07).map((o) => o.passes)).toEqual(outcomes[0]!.slice(0, 21).map((o) => o.passes))
    const a = mixedSet(Rng.stream(3, "pibs/set5"))
    expect(mixedSet(Rng.stream(3, "pibs/set5"), { ioUtilMaxPerMille: 150, boundLowPerMille: 950, workScale: 1 })).toEqual(a)
    expect(mixedSet(Rng.stream(3, "pibs/set5"), { ioUtilMaxPerMille: 400 })).not.toEqual(a)
  })
})
