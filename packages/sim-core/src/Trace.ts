/**
 * Trace records, sinks and the run fingerprint.
 *
 * A model declares its record kinds once (`trace.kind("nic.rx", ["frame", "len"])`) and subjects
 * once (`trace.subject("sandbox0/nic", 0)`), then emits records with numeric values only:
 * `trace.emit2(kind, subject, frame, len)` (`emitN` for a kind of N fields, see `TraceEmit`). A
 * record is `{t, kind, subject, ...fields}`; a field declared with a `$` prefix (`"$phase"`) holds
 * a symbol id from `trace.symbol("vm-exit")` and is written as its string.
 *
 * Invariants:
 * - the fingerprint (64 bits, see `Fingerprint`) is always computed, over the canonical
 *   encoding of every record: kind name, subject name, time, then each field value (numbers by
 *   their IEEE-754 bits, symbols by their string's 64-bit hash). It does not depend on interning
 *   order, on whether a sink listens, or on when `PrintBatch` hashes the pending records;
 * - each subject has a scope (e.g. its sandbox, or -1 for global): a fingerprint per scope is kept
 *   as well, so a property can compare one sandbox's records between two runs;
 * - emitting allocates nothing when no sink listens (NOTE: values are passed positionally to
 *   avoid an array or object per record).
 *
 * @module
 */
import { Fingerprint, hashString64, kindStart, RecordDigest, subjectStart } from "./Fingerprint.ts"
import { kindHead, MAX_KINDS, MAX_SUBJECTS, PrintBatch, subjectHead } from "./PrintBatch.ts"
import { TraceEmit } from "./TraceEmit.ts"

/** The pending-record buffer (`trace.pending`, for inline emitters: see `TraceEmit`). */
export type { PrintBatch } from "./PrintBatch.ts"

/** A record kind: its name and field names (a `$` prefix marks a symbol field). */
export class RecordKind {
  readonly id: number
  readonly name: string
  /** Field names as written in records (without the `$`). */
  readonly fields: readonly string[]
  /** For each field, whether it is a symbol. */
  readonly isSymbol: readonly boolean[]
  /** The number of fields. */
  readonly arity: number
  /** A record digest's lane X at its start: the name's 64-bit hash absorbed (see `Fingerprint.kindStart`). */
  readonly start: readonly [number, number]
  /** The kind's part of a record's head (its length and kind id; plus `Subject.head`, the subject id: see `PrintBatch.recordHead`). */
  readonly head: number
  constructor(id: number, name: string, fields: readonly string[]) {
    this.id = id
    this.name = name
    this.fields = fields.map((f) => (f.startsWith("$") ? f.slice(1) : f))
    this.isSymbol = fields.map((f) => f.startsWith("$"))
    this.arity = fields.length
    this.start = kindStart(hashString64(name))
    this.head = kindHead(id, fields.length)
  }
}

/** A record subject (a model entity), with a scope for per-scope fingerprints. */
export interface Subject {
  readonly id: number
  readonly name: string
  readonly scope: number
  /** The 64-bit hash of the name (two words). */
  readonly hashLo: number
  readonly hashHi: number
  /** The slot of the subject's scope print (see `PrintBatch`). */
  readonly scopeSlot: number
  /** The subject's part of a record's head (its id; see `RecordKind.head`). */
  readonly head: number
}

/** A trace record as an object: `{t, kind, subject, ...fields}`. */
export interface TraceRecord {
  readonly t: number
  readonly kind: string
  readonly subject: string
  readonly [field: string]: number | string
}

/**
 * Receives every record while attached to a trace: one by one (`onRecord`, as it is emitted) or,
 * when the sink has `onBatch`, in batches instead (no call per record).
 */
export interface TraceSink {
  /** `values[i]` is the i-th field value (a symbol id for symbol fields). */
  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void
  /**
   * Takes the pending records in emission order, packed as doubles in `buf[0 … end)`: each
   * `[head, t, value 0 … value n-1]` with n the kind's field count; the head packs the record's
   * length (2 + n), kind id and subject id (`PrintBatch.headLength`, `headKind`, `headSubject`;
   * `trace.kindOf`, `trace.subjectOf`, `trace.symbolText` resolve the ids). Called whenever the fingerprint batch
   * is flushed: when full, when a fingerprint is read, at `detach` and `close`. `buf` is reused.
   */
  onBatch?(trace: Trace, buf: Float64Array, end: number): void
  /** Called by `attach` (a sink may keep the trace). */
  attached?(trace: Trace): void
  /** Flushes and releases what the sink holds. */
  close?(): void
}

/** The header line of a trace file. */
export interface TraceHeader {
  readonly type: "header"
  readonly qvsim: string
  readonly scenario: { readonly name: string; readonly hash: string; readonly source?: string }
  readonly seed: number
  readonly options: Readonly<Record<string, unknown>>
}

const MAX_FIELDS = 8

export class Trace extends TraceEmit {
  private readonly kinds: RecordKind[] = []
  private readonly kindsByName = new Map<string, RecordKind>()
  private readonly subjects: Subject[] = []
  private readonly subjectsByName = new Map<string, Subject>()
  private readonly symbols: string[] = []
  private readonly symbolIds = new Map<string, number>()
  /** Scope → its print's slot in `batch`. */
  private readonly scopeSlots = new Map<number, number>()
  /** The field values of the record being emitted, for sinks. */
  private readonly values = new Float64Array(MAX_FIELDS)
  private sinks: TraceSink[] = []
  /** The sinks without `onBatch` (they take each record as it is emitted). */
  private recordSinks: TraceSink[] = []
  /** The sinks with `onBatch`. */
  private batchSinks: TraceSink[] = []

  constructor(clock: { readonly now: number }) {
    super(new PrintBatch(), clock)
  }

  /** Declares (or returns the already declared) record kind `name`. */
  kind(name: string, fields: readonly string[] = []): RecordKind {
    const existing = this.kindsByName.get(name)
    if (existing !== undefined) {
      const same = existing.fields.length === fields.length &&
        fields.every((f, i) => (f.startsWith("$") ? f.slice(1) : f) === existing.fields[i] && f.startsWith("$") === existing.isSymbol[i])
      if (!same) throw new TypeError(`Trace.kind("${name}"): declared twice with different fields`)
      return existing
    }
    if (fields.length > MAX_FIELDS) throw new TypeError(`Trace.kind("${name}"): at most ${MAX_FIELDS} fields`)
    if (this.kinds.length >= MAX_KINDS) throw new RangeError(`Trace.kind("${name}"): at most ${MAX_KINDS} record kinds per trace`)
    for (const f of fields) {
      const bare = f.startsWith("$") ? f.slice(1) : f
      if (bare === "t" || bare === "kind" || bare === "subject") {
        throw new TypeError(`Trace.kind("${name}"): field name "${bare}" is reserved`)
      }
    }
    const kind = new RecordKind(this.kinds.length, name, fields)
    this.batch.addKind(kind.id, kind.start, kind.fields.length, kind.isSymbol)
    this.kinds.push(kind)
    this.kindsByName.set(name, kind)
    return kind
  }

  /** Declares (or returns) the subject `name` in `scope` (-1 = global). */
  subject(name: string, scope = -1): Subject {
    const existing = this.subjectsByName.get(name)
    if (existing !== undefined) return existing
    if (this.subjects.length >= MAX_SUBJECTS) throw new RangeError(`Trace.subject("${name}"): at most ${MAX_SUBJECTS} subjects per trace`)
    let scopeSlot = this.scopeSlots.get(scope)
    if (scopeSlot === undefined) {
      scopeSlot = this.batch.addScope()
      this.scopeSlots.set(scope, scopeSlot)
    }
    const [hashLo, hashHi] = hashString64(name)
    const id = this.subjects.length
    const subject: Subject = { id, name, scope, hashLo, hashHi, scopeSlot, head: subjectHead(id) }
    this.batch.addSubject(subject.id, hashLo, hashHi, scopeSlot)
    this.subjects.push(subject)
    this.subjectsByName.set(name, subject)
    return subject
  }

  /** Interns a string for a symbol field. */
  symbol(text: string): number {
    let id = this.symbolIds.get(text)
    if (id === undefined) {
      id = this.symbols.length
      this.symbols.push(text)
      const [lo, hi] = hashString64(text)
      this.batch.addSymbol(id, lo, hi)
      this.symbolIds.set(text, id)
    }
    return id
  }

  /** The string of symbol `id`. */
  symbolText(id: number): string {
    return this.symbols[id]!
  }

  /** Attaches a sink; records emitted from now on reach it. */
  attach(sink: TraceSink): void {
    // the pending records were emitted before: they are hashed (and go to the other sinks) first
    this.batch.flush()
    this.setSinks([...this.sinks, sink])
    sink.attached?.(this)
  }

  /** Detaches a sink (without closing it), once it has the records emitted while attached. */
  detach(sink: TraceSink): void {
    this.batch.flush()
    this.setSinks(this.sinks.filter((s) => s !== sink))
  }

  private setSinks(sinks: TraceSink[]): void {
    this.sinks = sinks
    this.recordSinks = sinks.filter((s) => s.onBatch === undefined)
    this.batchSinks = sinks.filter((s) => s.onBatch !== undefined)
    this.recordSinksOn = this.recordSinks.length > 0
    this.batch.onFlush = this.batchSinks.length > 0 ? (buf, end) => this.toBatchSinks(buf, end) : null
  }

  private toBatchSinks(buf: Float64Array, end: number): void {
    for (const sink of this.batchSinks) sink.onBatch!(this, buf, end)
  }

  /** The record kind of id `id` (ids are dense, in declaration order). */
  kindOf(id: number): RecordKind {
    return this.kinds[id]!
  }

  /** The subject of id `id` (ids are dense, in declaration order). */
  subjectOf(id: number): Subject {
    return this.subjects[id]!
  }

  /** True when at least one sink listens (models may skip building costly fields otherwise). */
  get listening(): boolean {
    return this.sinks.length > 0
  }

  /** Hands the record at `p` of the batch buffer to every sink. */
  protected deliver(kind: RecordKind, subject: Subject, p: number): void {
    const values = this.values
    const buf = this.batch.buf
    const n = kind.arity
    for (let i = 0; i < n; i++) values[i] = buf[p + 2 + i]!
    for (let i = n; i < MAX_FIELDS; i++) values[i] = 0
    const t = buf[p + 1]!
    const sinks = this.recordSinks
    for (let i = 0; i < sinks.length; i++) sinks[i]!.onRecord(this, kind, t, subject, values)
  }

  /** The fingerprint of every record so far (16 hex digits). */
  fingerprint(): string {
    return this.batch.runHex()
  }

  /** The fingerprint of the records whose subject is in `scope` (16 hex digits). */
  scopeFingerprint(scope: number): string {
    const slot = this.scopeSlots.get(scope)
    return slot === undefined ? new Fingerprint().hex() : this.batch.scopeHex(slot)
  }

  /** The scopes that have subjects, ascending. */
  scopes(): number[] {
    return [...this.scopeSlots.keys()].sort((a, b) => a - b)
  }

  /** Builds the record object for sinks that need one (allocates). */
  toRecord(kind: RecordKind, t: number, subject: Subject, values: Float64Array): TraceRecord {
    const rec: Record<string, number | string> = { t, kind: kind.name, subject: subject.name }
    for (let i = 0; i < kind.fields.length; i++) {
      rec[kind.fields[i]!] = kind.isSymbol[i] ? this.symbols[values[i]!]! : values[i]!
    }
    return rec as TraceRecord
  }

  /** Closes every sink (batch sinks first receive the pending records). */
  close(): void {
    this.batch.flush()
    const sinks = this.sinks
    this.setSinks([])
    for (const sink of sinks) sink.close?.()
  }
}

/** The canonical JSON line of a record: keys `t`, `kind`, `subject`, then fields in order. */
export const canonicalJson = (rec: TraceRecord): string => JSON.stringify(rec)

/** Fingerprint of a sequence of record objects, equal to `Trace.fingerprint()` of the run. */
export const fingerprintRecords = (records: Iterable<TraceRecord>): string => {
  const fp = new Fingerprint()
  const d = new RecordDigest()
  const hashes = new Map<string, [number, number]>()
  const starts = new Map<string, [number, number]>()
  const subjectStarts = new Map<string, [number, number]>()
  const hashOf = (text: string): [number, number] => {
    let h = hashes.get(text)
    if (h === undefined) {
      h = hashString64(text)
      hashes.set(text, h)
    }
    return h
  }
  for (const rec of records) {
    let start = starts.get(rec.kind)
    if (start === undefined) {
      start = kindStart(hashString64(rec.kind))
      starts.set(rec.kind, start)
    }
    let subject = subjectStarts.get(rec.subject)
    if (subject === undefined) {
      subject = subjectStart(hashString64(rec.subject))
      subjectStarts.set(rec.subject, subject)
    }
    d.start(start, subject)
    d.number(rec.t)
    for (const key of Object.keys(rec)) {
      if (key === "t" || key === "kind" || key === "subject") continue
      const v = rec[key]!
      if (typeof v === "string") { const h = hashOf(v); d.value(h[0], h[1]) }
      else d.number(v)
    }
    fp.add(d)
  }
  return fp.hex()
}

/** Keeps every record as an object, in memory. */
export class MemorySink implements TraceSink {
  readonly records: TraceRecord[] = []
  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void {
    this.records.push(trace.toRecord(kind, t, subject, values))
  }
}

/** Where a JSONL sink writes: a file (written atomically by the caller), a buffer, a pipe. */
export interface TextWriter {
  write(text: string): void
  close(): void
}

/**
 * Writes a header line, then one canonical JSON line per record, batching output in chunks.
 */
export class JsonlSink implements TraceSink {
  private readonly out: TextWriter
  private buffer = ""
  private closed = false
  constructor(out: TextWriter, header: TraceHeader) {
    this.out = out
    this.buffer = JSON.stringify(header) + "\n"
  }
  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void {
    this.buffer += canonicalJson(trace.toRecord(kind, t, subject, values)) + "\n"
    if (this.buffer.length >= 1 << 16) {
      this.out.write(this.buffer)
      this.buffer = ""
    }
  }
  close(): void {
    if (this.closed) return
    this.closed = true
    this.out.write(this.buffer)
    this.buffer = ""
    this.out.close()
  }
}
