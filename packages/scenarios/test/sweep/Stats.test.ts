/**
 * Stats: Student t quantiles against the printed table, the CI and Wilson interval by their
 * formulas, and a check that a wrong quantile (the normal's 1.96 for small n) would be caught.
 */
import { describe, expect, it } from "vitest"
import * as Stats from "../../src/sweep/Stats.ts"

/** t(0.975, df) from the standard table (e.g. NIST/SEMATECH e-Handbook, Table of t critical values). */
const TABLE: ReadonlyArray<[number, number]> = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [9, 2.262], [10, 2.228], [20, 2.086], [29, 2.045], [30, 2.042], [60, 2.0], [100, 1.984]]

describe("Stats", () => {
  it("t quantiles match the table to its 3 decimals, and approach the normal's", () => {
    for (const [df, t] of TABLE) expect(Math.abs(Stats.tQuantile(0.975, df) - t)).toBeLessThan(6e-4)
    expect(Math.abs(Stats.tQuantile(0.975, 1e6) - Stats.Z_975)).toBeLessThan(1e-5)
    expect(Math.abs(Stats.tQuantile(0.95, 10) - 1.812)).toBeLessThan(6e-4)
    // The normal quantile in place of t would be caught by the table (df = 4: 1.96 vs 2.776).
    expect(Math.abs(Stats.Z_975 - 2.776)).toBeGreaterThan(6e-4)
  })

  it("the t CDF is a CDF: symmetric, monotone, 0.5 at 0", () => {
    expect(Stats.tCdf(0, 7)).toBeCloseTo(0.5, 12)
    let last = 0
    for (let t = -20; t <= 20; t += 0.5) {
      const p = Stats.tCdf(t, 3)
      expect(p).toBeGreaterThanOrEqual(last)
      expect(p + Stats.tCdf(-t, 3)).toBeCloseTo(1, 10)
      last = p
    }
  })

  it("describe: mean, sample sd, min, max, CI = mean ± t·sd/√n; sd and CI missing below 2 values", () => {
    const d = Stats.describe([1, 2, 3, 4])
    expect(d).toMatchObject({ count: 4, mean: 2.5, min: 1, max: 4 })
    expect(d.sd).toBeCloseTo(Math.sqrt(5 / 3), 12)
    const half = (Stats.tQuantile(0.975, 3) * Math.sqrt(5 / 3)) / 2
    expect(d.ci95Low).toBeCloseTo(2.5 - half, 12)
    expect(d.ci95High).toBeCloseTo(2.5 + half, 12)
    expect(Stats.describe([7])).toEqual({ count: 1, mean: 7, sd: undefined, min: 7, max: 7, ci95Low: undefined, ci95High: undefined })
    expect(Stats.describe([]).count).toBe(0)
    expect(Stats.describe([3, 3, 3])).toMatchObject({ sd: 0, ci95Low: 3, ci95High: 3 })
  })

  it("Wilson interval: published values, exact ends at 0 and n, contains the ratio", () => {
    // Wilson (1927) / Newcombe (1998) example: 81 of 263 → [0.2553, 0.3662].
    const w = Stats.wilson(81, 263)
    expect(w.low).toBeCloseTo(0.2553, 4)
    expect(w.high).toBeCloseTo(0.3662, 4)
    expect(Stats.wilson(0, 10).low).toBe(0)
    expect(Stats.wilson(10, 10).high).toBe(1)
    for (let k = 0; k <= 20; k++) {
      const { low, high } = Stats.wilson(k, 20)
      expect(low <= k / 20 && k / 20 <= high).toBe(true)
    }
  })
})
