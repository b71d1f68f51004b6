/**
 * What a robust study concludes from its records: k of n and the Wilson interval per claim, the
 * first counterexample in design order (not in arrival order), the verdict at other thresholds
 * (only where the claim's other conditions hold), pooled claims over the sample, failed points.
 */
import { describe, expect, it } from "vitest"
import type { PooledClaim } from "../../src/robust/Contract.ts"
import type { PointRecord } from "../../src/robust/RunPoint.ts"
import { summarise } from "../../src/robust/Verdicts.ts"
import { wilson } from "../../src/sweep/Stats.ts"

const rec = (i: number, holds: boolean, measured: number, others = true): PointRecord => ({
  type: "run", key: `seed=${i}`, point: { x: i }, seed: i, ok: true,
  metrics: { m: i, "c.measured": measured, "c.others": others ? 1 : 0 },
  verdicts: { c: holds, d: true },
  ...(holds ? {} : { details: { c: `measured ${measured}` } }),
  claims: { c: { text: "c holds", threshold: { name: "m", value: 5, holdsWhen: "<", ours: true, alternatives: [3, 10] } }, d: { text: "d holds" } },
  replay: `qvsim run e --seed ${i}`, wallMs: 0,
})

describe("robust verdicts", () => {
  const records = [rec(1, true, 1), rec(2, true, 4), rec(3, false, 7), rec(4, false, 12), rec(5, false, 2, false)]

  it("k of n, the Wilson interval, the first counterexample in design order", () => {
    const s = summarise(records)
    const c = s.claims.find((x) => x.id === "c")!
    expect(c).toMatchObject({ holds: false, samples: 5, holdsIn: 2, counterexample: { seed: 3, command: "qvsim run e --seed 3", detail: "measured 7" } })
    const w = wilson(2, 5)
    expect(c.interval[0]).toBeCloseTo(w.low, 5)
    expect(c.interval[1]).toBeCloseTo(w.high, 5)
    expect(s.claims.find((x) => x.id === "d")).toMatchObject({ holds: true, holdsIn: 5, counterexample: null, interval: [expect.any(Number), 1] })
    // Arrival order does not matter once records are in design order; a different design order gives a different first counterexample.
    expect(summarise([...records].reverse()).claims.find((x) => x.id === "c")!.counterexample!.seed).toBe(5)
  })

  it("the verdict at each threshold counts only points whose other conditions hold", () => {
    const t = summarise(records).claims.find((x) => x.id === "c")!.threshold!
    expect(t.at.map((a) => [a.threshold, a.holdsIn])).toEqual([[3, 1], [5, 2], [10, 3]])
    expect(t.ours).toBe(true)
    expect(t.measured).toMatchObject({ count: 5, min: 1, max: 12 })
  })

  it("pooled claims see every sample's metrics; failed points are listed, not counted", () => {
    const pooled: PooledClaim = { id: "p", text: "sum", from: (xs) => ({ holds: xs.reduce((a, x) => a + x.metrics["m"]!, 0) === 15, detail: `${xs.length}` }) }
    const failed: PointRecord = { type: "run", key: "seed=9", point: { x: 9 }, seed: 9, ok: false, error: "Error: boom", replay: "qvsim run e --seed 9", wallMs: 0 }
    const s = summarise([...records, failed], [pooled])
    expect(s.pooled).toEqual([{ id: "p", text: "sum", holds: true, detail: "5" }])
    expect(s.failed).toEqual([{ key: "seed=9", error: "Error: boom", command: "qvsim run e --seed 9" }])
    expect(s.samples).toBe(5)
  })
})
