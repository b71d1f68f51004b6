/**
 * The run fingerprint: the batched hot path (`Trace.emit`/`emitN` → `PrintBatch`) equals the
 * general path over record objects (`fingerprintRecords`), per run and per scope, whatever the
 * record lengths, the order in which scopes appear and the flush points; any single changed field
 * changes it (shown to catch a digest that skips a field); both equal a BigInt transcription of
 * the digest's definition (`Fingerprint`'s module comment); its value is pinned (the same on every
 * machine).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { arithmetic, Fingerprint, hashString64, kindStart, P1, P2, P3, P4, P5, RecordDigest } from "../src/Fingerprint.ts"
import { headKind, headLength, headSubject, MAX_KINDS, MAX_SUBJECTS, PrintBatch, recordHead } from "../src/PrintBatch.ts"
import { RecordPrint } from "../src/RecordPrint.ts"
import { Trace, fingerprintRecords, MemorySink, type TraceRecord } from "../src/Trace.ts"

/** Any number a record may carry (no NaN: JSON cannot carry it; -0 is written as 0). */
const anyNumber = fc.oneof(fc.nat(), fc.integer(), fc.maxSafeInteger(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constantFrom(0, -0, 2 ** 31, 2 ** 32, -1))

interface Row { kind: number; subject: number; dt: number; values: number[]; tag: number }
const rowArb = fc.record({ kind: fc.nat(4), subject: fc.nat(3), dt: fc.constantFrom(0, 1, 1000, 2 ** 33), values: fc.array(anyNumber, { minLength: 5, maxLength: 5 }), tag: fc.nat(4) })

/** How `emitAll` emits: `emit` or `emitN`, subjects declared up front or each on its first record. */
interface EmitOptions { readonly sink?: MemorySink; readonly peekEvery?: number; readonly byArity?: boolean; readonly lateSubjects?: boolean }

const SUBJECTS: ReadonlyArray<readonly [string, number]> = [["s0", 0], ["s1", 1], ["g", -1], ["s0b", 0]]

/**
 * Emits `rows` through a Trace (kinds a: 3 numbers, b: 1 number and a symbol, c: none, d: 5
 * numbers, e: 1 number).
 */
const emitAll = (rows: readonly Row[], options: EmitOptions = {}): Trace => {
  const clock = { now: 0 }
  const trace = new Trace(clock)
  const kinds = [trace.kind("a", ["x", "y", "z"]), trace.kind("b", ["x", "$tag"]), trace.kind("c"), trace.kind("d", ["p", "q", "r", "s", "u"]), trace.kind("e", ["x"])]
  const subjects = options.lateSubjects === true ? [] : SUBJECTS.map(([name, scope]) => trace.subject(name, scope))
  if (options.sink) trace.attach(options.sink)
  const peekEvery = options.peekEvery ?? 0
  for (const [i, r] of rows.entries()) {
    if (peekEvery > 0 && i % peekEvery === 0) trace.fingerprint()
    clock.now += r.dt
    const [x, y, z, u, v] = r.values as [number, number, number, number, number]
    const s = subjects[r.subject] ?? (subjects[r.subject] = trace.subject(...SUBJECTS[r.subject]!))
    if (options.byArity === true) {
      if (r.kind === 0) trace.emit3(kinds[0]!, s, x, y, z)
      else if (r.kind === 1) trace.emit2(kinds[1]!, s, x, trace.symbol(`tag-${r.tag}`))
      else if (r.kind === 2) trace.emit0(kinds[2]!, s)
      else if (r.kind === 3) trace.emit5(kinds[3]!, s, x, y, z, u, v)
      else trace.emit1(kinds[4]!, s, x)
    } else {
      if (r.kind === 0) trace.emit(kinds[0]!, s, x, y, z)
      else if (r.kind === 1) trace.emit(kinds[1]!, s, x, trace.symbol(`tag-${r.tag}`))
      else if (r.kind === 2) trace.emit(kinds[2]!, s)
      else if (r.kind === 3) trace.emit(kinds[3]!, s, x, y, z, u, v)
      else trace.emit(kinds[4]!, s, x)
    }
  }
  return trace
}

/** Every scope's fingerprint, by the hot path and by `fingerprintRecords` over its records. */
const scopePrints = (trace: Trace, records: readonly TraceRecord[]): Array<[string, string]> =>
  [-1, 0, 1].map((scope) => {
    const names = SUBJECTS.filter(([, sc]) => sc === scope).map(([name]) => name)
    return [trace.scopeFingerprint(scope), fingerprintRecords(records.filter((r) => names.includes(r.subject)))]
  })

/**
 * The property "any single changed field of any record changes the fingerprint", for a digest
 * `print`; returns fast-check's verdict (so a broken digest can be shown to fail it).
 */
const singleChangeVerdict = (print: (records: readonly TraceRecord[]) => string) =>
  fc.check(
    fc.property(fc.array(rowArb, { minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(), anyNumber, fc.string(), (rows, which, field, number, text) => {
      const sink = new MemorySink()
      emitAll(rows, { sink })
      const records = sink.records
      const i = which % records.length
      const keys = Object.keys(records[i]!)
      const key = keys[field % keys.length]!
      const old = records[i]![key]!
      let value: number | string
      if (key === "t") value = Math.abs(Math.trunc(number)) % 2 ** 40
      else if (typeof old === "string") value = text
      else value = number
      // a change that JSON would not see is no change
      fc.pre(JSON.stringify(value) !== JSON.stringify(old))
      const changed = records.map((r, j) => (j === i ? { ...r, [key]: value } : r))
      return print(changed) !== print(records)
    }),
  )

/** The digest as `Fingerprint`'s module comment defines it, in BigInt arithmetic (an independent transcription). */
const referencePrint = (records: readonly TraceRecord[]): string => {
  const M = (1n << 64n) - 1n
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M
  const round = (acc: bigint, v: bigint): bigint => (rotl((acc + v * P2) & M, 31n) * P1) & M
  const word = (pair: readonly [number, number]): bigint => (BigInt(pair[1] >>> 0) << 32n) | BigInt(pair[0] >>> 0)
  const numberWord = (x: number): bigint => {
    if (Number.isNaN(x)) return 0x7ff8_0000_0000_0000n
    const view = new DataView(new ArrayBuffer(8))
    view.setFloat64(0, x + 0, true)
    return view.getBigUint64(0, true)
  }
  let acc = P5
  for (const r of records) {
    let x = round(P1, word(hashString64(r.kind)))
    let y = round(P2, word(hashString64(r.subject)))
    const values = [r.t, ...Object.keys(r).filter((k) => k !== "t" && k !== "kind" && k !== "subject").map((k) => r[k]!)]
    values.forEach((v, i) => {
      const w = typeof v === "string" ? word(hashString64(v)) : numberWord(v)
      if (i % 2 === 0) x = round(x, w)
      else y = round(y, w)
    })
    const d = x ^ ((y * P3) & M)
    acc = (rotl(acc ^ d, 27n) * P1 + P4) & M
  }
  let h = (acc + BigInt(records.length) * P5) & M
  h ^= h >> 33n
  h = (h * P2) & M
  h ^= h >> 29n
  h = (h * P3) & M
  h ^= h >> 32n
  return h.toString(16).padStart(16, "0")
}

describe("Fingerprint", () => {
  it("the 64-bit arithmetic on 32-bit halves equals BigInt arithmetic (property)", () => {
    const word = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(arithmetic.mul(a, b)).toBe((a * b) & ((1n << 64n) - 1n))
        const x = (a + b * P2) & ((1n << 64n) - 1n)
        expect(arithmetic.round(a, b)).toBe((((x << 31n) | (x >> 33n)) * P1) & ((1n << 64n) - 1n))
      }),
      { numRuns: 2000 },
    )
  })

  it("the general path and the hot path equal the definition transcribed in BigInt (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 200 }), (rows) => {
        const sink = new MemorySink()
        const trace = emitAll(rows, { sink, byArity: true })
        const expected = referencePrint(sink.records)
        expect(fingerprintRecords(sink.records)).toBe(expected)
        expect(trace.fingerprint()).toBe(expected)
      }),
    )
  })

  it("the hot path equals the definition for kinds of every field count (0-8), symbols in any field, and any number: NaN payloads, -0, ±Infinity (property)", () => {
    // PrintWasm hashes numeric records by one straight run of code per field count, symbol records
    // by a loop, and steps from record to record by the lengths emit writes: each is checked here.
    const otherNan = new Float64Array(new Uint32Array([7, 0xfff4_0000]).buffer)[0]!
    const anyValue = fc.oneof(anyNumber, fc.double(), fc.constantFrom(Number.NaN, otherNan, -0, Infinity, -Infinity))
    const kindArb = fc.record({ fields: fc.nat(8), symbols: fc.oneof(fc.constant(0), fc.nat(255)) })
    const recordArb = fc.record({ kind: fc.nat(), subject: fc.nat(2), dt: fc.constantFrom(0, 3, 2 ** 33), values: fc.array(anyValue, { minLength: 8, maxLength: 8 }), tag: fc.nat(5), general: fc.boolean() })
    fc.assert(
      fc.property(fc.array(kindArb, { minLength: 1, maxLength: 6 }), fc.array(recordArb, { maxLength: 700 }), (kindSpecs, rows) => {
        const clock = { now: 0 }
        const trace = new Trace(clock)
        const kinds = kindSpecs.map((k, i) => trace.kind(`k${i}`, Array.from({ length: k.fields }, (_, f) => ((k.symbols >> f) & 1) === 1 ? `$f${f}` : `f${f}`)))
        const subjects = ["a", "b", "c"].map((name, i) => trace.subject(name, i))
        const expected: TraceRecord[] = []
        for (const r of rows) {
          clock.now += r.dt
          const kind = kinds[r.kind % kinds.length]!
          const texts = r.values.map((_, f) => `tag-${(r.tag + f) % 7}`)
          const v = r.values.map((x, f) => (kind.isSymbol[f] ? trace.symbol(texts[f]!) : x))
          const subject = subjects[r.subject]!
          const n = kind.arity
          if (r.general) trace.emit(kind, subject, ...v.slice(0, n))
          else if (n === 0) trace.emit0(kind, subject)
          else if (n === 1) trace.emit1(kind, subject, v[0]!)
          else if (n === 2) trace.emit2(kind, subject, v[0]!, v[1]!)
          else if (n === 3) trace.emit3(kind, subject, v[0]!, v[1]!, v[2]!)
          else if (n === 4) trace.emit4(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!)
          else if (n === 5) trace.emit5(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!)
          else if (n === 6) trace.emit6(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!)
          else if (n === 7) trace.emit7(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!)
          else trace.emit8(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!, v[5]!, v[6]!, v[7]!)
          const rec: Record<string, number | string> = { t: clock.now, kind: kind.name, subject: subject.name }
          kind.fields.forEach((f, i) => { rec[f] = kind.isSymbol[i] ? texts[i]! : r.values[i]! })
          expected.push(rec as TraceRecord)
        }
        expect(trace.fingerprint()).toBe(referencePrint(expected))
        for (const [i, subject] of subjects.entries()) expect(trace.scopeFingerprint(i)).toBe(referencePrint(expected.filter((r) => r.subject === subject.name)))
      }),
      { numRuns: 60 },
    )
  })

  it("the hot path keeps its tables right as they grow past the memory's first page (3,000 subjects in 300 scopes, 2,000 symbols, 60 kinds), and detaches no buffer", () => {
    const clock = { now: 0 }
    const trace = new Trace(clock)
    const sink = new MemorySink()
    trace.attach(sink)
    const first = trace["batch"].buf
    for (let i = 0; i < 30_000; i++) {
      clock.now += i % 7
      const kind = trace.kind(`k${i % 60}`, i % 60 < 30 ? ["x", "$s"] : ["x", "y", "z"])
      const subject = trace.subject(`s${(i * 7) % 3000}`, ((i * 7) % 3000) % 300)
      if (i % 60 < 30) trace.emit2(kind, subject, i, trace.symbol(`y${i % 2000}`))
      else trace.emit3(kind, subject, i, -i, i / 3)
    }
    expect(trace.fingerprint()).toBe(fingerprintRecords(sink.records))
    for (const scope of [0, 17, 299]) {
      const mine = sink.records.filter((r) => Number(r.subject.slice(1)) % 300 === scope)
      expect(trace.scopeFingerprint(scope)).toBe(fingerprintRecords(mine))
    }
    // A larger memory replaced the first, which was not grown: growing detaches a buffer (a
    // detached view reads length 0), and with it V8's detaching protector (see `moveMemory`).
    expect(trace["batch"].buf).not.toBe(first)
    expect(first.length).toBe(trace["batch"].buf.length)
  })

  it("the hot path reads kind and subject ids of any width from a record's head (ids past 2^16 and 2^20 hash as small ones)", () => {
    // A record's head packs length (bits 0-3), kind id (4-23) and subject id (24-50); the flush
    // masks and shifts them out. Wide ids here would meet any mask or shift that is off.
    const names = [["k0", 2], ["k1", 3]] as const
    const wideKinds = [5, MAX_KINDS - 3], wideSubjects = [3, 1_100_003]
    const wide = new PrintBatch(), narrow = new RecordPrint()
    const narrowKinds = names.map(([name, n], i) => {
      wide.addKind(wideKinds[i]!, kindStart(hashString64(name)), n, [false, false, false])
      return narrow.kind(name, Array.from({ length: n }, () => false))
    })
    const narrowSubjects = ["s0", "s1"].map((name, i) => {
      const [lo, hi] = hashString64(name)
      wide.addSubject(wideSubjects[i]!, lo, hi, 0)
      return narrow.subject(name)
    })
    for (let r = 0; r < 5000; r++) {
      const k = r % 2, s = (r >> 1) % 2, n = names[k]![1], t = r * 1000
      const values = [r, -r, r / 7]
      let p = wide.pos
      if (p >= wide.limit) p = wide.flush()
      wide.buf[p] = recordHead(wideKinds[k]!, n, wideSubjects[s]!)
      wide.buf[p + 1] = t
      for (let i = 0; i < n; i++) wide.buf[p + 2 + i] = values[i]!
      wide.pos = p + 2 + n
      narrow.add(narrowKinds[k]!, narrowSubjects[s]!, t, values, n)
    }
    expect(wide.records()).toBe(5000)
    expect(wide.runHex()).toBe(narrow.hex())
    // the codec at its limits
    for (const [kind, fields, subject] of [[0, 0, 0], [MAX_KINDS - 1, 8, MAX_SUBJECTS - 1], [1, 3, MAX_SUBJECTS - 2], [MAX_KINDS - 2, 0, 1]] as const) {
      const head = recordHead(kind, fields, subject)
      expect([headLength(head), headKind(head), headSubject(head)]).toEqual([2 + fields, kind, subject])
    }
  })

  it("the batched hot path equals fingerprintRecords, per run and per scope, across flushes and through JSON (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 3000 }), fc.boolean(), fc.boolean(), (rows, byArity, lateSubjects) => {
        const sink = new MemorySink()
        const trace = emitAll(rows, { sink, byArity, lateSubjects })
        expect(trace.count).toBe(rows.length)
        expect(trace.fingerprint()).toBe(fingerprintRecords(sink.records))
        const back = sink.records.map((r) => JSON.parse(JSON.stringify(r)) as TraceRecord)
        expect(fingerprintRecords(back)).toBe(trace.fingerprint())
        for (const [hot, general] of scopePrints(trace, sink.records)) expect(hot).toBe(general)
      }),
      { numRuns: 40 },
    )
  })

  it("emitN and emit leave the same records and prints; scopes that appear one by one keep their own prints (property)", () => {
    fc.assert(
      fc.property(fc.array(rowArb, { maxLength: 1500 }), fc.nat(40), (rows, peekEvery) => {
        const a = new MemorySink()
        const b = new MemorySink()
        const general = emitAll(rows, { sink: a, peekEvery })
        const byArity = emitAll(rows, { sink: b, byArity: true, lateSubjects: true, peekEvery })
        expect(b.records).toEqual(a.records)
        expect(byArity.fingerprint()).toBe(general.fingerprint())
        expect(scopePrints(byArity, b.records)).toEqual(scopePrints(general, a.records))
        for (const [hot, records] of scopePrints(byArity, b.records)) expect(hot).toBe(records)
      }),
      { numRuns: 30 },
    )
  })

  it("one scope, then a second: the first scope's print stays its own records' (not the run's)", () => {
    const sink = new MemorySink()
    const trace = new Trace({ now: 1 })
    const k = trace.kind("k", ["v"])
    const s0 = trace.subject("s0", 0)
    trace.emit1(k, s0, 1)
    expect(trace.scopeFingerprint(0)).toBe(trace.fingerprint())
    trace.attach(sink)
    const s1 = trace.subject("s1", 1)
    trace.emit1(k, s1, 2)
    trace.emit1(k, s0, 3)
    expect(trace.scopeFingerprint(0)).toBe(fingerprintRecords([{ t: 1, kind: "k", subject: "s0", v: 1 }, { t: 1, kind: "k", subject: "s0", v: 3 }]))
    expect(trace.scopeFingerprint(1)).toBe(fingerprintRecords([{ t: 1, kind: "k", subject: "s1", v: 2 }]))
    expect(trace.scopeFingerprint(0)).not.toBe(trace.fingerprint())
  })

  it("emitN refuses a kind of another field count before writing anything", () => {
    const trace = new Trace({ now: 0 })
    const k = trace.kind("k", ["a", "b"])
    const s = trace.subject("s")
    trace.emit2(k, s, 1, 2)
    const before = trace.fingerprint()
    expect(() => trace.emit3(k, s, 1, 2, 3)).toThrow(/record kind "k" has 2 fields, not 3/)
    expect(() => trace.emit1(k, s, 1)).toThrow(TypeError)
    expect(trace.count).toBe(1)
    expect(trace.fingerprint()).toBe(before)
  })

  it("reading the fingerprint mid-run does not change it (batches flush at any point)", () => {
    const rows: Row[] = Array.from({ length: 5000 }, (_, i) => ({ kind: i % 3, subject: i % 4, dt: i % 7, values: [i, -i, i / 3], tag: i % 5 }))
    const whole = emitAll(rows)
    for (const every of [1, 7, 1000]) {
      const peeked = emitAll(rows, { peekEvery: every })
      expect(peeked.fingerprint()).toBe(whole.fingerprint())
      expect(peeked.scopeFingerprint(0)).toBe(whole.scopeFingerprint(0))
    }
    expect(emitAll(rows.slice(0, -1)).fingerprint()).not.toBe(whole.fingerprint())
  })

  it("any single changed field of any record changes the fingerprint (property)", () => {
    const verdict = singleChangeVerdict(fingerprintRecords)
    expect(verdict.failed, fc.defaultReportMessage(verdict)).toBe(false)
  })

  it("any single changed field changes the fingerprint the hot path computes (emitN → PrintBatch.flush) (property)", () => {
    // each record emitted again through a Trace: kinds and subjects declared on first sight
    const hotPath = (records: readonly TraceRecord[]): string => {
      const clock = { now: 0 }
      const trace = new Trace(clock)
      const declared = new Map<string, string>()
      for (const r of records) {
        const fields = Object.keys(r).filter((k) => k !== "t" && k !== "kind" && k !== "subject")
        // A trace declares a kind name with one field list: a change that renames a record's kind
        // to another kind's name (with other fields) makes records no trace can emit.
        const signature = fields.join(",")
        fc.pre((declared.get(r.kind) ?? signature) === signature)
        declared.set(r.kind, signature)
        const kind = trace.kind(r.kind, fields.map((f) => (typeof r[f] === "string" ? `$${f}` : f)))
        const subject = trace.subject(r.subject, r.subject === "g" ? -1 : r.subject.startsWith("s1") ? 1 : 0)
        const v = fields.map((f) => { const x = r[f]!; return typeof x === "string" ? trace.symbol(x) : x })
        clock.now = r.t
        if (v.length === 0) trace.emit0(kind, subject)
        else if (v.length === 1) trace.emit1(kind, subject, v[0]!)
        else if (v.length === 2) trace.emit2(kind, subject, v[0]!, v[1]!)
        else if (v.length === 3) trace.emit3(kind, subject, v[0]!, v[1]!, v[2]!)
        else trace.emit5(kind, subject, v[0]!, v[1]!, v[2]!, v[3]!, v[4]!)
      }
      return trace.fingerprint()
    }
    const verdict = singleChangeVerdict(hotPath)
    expect(verdict.failed, fc.defaultReportMessage(verdict)).toBe(false)
  })

  it("the property catches a digest that skips a field (broken variant)", () => {
    // skips each record's last field
    const skipsLast = (records: readonly TraceRecord[]): string =>
      fingerprintRecords(records.map((r) => Object.fromEntries(Object.entries(r).slice(0, -1)) as unknown as TraceRecord))
    expect(singleChangeVerdict(skipsLast).failed).toBe(true)
  })

  it("the hot path hashes -0 as 0 and every NaN as one NaN", () => {
    const print = (v: number): string => {
      const trace = new Trace({ now: 5 })
      trace.emit(trace.kind("k", ["v"]), trace.subject("s"), v)
      return trace.fingerprint()
    }
    expect(print(-0)).toBe(print(0))
    const otherNan = new Float64Array(new Uint32Array([1, 0xfff80000]).buffer)[0]!
    expect(otherNan).toBeNaN()
    expect(print(otherNan)).toBe(print(Number.NaN))
    expect(print(Number.NaN)).not.toBe(print(0))
  })

  it("is pinned: the same digest on every machine (the values are integer arithmetic on IEEE-754 bits)", () => {
    const rows: Row[] = Array.from({ length: 10 }, (_, i) => ({ kind: i % 3, subject: i % 4, dt: 1_000_000_007 * i, values: [i, -i, i / 3], tag: i }))
    const trace = emitAll(rows)
    expect(trace.fingerprint()).toBe("5d235b8afecbb842")
    expect(trace.scopeFingerprint(0)).toBe("d6b300ae29927b82")
    expect(hashString64("sched.dispatch")).toEqual([582717878, -1796835593])
    expect(new Fingerprint().hex()).toBe("ef46db3751d8e999")
    const d = new RecordDigest()
    d.start([1, 2], [3, 4])
    d.number(2 ** 40 + 0.5)
    d.number(-1)
    expect([d.xl, d.xh, d.yl, d.yh]).toEqual([-1788395424, 712685526, -2037410546, 79189511])
  })
})
