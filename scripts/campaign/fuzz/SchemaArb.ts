/**
 * A fast-check arbitrary of JSON values from a JSON Schema (the subset `z.toJSONSchema` writes for
 * the scenario schema: objects, arrays and tuples, strings with enums and constants, numbers and
 * integers with bounds, booleans, `anyOf`/`oneOf`, `$ref` into `$defs`).
 *
 * Values mostly follow the schema, with a bias to edges (bounds, 0, 1, the largest integers) and
 * to durations that parse ("1ms", "250us"), so generated scenarios reach the cross-field checks
 * and the run instead of all failing at the first field. Nesting is cut at `maxDepth`.
 *
 * @module
 */
import fc from "fast-check"

type Schema = Record<string, unknown>

const DURATIONS = ["0ns", "1ns", "1us", "250us", "1ms", "2ms", "10ms", "100ms", "1s", "2.5s", "13ms"]
const NAMES = ["a", "b", "c", "t", "main0", "c1", "pinger0", "x-1"]

const numberArb = (s: Schema, integer: boolean): fc.Arbitrary<number> => {
  const min = typeof s["minimum"] === "number" ? s["minimum"] : typeof s["exclusiveMinimum"] === "number" ? (s["exclusiveMinimum"] as number) + (integer ? 1 : 1e-9) : -1e6
  const max = typeof s["maximum"] === "number" ? s["maximum"] : typeof s["exclusiveMaximum"] === "number" ? (s["exclusiveMaximum"] as number) - (integer ? 1 : 1e-9) : 1e9
  const lo = Math.max(min, -Number.MAX_SAFE_INTEGER), hi = Math.min(max, Number.MAX_SAFE_INTEGER)
  const edges = [lo, hi, 0, 1, 2, 7, 64, 1000, 1_000_000].filter((x) => x >= lo && x <= hi && (!integer || Number.isInteger(x)))
  const small = integer
    ? fc.integer({ min: Math.max(lo, -1000), max: Math.max(Math.max(lo, -1000), Math.min(hi, 100_000_000)) })
    : fc.double({ min: Math.max(lo, -1000), max: Math.max(Math.max(lo, -1000), Math.min(hi, 1e6)), noNaN: true, noDefaultInfinity: true })
  return edges.length > 0 ? fc.oneof({ arbitrary: fc.constantFrom(...edges), weight: 1 }, { arbitrary: small, weight: 3 }) : small
}

const stringArb = (s: Schema): fc.Arbitrary<string> => {
  if (Array.isArray(s["enum"])) return fc.constantFrom(...(s["enum"] as string[]))
  if (typeof s["const"] === "string") return fc.constant(s["const"])
  const pattern = typeof s["pattern"] === "string" ? new RegExp(s["pattern"] as string) : undefined
  const pool = [...DURATIONS, ...NAMES].filter((x) => pattern === undefined || pattern.test(x))
  return fc.oneof({ arbitrary: fc.constantFrom(...(pool.length > 0 ? pool : NAMES)), weight: 4 }, { arbitrary: fc.string({ maxLength: 8 }), weight: 1 })
}

/** The arbitrary of `schema` (resolving `$ref` against `root`). */
export const fromSchema = (schema: Schema, root: Schema = schema, maxDepth = 7): fc.Arbitrary<unknown> => {
  const go = (s: Schema, depth: number): fc.Arbitrary<unknown> => {
    if (typeof s["$ref"] === "string") {
      const name = (s["$ref"] as string).split("/").at(-1)!
      const defs = (root["$defs"] ?? root["definitions"] ?? {}) as Record<string, Schema>
      return depth >= maxDepth ? fc.constant({}) : fc.constant(null).chain(() => go(defs[name] ?? {}, depth + 1))
    }
    if ("const" in s) return fc.constant(s["const"])
    if (Array.isArray(s["enum"])) return fc.constantFrom(...(s["enum"] as unknown[]))
    const branches = (s["anyOf"] ?? s["oneOf"]) as Schema[] | undefined
    if (Array.isArray(branches) && branches.length > 0) return fc.oneof(...branches.map((b) => go(b, depth)))
    if (Array.isArray(s["allOf"]) && (s["allOf"] as Schema[]).length > 0) return go((s["allOf"] as Schema[])[0]!, depth)
    const type = Array.isArray(s["type"]) ? (s["type"] as string[])[0] : (s["type"] as string | undefined)
    switch (type) {
      case "object": {
        if (depth >= maxDepth) return fc.constant({})
        const props = (s["properties"] ?? {}) as Record<string, Schema>
        const required = new Set((s["required"] ?? []) as string[])
        const entries = Object.entries(props)
        if (entries.length === 0) return fc.dictionary(fc.constantFrom(...NAMES), fc.oneof(fc.integer({ min: 0, max: 100 }), fc.constantFrom(...DURATIONS)), { maxKeys: 2 })
        const model: Record<string, fc.Arbitrary<unknown>> = {}
        for (const [k, v] of entries) model[k] = go(v, depth + 1)
        const requiredKeys = entries.map(([k]) => k).filter((k) => required.has(k))
        return fc.record(model, { requiredKeys })
      }
      case "array": {
        if (depth >= maxDepth) return fc.constant([])
        if (Array.isArray(s["prefixItems"])) return fc.tuple(...(s["prefixItems"] as Schema[]).map((p) => go(p, depth + 1)))
        const items = (s["items"] ?? {}) as Schema
        const minLength = typeof s["minItems"] === "number" ? Math.min(s["minItems"] as number, 4) : 0
        return fc.array(go(items, depth + 1), { minLength, maxLength: Math.max(minLength, Math.min(typeof s["maxItems"] === "number" ? (s["maxItems"] as number) : 4, 4)) })
      }
      case "string": return stringArb(s)
      case "integer": return numberArb(s, true)
      case "number": return numberArb(s, false)
      case "boolean": return fc.boolean()
      case "null": return fc.constant(null)
      default: return fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(...DURATIONS), fc.boolean())
    }
  }
  return go(schema, 0)
}
