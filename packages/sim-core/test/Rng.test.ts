import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Rng from "../src/Rng.ts"

const draw = (r: Rng.RngStream, n: number): number[] => Array.from({ length: n }, () => r.nextU32())

describe("Rng", () => {
  it("is pinned: these exact numbers on every machine (a change here breaks every stored fingerprint)", () => {
    expect(draw(Rng.stream(7, "timers"), 4)).toMatchInlineSnapshot(`
      [
        43244105,
        2397669929,
        1810138567,
        2155190771,
      ]
    `)
  })

  it("same seed and name give the same stream (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.string(), (seed, name) => {
        expect(draw(Rng.stream(seed, name), 8)).toEqual(draw(Rng.stream(seed, name), 8))
      }),
    )
  })

  it("different names or seeds give different streams (property)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.string(), fc.string(), (seed, a, b) => {
        fc.pre(a !== b)
        expect(draw(Rng.stream(seed, a), 4)).not.toEqual(draw(Rng.stream(seed, b), 4))
      }),
    )
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (s1, s2) => {
        fc.pre(s1 !== s2)
        expect(draw(Rng.stream(s1, "x"), 4)).not.toEqual(draw(Rng.stream(s2, "x"), 4))
      }),
    )
  })

  it("drawing from one stream never changes another (independence of names)", () => {
    fc.assert(
      fc.property(fc.nat(), fc.nat(100), (seed, extra) => {
        const alone = draw(Rng.stream(seed, "b"), 16)
        const a = Rng.stream(seed, "a")
        const b = Rng.stream(seed, "b")
        draw(a, extra)
        expect(draw(b, 16)).toEqual(alone)
      }),
    )
  })

  it("int(lo, hi) stays in range, hits both ends, and is roughly uniform", () => {
    const r = Rng.stream(1, "int")
    const counts = new Array(6).fill(0)
    for (let i = 0; i < 60_000; i++) counts[r.int(1, 6) - 1]++
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500)
    fc.assert(
      fc.property(fc.integer(), fc.nat(1_000_000), fc.nat(), (lo, span, seed) => {
        const x = Rng.stream(seed, "p").int(lo, lo + span)
        expect(x).toBeGreaterThanOrEqual(lo)
        expect(x).toBeLessThanOrEqual(lo + span)
      }),
    )
    expect(() => r.int(3, 2)).toThrow(/int\(3, 2\)/)
  })

  it("float is in [0, 1) with mean 1/2; exponential has the requested mean", () => {
    const r = Rng.stream(2, "f")
    let sum = 0, esum = 0
    for (let i = 0; i < 100_000; i++) {
      const f = r.float()
      expect(f >= 0 && f < 1).toBe(true)
      sum += f
      esum += r.exponential(5)
    }
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01)
    expect(Math.abs(esum / 100_000 - 5)).toBeLessThan(0.1)
    expect(Number.isInteger(r.exponentialNs(1000))).toBe(true)
  })

  it("shuffle is a permutation; pick picks a member", () => {
    fc.assert(
      fc.property(fc.array(fc.integer()), fc.nat(), (xs, seed) => {
        const r = Rng.stream(seed, "s")
        expect([...r.shuffle([...xs])].sort()).toEqual([...xs].sort())
        if (xs.length > 0) expect(xs).toContain(r.pick(xs))
      }),
    )
  })

  it("refuses a negative or fractional seed, naming it", () => {
    expect(() => Rng.stream(-1, "x")).toThrow(/seed -1/)
    expect(() => Rng.stream(1.5, "x")).toThrow(/seed 1.5/)
  })
})
