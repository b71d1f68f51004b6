/**
 * The in-place selection PingHost's exact p50/p99 use: the k-th smallest equals the sorted
 * array's k-th value for every rank, with a second selection inside `[0, k]` as `stats()` makes it
 * (property, against sorting; shown to catch a selection that stops one partition early), and the
 * array keeps its values.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { selectKth } from "../src/internal/select.ts"

/** Broken on purpose: returns after the first partition whatever lands at k. */
const firstPartitionOnly = (a: Float64Array, k: number): number => {
  const copy = Float64Array.from(a)
  selectKth(copy, Math.min(copy.length - 1, 0)) // one walk that does not aim at k
  return copy[k]!
}

const arrays = fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2 ** 40 })), { minLength: 1, maxLength: 300 })

const agrees = (select: (a: Float64Array, k: number) => number) => (xs: number[], r1: number, r2: number): boolean => {
  const sorted = Float64Array.from(xs).sort()
  const a = Float64Array.from(xs)
  const hi = Math.floor(r1 * a.length) % a.length
  const lo = Math.floor(r2 * (hi + 1)) % (hi + 1)
  if (select(a, hi) !== sorted[hi]) return false
  // The second rank inside [0, hi], as PingHost.stats selects p50 after p99.
  const second = select === selectKth ? selectKth(a, lo, 0, hi) : select(a, lo)
  return second === sorted[lo] && Float64Array.from(a).sort().every((v, i) => v === sorted[i])
}

describe("selectKth", () => {
  it("is the sorted array's k-th value, and a second rank below it too (property)", () => {
    fc.assert(fc.property(arrays, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), agrees(selectKth)), { numRuns: 500 })
  })

  it("the property catches a selection that does not walk to k", () => {
    expect(() => fc.assert(fc.property(arrays, fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), agrees(firstPartitionOnly)), { numRuns: 500 })).toThrow()
  })

  it("refuses a rank outside the range", () => {
    expect(() => selectKth(Float64Array.of(1, 2, 3), 3)).toThrow(RangeError)
    expect(() => selectKth(Float64Array.of(1, 2, 3), 0, 1, 2)).toThrow(RangeError)
  })
})
