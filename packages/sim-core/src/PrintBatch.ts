/**
 * The run's fingerprints, computed in batches: `Trace.emit` only copies a record into `buf` (its
 * head, time, field values); `flush` hashes the pending records in one call (on a full buffer, and
 * before any fingerprint is read) of `PrintWasm`'s loop.
 *
 * A record's head (one double, an integer below 2^51) packs its length in doubles (2 + its field
 * count: bits 0–3), its kind id (bits 4–23) and its subject id (bits 24–50): `recordHead`,
 * `headLength`, `headKind`, `headSubject`. So there are at most `MAX_KINDS` kinds and
 * `MAX_SUBJECTS` subjects (`Trace` and `RecordPrint` refuse more).
 *
 * Each record's digest is `Fingerprint`'s (lanes from the kind and the subject, then the time and
 * each field; numbers by their IEEE-754 bits, symbols by their text's 64-bit hash), folded into
 * the run's print and its scope's print.
 *
 * Invariants: the prints equal what `fingerprintRecords` computes from the record objects; the
 * result does not depend on when batches are flushed; nothing is allocated per record.
 *
 * While one scope has subjects, its print is the run's (same start, same records): `flush` folds
 * into the run's print only, and `addScope` copies it when a second scope appears.
 *
 * NOTE: built for speed (the fingerprint is always on). `buf` and the tables the loop reads live
 * in the batch's own WebAssembly memory (laid out below); a table that fills is copied to a larger
 * place at the end (a larger memory replaces the batch's, and `buf` is a new view then: read it
 * afresh; never `grow`, which detaches a buffer and so costs every typed-array access in the
 * process a check: see `moveMemory`). One head per
 * record, not a kind id, a subject id and a length byte: two stores fewer per emit (and their
 * checks), one load fewer per record in the flush (measured: see `TraceEmit`).
 * Limit: V8 reserves 8 GiB of address space per WebAssembly memory, so a process holds at most
 * about 16,000 traces (Simulations) alive at once on x86-64 Linux (garbage ones are collected when
 * a new one needs room: 20,000 made one after another are fine); past that, creating one throws a
 * `RangeError` saying so.
 *
 * @module
 */
import { Fingerprint, halves, LITTLE, PRINT_SEED, subjectStart } from "./Fingerprint.ts"
import { type Flush, printModule, printModuleScoped } from "./PrintWasm.ts"
import { type Memory, moveMemory, WebAssembly } from "./Wasm.ts"

/** Records of at most this many doubles (head, time, 8 fields). */
export const RECORD_SLOTS = 10
/** Kind ids are below this (20 bits of the head). */
export const MAX_KINDS = 2 ** 20
/** Subject ids are below this (27 bits of the head: the flush's subject table offset, id · 16, is an i32). */
export const MAX_SUBJECTS = 2 ** 27
/** The head's unit for the kind id (after 4 bits of length) and for the subject id (after 20 bits of kind id). */
const HEAD_KIND = 16
const HEAD_SUBJECT = 2 ** 24

/** The kind's part of a record's head: its length (2 + `fields`) and kind id `kind`. */
export const kindHead = (kind: number, fields: number): number => 2 + fields + kind * HEAD_KIND
/** The subject's part of a record's head: subject id `subject`. */
export const subjectHead = (subject: number): number => subject * HEAD_SUBJECT
/** The head of a record of kind id `kind` (`fields` fields) and subject id `subject`. */
export const recordHead = (kind: number, fields: number, subject: number): number => kindHead(kind, fields) + subjectHead(subject)
/** A record's length in doubles (head, time, fields) from its head. */
export const headLength = (head: number): number => head % HEAD_KIND
/** A record's kind id from its head. */
export const headKind = (head: number): number => Math.floor(head / HEAD_KIND) % MAX_KINDS
/** A record's subject id from its head. */
export const headSubject = (head: number): number => Math.floor(head / HEAD_SUBJECT)
/** Pending doubles before a flush (32 KiB: stays in the L1 cache). */
const CAPACITY = 4096
/** The record buffer's doubles and bytes (the tables follow it). */
const BUF_DOUBLES = CAPACITY + RECORD_SLOTS
const BUF_BYTES = align(BUF_DOUBLES * 8)

/** A table in the memory: its byte offset, entries it has room for, and bytes per entry. */
interface Table { offset: number; capacity: number; readonly entry: number }

const [SEED_LO, SEED_HI] = halves(PRINT_SEED)

export class PrintBatch {
  private memory = newMemory()
  private hash = new WebAssembly.Instance(printModule, { env: { memory: this.memory } }).exports.flush as Flush
  private hashScoped: Flush | null = null
  /**
   * Pending records: `[head, t, v0 … v(n-1)]` each (see `recordHead`; the flush steps from record
   * to record by the head's length), from 0 to `pos` (a new view when the memory is replaced).
   */
  buf = new Float64Array(this.memory.buffer, 0, BUF_DOUBLES)
  private view = new DataView(this.memory.buffer)
  /** Next free slot in `buf`. */
  pos = 0
  /** `emit` flushes when `pos` passes this. */
  readonly limit = CAPACITY
  /** Takes the pending records at each flush before they are hashed (the trace's batch sinks). */
  onFlush: ((buf: Float64Array, end: number) => void) | null = null

  /** The first free byte after the tables. */
  private top = BUF_BYTES
  // See `PrintWasm` for each table's entries.
  private readonly kinds = this.table(16, 16)
  private readonly subjects = this.table(16, 16)
  private readonly symbols = this.table(8, 16)
  /** Slot 0 is the run's print; slot s + 1 is scope slot s's. */
  private readonly prints = this.table(16, 4)
  private printCount = 0

  constructor() {
    this.addPrint()
  }

  /** Declares kind `id`: its lane X start, field count and which fields are symbols. */
  addKind(id: number, start: readonly [number, number], fields: number, isSymbol: readonly boolean[]): void {
    const at = this.entry(this.kinds, id)
    let mask = 0
    isSymbol.forEach((s, i) => { if (s) mask |= 1 << i })
    this.view.setInt32(at, start[0], true)
    this.view.setInt32(at + 4, start[1], true)
    this.view.setInt32(at + 8, fields, true)
    this.view.setInt32(at + 12, mask, true)
  }

  /** Declares a new scope print; returns its slot. */
  addScope(): number {
    this.flush()
    const slot = this.printCount - 1
    // The one scope's print was the run's so far (see `flush`): it is kept apart from now on.
    if (slot === 1) {
      const run = this.prints.offset
      new Uint8Array(this.memory.buffer).copyWithin(run + 16, run, run + 16)
    }
    this.addPrint()
    return slot
  }

  /** Declares subject `id`: its name's hash and its scope slot. */
  addSubject(id: number, hashLo: number, hashHi: number, scopeSlot: number): void {
    const at = this.entry(this.subjects, id)
    const [lo, hi] = subjectStart([hashLo, hashHi])
    this.view.setInt32(at, lo, true)
    this.view.setInt32(at + 4, hi, true)
    this.view.setInt32(at + 8, (scopeSlot + 1) * 16, true)
  }

  /** Declares symbol `id`: its text's hash. */
  addSymbol(id: number, lo: number, hi: number): void {
    const at = this.entry(this.symbols, id)
    this.view.setInt32(at, lo, true)
    this.view.setInt32(at + 4, hi, true)
  }

  /** The run's fingerprint so far (flushes first). */
  runHex(): string {
    this.flush()
    return this.hexOf(0)
  }

  /** The fingerprint of scope slot `slot` so far (flushes first). */
  scopeHex(slot: number): string {
    this.flush()
    // While there is one scope, its print is the run's (see `flush`).
    return this.hexOf(this.printCount > 2 ? slot + 1 : 0)
  }

  /** Records emitted so far: those hashed (the run's print's count) and those pending. */
  records(): number {
    let n = this.view.getFloat64(this.prints.offset + 8, true)
    for (let p = 0; p < this.pos; p += headLength(this.buf[p]!)) n++
    return n
  }

  /** Hashes the pending records into the prints; returns the new `pos` (0). */
  flush(): number {
    const end = this.pos
    this.pos = 0
    if (end === 0) return 0
    if (this.onFlush !== null) this.onFlush(this.buf, end)
    // WebAssembly reads little-endian: on a big-endian machine, turn each double's bytes around.
    if (!LITTLE) new Uint8Array(this.memory.buffer, 0, end * 8).forEach((_, i, b) => { if ((i & 7) < 4) { const j = i ^ 7; const t = b[i]!; b[i] = b[j]!; b[j] = t } })
    // While there is one scope, its print is the run's (see `scopeHex`): no second fold.
    const records = this.printCount > 2
      ? (this.hashScoped ??= new WebAssembly.Instance(printModuleScoped, { env: { memory: this.memory } }).exports.flush as Flush)(end, this.kinds.offset, this.subjects.offset, this.symbols.offset, this.prints.offset, 1)
      : this.hash(end, this.kinds.offset, this.subjects.offset, this.symbols.offset, this.prints.offset, 0)
    const count = this.prints.offset + 8
    this.view.setFloat64(count, this.view.getFloat64(count, true) + records, true)
    return 0
  }

  /** The fingerprint of print slot `at`. */
  private hexOf(at: number): string {
    const p = this.prints.offset + 16 * at
    return Fingerprint.hexOf(this.view.getInt32(p, true), this.view.getInt32(p + 4, true), this.view.getFloat64(p + 8, true))
  }

  /** Appends a print at its start, with no records. */
  private addPrint(): void {
    const at = this.entry(this.prints, this.printCount++)
    this.view.setInt32(at, SEED_LO, true)
    this.view.setInt32(at + 4, SEED_HI, true)
    this.view.setFloat64(at + 8, 0, true)
  }

  /** A table of `capacity` entries of `entry` bytes at the end of the used memory. */
  private table(entry: number, capacity: number): Table {
    const t = { offset: this.top, capacity, entry }
    this.reserve(t.offset + capacity * entry)
    this.top = align(t.offset + capacity * entry)
    return t
  }

  /** The byte offset of entry `id` of `t`, after moving `t` to a larger place if it has no room. */
  private entry(t: Table, id: number): number {
    if (id >= t.capacity) {
      const capacity = Math.max(2 * t.capacity, id + 1)
      const offset = this.top
      this.reserve(offset + capacity * t.entry)
      new Uint8Array(this.memory.buffer).copyWithin(offset, t.offset, t.offset + t.capacity * t.entry)
      t.offset = offset
      t.capacity = capacity
      this.top = align(offset + capacity * t.entry)
    }
    return t.offset + id * t.entry
  }

  /** Replaces the memory by one of at least `bytes` with the same bytes (the instances and views are made anew). */
  private reserve(bytes: number): void {
    if (bytes <= this.memory.buffer.byteLength) return
    this.memory = moveMemory(this.memory, bytes)
    this.hash = new WebAssembly.Instance(printModule, { env: { memory: this.memory } }).exports.flush as Flush
    this.hashScoped = null
    this.buf = new Float64Array(this.memory.buffer, 0, BUF_DOUBLES)
    this.view = new DataView(this.memory.buffer)
  }
}

/** A batch's memory (one page), or a `RangeError` that says why there is none. */
function newMemory(): Memory {
  try {
    return new WebAssembly.Memory({ initial: 1 })
  } catch (e) {
    throw new RangeError(`Trace: no WebAssembly memory for the fingerprint (${String(e)}): each live trace reserves 8 GiB of address space, about 16,000 at once at most; keep fewer Simulations alive`)
  }
}

/** `n` rounded up to a multiple of 16. */
function align(n: number): number {
  return (n + 15) & ~15
}
