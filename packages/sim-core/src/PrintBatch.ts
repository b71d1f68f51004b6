/**
 * The run's fingerprints, computed in batches: `Trace.emit` only copies a record into `buf`
 * (kind id, subject id, time, field values); `flush` hashes the pending records in one tight
 * loop (on a full buffer, and before any fingerprint is read).
 *
 * Each record's digest is computed as in `Fingerprint` (start from the kind name, absorb the
 * subject name, the time, each field; numbers by their IEEE-754 bits, symbols by their text's
 * 64-bit hash) and folded into the run's print and its scope's print.
 *
 * Invariants: the prints equal what `fingerprintRecords` computes from the record objects; the
 * result does not depend on when batches are flushed; nothing is allocated per record.
 *
 * While one scope has subjects, its print is the run's (same start, same records): `flush` folds
 * into the run's print only, and `addScope` copies it when a second scope appears.
 *
 * NOTE: built for speed (the fingerprint is always on): `Fingerprint`'s step is inlined here, and the
 * rare values (NaN, -0; Infinity shares their exponent) share one branch. One record at a time: a
 * loop that interleaved two records by hand (session 4) was about 9 % slower on this machine's
 * flush (`PrintBatch` fed the harness's 751 k records: 19.5 → 17.8 ns per record); the loop is
 * bound by its instruction count (typed-array loads and checks), not by the steps' latency.
 *
 * @module
 */
import { Fingerprint, LITTLE, NAN_HI, PRINT_A, PRINT_B } from "./Fingerprint.ts"

/** The high word of -0. */
const NEG_ZERO_HI = 0x8000_0000 | 0

/** Records of at most this many doubles (kind, subject, time, 8 fields). */
export const RECORD_SLOTS = 11
/** Pending doubles before a flush (32 KiB: stays in the L1 cache). */
const CAPACITY = 4096

export class PrintBatch {
  /** Pending records: `[kindId, subjectId, t, v0 … v(n-1)]` each, from 0 to `pos`. */
  readonly buf = new Float64Array(CAPACITY + RECORD_SLOTS)
  private readonly words = new Int32Array(this.buf.buffer)
  /** Next free slot in `buf`. */
  pos = 0
  /** `emit` flushes when `pos` passes this. */
  readonly limit = CAPACITY
  /** Takes the pending records at each flush before they are hashed (the trace's batch sinks). */
  onFlush: ((buf: Float64Array, end: number) => void) | null = null

  // Per kind: start lanes, field count, symbol flags (bit i: field i is a symbol).
  private kindA = new Int32Array(16)
  private kindB = new Int32Array(16)
  private kindN = new Uint8Array(16)
  private kindSymbols = new Uint8Array(16)
  // Per subject: name hash words and scope slot.
  private subjectLo = new Int32Array(16)
  private subjectHi = new Int32Array(16)
  private subjectScope = new Int32Array(16)
  // Per symbol: text hash words.
  private symbolLo = new Int32Array(16)
  private symbolHi = new Int32Array(16)
  // Prints: slot 0 is the run; slot s + 1 is scope slot s. Lanes at [2 s], [2 s + 1].
  private lanes = new Int32Array([PRINT_A, PRINT_B])
  private counts = new Float64Array(1)

  /** Declares kind `id`: its digest's start lanes, field count and which fields are symbols. */
  addKind(id: number, start: readonly [number, number], fields: number, isSymbol: readonly boolean[]): void {
    if (id >= this.kindA.length) {
      this.kindA = grow(this.kindA, id)
      this.kindB = grow(this.kindB, id)
      this.kindN = grow(this.kindN, id)
      this.kindSymbols = grow(this.kindSymbols, id)
    }
    this.kindA[id] = start[0]
    this.kindB[id] = start[1]
    this.kindN[id] = fields
    let mask = 0
    isSymbol.forEach((s, i) => { if (s) mask |= 1 << i })
    this.kindSymbols[id] = mask
  }

  /** Declares a new scope print; returns its slot. */
  addScope(): number {
    this.flush()
    const slot = this.counts.length - 1
    // The one scope's print was the run's so far (see `flush`): it is kept apart from now on.
    if (slot === 1) {
      this.lanes[2] = this.lanes[0]!
      this.lanes[3] = this.lanes[1]!
      this.counts[1] = this.counts[0]!
    }
    const lanes = new Int32Array(this.lanes.length + 2)
    lanes.set(this.lanes)
    lanes[lanes.length - 2] = PRINT_A
    lanes[lanes.length - 1] = PRINT_B
    this.lanes = lanes
    const counts = new Float64Array(this.counts.length + 1)
    counts.set(this.counts)
    this.counts = counts
    return slot
  }

  /** Declares subject `id`: its name's hash and its scope slot. */
  addSubject(id: number, hashLo: number, hashHi: number, scopeSlot: number): void {
    if (id >= this.subjectLo.length) {
      this.subjectLo = grow(this.subjectLo, id)
      this.subjectHi = grow(this.subjectHi, id)
      this.subjectScope = grow(this.subjectScope, id)
    }
    this.subjectLo[id] = hashLo
    this.subjectHi[id] = hashHi
    this.subjectScope[id] = scopeSlot
  }

  /** Declares symbol `id`: its text's hash. */
  addSymbol(id: number, lo: number, hi: number): void {
    if (id >= this.symbolLo.length) {
      this.symbolLo = grow(this.symbolLo, id)
      this.symbolHi = grow(this.symbolHi, id)
    }
    this.symbolLo[id] = lo
    this.symbolHi[id] = hi
  }

  /** The run's fingerprint so far (flushes first). */
  runHex(): string {
    this.flush()
    return Fingerprint.hexOf(this.lanes[0]!, this.lanes[1]!, this.counts[0]!)
  }

  /** The fingerprint of scope slot `slot` so far (flushes first). */
  scopeHex(slot: number): string {
    this.flush()
    // While there is one scope, its print is the run's (see `flush`).
    const at = this.counts.length > 2 ? slot + 1 : 0
    return Fingerprint.hexOf(this.lanes[2 * at]!, this.lanes[2 * at + 1]!, this.counts[at]!)
  }

  /** Hashes the pending records into the prints; returns the new `pos` (0). */
  flush(): number {
    const end = this.pos
    this.pos = 0
    if (end === 0) return 0
    if (this.onFlush !== null) this.onFlush(this.buf, end)
    const buf = this.buf
    const w = this.words
    const lanes = this.lanes
    const counts = this.counts
    const kindA = this.kindA, kindB = this.kindB, kindN = this.kindN, kindSymbols = this.kindSymbols
    const subjectLo = this.subjectLo, subjectHi = this.subjectHi, subjectScope = this.subjectScope
    const symbolLo = this.symbolLo, symbolHi = this.symbolHi
    // While there is one scope, its print is the run's (see `scopeHex`): no second fold.
    const scoped = counts.length > 2
    const swap = !LITTLE
    let runA = lanes[0]!
    let runB = lanes[1]!
    let records = 0
    let p = 0
    while (p < end) {
      const k = buf[p]! | 0
      const s = buf[p + 1]! | 0
      const next = p + 3 + kindN[k]!
      // the kind's start lanes combined with the subject name's hash (bijective in each word)
      let a = (kindA[k]! + subjectLo[s]!) | 0
      let b = kindB[k]! ^ subjectHi[s]!
      // Then the time and each field (Fingerprint's step, inlined); q: the word index of the next
      // value, m: bit 0 set when that value is a symbol (the time never is).
      const last = 2 * next
      let m = kindSymbols[k]! << 1
      for (let q = 2 * p + 4; q < last; q += 2) {
        let lo: number, hi: number
        if ((m & 1) !== 0) {
          // a symbol: its text's 64-bit hash
          const id = buf[q >> 1]! | 0
          lo = symbolLo[id]!
          hi = symbolHi[id]!
        } else {
          // a number: its IEEE-754 words
          lo = w[q]!
          hi = w[q + 1]!
          if (swap) { const t = lo; lo = hi; hi = t }
          // Exponent all ones (Infinity or NaN) or the high word of -0: rare, one branch for both.
          if ((hi & 0x7ff0_0000) === 0x7ff0_0000 || hi === NEG_ZERO_HI) {
            // a NaN's bits vary by machine: the canonical one
            if (buf[q >> 1] !== buf[q >> 1]) { lo = 0; hi = NAN_HI }
            // -0 is 0 (JSON writes both as 0)
            else if (hi === NEG_ZERO_HI && lo === 0) hi = 0
          }
        }
        const na = (Math.imul(((a << 13) | (a >>> 19)) ^ lo, 0xcc9e2d51) + b) | 0
        b = (((b << 17) | (b >>> 15)) + hi) ^ na
        a = na
        m >>>= 1
      }
      // absorb the digest (a, b) into the run's print and its scope's
      const ra = (Math.imul(((runA << 13) | (runA >>> 19)) ^ a, 0xcc9e2d51) + runB) | 0
      runB = (((runB << 17) | (runB >>> 15)) + b) ^ ra
      runA = ra
      if (scoped) {
        const slot = subjectScope[s]! + 1
        const sa = lanes[2 * slot]!, sb = lanes[2 * slot + 1]!
        const na = (Math.imul(((sa << 13) | (sa >>> 19)) ^ a, 0xcc9e2d51) + sb) | 0
        lanes[2 * slot] = na
        lanes[2 * slot + 1] = (((sb << 17) | (sb >>> 15)) + b) ^ na
        counts[slot] = counts[slot]! + 1
      }
      records++
      p = next
    }
    lanes[0] = runA
    lanes[1] = runB
    counts[0] = counts[0]! + records
    return 0
  }
}

/** A copy of `a` with room for index `id` (at least doubled). */
const grow = <A extends Int32Array | Uint8Array | Float64Array>(a: A, id: number): A => {
  const grown = new (a.constructor as new (n: number) => A)(Math.max(2 * a.length, id + 1))
  grown.set(a)
  return grown
}
