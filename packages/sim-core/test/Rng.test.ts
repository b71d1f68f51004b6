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

  it("is pinned: int and float draws (a change here breaks every stored fingerprint)", () => {
    // Values from the implementation before int's fast path (7a0f934): small ranges, int32
    // extremes, the full 2^32 range, wide ranges.
    const r = Rng.stream(11, "sandbox0/copy")
    const bounds: Array<[number, number]> = [[-37, 37], [-37, 37], [0, 23], [-37, 37], [0, 0], [-2147483648, 2147483647], [0, 4294967295], [5, 2 ** 40], [-(2 ** 31), 2 ** 31], [1, 6]]
    expect([...bounds.map(([lo, hi]) => r.int(lo, hi)), r.float(), r.float()]).toEqual(
      [-25, -26, 2, 10, 0, 780656486, 921211857, 817695034768, 1943858680, 5, 0.779580703360566, 0.12167350643700015],
    )
  })

  it("int draws the numbers of the plain rejection sampler on nextU32 (property; a sampler that skips the rejection fails it)", () => {
    // The reference: 32-bit rejection below the largest multiple of the range, 53-bit beyond 2^32.
    const reference = (r: Rng.RngStream, lo: number, hi: number, limitOf = (range: number) => 0x1_0000_0000 - (0x1_0000_0000 % range)): number => {
      const range = hi - lo + 1
      if (range <= 0x1_0000_0000) {
        const limit = limitOf(range)
        let x = r.nextU32()
        while (x >= limit) x = r.nextU32()
        return lo + (x % range)
      }
      const limit = 2 ** 53 - (2 ** 53 % range)
      for (;;) {
        const x = (r.nextU32() >>> 5) * 67108864 + (r.nextU32() >>> 6)
        if (x < limit) return lo + (x % range)
      }
    }
    const bound = fc.oneof(fc.integer({ min: -2147483648, max: 2147483647 }), fc.integer({ min: -(2 ** 40), max: 2 ** 40 }), fc.integer({ min: -40, max: 40 }))
    const pairs = fc.array(fc.tuple(bound, bound).map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]), { minLength: 1, maxLength: 40 })
    const agrees = (limitOf?: (range: number) => number) =>
      fc.property(fc.nat(), pairs, fc.nat(3), (seed, bounds, repeat) => {
        const r = Rng.stream(seed, "int")
        const ref = Rng.stream(seed, "int")
        for (const [lo, hi] of bounds) {
          for (let i = 0; i <= repeat; i++) expect(r.int(lo, hi)).toBe(reference(ref, lo, hi, limitOf))
        }
      })
    fc.assert(agrees())
    // Broken variant: no rejection (every draw accepted, as if the cheap bound were the limit).
    // Ranges between 2^31 and 2^31 + 2^30 reject up to half of the draws, so the property must find it.
    const wide = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.integer({ min: 2 ** 31, max: 2 ** 31 + 2 ** 30 })).map(([a, b]) => [a - 2 ** 31, b - 2 ** 31] as [number, number]), { minLength: 1, maxLength: 40 })
    expect(fc.check(fc.property(fc.nat(), wide, (seed, bounds) => {
      const r = Rng.stream(seed, "int")
      const ref = Rng.stream(seed, "int")
      for (const [lo, hi] of bounds) expect(r.int(lo, hi)).toBe(reference(ref, lo, hi, () => 0x1_0000_0000))
    })).failed).toBe(true)
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

  it("bits53 draws float's bits: bits53() / 2^53 === float(), and bits53() < p·2^53 iff float() < p (property; a wrong scaling fails it)", () => {
    const P = 2 ** 53
    // p near 0 and 1, on and between multiples of 2^-53, and plain values.
    const probability = fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 64 }).map((k) => k / P), fc.integer({ min: 0, max: 64 }).map((k) => 1 - k / P), fc.constantFrom(0, 1, 0.02, 1e-300, 5e-324))
    const agrees = (bits: (r: Rng.RngStream) => number) => fc.property(fc.nat(), fc.string({ maxLength: 8 }), fc.array(probability, { minLength: 1, maxLength: 40 }), (seed, name, ps) => {
      const a = Rng.stream(seed, name), b = Rng.stream(seed, name), c = Rng.stream(seed, name), d = Rng.stream(seed, name)
      for (const p of ps) {
        if (bits(a) / P !== b.float()) return false
        if ((bits(c) < p * P) !== (d.float() < p)) return false
      }
      return true
    })
    fc.assert(agrees((r) => r.bits53()), { numRuns: 200, endOnFailure: true })
    // Broken variant: the high bits scaled by 2^27 instead of 2^26 (the same draws, wrong value).
    const wrong = (r: Rng.RngStream) => (r.nextU32() >>> 5) * 2 ** 27 + (r.nextU32() >>> 6)
    expect(fc.check(agrees(wrong), { numRuns: 200, endOnFailure: true }).failed).toBe(true)
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
