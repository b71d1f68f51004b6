/**
 * The run fingerprint of records that do not come from a live trace (the `.qvt` reader checks a
 * file's records against the run's print with it), computed by the hot path: the records are
 * packed into a `PrintBatch` (as `TraceEmit` does) and hashed by its WebAssembly loop in batches.
 *
 * The caller declares kinds (a name, a field count, which fields are symbols), subjects (a name)
 * and symbols (a text) and gets dense ids for them; it keeps its own maps (nothing here looks a
 * name up). Two kinds of one name but different fields are two ids with the same digest start,
 * as `Fingerprint` defines it (the digest covers the name, the time and the values, not the field
 * names). Symbols are never merged: the caller's ids stay aligned with its own (the reader's are
 * the file's).
 *
 * Invariants: `hex()` equals `Fingerprint`'s print of the records added (the tests compare it with
 * the live trace's print and with the BigInt transcription); only the run's print is kept.
 *
 * NOTE: built for speed: the general path (`RecordDigest`, 64-bit steps on 32-bit halves in
 * TypeScript) made reading a .qvt file about 200 ns per record, this about 100 (most of it now the
 * decoding). `fingerprintRecords` (over record objects) gains only about 10 % from it: its cost is
 * in reading the objects' properties.
 *
 * @module
 */
import { hashString64, kindStart } from "./Fingerprint.ts"
import { MAX_KINDS, MAX_SUBJECTS, PrintBatch, recordHead } from "./PrintBatch.ts"

/** The most fields a record may have (as a trace's kinds: the batch keeps room for one such record past its limit). */
export const MAX_FIELDS = 8

export class RecordPrint {
  private readonly batch = new PrintBatch()
  private kinds = 0
  private subjects = 0
  private symbols = 0

  /** A new kind id for records of kind `name` whose field i is a symbol when `isSymbol[i]`. */
  kind(name: string, isSymbol: readonly boolean[]): number {
    if (isSymbol.length > MAX_FIELDS) throw new RangeError(`RecordPrint: record kind "${name}" has ${isSymbol.length} fields, at most ${MAX_FIELDS}`)
    if (this.kinds >= MAX_KINDS) throw new RangeError(`RecordPrint: record kind "${name}": at most ${MAX_KINDS} kinds`)
    const id = this.kinds++
    this.batch.addKind(id, kindStart(hashString64(name)), isSymbol.length, isSymbol)
    return id
  }

  /** A new subject id for subject `name`. */
  subject(name: string): number {
    if (this.subjects >= MAX_SUBJECTS) throw new RangeError(`RecordPrint: subject "${name}": at most ${MAX_SUBJECTS} subjects`)
    const id = this.subjects++
    const [lo, hi] = hashString64(name)
    // one scope slot for all: only the run's print is kept (PrintBatch folds scopes once there are two)
    this.batch.addSubject(id, lo, hi, 0)
    return id
  }

  /** The next symbol id (0, 1, …), for `text`. */
  symbol(text: string): number {
    const id = this.symbols++
    const [lo, hi] = hashString64(text)
    this.batch.addSymbol(id, lo, hi)
    return id
  }

  /** Adds a record of kind id `kind` (its `n` values in `values`: numbers, or symbol ids; `n` is the kind's field count). */
  add(kind: number, subject: number, t: number, values: ArrayLike<number>, n: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit) p = batch.flush()
    const buf = batch.buf
    buf[p] = recordHead(kind, n, subject)
    buf[p + 1] = t
    for (let i = 0; i < n; i++) buf[p + 2 + i] = values[i]!
    batch.pos = p + 2 + n
  }

  /** The print of the records added so far (16 hex digits). */
  hex(): string {
    return this.batch.runHex()
  }
}
