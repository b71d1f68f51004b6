/**
 * `RecordPrint` (the .qvt reader's fingerprint of a file's records) gives the live trace's run
 * print for the same records, across batches, whatever order kinds, subjects and symbols are
 * declared in, and refuses a kind of more fields than a trace allows.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { RecordPrint } from "../src/RecordPrint.ts"
import { MemorySink, Trace } from "../src/Trace.ts"

const KINDS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ["none", []], ["one", ["a"]], ["sym", ["x", "$tag", "y"]], ["eight", ["a", "b", "c", "d", "e", "f", "g", "$h"]],
]
const rowArb = fc.record({
  kind: fc.nat(KINDS.length - 1), subject: fc.nat(5), dt: fc.oneof(fc.nat(), fc.constantFrom(0.5, 2 ** 40)),
  values: fc.array(fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, NaN, Infinity)), { minLength: 8, maxLength: 8 }),
  tag: fc.nat(6),
})

describe("RecordPrint", () => {
  it("equals the trace's run fingerprint over the same records, declared in another order (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 2000 }), (rows) => {
        const clock = { now: 0 }
        const trace = new Trace(clock)
        const sink = new MemorySink()
        trace.attach(sink)
        const kinds = KINDS.map(([name, fields]) => trace.kind(name, fields))
        const subjects = Array.from({ length: 6 }, (_, i) => trace.subject(`s${i}`, i % 3))
        for (const r of rows) {
          clock.now += r.dt
          const kind = kinds[r.kind]!
          const v = kind.isSymbol.map((s, i) => (s ? trace.symbol(`tag ${r.tag}`) : r.values[i]!))
          trace.emit(kind, subjects[r.subject]!, ...v)
        }
        // the same records, by name: kinds and subjects declared in reverse, symbols in first use
        const print = new RecordPrint()
        const kindIds = new Map([...kinds].reverse().map((k) => [k.name, print.kind(k.name, k.isSymbol)]))
        const subjectIds = new Map([...subjects].reverse().map((s) => [s.name, print.subject(s.name)]))
        const symbolIds = new Map<string, number>()
        const values = new Float64Array(8)
        for (const rec of sink.records) {
          const kind = kinds.find((k) => k.name === rec.kind)!
          kind.fields.forEach((f, i) => {
            const v = rec[f]!
            if (typeof v === "string") {
              if (!symbolIds.has(v)) symbolIds.set(v, print.symbol(v))
              values[i] = symbolIds.get(v)!
            } else values[i] = v
          })
          print.add(kindIds.get(rec.kind)!, subjectIds.get(rec.subject)!, rec.t, values, kind.arity)
        }
        expect(print.hex()).toBe(trace.fingerprint())
      }),
      { numRuns: 40 },
    )
  })

  it("refuses a kind of more than 8 fields", () => {
    expect(() => new RecordPrint().kind("nine", Array(9).fill(false))).toThrow(/at most 8/)
  })
})
