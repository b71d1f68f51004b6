/**
 * The binary trace format: what a `QvtSink` writes, a `QvtReader` reads back exactly (records,
 * definitions, the end chunk), across blocks; a truncated, corrupted or wrong-version file is
 * refused with a `QvtError` naming a byte offset inside the file, never yields other records.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { headKind, headSubject } from "../src/PrintBatch.ts"
import { MAGIC, QvtError, QvtReader, QvtSink, VERSION } from "../src/Qvt.ts"
import { canonicalJson, MemorySink, Trace, type TraceHeader, type TraceRecord, type TraceSink } from "../src/Trace.ts"

const header: TraceHeader = { type: "header", qvsim: "0.0.0", scenario: { name: "x", hash: "0123456789abcdef" }, seed: 3, options: {} }

/** Bytes in memory. */
const memoryWriter = () => {
  const parts: Uint8Array[] = []
  return {
    write: (b: Uint8Array) => { parts.push(b.slice()) },
    close: () => {},
    bytes: (): Uint8Array => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
      let at = 0
      for (const p of parts) { out.set(p, at); at += p.length }
      return out
    },
  }
}

const reader = (bytes: Uint8Array): QvtReader =>
  new QvtReader((position, length) => bytes.subarray(position, Math.min(bytes.length, position + length)), bytes.length)

const anyValue = fc.oneof(fc.integer(), fc.nat(), fc.maxSafeInteger(), fc.double({ noNaN: true }), fc.constantFrom(
  0, -0, 2 ** 31, -(2 ** 31), 2 ** 32, 0.5,
  // edges of the encoder's integer test (QvtEncode.integerIn): int32 bounds, the binade [2^52, 2^53) of x + 1.5·2^52
  2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 51, -(2 ** 51), 2 ** 52, -(2 ** 52), 1.5 * 2 ** 52, -(1.5 * 2 ** 52), 2 ** 53, -(2 ** 53),
  Infinity, -Infinity, Number.MIN_VALUE, -0.5, 2 ** 31 - 0.5,
))
const rowArb = fc.record({
  kind: fc.nat(3), subject: fc.nat(4),
  dt: fc.oneof(fc.constantFrom(0, 1, 1000), fc.nat(), fc.constantFrom(2 ** 32, 2 ** 40, 0.25, 2 ** 32 - 1, 2 ** 32 - 0.5, 2 ** 52, 1.5 * 2 ** 52)),
  values: fc.array(anyValue, { minLength: 8, maxLength: 8 }), tag: fc.nat(5),
})
type Row = typeof rowArb extends fc.Arbitrary<infer R> ? R : never

/** Emits `rows` (kinds declared out of use order; one with a symbol, one with 8 fields, one with none). */
const emit = (rows: readonly Row[]) => {
  const clock = { now: 0 }
  const trace = new Trace(clock)
  const kinds = [trace.kind("none"), trace.kind("eight", ["a", "b", "c", "d", "e", "f", "g", "h"]), trace.kind("sym", ["x", "$tag"]), trace.kind("two", ["p", "q"])]
  const subjects = [trace.subject("s0", 0), trace.subject("s1", 1), trace.subject("global"), trace.subject("s0/dev", 0), trace.subject("s7", 7)]
  const mem = new MemorySink()
  const out = memoryWriter()
  trace.attach(mem)
  trace.attach(new QvtSink(out, header))
  for (const r of rows) {
    clock.now += r.dt
    const v = r.values
    const kind = kinds[r.kind]!
    if (kind.name === "sym") trace.emit(kind, subjects[r.subject]!, v[0], trace.symbol(`tag ${r.tag} é`))
    else trace.emit(kind, subjects[r.subject]!, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
  }
  trace.close()
  return { records: mem.records, bytes: out.bytes(), fingerprint: trace.fingerprint() }
}

const decode = (bytes: Uint8Array): { header: unknown; records: TraceRecord[]; end: QvtReader["end"] } => {
  const r = reader(bytes)
  return { header: r.header, records: [...r.objects()], end: r.end }
}

/** Throws a QvtError at an offset within the file, or decodes to exactly `records`. */
const refusedOrSame = (bytes: Uint8Array, records: readonly TraceRecord[]): void => {
  try {
    const got = decode(bytes).records
    expect(got.map(canonicalJson)).toEqual(records.map(canonicalJson))
  } catch (e) {
    if (!(e instanceof QvtError)) throw e
    expect(e.offset).toBeGreaterThanOrEqual(0)
    expect(e.offset).toBeLessThanOrEqual(bytes.length)
  }
}

/**
 * Emits `rows` to a `QvtSink` attached after row `from` and detached after row `to` (closed at the
 * end), reading the fingerprint every `peekEvery` rows; `perRecord`: the sink is hidden behind a
 * plain record sink (no `onBatch`), so it takes each record through `onRecord`.
 */
const emitWindow = (rows: readonly Row[], from: number, to: number, peekEvery: number, perRecord: boolean): Uint8Array => {
  const clock = { now: 0 }
  const trace = new Trace(clock)
  const kinds = [trace.kind("none"), trace.kind("eight", ["a", "b", "c", "d", "e", "f", "g", "h"]), trace.kind("sym", ["x", "$tag"]), trace.kind("two", ["p", "q"])]
  const subjects = [trace.subject("s0", 0), trace.subject("s1", 1), trace.subject("global"), trace.subject("s0/dev", 0), trace.subject("s7", 7)]
  const out = memoryWriter()
  const qvt = new QvtSink(out, header)
  const sink: TraceSink = perRecord ? { onRecord: (...args) => qvt.onRecord(...args), attached: (t) => qvt.attached(t), close: () => qvt.close() } : qvt
  for (const [i, r] of rows.entries()) {
    if (i === from) trace.attach(sink)
    if (i === to) trace.detach(sink)
    if (peekEvery > 0 && i % peekEvery === 0) trace.fingerprint()
    clock.now += r.dt
    const v = r.values
    const kind = kinds[r.kind]!
    if (kind.name === "sym") trace.emit2(kind, subjects[r.subject]!, v[0]!, trace.symbol(`tag ${r.tag} é`))
    else trace.emit(kind, subjects[r.subject]!, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
  }
  if (from >= rows.length) trace.attach(sink)
  trace.close()
  sink.close?.()
  return out.bytes()
}

describe("Qvt", () => {
  it("the sink writes the same bytes from the trace's batches as record by record, attached or detached mid-run (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 300 }), fc.nat(300), fc.nat(300), fc.nat(50), (rows, a, b, peekEvery) => {
        const from = Math.min(a, b), to = Math.max(a, b)
        const batched = emitWindow(rows, from, to, peekEvery, false)
        expect(batched).toEqual(emitWindow(rows, from, to, peekEvery, true))
        expect(decode(batched).end!.records).toBe(Math.max(0, Math.min(to, rows.length) - from))
      }),
      { numRuns: 60 },
    )
  })

  it("reads back exactly the records written, with the header and the end chunk (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 200 }), (rows) => {
        const { records, bytes, fingerprint } = emit(rows)
        const got = decode(bytes)
        expect(got.header).toEqual(header)
        expect(got.records.map(canonicalJson)).toEqual(records.map(canonicalJson))
        expect(got.end).toEqual({ records: rows.length, runRecords: rows.length, fingerprint })
      }),
      { numRuns: 60 },
    )
  })

  it("spans many blocks (30,000 records of 8 fields) and is at most half the size of JSONL", () => {
    const rows: Row[] = Array.from({ length: 30_000 }, (_, i) => ({ kind: 1 + (i % 3), subject: i % 5, dt: (i * 7919) % 100_000, values: [i, i % 7, 3 * i, -i, 2 ** 33 + i, i / 4, 0, 1], tag: i % 3 }))
    const { records, bytes } = emit(rows)
    const got = decode(bytes).records
    expect(got.length).toBe(records.length)
    expect(got.map(canonicalJson)).toEqual(records.map(canonicalJson))
    const jsonl = records.reduce((n, r) => n + canonicalJson(r).length + 1, 0)
    expect(bytes.length).toBeLessThanOrEqual(jsonl / 2)
  })

  it("refuses a wrong version, a bad magic and a truncated header, naming the offset", () => {
    const { bytes } = emit([{ kind: 1, subject: 0, dt: 5, values: [1, 2, 3, 4, 5, 6, 7, 8], tag: 0 }])
    const version = bytes.slice()
    version[8] = VERSION + 1
    expect(() => decode(version)).toThrow(new QvtError(`format version ${VERSION + 1}; this qvsim reads version ${VERSION}`, 8))
    const magic = bytes.slice()
    magic[3] = 0x20
    expect(() => decode(magic)).toThrow(/bad magic/)
    expect(() => decode(bytes.slice(0, 12))).toThrow(/truncated/)
    expect(MAGIC.length).toBe(8)
  })

  it("a file cut anywhere is refused with an offset inside the file (property)", () => {
    const rows: Row[] = Array.from({ length: 300 }, (_, i) => ({ kind: i % 4, subject: i % 5, dt: i, values: [i, 1, 2, 3, 4, 5, 6, 7], tag: i % 2 }))
    const { bytes } = emit(rows)
    fc.assert(
      fc.property(fc.nat(bytes.length - 1), (cut) => {
        let error: unknown
        try { decode(bytes.slice(0, cut)) } catch (e) { error = e }
        expect(error).toBeInstanceOf(QvtError)
        expect((error as QvtError).offset).toBeLessThanOrEqual(cut)
      }),
    )
  })

  it("a cut inside the header's padding is refused at the file's end, not past it (seed campaign, master seed 20261208)", () => {
    const rows: Row[] = Array.from({ length: 3 }, (_, i) => ({ kind: 0, subject: 0, dt: i, values: [i, 1, 2, 3, 4, 5, 6, 7], tag: 0 }))
    const { bytes } = emit(rows)
    const headerEnd = 16 + new DataView(bytes.buffer).getUint32(12, true)
    for (let cut = headerEnd; cut < Math.ceil(headerEnd / 4) * 4 + 8; cut++) {
      let error: unknown
      try { decode(bytes.slice(0, cut)) } catch (e) { error = e }
      expect(error).toBeInstanceOf(QvtError)
      expect((error as QvtError).offset).toBeLessThanOrEqual(cut)
    }
  })

  it("a flipped byte is refused (or harmless), never yields other records (property)", () => {
    const rows: Row[] = Array.from({ length: 200 }, (_, i) => ({ kind: i % 4, subject: i % 5, dt: 1000 + i, values: [i, -i, 2 ** 35 + i, i / 8, 4, 5, 6, 7], tag: i % 3 }))
    const { records, bytes } = emit(rows)
    const headerEnd = 16 + new DataView(bytes.buffer).getUint32(12, true)
    fc.assert(
      fc.property(fc.integer({ min: headerEnd, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, mask) => {
        const bad = bytes.slice()
        bad[at]! ^= mask
        refusedOrSame(bad, records)
      }),
      { numRuns: 300 },
    )
  })

  it("wide kind and subject ids (2^16 - 1, past 2^16) reach the file as the records' own (the encoder reads them from each record's head)", () => {
    // the batch's head packs the kind id in bits 4-23 and the subject id in bits 24-50: wide ids
    // here would meet any mask or shift in QvtEncode that is off (the file holds 2^16 kinds at most)
    const clock = { now: 0 }
    const trace = new Trace(clock)
    const kinds = Array.from({ length: 65_536 }, (_, i) => trace.kind(`k${i}`, ["x"]))
    const subjects = Array.from({ length: 70_000 }, (_, i) => trace.subject(`s${i}`, i % 3))
    const mem = new MemorySink()
    const out = memoryWriter()
    trace.attach(mem)
    const sink = new QvtSink(out, header)
    trace.attach(sink)
    const first = sink["input"]
    for (let i = 0; i < 2000; i++) {
      clock.now += 7
      trace.emit1(kinds[i % 2 === 0 ? 3 : 65_535]!, subjects[(i >> 1) % 2 === 0 ? 2 : 69_999]!, i)
    }
    trace.close()
    expect(decode(out.bytes()).records.map(canonicalJson)).toEqual(mem.records.map(canonicalJson))
    expect(new Set(mem.records.map((r) => `${r.kind} ${r.subject}`))).toEqual(new Set(["k3 s2", "k65535 s2", "k3 s69999", "k65535 s69999"]))
    // The tables outgrew the first memory, which was replaced, not grown (a detached view reads length 0: see `moveMemory`).
    expect(sink["input"]).not.toBe(first)
    expect(first.length).toBe(sink["input"].length)
  })

  it("a batch larger than the encoder's input (an onBatch caller other than a trace) gives the bytes of record-by-record encoding", () => {
    const trace = new Trace({ now: 0 })
    const kinds = [trace.kind("two", ["p", "q"]), trace.kind("sym", ["x", "$tag"]), trace.kind("none")]
    const subjects = [trace.subject("a", 0), trace.subject("b", 1)]
    const symbols = [trace.symbol("u"), trace.symbol("v")]
    const packed: number[] = []
    for (let i = 0; i < 9000; i++) {
      const k = i % 3
      packed.push(kinds[k]!.head + subjects[i % 2]!.head, i * 1000 + (i % 7 === 0 ? 0.5 : 0))
      if (k === 0) packed.push(i, i % 5 === 0 ? 2 ** 40 : -i)
      else if (k === 1) packed.push(i / 3, symbols[i % 2]!)
    }
    const buf = Float64Array.from(packed)
    const batched = memoryWriter(), single = memoryWriter()
    const a = new QvtSink(batched, header), b = new QvtSink(single, header)
    a.onBatch(trace, buf, buf.length)
    const values = new Float64Array(8)
    for (let p = 0; p < buf.length;) {
      const kind = trace.kindOf(headKind(buf[p]!))
      for (let i = 0; i < kind.arity; i++) values[i] = buf[p + 2 + i]!
      b.onRecord(trace, kind, buf[p + 1]!, trace.subjectOf(headSubject(buf[p]!)), values)
      p += 2 + kind.arity
    }
    a.close()
    b.close()
    expect(buf.length).toBeGreaterThan(4 * 4096)
    expect(batched.bytes()).toEqual(single.bytes())
    expect(decode(batched.bytes()).records).toHaveLength(9000)
  })

  it("every edge of the encoder's integer test, in every field and as a time delta, gives the bytes of record-by-record encoding and reads back", () => {
    // QvtEncode.integerIn: an int32 (or u32 delta) is one word, anything else a double; each edge
    // below sits on one side of a bound (int32, u32, the binade of x + 1.5·2^52), or is not finite.
    const edges = [
      0, -0, 1, -1, 0.5, -0.5, Number.MIN_VALUE, 2 ** 31 - 1, 2 ** 31, 2 ** 31 - 0.5, -(2 ** 31), -(2 ** 31) - 1, 2 ** 32 - 1, 2 ** 32,
      2 ** 51, -(2 ** 51), 2 ** 52, -(2 ** 52), 1.5 * 2 ** 52, -(1.5 * 2 ** 52), 2 ** 53, -(2 ** 53), Infinity, -Infinity, NaN,
    ]
    const dts = [0, 1, 0.25, 2 ** 32 - 1, 2 ** 32 - 0.5, 2 ** 32, 2 ** 52, 1.5 * 2 ** 52, 2 ** 31]
    const trace = new Trace({ now: 0 })
    const eight = trace.kind("eight", ["a", "b", "c", "d", "e", "f", "g", "h"])
    const subject = trace.subject("s", 0)
    const packed: number[] = []
    let t = 0
    for (let i = 0; i < edges.length * 8; i++) {
      t += dts[i % dts.length]!
      packed.push(eight.head + subject.head, t)
      for (let f = 0; f < 8; f++) packed.push(edges[(i + f * 3) % edges.length]!)
    }
    const buf = Float64Array.from(packed)
    const batched = memoryWriter(), single = memoryWriter()
    const a = new QvtSink(batched, header), b = new QvtSink(single, header)
    a.onBatch(trace, buf, buf.length)
    for (let p = 0; p < buf.length; p += 10) b.onRecord(trace, eight, buf[p + 1]!, subject, buf.subarray(p + 2, p + 10))
    a.close()
    b.close()
    expect(batched.bytes()).toEqual(single.bytes())
    const got = decode(batched.bytes()).records
    expect(got).toHaveLength(edges.length * 8)
    for (const [r, rec] of got.entries()) {
      expect(rec.t).toBe(buf[r * 10 + 1])
      // -0 reads back as 0 (as JSON writes it); every other value, NaN included, as written
      for (const [f, name] of eight.fields.entries()) expect(Object.is(rec[name], buf[r * 10 + 2 + f]) || (rec[name] === 0 && buf[r * 10 + 2 + f] === 0)).toBe(true)
    }
  })

  it("refuses records after close(), by batch and one by one, and writes nothing more", () => {
    const clock = { now: 0 }
    const trace = new Trace(clock)
    const kind = trace.kind("two", ["p", "q"])
    const subject = trace.subject("s")
    const out = memoryWriter()
    const sink = new QvtSink(out, header)
    trace.attach(sink)
    trace.emit2(kind, subject, 1, 2)
    sink.close()
    const written = out.bytes().length
    expect(decode(out.bytes()).records).toHaveLength(1)
    // still attached: the next flush hands it a batch
    trace.emit2(kind, subject, 3, 4)
    expect(() => trace.fingerprint()).toThrow(/QvtSink: records after close\(\)/)
    const values = new Float64Array(8)
    expect(() => sink.onRecord(trace, kind, 5, subject, values)).toThrow(/QvtSink: records after close\(\)/)
    expect(out.bytes().length).toBe(written)
    // closing twice stays harmless
    sink.close()
    expect(out.bytes().length).toBe(written)
  })

  it("the flip property catches a file whose records nothing checks (broken variant)", () => {
    // The sink attaches after the run's first record, so the file cannot be checked against the
    // run's fingerprint: a value flipped in place then decodes to other records, and the property fails.
    const clock = { now: 0 }
    const trace = new Trace(clock)
    const kind = trace.kind("two", ["p", "q"])
    const subject = trace.subject("s")
    trace.emit(kind, subject, 1, 2)
    const out = memoryWriter()
    const mem = new MemorySink()
    trace.attach(mem)
    trace.attach(new QvtSink(out, header))
    for (let i = 0; i < 20; i++) { clock.now += 1000; trace.emit(kind, subject, 100 + i, 7) }
    trace.close()
    const bytes = out.bytes()
    // the int32 word 110 followed by 7: record 11's fields
    const at = bytes.findIndex((b, i) => i % 4 === 0 && b === 110 && bytes[i + 1] === 0 && bytes[i + 4] === 7)
    expect(at).toBeGreaterThan(0)
    const bad = bytes.slice()
    bad[at] = 111
    expect(decode(bytes).end!.runRecords).toBe(21)
    expect(() => refusedOrSame(bad, mem.records)).toThrow(/deeply equal/)
    // the same flip in a file that holds the whole run is refused
    const whole = emit(Array.from({ length: 20 }, (_, i) => ({ kind: 3, subject: 0, dt: 1000, values: [100 + i, 7, 0, 0, 0, 0, 0, 0], tag: 0 })))
    const at2 = whole.bytes.findIndex((b, i) => i % 4 === 0 && b === 110 && whole.bytes[i + 1] === 0 && whole.bytes[i + 4] === 7)
    const bad2 = whole.bytes.slice()
    bad2[at2] = 111
    expect(() => decode(bad2)).toThrow(/records hash to/)
  })
})
