/**
 * The `.qvt` reader: the header, then the records in order, every length, id and count checked
 * (a bad file throws a `QvtError` naming the byte offset; format in `QvtFormat`).
 *
 * @module
 */
import { LITTLE } from "./Fingerprint.ts"
import { checksum, decoder, MAGIC, MAX_CHUNK_BYTES, pad4, QvtError, T_ABS, TAG_END, TAG_KIND, TAG_RECORDS, TAG_SUBJECT, TAG_SYMBOL, VERSION } from "./QvtFormat.ts"
import { RecordPrint } from "./RecordPrint.ts"
import type { TraceRecord } from "./Trace.ts"
/** A kind as the file defines it. */
export interface KindDef {
  readonly id: number
  readonly name: string
  readonly fields: readonly string[]
  readonly isSymbol: readonly boolean[]
}

/** A subject as the file defines it. */
export interface SubjectDef {
  readonly id: number
  readonly name: string
  readonly scope: number
}

/** A definition with its id in the reader's `RecordPrint`. */
interface KindEntry extends KindDef { readonly print: number }
interface SubjectEntry extends SubjectDef { readonly print: number }

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
  private readonly kindEntries = new Map<number, KindEntry>()
  private readonly subjectEntries = new Map<number, SubjectEntry>()
  readonly kinds: ReadonlyMap<number, KindDef> = this.kindEntries
  readonly subjects: ReadonlyMap<number, SubjectDef> = this.subjectEntries
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
    // The fingerprint of the records read (by the hot path, in batches), checked against the end chunk's.
    const print = new RecordPrint()
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
          const kind = this.kindEntries.get(head & 0xffff)
          if (kind === undefined) throw new QvtError(`record of undefined kind ${head & 0xffff}`, where)
          const subject = this.subjectEntries.get(body.word())
          if (subject === undefined) throw new QvtError(`record of an undefined subject`, where + 4)
          const flags = head >>> 16
          if ((flags & T_ABS) !== 0) t = body.double(scratch, scratchWords)
          else if (r === 0) throw new QvtError(`the first record of a block has a relative time`, where)
          else t += body.word()
          for (let i = 0; i < kind.fields.length; i++) {
            values[i] = (flags & (1 << i)) !== 0 ? body.double(scratch, scratchWords) : body.int()
            if (kind.isSymbol[i] && this.symbols[values[i]!] === undefined) throw new QvtError(`undefined symbol ${values[i]}`, body.offset - 4)
          }
          print.add(kind.print, subject.print, t, values, kind.fields.length)
          rec.kind = kind
          rec.subject = subject
          rec.t = t
          count++
          yield rec
        }
        if (body.offset !== at + 8 + length) throw new QvtError(`record block length does not match its ${n} records`, body.offset)
      } else if (tag === TAG_KIND) {
        const id = body.word(), fields = body.word(), mask = body.word()
        if (id > 0xffff || this.kindEntries.has(id) || fields > 8) throw new QvtError(`bad kind definition (id ${id}, ${fields} fields)`, at + 8)
        const name = body.string()
        const names = Array.from({ length: fields }, () => body.string())
        const isSymbol = names.map((_, i) => (mask & (1 << i)) !== 0)
        this.kindEntries.set(id, { id, name, fields: names, isSymbol, print: print.kind(name, isSymbol) })
      } else if (tag === TAG_SUBJECT) {
        const id = body.word(), scope = body.int()
        if (this.subjectEntries.has(id)) throw new QvtError(`subject ${id} defined twice`, at + 8)
        const name = body.string()
        this.subjectEntries.set(id, { id, scope, name, print: print.subject(name) })
      } else if (tag === TAG_SYMBOL) {
        const id = body.word()
        if (id !== this.symbols.length) throw new QvtError(`bad symbol definition (id ${id})`, at + 8)
        const text = body.string()
        this.symbols.push(text)
        print.symbol(text)
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
