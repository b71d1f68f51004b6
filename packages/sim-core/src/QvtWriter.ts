/**
 * The `.qvt` writer: a trace sink that encodes the records it receives into blocks of
 * little-endian words (format in `QvtFormat`, docs/trace-format.md).
 *
 * NOTE: the writer is on the run's hot path: attached to a trace, it takes the fingerprint batch's
 * packed records at each flush (`onBatch`: no call per record), copies them into its WebAssembly
 * memory and encodes them there (`QvtEncode`), into a reused word buffer (no per-record
 * allocation), handing out 256 KiB blocks; a record that needs a definition first (or a new block)
 * is prepared here, then the loop goes on. Its per-kind and per-subject tables live in that memory.
 *
 * @module
 */
import { Fingerprint, LITTLE } from "./Fingerprint.ts"
import { headKind, headLength, headSubject } from "./PrintBatch.ts"
import { type Encode, encodeModule, IN, IN_DOUBLES, OUT, OUT_WORDS, STATE, TABLES } from "./QvtEncode.ts"
import { BLOCK_WORDS, encodeChunk, encodeHeader, fileBytes, T_ABS, TAG_END, TAG_KIND, TAG_RECORDS, TAG_SUBJECT, TAG_SYMBOL } from "./QvtFormat.ts"
import { type Memory, moveMemory, PAGE, WebAssembly } from "./Wasm.ts"
import type { RecordKind, Subject, Trace, TraceHeader, TraceSink } from "./Trace.ts"
/** Where the bytes go (in order; `write` may keep no reference to `bytes`). */
export interface ByteWriter {
  write(bytes: Uint8Array): void
  close(): void
}

/** Writes every record it receives to a `.qvt` byte stream. */
export class QvtSink implements TraceSink {
  private readonly out: ByteWriter
  private memory: Memory = new WebAssembly.Memory({ initial: Math.ceil((TABLES + 3 * 64) / PAGE) })
  private encode = new WebAssembly.Instance(encodeModule, { env: { memory: this.memory } }).exports.encode as Encode
  /** The first free byte of the memory (tables are placed there). */
  private top = TABLES
  /** Byte tables in the memory: per kind, 0 until defined in the file, then its field count + 1; per kind, bit i set when field i is a symbol; per subject, 1 once defined. */
  private readonly kinds = { offset: TABLES, length: 64 }
  private readonly masks = { offset: TABLES + 64, length: 64 }
  private readonly subjects = { offset: TABLES + 128, length: 64 }
  // Views of the memory (made anew when it is replaced or a table moves).
  private input!: Float64Array
  private words!: Uint32Array
  private ints!: Int32Array
  private state!: Int32Array
  private stateT!: Float64Array
  private kindSlots!: Uint8Array
  private kindSymbolMask!: Uint8Array
  private subjectDone!: Uint8Array
  private readonly scratch = new Float64Array(1)
  private readonly scratchWords = new Uint32Array(this.scratch.buffer)
  /** Next free word of the block (words 0–2: tag, length, count). */
  private at = 3
  private inBlock = 0
  private lastT = 0
  private symbolsDone = 0
  private written = 0
  private trace: Trace | null = null
  private closed = false

  constructor(out: ByteWriter, header: TraceHeader) {
    this.out = out
    this.top = TABLES + 3 * 64
    this.views()
    out.write(encodeHeader(header))
  }

  attached(trace: Trace): void {
    this.trace = trace
  }

  /** Encodes a batch of packed records (see `TraceSink.onBatch`). */
  onBatch(trace: Trace, buf: Float64Array, end: number): void {
    if (this.closed) this.refuse()
    this.trace = trace
    if (!LITTLE) {
      // WebAssembly reads little-endian doubles: here, record by record
      const values = new Float64Array(8)
      for (let p = 0; p < end;) {
        const kind = trace.kindOf(headKind(buf[p]!))
        for (let i = 0; i < kind.arity; i++) values[i] = buf[p + 2 + i]!
        this.onRecord(trace, kind, buf[p + 1]!, trace.subjectOf(headSubject(buf[p]!)), values)
        p += 2 + kind.arity
      }
      return
    }
    for (let from = 0; from < end;) {
      // whole records, at most IN_DOUBLES doubles at a time (a trace's batch fits at once)
      let to = end
      if (end - from > IN_DOUBLES) {
        to = from
        for (let next = from; next < end && next - from <= IN_DOUBLES; next += headLength(buf[next]!)) to = next
        if (to === from) to = from + headLength(buf[from]!)
      }
      this.input.set(buf.subarray(from, to))
      this.encodeSlice(trace, buf, from, to - from)
      from = to
    }
  }

  /** Encodes the `length` doubles copied from `buf` at `from`, preparing the records that need it. */
  private encodeSlice(trace: Trace, buf: Float64Array, from: number, length: number): void {
    this.state[0] = 0
    let lastStop = -1
    for (;;) {
      // (views read afresh: `prepare` may grow the memory)
      this.state[1] = this.at
      this.state[2] = this.inBlock
      this.state[3] = 0
      this.stateT[0] = this.lastT
      const stopped = this.encode(length, this.symbolsDone, this.kinds.offset, this.masks.offset, this.kinds.length, this.subjects.offset, this.subjects.length)
      this.at = this.state[1]!
      this.inBlock = this.state[2]!
      this.written += this.state[3]!
      this.lastT = this.stateT[0]!
      if (stopped === 0) return
      // A second stop before the same record, once prepared, is a broken encoder: an error, not a loop.
      if (this.state[0] === lastStop) throw new Error(`QvtSink: the encoder stopped twice before the record at ${from + lastStop} of a batch`)
      lastStop = this.state[0]!
      // before the record at p: its definitions, a new block (the memory may grow: views anew)
      this.prepare(trace, buf, from + this.state[0]!)
    }
  }

  /** Before the record at `p` of a batch: defines its kind, subject and symbols, starts a new block if full. */
  private prepare(trace: Trace, buf: Float64Array, p: number): void {
    const kid = headKind(buf[p]!)
    const sid = headSubject(buf[p]!)
    if (kid >= this.kindSlots.length || this.kindSlots[kid] === 0) this.defineKind(trace.kindOf(kid))
    if (sid >= this.subjectDone.length || this.subjectDone[sid] === 0) this.defineSubject(trace.subjectOf(sid))
    const n = this.kindSlots[kid]! - 1
    const symbols = this.kindSymbolMask[kid]!
    for (let i = 0; i < n; i++) if ((symbols & (1 << i)) !== 0 && buf[p + 2 + i]! >= this.symbolsDone) this.defineSymbols(trace, buf[p + 2 + i]!)
    if (this.at > BLOCK_WORDS) this.flushBlock()
  }

  /**
   * Encodes one record (the `TraceSink` contract). A trace hands this sink batches instead
   * (`onBatch`); this per-record path stays for callers that feed records one by one, and as the
   * independent encoding the batched one is checked against (Qvt.test: the same bytes).
   */
  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void {
    if (this.closed) this.refuse()
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
    if (kind.id >= this.kinds.length) {
      this.grow(this.kinds, kind.id)
      this.grow(this.masks, kind.id)
    }
    let mask = 0
    kind.isSymbol.forEach((s, i) => { if (s) mask |= 1 << i })
    this.kindSlots[kind.id] = kind.arity + 1
    this.kindSymbolMask[kind.id] = mask
    this.out.write(encodeChunk(TAG_KIND, [kind.id, kind.fields.length, mask], [kind.name, ...kind.fields]))
  }

  private defineSubject(subject: Subject): void {
    this.flushBlock()
    if (subject.id >= this.subjects.length) this.grow(this.subjects, subject.id)
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

  /** Moves byte table `t` to a larger place at the end of the memory, with room for index `id`. */
  private grow(t: { offset: number; length: number }, id: number): void {
    const length = Math.max(2 * t.length, id + 1)
    const offset = this.top
    this.top += (length + 15) & ~15
    // A larger memory, never `grow` (see `moveMemory`).
    if (this.top > this.memory.buffer.byteLength) {
      this.memory = moveMemory(this.memory, this.top)
      this.encode = new WebAssembly.Instance(encodeModule, { env: { memory: this.memory } }).exports.encode as Encode
    }
    const bytes = new Uint8Array(this.memory.buffer)
    bytes.copyWithin(offset, t.offset, t.offset + t.length)
    bytes.fill(0, offset + t.length, offset + length)
    t.offset = offset
    t.length = length
    this.views()
  }

  /** Makes the views of the memory (again, after it grew or a table moved). */
  private views(): void {
    const buffer = this.memory.buffer
    this.input = new Float64Array(buffer, IN, IN_DOUBLES)
    this.words = new Uint32Array(buffer, OUT, OUT_WORDS)
    this.ints = new Int32Array(buffer, OUT, OUT_WORDS)
    this.state = new Int32Array(buffer, STATE, 4)
    this.stateT = new Float64Array(buffer, STATE + 16, 1)
    this.kindSlots = new Uint8Array(buffer, this.kinds.offset, this.kinds.length)
    this.kindSymbolMask = new Uint8Array(buffer, this.masks.offset, this.masks.length)
    this.subjectDone = new Uint8Array(buffer, this.subjects.offset, this.subjects.length)
  }

  /** Records after `close` would go after the end chunk (or nowhere): a clear error instead. */
  private refuse(): never {
    throw new Error(`QvtSink: records after close() (detach the sink from its trace before closing it, or close the trace)`)
  }

  /** Writes the pending block and the end chunk, then closes the writer; later records throw. */
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
