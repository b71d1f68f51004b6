/**
 * The streaming quantile structure of long ping runs: every reported quantile is at most 2^−7
 * below the exact nearest-rank one and never above it (property, against sorting; shown to catch
 * a histogram that reports its buckets' upper edges), min and max exact, buckets contiguous.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { bucketOf, LogHistogram, lowerEdgeOf, RELATIVE_ERROR } from "../src/LogHistogram.ts"

/** Reports the next bucket's lower edge instead of its own: up to one bucket too high. */
class UpperEdge extends LogHistogram {
  override quantile(p: number): number {
    const q = super.quantile(p)
    return Number.isNaN(q) ? q : Math.min(this.max, lowerEdgeOf(bucketOf(q) + 1))
  }
}

const value = fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 5_000_000 }), fc.maxSafeInteger().map((v) => Math.abs(v)))

const withinBound = (make: () => LogHistogram) =>
  fc.property(fc.array(value, { minLength: 1, maxLength: 400 }), fc.double({ min: 0.001, max: 1, noNaN: true }), (values, p) => {
    const h = make()
    for (const v of values) h.add(v)
    const sorted = [...values].sort((a, b) => a - b)
    for (const q of [p, 0.5, 0.99, 1]) {
      const exact = sorted[Math.max(0, Math.ceil(q * values.length) - 1)]!
      const est = h.quantile(q)
      if (!(est <= exact && exact < est * (1 + RELATIVE_ERROR) + 1)) return false
      if (exact < 256 && est !== exact) return false
    }
    return h.count === values.length && h.min === sorted[0] && h.max === sorted[sorted.length - 1]
  })

describe("LogHistogram", () => {
  it("reports each quantile at most 2^-7 below the exact nearest-rank value, never above (vs sorting)", () => {
    fc.assert(withinBound(() => new LogHistogram()), { numRuns: 300 })
  })

  it("catches a histogram that reports its buckets' upper edges", () => {
    expect(fc.check(withinBound(() => new UpperEdge()), { numRuns: 300, endOnFailure: true }).failed).toBe(true)
  })

  it("buckets are contiguous and each holds exactly the values from its lower edge to the next one's", () => {
    fc.assert(fc.property(fc.maxSafeInteger().map((v) => Math.abs(v) % 2 ** 53), (v) => {
      const b = bucketOf(v)
      return lowerEdgeOf(b) <= v && v < lowerEdgeOf(b + 1) && bucketOf(lowerEdgeOf(b)) === b
    }), { numRuns: 1000 })
    for (let e = 0; e < 53; e++) {
      expect(lowerEdgeOf(bucketOf(2 ** e))).toBe(2 ** e)
      expect(bucketOf(2 ** e - 1)).toBe(bucketOf(2 ** e) - 1)
    }
  })

  it("is empty-safe and refuses what it cannot bucket", () => {
    const h = new LogHistogram()
    expect(h.quantile(0.5)).toBeNaN()
    expect(() => h.add(-1)).toThrow(RangeError)
    expect(() => h.add(1.5)).toThrow(RangeError)
    expect(() => h.add(2 ** 53)).toThrow(RangeError)
  })
})
