/**
 * The binary trace format `.qvt` (see docs/trace-format.md): a versioned header, then chunks of
 * little-endian 32-bit words: definitions (kinds, subjects, symbols) before the records that use
 * them, blocks of records, and an end chunk with the record count and the run's fingerprint.
 *
 * A record is `[kind | flags << 16, subject, time, values…]`: the time is a 32-bit delta from the
 * previous record of the block (absolute, as a double, for the first record of a block or when
 * the delta does not fit: flag bit 15); a value is one signed 32-bit word when it is an int32
 * (-0 is written as 0, as JSON writes it), else a double in two words (flag bit i).
 *
 * Invariants: decoding yields exactly the records written (as `Trace.toRecord` builds them); a
 * block decodes on its own; every length, id and count read is checked, and the records' own
 * fingerprint against the run's in the end chunk when the file holds the whole run (a bad file
 * throws a `QvtError` naming the byte offset, never reads out of bounds or loops).
 *
 * NOTE: the writer is on the run's hot path: attached to a trace, it takes the fingerprint batch's
 * packed records at each flush (`onBatch`: no call per record) and encodes them in one loop into
 * a reused word buffer (no per-record allocation), handing out 256 KiB blocks.
 *
 * @module
 */
import { Fingerprint, hashString64, kindStart, LITTLE, RecordDigest } from "./Fingerprint.ts"
import { fmix32 } from "./Rng.ts"
import type { RecordKind, Subject, Trace, TraceHeader, TraceRecord, TraceSink } from "./Trace.ts"

/** The file's first 8 bytes (PNG-style: a text-mode transfer or truncation shows). */
export const MAGIC = Uint8Array.of(0x89, 0x51, 0x56, 0x54, 0x0d, 0x0a, 0x1a, 0x0a)
/** The format version written after the magic (readers refuse any other). */
export const VERSION = 1

export const TAG_KIND = 1
export const TAG_SUBJECT = 2
export const TAG_SYMBOL = 3
export const TAG_RECORDS = 4
export const TAG_END = 5

/** Flag bit of an absolute (double) time. */
const T_ABS = 1 << 15
/** Words in a record block before it is written (256 KiB). */
const BLOCK_WORDS = 1 << 16
/** The largest chunk a reader accepts (a bigger length is corruption). */
export const MAX_CHUNK_BYTES = 1 << 20

/** Where the bytes go (in order; `write` may keep no reference to `bytes`). */
export interface ByteWriter {
  write(bytes: Uint8Array): void
  close(): void
}

/** A malformed `.qvt` file: `offset` is the byte where the problem was found. */
export class QvtError extends Error {
  override readonly name = "QvtError"
  readonly offset: number
  constructor(message: string, offset: number) {
    super(message)
    this.offset = offset
  }
}

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** Bytes of a word array in file order (little-endian). */
const fileBytes = (words: Uint32Array, count: number): Uint8Array => {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, count * 4)
  if (LITTLE) return bytes
  const copy = new Uint8Array(bytes)
  for (let i = 0; i < copy.length; i += 4) copy.set([bytes[i + 3]!, bytes[i + 2]!, bytes[i + 1]!, bytes[i]!], i)
  return copy
}

/** The header: magic, version, JSON length, JSON (padded to 4 bytes). */
export const encodeHeader = (header: TraceHeader): Uint8Array => {
  const json = encoder.encode(JSON.stringify(header))
  const out = new Uint8Array(16 + pad4(json.length))
  out.set(MAGIC, 0)
  const view = new DataView(out.buffer)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, json.length, true)
  out.set(json, 16)
  return out
}

const pad4 = (n: number): number => (n + 3) & ~3

/** The checksum of a definition or end chunk's bytes: FNV-1a, then murmur's finaliser. */
export const checksum = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return fmix32(h ^ bytes.length)
}

/**
 * A definition or end chunk: words, then strings (each a byte length and UTF-8 bytes padded to
 * 4), then the checksum of all that.
 */
const encodeChunk = (tag: number, words: readonly number[], strings: readonly string[]): Uint8Array => {
  const encoded = strings.map((s) => encoder.encode(s))
  const payload = 4 * words.length + encoded.reduce((sum, e) => sum + 4 + pad4(e.length), 0) + 4
  const out = new Uint8Array(8 + payload)
  const view = new DataView(out.buffer)
  view.setUint32(0, tag, true)
  view.setUint32(4, payload, true)
  let at = 8
  for (const w of words) { view.setUint32(at, w >>> 0, true); at += 4 }
  for (const e of encoded) {
    view.setUint32(at, e.length, true)
    out.set(e, at + 4)
    at += 4 + pad4(e.length)
  }
  view.setUint32(at, checksum(out.subarray(8, at)), true)
  return out
}

/** Writes every record it receives to a `.qvt` byte stream. */
export class QvtSink implements TraceSink {
  private readonly out: ByteWriter
  private readonly words = new Uint32Array(BLOCK_WORDS + 32)
  private readonly ints = new Int32Array(this.words.buffer)
  /** Per kind id: 0 until defined in the file, then its field count + 1. */
  private kindSlots = new Uint8Array(64)
  /** Per kind id: bit i set when field i is a symbol. */
  private kindSymbolMask = new Uint8Array(64)
  /** The words of the trace's batch buffer (see `onBatch`). */
  private src: Int32Array | null = null
  private readonly scratch = new Float64Array(1)
  private readonly scratchWords = new Uint32Array(this.scratch.buffer)
  /** Next free word of the block (words 0–2: tag, length, count). */
  private at = 3
  private inBlock = 0
  private lastT = 0
  private subjectDone = new Uint8Array(64)
  private symbolsDone = 0
  private written = 0
  private trace: Trace | null = null
  private closed = false

  constructor(out: ByteWriter, header: TraceHeader) {
    this.out = out
    out.write(encodeHeader(header))
  }

  attached(trace: Trace): void {
    this.trace = trace
  }

  /** Encodes a batch of packed records (see `TraceSink.onBatch`). */
  onBatch(trace: Trace, buf: Float64Array, end: number): void {
    this.trace = trace
    // NOTE: the batch's words through one view, made once (the trace reuses its buffer)
    if (this.src === null || this.src.buffer !== buf.buffer) this.src = new Int32Array(buf.buffer)
    const src = this.src
    const base = buf.byteOffset >> 2
    const swap = LITTLE ? 0 : 1
    const w = this.words
    const ints = this.ints
    // NOTE: the block's state in locals, written back around the (rare) calls that use it
    let at = this.at
    let inBlock = this.inBlock
    let lastT = this.lastT
    // a symbol field needs a definition first when its id is not yet in the file
    let symbolsDone = this.symbolsDone
    let p = 0
    while (p < end) {
      const kid = buf[p]! | 0
      const sid = buf[p + 1]! | 0
      let prepare = kid >= this.kindSlots.length || this.kindSlots[kid] === 0 || sid >= this.subjectDone.length || this.subjectDone[sid] === 0 || at > BLOCK_WORDS
      for (let m = this.kindSymbolMask[kid]!, i = p + 3; m !== 0 && !prepare; m >>>= 1, i++) if ((m & 1) !== 0 && buf[i]! >= symbolsDone) prepare = true
      if (prepare) {
        this.at = at
        this.inBlock = inBlock
        this.prepare(trace, buf, p)
        at = this.at
        inBlock = this.inBlock
        symbolsDone = this.symbolsDone
      }
      const n = this.kindSlots[kid]! - 1
      const head = at
      let q = head + 2
      let flags = 0
      const t = buf[p + 2]!
      const dt = t - lastT
      if (inBlock > 0 && (dt >>> 0) === dt) {
        w[q++] = dt
      } else {
        flags = T_ABS
        w[q] = src[base + 2 * p + 4 + swap]!
        w[q + 1] = src[base + 2 * p + 5 - swap]!
        q += 2
      }
      lastT = t
      for (let i = 0; i < n; i++) {
        const v = buf[p + 3 + i]!
        if ((v | 0) === v) ints[q++] = v
        else {
          flags |= 1 << i
          const word = base + 2 * (p + 3 + i)
          w[q] = src[word + swap]!
          w[q + 1] = src[word + 1 - swap]!
          q += 2
        }
      }
      w[head] = kid | (flags << 16)
      w[head + 1] = sid
      at = q
      inBlock++
      this.written++
      p += 3 + n
    }
    this.at = at
    this.inBlock = inBlock
    this.lastT = lastT
  }

  /** Before the record at `p` of a batch: defines its kind, subject and symbols, starts a new block if full. */
  private prepare(trace: Trace, buf: Float64Array, p: number): void {
    const kid = buf[p]! | 0
    const sid = buf[p + 1]! | 0
    if (kid >= this.kindSlots.length || this.kindSlots[kid] === 0) this.defineKind(trace.kindOf(kid))
    if (sid >= this.subjectDone.length || this.subjectDone[sid] === 0) this.defineSubject(trace.subjectOf(sid))
    const n = this.kindSlots[kid]! - 1
    const symbols = this.kindSymbolMask[kid]!
    for (let i = 0; i < n; i++) if ((symbols & (1 << i)) !== 0 && buf[p + 3 + i]! >= this.symbolsDone) this.defineSymbols(trace, buf[p + 3 + i]!)
    if (this.at > BLOCK_WORDS) this.flushBlock()
  }

  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void {
    this.trace = trace
    const n = kind.fields.length
    if (kind.id >= this.kindSlots.length || this.kindSlots[kind.id] === 0) this.defineKind(kind)
    if (subject.id >= this.subjectDone.length || this.subjectDone[subject.id] === 0) this.defineSubject(subject)
    if (kind.isSymbol.length > 0) {
      for (let i = 0; i < n; i++) if (kind.isSymbol[i] && values[i]! >= this.symbolsDone) this.defineSymbols(trace, values[i]!)
    }
    if (this.at > BLOCK_WORDS) this.flushBlock()
    const w = this.words
    const head = this.at
    let p = head + 2
    let flags = 0
    const dt = t - this.lastT
    if (this.inBlock > 0 && dt >= 0 && dt <= 0xffff_ffff && Math.floor(dt) === dt) {
      w[p++] = dt
    } else {
      flags = T_ABS
      p = this.double(p, t)
    }
    this.lastT = t
    for (let i = 0; i < n; i++) {
      const v = values[i]!
      if ((v | 0) === v) this.ints[p++] = v
      else {
        flags |= 1 << i
        p = this.double(p, v)
      }
    }
    w[head] = kind.id | (flags << 16)
    w[head + 1] = subject.id
    this.at = p
    this.inBlock++
    this.written++
  }

  /** Writes `x` as two words (low, high) at `p`; returns the next word. */
  private double(p: number, x: number): number {
    this.scratch[0] = x
    this.words[p] = this.scratchWords[LITTLE ? 0 : 1]!
    this.words[p + 1] = this.scratchWords[LITTLE ? 1 : 0]!
    return p + 2
  }

  private flushBlock(): void {
    if (this.inBlock === 0) return
    this.words[0] = TAG_RECORDS
    this.words[1] = (this.at - 2) * 4
    this.words[2] = this.inBlock
    this.out.write(fileBytes(this.words, this.at))
    this.at = 3
    this.inBlock = 0
  }

  private defineKind(kind: RecordKind): void {
    if (kind.id > 0xffff) throw new RangeError(`QvtSink: more than 65536 record kinds`)
    this.flushBlock()
    if (kind.id >= this.kindSlots.length) {
      this.kindSlots = grown(this.kindSlots, kind.id)
      this.kindSymbolMask = grown(this.kindSymbolMask, kind.id)
    }
    let mask = 0
    kind.isSymbol.forEach((s, i) => { if (s) mask |= 1 << i })
    this.kindSlots[kind.id] = kind.arity + 1
    this.kindSymbolMask[kind.id] = mask
    this.out.write(encodeChunk(TAG_KIND, [kind.id, kind.fields.length, mask], [kind.name, ...kind.fields]))
  }

  private defineSubject(subject: Subject): void {
    this.flushBlock()
    if (subject.id >= this.subjectDone.length) this.subjectDone = grown(this.subjectDone, subject.id)
    this.subjectDone[subject.id] = 1
    this.out.write(encodeChunk(TAG_SUBJECT, [subject.id, subject.scope | 0], [subject.name]))
  }

  /** Defines every symbol up to `id` (ids are dense, in interning order). */
  private defineSymbols(trace: Trace, id: number): void {
    this.flushBlock()
    for (; this.symbolsDone <= id; this.symbolsDone++) {
      this.out.write(encodeChunk(TAG_SYMBOL, [this.symbolsDone], [trace.symbolText(this.symbolsDone)]))
    }
  }

  close(): void {
    if (this.closed) return
    // the records still pending in the trace's batch come here first (while attached)
    this.trace?.fingerprint()
    this.closed = true
    this.flushBlock()
    const total = this.trace?.count ?? 0
    const print = this.trace?.fingerprint() ?? new Fingerprint().hex()
    this.out.write(encodeChunk(TAG_END, [this.written % 2 ** 32, Math.floor(this.written / 2 ** 32), total % 2 ** 32, Math.floor(total / 2 ** 32)], [print]))
    this.out.close()
  }
}

const grown = (a: Uint8Array<ArrayBuffer>, id: number): Uint8Array<ArrayBuffer> => {
  const g = new Uint8Array(Math.max(2 * a.length, id + 1))
  g.set(a)
  return g
}

/** A kind as the file defines it. */
export interface KindDef {
  readonly id: number
  readonly name: string
  readonly fields: readonly string[]
  readonly isSymbol: readonly boolean[]
  /** Its records' digest start (see `Fingerprint.kindStart`). */
  readonly start: readonly [number, number]
}

/** A subject as the file defines it. */
export interface SubjectDef {
  readonly id: number
  readonly name: string
  readonly scope: number
  readonly hash: readonly [number, number]
}

/** Reads `length` bytes at `position` (fewer at the end of the file). */
export type ReadAt = (position: number, length: number) => Uint8Array

/** What the end chunk says. */
export interface QvtEnd {
  /** Records in the file. */
  readonly records: number
  /** Records the run emitted, and its fingerprint (equal to the file's when the sink saw them all). */
  readonly runRecords: number
  readonly fingerprint: string
}

/** A decoded record: reused between records (copy what you keep). */
export interface RawRecord {
  kind: KindDef
  subject: SubjectDef
  t: number
  readonly values: Float64Array
}

/** Reads a `.qvt` file: its header, then its records in order. */
export class QvtReader {
  private readonly read: ReadAt
  private readonly size: number
  /** Where the chunks start. */
  private readonly first: number
  readonly header: unknown
  /** Definitions by id (ids are the run's: sparse, in first-use order). */
  readonly kinds = new Map<number, KindDef>()
  readonly subjects = new Map<number, SubjectDef>()
  readonly symbols: string[] = []
  /** Set once the end chunk is read. */
  end: QvtEnd | null = null

  constructor(read: ReadAt, size: number) {
    this.read = read
    this.size = size
    const head = read(0, 16)
    if (head.length < 16) throw new QvtError(`truncated: ${head.length} bytes, a .qvt file starts with 16 header bytes`, head.length)
    for (let i = 0; i < 8; i++) if (head[i] !== MAGIC[i]) throw new QvtError(`not a .qvt trace (bad magic bytes)`, i)
    const view = new DataView(head.buffer, head.byteOffset, 16)
    const version = view.getUint32(8, true)
    if (version !== VERSION) throw new QvtError(`format version ${version}; this qvsim reads version ${VERSION}`, 8)
    const length = view.getUint32(12, true)
    if (length > MAX_CHUNK_BYTES || 16 + length > size) throw new QvtError(`header length ${length} runs past the end of the file (${size} bytes)`, 12)
    const json = read(16, length)
    if (json.length < length) throw new QvtError(`truncated header`, 16 + json.length)
    try {
      this.header = JSON.parse(decoder.decode(json))
    } catch {
      throw new QvtError(`the header is not UTF-8 JSON`, 16)
    }
    this.first = 16 + pad4(length)
  }

  /** Every record in order (one reused object); checks the end chunk's count. */
  *records(): Generator<RawRecord> {
    const values = new Float64Array(8)
    const scratch = new Float64Array(1)
    const scratchWords = new Uint32Array(scratch.buffer)
    const rec: RawRecord = { kind: undefined as unknown as KindDef, subject: undefined as unknown as SubjectDef, t: 0, values }
    let at = this.first
    let count = 0
    // The fingerprint of the records read, checked against the end chunk's.
    const print = new Fingerprint()
    const digest = new RecordDigest()
    const symbolHashes: Array<readonly [number, number]> = []
    while (this.end === null) {
      // A cut inside the header's padding leaves `at` past the end: the missing bytes start at the end.
      if (at + 8 > this.size) throw new QvtError(`truncated: no end chunk (the file ends at ${this.size} bytes)`, Math.min(at, this.size))
      const h = this.read(at, 8)
      const hv = new DataView(h.buffer, h.byteOffset, 8)
      const tag = hv.getUint32(0, true)
      const length = hv.getUint32(4, true)
      if (length % 4 !== 0 || length > MAX_CHUNK_BYTES) throw new QvtError(`bad chunk length ${length}`, at + 4)
      if (at + 8 + length > this.size) throw new QvtError(`truncated: a chunk of ${length} bytes runs past the end of the file (${this.size} bytes)`, at)
      const bytes = this.read(at + 8, length)
      if (bytes.length < length) throw new QvtError(`truncated chunk`, at + 8 + bytes.length)
      if (tag !== TAG_RECORDS) {
        // definitions and the end carry a checksum (records are covered by the run's fingerprint)
        if (length < 4) throw new QvtError(`chunk too short for its checksum`, at + 4)
        const stored = new DataView(bytes.buffer, bytes.byteOffset + length - 4, 4).getUint32(0, true)
        if (stored !== checksum(bytes.subarray(0, length - 4))) throw new QvtError(`chunk checksum mismatch (a corrupt file)`, at)
      }
      const body = new Chunk(tag === TAG_RECORDS ? bytes : bytes.subarray(0, length - 4), at + 8)
      if (tag === TAG_RECORDS) {
        const n = body.word()
        let t = 0
        for (let r = 0; r < n; r++) {
          const where = body.offset
          const head = body.word()
          const kind = this.kinds.get(head & 0xffff)
          if (kind === undefined) throw new QvtError(`record of undefined kind ${head & 0xffff}`, where)
          const subject = this.subjects.get(body.word())
          if (subject === undefined) throw new QvtError(`record of an undefined subject`, where + 4)
          const flags = head >>> 16
          if ((flags & T_ABS) !== 0) t = body.double(scratch, scratchWords)
          else if (r === 0) throw new QvtError(`the first record of a block has a relative time`, where)
          else t += body.word()
          for (let i = 0; i < kind.fields.length; i++) {
            values[i] = (flags & (1 << i)) !== 0 ? body.double(scratch, scratchWords) : body.int()
            if (kind.isSymbol[i] && this.symbols[values[i]!] === undefined) throw new QvtError(`undefined symbol ${values[i]}`, body.offset - 4)
          }
          digest.start(kind.start, subject.hash)
          digest.number(t)
          for (let i = 0; i < kind.fields.length; i++) {
            if (kind.isSymbol[i]) digest.value(symbolHashes[values[i]!]![0], symbolHashes[values[i]!]![1])
            else digest.number(values[i]!)
          }
          print.add(digest)
          rec.kind = kind
          rec.subject = subject
          rec.t = t
          count++
          yield rec
        }
        if (body.offset !== at + 8 + length) throw new QvtError(`record block length does not match its ${n} records`, body.offset)
      } else if (tag === TAG_KIND) {
        const id = body.word(), fields = body.word(), mask = body.word()
        if (id > 0xffff || this.kinds.has(id) || fields > 8) throw new QvtError(`bad kind definition (id ${id}, ${fields} fields)`, at + 8)
        const name = body.string()
        const names = Array.from({ length: fields }, () => body.string())
        this.kinds.set(id, { id, name, fields: names, isSymbol: names.map((_, i) => (mask & (1 << i)) !== 0), start: kindStart(hashString64(name)) })
      } else if (tag === TAG_SUBJECT) {
        const id = body.word(), scope = body.int()
        if (this.subjects.has(id)) throw new QvtError(`subject ${id} defined twice`, at + 8)
        const name = body.string()
        this.subjects.set(id, { id, scope, name, hash: hashString64(name) })
      } else if (tag === TAG_SYMBOL) {
        const id = body.word()
        if (id !== this.symbols.length) throw new QvtError(`bad symbol definition (id ${id})`, at + 8)
        const text = body.string()
        this.symbols.push(text)
        symbolHashes.push(hashString64(text))
      } else if (tag === TAG_END) {
        const records = body.word() + body.word() * 2 ** 32
        const runRecords = body.word() + body.word() * 2 ** 32
        const fingerprint = body.string()
        if (records !== count) throw new QvtError(`the end chunk counts ${records} records, the file holds ${count}`, at + 8)
        if (at + 8 + length !== this.size) throw new QvtError(`data after the end chunk`, at + 8 + length)
        if (records === runRecords && print.hex() !== fingerprint) {
          throw new QvtError(`the records hash to ${print.hex()}, not to the run's fingerprint ${fingerprint} the file ends with (a corrupt file)`, at + 8)
        }
        this.end = { records, runRecords, fingerprint }
      } else {
        throw new QvtError(`unknown chunk tag ${tag}`, at)
      }
      at += 8 + length
    }
  }

  /** Every record as an object (`{t, kind, subject, ...fields}`, symbols as strings). */
  *objects(): Generator<TraceRecord> {
    for (const r of this.records()) {
      const rec: Record<string, number | string> = { t: r.t, kind: r.kind.name, subject: r.subject.name }
      for (let i = 0; i < r.kind.fields.length; i++) rec[r.kind.fields[i]!] = r.kind.isSymbol[i] ? this.symbols[r.values[i]!]! : r.values[i]!
      yield rec as TraceRecord
    }
  }
}

/** A chunk's payload, read word by word with bounds checks. */
class Chunk {
  private readonly view: DataView
  private readonly bytes: Uint8Array
  private readonly base: number
  private pos = 0
  constructor(bytes: Uint8Array, base: number) {
    this.bytes = bytes
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length)
    this.base = base
  }
  /** The file offset of the next word. */
  get offset(): number {
    return this.base + this.pos
  }
  private need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new QvtError(`chunk ends inside a value`, this.offset)
  }
  word(): number {
    this.need(4)
    const w = this.view.getUint32(this.pos, true)
    this.pos += 4
    return w
  }
  int(): number {
    this.need(4)
    const w = this.view.getInt32(this.pos, true)
    this.pos += 4
    return w
  }
  double(scratch: Float64Array, words: Uint32Array): number {
    const lo = this.word()
    const hi = this.word()
    words[LITTLE ? 0 : 1] = lo
    words[LITTLE ? 1 : 0] = hi
    return scratch[0]!
  }
  string(): string {
    const length = this.word()
    if (length > this.bytes.length - this.pos) throw new QvtError(`string of ${length} bytes runs past its chunk`, this.offset - 4)
    const at = this.pos
    this.pos += pad4(length)
    try {
      return decoder.decode(this.bytes.subarray(at, at + length))
    } catch {
      throw new QvtError(`a string is not UTF-8`, this.base + at)
    }
  }
}
