/**
 * Grid: axes expanded (lists, float and duration ranges without binary noise, seeded draws the
 * same in every process), combined as a cartesian product or zipped, errors naming the axis.
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import * as Grid from "../../src/sweep/Grid.ts"

describe("Grid", () => {
  it("a float range is from + i·step without binary noise, inclusive of `to`", () => {
    expect(Grid.expandAxis("u", { from: 0.5, to: 1, step: 0.05 }).values).toEqual([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1])
    expect(Grid.expandAxis("u", { from: 0.1, to: 0.3, step: 0.1 }).values).toEqual([0.1, 0.2, 0.3])
  })

  it("a duration range is integer ns and marks the column", () => {
    const p = Grid.expandAxis("scheduler.quantum", { from: "1ms", to: "2ms", step: "250us" })
    expect(p.values).toEqual([1_000_000, 1_250_000, 1_500_000, 1_750_000, 2_000_000])
    expect(p.durationNs).toBe(true)
  })

  it("seeded draws: same seed same values, in range; another seed other values", () => {
    const a = Grid.expandAxis("x", { distribution: "uniform", min: 2, max: 3, count: 20, seed: 5 })
    const b = Grid.expandAxis("x", { distribution: "uniform", min: 2, max: 3, count: 20, seed: 5 })
    const c = Grid.expandAxis("x", { distribution: "uniform", min: 2, max: 3, count: 20, seed: 6 })
    expect(a.values).toEqual(b.values)
    expect(a.values).not.toEqual(c.values)
    for (const v of a.values as number[]) expect(v >= 2 && v <= 3).toBe(true)
    const d = Grid.expandAxis("p", { distribution: "log-uniform", min: "1ms", max: "1s", count: 50 })
    for (const v of d.values as number[]) expect(Number.isSafeInteger(v) && v >= 1e6 && v <= 1e9).toBe(true)
    const i = Grid.expandAxis("n", { distribution: "int-uniform", min: 3, max: 5, count: 50 })
    expect(new Set(i.values)).toEqual(new Set([3, 4, 5]))
  })

  it("errors name the axis", () => {
    expect(() => Grid.expandAxis("a.b", { from: 1, to: 0, step: 1 })).toThrow(/^grid\["a\.b"\]: to 0 is below from 1/)
    expect(() => Grid.expandAxis("a.b", { from: 0, to: 1, step: 0 })).toThrow(/grid\["a\.b"\]: step 0 must be greater than 0/)
    expect(() => Grid.expandAxis("d", { from: "1ms", to: "2xs", step: "1ms" })).toThrow(/grid\["d"\]: to: invalid duration "2xs"/)
    expect(() => Grid.expandAxis("d", { distribution: "log-uniform", min: 0, max: 1, count: 2 })).toThrow(/needs min > 0/)
  })

  it("cartesian product: first axis outermost; zip pairs values; groups are crossed", () => {
    const a = { path: "a", values: [1, 2], durationNs: false }
    const b = { path: "b", values: ["x", "y", "z"], durationNs: false }
    const c = { path: "c", values: [10, 20, 30], durationNs: false }
    expect(Grid.combine([a, b], false)).toEqual([[1, "x"], [1, "y"], [1, "z"], [2, "x"], [2, "y"], [2, "z"]])
    expect(Grid.combine([b, c], true)).toEqual([["x", 10], ["y", 20], ["z", 30]])
    expect(Grid.combine([a, b, c], [["b", "c"]])).toEqual([[1, "x", 10], [1, "y", 20], [1, "z", 30], [2, "x", 10], [2, "y", 20], [2, "z", 30]])
    expect(Grid.combine([], false)).toEqual([[]])
    expect(() => Grid.combine([a, b], true)).toThrow(/zip: zipped axes need the same number of values \(a: 2, b: 3\)/)
    expect(() => Grid.combine([a, b], [["a", "q"]])).toThrow(/zip: "q" is not an axis/)
  })

  /** The cartesian product of axes of these lengths has Π|axis| points, all distinct. */
  const productHolds = (combine: typeof Grid.combine, lengths: number[]): boolean => {
    const params = lengths.map((n, i) => ({ path: `p${i}`, values: Array.from({ length: n }, (_, k) => k), durationNs: false }))
    const points = combine(params, false)
    return points.length === lengths.reduce((a, n) => a * n, 1) && new Set(points.map((p) => JSON.stringify(p))).size === points.length
  }
  const lengthsArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 })

  test.prop([lengthsArb])("the cartesian product has Π|axis| distinct points", (lengths) => {
    expect(productHolds(Grid.combine, lengths)).toBe(true)
  })

  it("the property catches a broken product (the last axis's last value dropped)", () => {
    const broken: typeof Grid.combine = (params, zip) => Grid.combine(params.map((p, i) => (i === params.length - 1 && p.values.length > 1 ? { ...p, values: p.values.slice(0, -1) } : p)), zip)
    expect(fc.check(fc.property(lengthsArb, (lengths) => productHolds(broken, lengths)), { numRuns: 300, endOnFailure: true }).failed).toBe(true)
  })
})
