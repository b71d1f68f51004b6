import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Time from "../src/Time.ts"

describe("Time", () => {
  it("unit helpers give integer ns and refuse fractions of a ns", () => {
    expect(Time.us(1.5)).toBe(1500)
    expect(Time.ms(2.5)).toBe(2_500_000)
    expect(Time.s(0.1)).toBe(100_000_000)
    expect(() => Time.ns(1.5)).toThrow(/ns\(1.5\)/)
    expect(() => Time.us(0.0005)).toThrow(/not an exact integer/)
  })

  it("parses durations exactly", () => {
    expect(Time.parseDuration("10ms")).toBe(10_000_000)
    expect(Time.parseDuration("2.5s")).toBe(2_500_000_000)
    expect(Time.parseDuration("0.000000001s")).toBe(1)
    expect(Time.parseDuration("750us")).toBe(750_000)
    expect(Time.parseDuration("42ns")).toBe(42)
  })

  it.each(["1.5ns", "-3ms", "10", "1e3ms", "ms", "0.0000000015s", "3 hours", "99999999999999999s"])(
    "refuses %j with a message quoting it",
    (text) => {
      expect(() => Time.parseDuration(text)).toThrow(new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    },
  )

  it("formatDuration and parseDuration round-trip every valid duration (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.nat(10_000).map((n) => n * 1_000_000)), (t) => {
        expect(Time.parseDuration(Time.formatDuration(t))).toBe(t)
      }),
    )
  })

  it("parses any integer with any unit and any exact decimal form (property)", () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), fc.constantFrom("us", "ms", "s"), (n, unit) => {
        const per = { us: 1_000, ms: 1_000_000, s: 1_000_000_000 }[unit]
        expect(Time.parseDuration(`${n}${unit}`)).toBe(n * per)
        // n/1000 of the unit is n * per / 1000 ns, written with exactly three decimals.
        const text = `${Math.floor(n / 1000)}.${String(n % 1000).padStart(3, "0")}${unit}`
        expect(Time.parseDuration(text)).toBe((n * per) / 1000)
      }),
    )
  })

  it("converts cycles and ns with one rounding rule: to nearest, ties up", () => {
    const hz = 2_130_000_000
    expect(Time.cyclesToNs(707, hz)).toBe(332) // 331.92
    expect(Time.cyclesToNs(823, hz)).toBe(386) // 386.38
    expect(Time.cyclesToNs(134_244_605, hz)).toBe(63_025_636)
    expect(Time.cyclesToNs(1, 2)).toBe(500_000_000)
    expect(Time.cyclesToNs(3, 2_000_000_000)).toBe(2) // 1.5 → 2 (tie up)
    expect(Time.nsToCycles(1_000_000, hz)).toBe(2_130_000)
    expect(() => Time.cyclesToNs(10, -1)).toThrow(/clock rate -1 Hz/)
    expect(() => Time.cyclesToNs(-1, hz)).toThrow(/cycles -1/)
  })

  it("cycles → ns → cycles stays within half a ns of cycles (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1_000_000, max: 5_000_000_000 }), (cycles, hz) => {
        const back = Time.nsToCycles(Time.cyclesToNs(cycles, hz), hz)
        expect(Math.abs(back - cycles)).toBeLessThanOrEqual(Math.ceil(hz / 2e9))
      }),
    )
  })
})

describe("Time conversions: the double fast path equals the exact BigInt rule", () => {
  it("cyclesToNs and nsToCycles equal roundHalfUp in BigInt for any inputs (property)", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.nat(10_000), fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
        fc.oneof(fc.integer({ min: 1, max: 10 }), fc.integer({ min: 1_000_000, max: 6_000_000_000 })),
        (x, hz) => {
          expect(Time.cyclesToNs(x, hz)).toBe(Number(Time.roundHalfUp(BigInt(x) * 1_000_000_000n, BigInt(hz))))
          expect(Time.nsToCycles(x, hz)).toBe(Number(Time.roundHalfUp(BigInt(x) * BigInt(hz), 1_000_000_000n)))
        },
      ),
      { numRuns: 2000 },
    )
  })
})
