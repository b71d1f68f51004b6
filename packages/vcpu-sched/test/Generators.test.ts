/**
 * Task-set generators: sums, bounds, grids, determinism by seed, and the distributions (UUniFast's
 * marginal is Beta(1, n−1) scaled by U; a naive "normalised uniform" generator is caught by the
 * same Kolmogorov–Smirnov check).
 */
import { Rng } from "@qvsim/sim-core"
import { describe, expect, it } from "vitest"
import * as G from "../src/Generators.ts"

const ks = (samples: number[], cdf: (x: number) => number): number => {
  const xs = [...samples].sort((a, b) => a - b)
  let d = 0
  xs.forEach((x, i) => { d = Math.max(d, Math.abs((i + 1) / xs.length - cdf(x)), Math.abs(i / xs.length - cdf(x))) })
  return d
}

describe("utilisations", () => {
  it("UUniFast sums to U, is seeded and has the Beta(1, n−1) marginal", () => {
    const rng = Rng.stream(7, "t")
    const n = 5, U = 0.8
    const firsts: number[] = []
    for (let k = 0; k < 4000; k++) {
      const u = G.uunifast(rng, n, U)
      expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(U, 12)
      expect(u.every((x) => x >= 0)).toBe(true)
      firsts.push(u[0]! / U)
    }
    const cdf = (x: number) => 1 - Math.pow(1 - x, n - 1)
    expect(ks(firsts, cdf)).toBeLessThan(0.03)
    expect(G.uunifast(Rng.stream(1, "a"), 4, 0.5)).toEqual(G.uunifast(Rng.stream(1, "a"), 4, 0.5))
    // A naive generator (uniform draws normalised to U) fails the same check.
    const naive: number[] = []
    const r2 = Rng.stream(8, "t")
    for (let k = 0; k < 4000; k++) {
      const raw = Array.from({ length: n }, () => r2.float())
      const s = raw.reduce((a, b) => a + b, 0)
      naive.push(raw[0]! / s)
    }
    expect(ks(naive, cdf)).toBeGreaterThan(0.05)
  })

  it("UUniFast-Discard keeps every utilisation ≤ max; RandFixedSum stays in [a, b] with the right sum and mean", () => {
    const rng = Rng.stream(3, "t")
    for (let k = 0; k < 200; k++) {
      const u = G.uunifastDiscard(rng, 6, 3.5)
      expect(u.every((x) => x <= 1)).toBe(true)
      expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(3.5, 10)
    }
    const means = new Array<number>(8).fill(0)
    for (let k = 0; k < 3000; k++) {
      const u = G.randFixedSum(rng, 8, 5.2)
      expect(u.reduce((a, b) => a + b, 0)).toBeCloseTo(5.2, 9)
      expect(u.every((x) => x >= -1e-12 && x <= 1 + 1e-12)).toBe(true)
      u.forEach((x, i) => { means[i]! += x / 3000 })
    }
    for (const m of means) expect(m).toBeCloseTo(5.2 / 8, 1)
    const ab = G.randFixedSum(rng, 4, 2, 0.2, 0.8)
    expect(ab.every((x) => x >= 0.2 - 1e-12 && x <= 0.8 + 1e-12)).toBe(true)
    expect(() => G.randFixedSum(rng, 3, 3.5)).toThrow(/randFixedSum/)
    expect(() => G.uunifastDiscard(rng, 2, 2.5)).toThrow(/exceeds/)
  })
})

describe("periods and task sets", () => {
  it("uniform and log-uniform periods stay in range, on the grid; log-uniform balances decades", () => {
    const rng = Rng.stream(11, "p")
    const u = G.periodsUniform(rng, 500, 10_000_000, 1_000_000_000, 1_000_000)
    expect(u.every((p) => p >= 10_000_000 && p <= 1_000_000_000 && p % 1_000_000 === 0)).toBe(true)
    const l = G.periodsLogUniform(rng, 4000, 10_000_000, 1_000_000_000)
    expect(l.every((p) => Number.isSafeInteger(p) && p >= 10_000_000 && p <= 1_000_000_000)).toBe(true)
    const low = l.filter((p) => p < 100_000_000).length / l.length
    expect(low).toBeGreaterThan(0.45)
    expect(low).toBeLessThan(0.55)
  })

  it("hyperperiod control: periods from the divisors of H have a hyperperiod dividing H", () => {
    const H = 3_600_000_000 // 3.6 s
    const set = G.divisorsWithin(H, 10_000_000, 1_000_000_000)
    expect(set.every((d) => H % d === 0 && d >= 10_000_000 && d <= 1_000_000_000)).toBe(true)
    expect(set).toEqual([...set].sort((a, b) => a - b))
    const ps = G.periodsFromSet(Rng.stream(1, "x"), 50, set)
    expect(ps.every((p) => set.includes(p))).toBe(true)
  })

  it("taskSet gives integer budgets 1 ≤ C ≤ T", () => {
    const ts = G.taskSet([0.5, 1e-12, 1.2], [10, 1_000, 7])
    expect(ts).toEqual([{ budgetNs: 5, periodNs: 10 }, { budgetNs: 1, periodNs: 1_000 }, { budgetNs: 7, periodNs: 7 }])
  })
})
