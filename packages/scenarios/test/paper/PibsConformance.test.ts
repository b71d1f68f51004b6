/** E8 at paper size (300 sets, ≈ 1–2 s): no misses with the clamp, some without; claims caught on swapped outcomes. */
import { describe, expect, it } from "vitest"
import { runAll } from "../../src/paper/Experiment.ts"
import { analysePibs, pibsConformance, pibsOutcomes } from "../../src/paper/PibsConformance.ts"

describe("pibs-conformance (E8)", () => {
  const outcomes = pibsOutcomes(pibsConformance.seed, 1)
  const result = analysePibs(outcomes)

  it("300 sets, all passing the §C.3 test; every claim holds", () => {
    const rows = result.tables[0]!.rows
    expect(rows.map((r) => r["sets"])).toEqual([300, 300])
    expect(rows[0]!["sets passing the §C.3 test"]).toBe(300)
    expect(rows[0]!["sets with a Main VCPU miss"]).toBe(0)
    expect(rows[1]!["sets with a Main VCPU miss"]).toBeGreaterThan(0)
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
  })

  it("runAll computes the same result from the seed (no systems)", () => {
    const { runs, result: r } = runAll(pibsConformance)
    expect(runs).toEqual([])
    expect(r).toEqual(result)
  })

  it("both claims fail when the clamp setting is forced the other way (outcomes swapped)", () => {
    const swapped = outcomes.map((o) => ({ ...o, missesClamp: o.missesFaithful, missesFaithful: o.missesClamp }))
    expect(analysePibs(swapped).claims.map((c) => c.holds)).toEqual([false, false])
  })

  it("a smaller scale draws fewer sets from the same streams", () => {
    expect(pibsOutcomes(1, 0.1).map((o) => o.passes)).toEqual(outcomes.slice(0, 30).map((o) => o.passes))
  })
})
