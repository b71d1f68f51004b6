/**
 * The `.qvt` writer: a trace sink that encodes the records it receives into blocks of
 * little-endian words (format in `QvtFormat`, docs/trace-format.md).
 *
 * NOTE: the writer is on the run's hot path: attached to a trace, it takes the fingerprint batch's
 * packed records at each flush (`onBatch`: no call per record) and encodes them in one loop into
 * a reused word buffer (no per-record allocation), handing out 256 KiB blocks.
 *
 * @module
 */
import { Fingerprint, LITTLE } from "./Fingerprint.ts"
import { BLOCK_WORDS, encodeChunk, encodeHeader, fileBytes, T_ABS, TAG_END, TAG_KIND, TAG_RECORDS, TAG_SUBJECT, TAG_SYMBOL } from "./QvtFormat.ts"
import type { RecordKind, Subject, Trace, TraceHeader, TraceSink } from "./Trace.ts"
/** Where the bytes go (in order; `write` may keep no reference to `bytes`). */
export interface ByteWriter {
  write(bytes: Uint8Array): void
  close(): void
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
    if (this.closed) this.refuse()
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

const grown = (a: Uint8Array<ArrayBuffer>, id: number): Uint8Array<ArrayBuffer> => {
  const g = new Uint8Array(Math.max(2 * a.length, id + 1))
  g.set(a)
  return g
}
