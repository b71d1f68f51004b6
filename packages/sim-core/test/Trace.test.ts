import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Simulation } from "../src/Simulation.ts"
import { fingerprintRecords, JsonlSink, MemorySink, Trace, type RecordKind, type Subject, type TraceRecord, type TraceSink } from "../src/Trace.ts"

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

  it("an inline emitter (TraceEmit's protocol) leaves the same records, prints and sink calls as emitN (property)", () => {
    /** The documented inline protocol: `pending`, `Trace.head`, `deliverAt`. */
    const inline = (trace: Trace, now: number, kind: RecordKind, subject: Subject, values: readonly number[]): void => {
      const out = trace.pending
      let p = out.pos
      if (p >= out.limit) p = out.flush()
      const buf = out.buf
      buf[p] = Trace.head(kind, subject)
      buf[p + 1] = now
      for (let i = 0; i < values.length; i++) buf[p + 2 + i] = values[i]!
      out.pos = p + 2 + values.length
      if (trace.hasSinks) trace.deliverAt(p)
    }
    const byArity = (trace: Trace, kind: RecordKind, s: Subject, v: readonly number[]): void => {
      switch (v.length) {
        case 0: return trace.emit0(kind, s)
        case 1: return trace.emit1(kind, s, v[0]!)
        case 2: return trace.emit2(kind, s, v[0]!, v[1]!)
        case 3: return trace.emit3(kind, s, v[0]!, v[1]!, v[2]!)
        default: return trace.emit4(kind, s, v[0]!, v[1]!, v[2]!, v[3]!)
      }
    }
    const value = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 2 ** 40 + 0.5))
    const row = fc.record({ kind: fc.nat(4), subject: fc.nat(2), values: fc.array(value, { minLength: 4, maxLength: 4 }), inline: fc.boolean() })
    fc.assert(fc.property(fc.array(row, { minLength: 1, maxLength: 40 }), fc.nat(30), fc.boolean(), (rows, repeat, withSink) => {
      const runWith = (useInline: boolean) => {
        const sim = new Simulation(1)
        const kinds = [0, 1, 2, 3, 4].map((n) => sim.trace.kind(`k${n}`, Array.from({ length: n }, (_, i) => `f${i}`)))
        const subjects = [0, 1, 2].map((i) => sim.trace.subject(`s${i}`, i % 2))
        const mem = new MemorySink()
        const batches: number[] = []
        const batchSink: TraceSink = { onRecord: () => {}, onBatch: (_t, buf, end) => { for (let i = 0; i < end; i++) batches.push(buf[i]!) } }
        if (withSink) sim.trace.attach(mem)
        sim.trace.attach(batchSink)
        const h = sim.register("h", (i) => {
          const r = rows[i % rows.length]!
          const values = r.values.slice(0, r.kind)
          if (useInline && r.inline) inline(sim.trace, sim.now, kinds[r.kind]!, subjects[r.subject]!, values)
          else byArity(sim.trace, kinds[r.kind]!, subjects[r.subject]!, values)
        })
        // enough records, repeated, to fill the batch (4,096 doubles) several times
        const n = rows.length * (repeat * 10 + 1)
        for (let i = 0; i < n; i++) sim.at(i * 7, 0, h, i)
        sim.run()
        const print = sim.trace.fingerprint()
        return { print, scopes: [sim.trace.scopeFingerprint(0), sim.trace.scopeFingerprint(1)], count: sim.trace.count, records: mem.records, batches }
      }
      const a = runWith(false)
      const b = runWith(true)
      expect(b.print).toBe(a.print)
      expect(b.scopes).toEqual(a.scopes)
      expect(b.count).toBe(a.count)
      expect(b.records).toEqual(a.records)
      expect(b.batches).toEqual(a.batches)
    }), { numRuns: 60 })
  })

  it("hasSinks follows the record sinks attached and cannot be set from outside", () => {
    const sim = new Simulation(1)
    const sink = new MemorySink()
    expect(sim.trace.hasSinks).toBe(false)
    sim.trace.attach(sink)
    expect(sim.trace.hasSinks).toBe(true)
    expect(() => { (sim.trace as unknown as { hasSinks: boolean }).hasSinks = false }).toThrow(TypeError)
    expect(sim.trace.hasSinks).toBe(true)
    sim.trace.detach(sink)
    expect(sim.trace.hasSinks).toBe(false)
  })

  it("refuses reserved field names and a kind redeclared differently", () => {
    const sim = new Simulation(1)
    expect(() => sim.trace.kind("x", ["t"])).toThrow(/reserved/)
    sim.trace.kind("y", ["a"])
    expect(() => sim.trace.kind("y", ["b"])).toThrow(/declared twice/)
  })
})
