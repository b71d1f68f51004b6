import { describe, expect, expectTypeOf, it } from "vitest"
import * as Objects from "../src/Objects.ts"

describe("Objects.stripUndefined", () => {
  it("drops undefined fields and keeps every other value (null, 0, false, '') as given", () => {
    const given: { a?: number | undefined; b?: string | undefined; c: null; d: number; e: boolean; f: string } = { a: undefined, b: "x", c: null, d: 0, e: false, f: "" }
    const out = Objects.stripUndefined(given)
    expect(out).toEqual({ b: "x", c: null, d: 0, e: false, f: "" })
    expect(Object.keys(out)).not.toContain("a")
    expectTypeOf(out).toEqualTypeOf<Objects.Defined<typeof given>>()
  })
  it("lays an input whose optional fields may be undefined over defaults without losing a default", () => {
    const defaults = { x: 1, y: "d" }
    const merged = { ...defaults, ...Objects.stripUndefined<{ x?: number | undefined; y?: string | undefined }>({ x: undefined, y: "g" }) }
    expect(merged).toEqual({ x: 1, y: "g" })
    expectTypeOf(merged).toEqualTypeOf<{ x: number; y: string }>()
  })
})
