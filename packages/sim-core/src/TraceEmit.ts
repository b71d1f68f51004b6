/**
 * Emitting trace records: `emit0` … `emit8` (one method per field count) and the general `emit`.
 *
 * An emit only copies the record (its head: length, kind id and subject id in one double, see
 * `PrintBatch.recordHead`; then the time and the field values) into the fingerprint batch
 * (`PrintBatch`, hashed in batches at `flush`) and, when a sink listens, hands it over.
 *
 * Invariants:
 * - `emitN` takes exactly the N values of a kind declared with N fields (a kind of another field
 *   count throws a TypeError before anything is written); `emit` takes up to 8 values, a missing
 *   one is 0;
 * - both record the same thing: `emit2(k, s, a, b)` and `emit(k, s, a, b)` leave the same record,
 *   fingerprint and sink calls;
 * - nothing is allocated per record when no sink listens.
 *
 * NOTE: built for speed (every record of every run goes through here, the fingerprint is always
 * on). One method per field count keeps each small enough for V8 to inline into its callers even
 * in large handlers, so the numbers are not boxed to be passed and no default or rest parameter is
 * handled; the field count is checked on the slow path with the batch's limit (one compare). The
 * head is the sum of the kind's and the subject's parts (`RecordKind.head`, `Subject.head`): one
 * store, where a kind id, a subject id and a length byte took three (on the vcpu-sched harness,
 * 10 tasks, counted by callgrind: 362 -> 334 instructions per record for the trace's part; the
 * whole traced run's CPU time moved within noise).
 *
 * Inline emitters. The hottest model loops (the vcpu-sched harness's invocation) write their
 * records into the batch themselves, the same record `emitN` writes, with no call:
 * ```
 * const out = trace.pending            // once (the same object for the trace's life)
 * const head = TraceEmit.head(kind, subject)  // once
 * // per record of n fields, at the current time `now`:
 * let p = out.pos
 * if (p >= out.limit) p = out.flush()
 * const buf = out.buf                  // read afresh: a new view when the memory grew
 * buf[p] = head; buf[p + 1] = now; buf[p + 2] = v0; … buf[p + 1 + n] = v(n-1)
 * out.pos = p + 2 + n
 * if (trace.hasSinks) trace.deliverAt(p)
 * ```
 * NOTE: for speed. V8 inlines a call only when its call site was hot in the caller's past: a
 * caller that ran untraced for a while (a bench's untraced rows first, a sweep) keeps calling
 * `emitN` out of line, its numbers boxed; and when it is inlined, `emitN`'s bytecode counts against
 * the caller's inlining budget, so the caller's own helpers stop being inlined (measured on the
 * harness: `nextOwn` per invocation). Written inline, neither happens. The writer must declare the
 * kind with exactly n fields (nothing checks it here; a wrong length stops the flush).
 *
 * @module
 */
import { headKind, headSubject, type PrintBatch } from "./PrintBatch.ts"
import type { RecordKind, Subject } from "./Trace.ts"

/** The emitters of `Trace` (the rest of `Trace` declares kinds and subjects, reads prints, keeps sinks). */
export abstract class TraceEmit {
  /** Pending records and the prints (run and per scope). */
  protected readonly batch: PrintBatch
  /** Where the record time comes from (the simulation). */
  protected readonly clock: { readonly now: number }
  /** Whether a sink takes records one by one (`hasSinks`; set by `Trace` as sinks come and go). */
  protected recordSinksOn = false
  /**
   * True while a sink takes records one by one (see "Inline emitters"). Read-only: `Trace` sets it
   * as sinks are attached and detached. NOTE: a getter of a plain field: V8 inlines it where an
   * inline emitter reads it (measured on the vcpu-sched harness, traced: no cost against the plain
   * public field it replaces).
   */
  get hasSinks(): boolean {
    return this.recordSinksOn
  }
  /**
   * Records emitted so far. NOTE: counted when read (the batch's hashed records and the lengths of
   * its pending ones), not per emit.
   */
  get count(): number {
    return this.batch.records()
  }

  constructor(batch: PrintBatch, clock: { readonly now: number }) {
    this.batch = batch
    this.clock = clock
  }

  /** Hands the record at `p` of the batch buffer (`arity` values) to every sink. */
  protected abstract deliver(kind: RecordKind, subject: Subject, p: number): void
  /** The record kind of id `id`. */
  abstract kindOf(id: number): RecordKind
  /** The subject of id `id`. */
  abstract subjectOf(id: number): Subject

  /** The pending records, for inline emitters (see "Inline emitters" above); the same object for the trace's life. */
  get pending(): PrintBatch {
    return this.batch
  }

  /** The head of a record of `kind` on `subject`, for inline emitters. */
  static head(kind: RecordKind, subject: Subject): number {
    return kind.head + subject.head
  }

  /** Hands the record an inline emitter wrote at `p` of the batch buffer to every sink (call it when `hasSinks`). */
  deliverAt(p: number): void {
    const head = this.batch.buf[p]!
    this.deliver(this.kindOf(headKind(head)), this.subjectOf(headSubject(head)), p)
  }

  /** The slow path of `emitN`: a kind of another field count throws; else flushes the batch (returns 0). */
  private reserve(kind: RecordKind, n: number): number {
    if (kind.arity !== n) throw new TypeError(`Trace.emit${n}: record kind "${kind.name}" has ${kind.arity} fields, not ${n}`)
    return this.batch.flush()
  }


  /** Emits one record of a 0-field kind at the current simulated time. */
  emit0(kind: RecordKind, subject: Subject): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 0) p = this.reserve(kind, 0)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    batch.pos = p + 2
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 1-field kind at the current simulated time. */
  emit1(kind: RecordKind, subject: Subject, v0: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 1) p = this.reserve(kind, 1)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    batch.pos = p + 3
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 2-field kind at the current simulated time. */
  emit2(kind: RecordKind, subject: Subject, v0: number, v1: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 2) p = this.reserve(kind, 2)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    batch.pos = p + 4
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 3-field kind at the current simulated time. */
  emit3(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 3) p = this.reserve(kind, 3)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    batch.pos = p + 5
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 4-field kind at the current simulated time. */
  emit4(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number, v3: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 4) p = this.reserve(kind, 4)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    buf[p + 5] = v3
    batch.pos = p + 6
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 5-field kind at the current simulated time. */
  emit5(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number, v3: number, v4: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 5) p = this.reserve(kind, 5)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    buf[p + 5] = v3
    buf[p + 6] = v4
    batch.pos = p + 7
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 6-field kind at the current simulated time. */
  emit6(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number, v3: number, v4: number, v5: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 6) p = this.reserve(kind, 6)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    buf[p + 5] = v3
    buf[p + 6] = v4
    buf[p + 7] = v5
    batch.pos = p + 8
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of a 7-field kind at the current simulated time. */
  emit7(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number, v3: number, v4: number, v5: number, v6: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 7) p = this.reserve(kind, 7)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    buf[p + 5] = v3
    buf[p + 6] = v4
    buf[p + 7] = v5
    buf[p + 8] = v6
    batch.pos = p + 9
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /** Emits one record of an 8-field kind at the current simulated time. */
  emit8(kind: RecordKind, subject: Subject, v0: number, v1: number, v2: number, v3: number, v4: number, v5: number, v6: number, v7: number): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit || kind.arity !== 8) p = this.reserve(kind, 8)
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0
    buf[p + 3] = v1
    buf[p + 4] = v2
    buf[p + 5] = v3
    buf[p + 6] = v4
    buf[p + 7] = v5
    buf[p + 8] = v6
    buf[p + 9] = v7
    batch.pos = p + 10
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }

  /**
   * Emits one record at the current simulated time: one value per declared field (a missing one
   * is 0). `emitN` with N the kind's field count does the same, faster.
   */
  emit(kind: RecordKind, subject: Subject, v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0, v5 = 0, v6 = 0, v7 = 0): void {
    const batch = this.batch
    let p = batch.pos
    if (p >= batch.limit) p = batch.flush()
    const buf = batch.buf
    buf[p] = kind.head + subject.head; buf[p + 1] = this.clock.now
    buf[p + 2] = v0; buf[p + 3] = v1; buf[p + 4] = v2; buf[p + 5] = v3
    buf[p + 6] = v4; buf[p + 7] = v5; buf[p + 8] = v6; buf[p + 9] = v7
    batch.pos = p + 2 + kind.arity
    if (this.recordSinksOn) this.deliver(kind, subject, p)
  }
}
