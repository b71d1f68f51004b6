import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Simulation } from "../src/Simulation.ts"
import { fingerprintRecords, JsonlSink, MemorySink, type TraceRecord } from "../src/Trace.ts"

/** A small model: emits `n` records of two kinds with the given values. */
const run = (values: number[], sink?: MemorySink): Simulation => {
  const sim = new Simulation(3)
  const a = sim.trace.kind("a", ["x", "$tag"])
  const b = sim.trace.kind("b", ["y"])
  const s0 = sim.trace.subject("s0", 0)
  const s1 = sim.trace.subject("s1", 1)
  if (sink) sim.trace.attach(sink)
  const h = sim.register("h", (i) => {
    const v = values[i]!
    if (i % 2 === 0) sim.trace.emit(a, s0, v, sim.trace.symbol(`tag${v % 3}`))
    else sim.trace.emit(b, s1, v)
  })
  values.forEach((_, i) => sim.at(i * 10, 0, h, i))
  sim.run()
  return sim
}

describe("Trace", () => {
  it("writes records as {t, kind, subject, ...fields}, symbols as strings", () => {
    const mem = new MemorySink()
    run([5, 7], mem)
    expect(mem.records).toEqual([
      { t: 0, kind: "a", subject: "s0", x: 5, tag: "tag2" },
      { t: 10, kind: "b", subject: "s1", y: 7 },
    ])
  })

  it("the fingerprint does not depend on sinks, and equals the fingerprint of the records", () => {
    const mem = new MemorySink()
    const withSink = run([1, 2, 3, 4.5], mem)
    const without = run([1, 2, 3, 4.5])
    expect(withSink.trace.fingerprint()).toBe(without.trace.fingerprint())
    expect(fingerprintRecords(mem.records)).toBe(without.trace.fingerprint())
    // through JSON and back, too
    const back = mem.records.map((r) => JSON.parse(JSON.stringify(r)) as TraceRecord)
    expect(fingerprintRecords(back)).toBe(without.trace.fingerprint())
  })

  it("any single changed field of any record changes the fingerprint (property)", () => {
    const fieldOf = (r: TraceRecord): string[] => Object.keys(r)
    fc.assert(
      fc.property(
        fc.array(fc.record({ t: fc.nat(), x: fc.oneof(fc.integer(), fc.double({ noNaN: true })), tag: fc.string() }), { minLength: 1, maxLength: 20 }),
        fc.nat(),
        fc.nat(),
        fc.oneof(fc.integer(), fc.double({ noNaN: true }), fc.string()),
        (rows, which, field, replacement) => {
          const records: TraceRecord[] = rows.map((r, i) => ({ t: r.t, kind: "k", subject: `s${i % 2}`, x: r.x, tag: r.tag }))
          const i = which % records.length
          const keys = fieldOf(records[i]!)
          const key = keys[field % keys.length]!
          const old = records[i]![key]
          const value = key === "t" ? (typeof replacement === "number" ? Math.abs(Math.trunc(replacement)) : 0) : replacement
          fc.pre(!Object.is(value, old) && String(value) !== String(old) && !(typeof value === "number" && value === old))
          const changed = records.map((r, j) => (j === i ? { ...r, [key]: value } : r))
          expect(fingerprintRecords(changed)).not.toBe(fingerprintRecords(records))
        },
      ),
    )
  })

  it("keeps a fingerprint per scope that ignores records of other scopes", () => {
    const a = run([1, 2, 3, 4])
    const b = run([1, 99, 3, 98]) // only scope 1 (odd records) differs
    expect(a.trace.scopeFingerprint(0)).toBe(b.trace.scopeFingerprint(0))
    expect(a.trace.scopeFingerprint(1)).not.toBe(b.trace.scopeFingerprint(1))
    expect(a.trace.scopes()).toEqual([0, 1])
  })

  it("JSONL sink writes the header line then one canonical line per record", () => {
    let text = ""
    let closed = false
    const sim = new Simulation(3)
    const k = sim.trace.kind("k", ["v"])
    const subj = sim.trace.subject("s")
    sim.trace.attach(new JsonlSink({ write: (s) => { text += s }, close: () => { closed = true } }, {
      type: "header", qvsim: "0.0.0", scenario: { name: "x", hash: "h" }, seed: 3, options: {},
    }))
    const h = sim.register("h", (v) => sim.trace.emit(k, subj, v))
    sim.at(1, 0, h, 2.5)
    sim.run()
    sim.trace.close()
    expect(closed).toBe(true)
    expect(text.split("\n")).toEqual([
      '{"type":"header","qvsim":"0.0.0","scenario":{"name":"x","hash":"h"},"seed":3,"options":{}}',
      '{"t":1,"kind":"k","subject":"s","v":2.5}',
      "",
    ])
  })

  it("refuses reserved field names and a kind redeclared differently", () => {
    const sim = new Simulation(1)
    expect(() => sim.trace.kind("x", ["t"])).toThrow(/reserved/)
    sim.trace.kind("y", ["a"])
    expect(() => sim.trace.kind("y", ["b"])).toThrow(/declared twice/)
  })
})
