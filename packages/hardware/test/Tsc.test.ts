import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Tsc } from "../src/Tsc.ts"

const HZ = 2_130_000_000

describe("Tsc", () => {
  it("adds the offset; converts to cycles at the clock rate", () => {
    const tsc = new Tsc(HZ, 5_000)
    expect(tsc.localNs(0)).toBe(5_000)
    expect(tsc.localNs(1_000_000)).toBe(1_005_000)
    expect(tsc.cycles(1_000_000_000 - 5_000)).toBe(HZ)
  })

  it("applies drift exactly: +100 ppm gains 100 µs per second, -0.5 ppm loses 500 ns", () => {
    expect(new Tsc(HZ, 0, 100).localNs(1_000_000_000)).toBe(1_000_100_000)
    expect(new Tsc(HZ, 0, -0.5).localNs(1_000_000_000)).toBe(999_999_500)
    expect(new Tsc(HZ, 0, 1).localNs(2 ** 52)).toBe(2 ** 52 + Math.floor(2 ** 52 / 1e6))
  })

  it("never decreases, and globalAt(L) is the earliest global time whose local time reaches L", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1e12 }), fc.integer({ min: -1_000_000, max: 1_000_000 }),
      fc.integer({ min: 0, max: 2 ** 50 }),
      (offset, ppb, local) => {
        const tsc = new Tsc(HZ, offset, ppb / 1000)
        const t = tsc.globalAt(local)
        expect(tsc.localNs(t)).toBeGreaterThanOrEqual(local)
        if (t > 0) expect(tsc.localNs(t - 1)).toBeLessThan(local)
        expect(tsc.localNs(t + 1)).toBeGreaterThanOrEqual(tsc.localNs(t))
      },
    ))
  })

  it("refuses a clock of -1 Hz, a negative offset and an absurd drift, naming each field", () => {
    expect(() => new Tsc(-1)).toThrow(/hz: -1 must be a positive integer number of Hz/)
    expect(() => new Tsc(HZ, -3)).toThrow(/offsetNs: -3 must be an integer ≥ 0/)
    expect(() => new Tsc(HZ, 0, 5000)).toThrow(/driftPpm: 5000/)
    expect(() => new Tsc(HZ, 0, 0.0001)).toThrow(/driftPpm: 0.0001 must be a multiple of 0.001/)
  })
})
