/**
 * Replay: re-run a simulation and compare every record it emits, as it emits it, with the
 * records of a stored trace. Streaming: neither side is held in memory.
 *
 * Attach a `ReplaySink` to the re-run's trace; it stops the simulation at the first difference.
 * After the run, call `finish()` to learn whether the stored trace had more records.
 *
 * @module
 */
import { sameRecord, type Difference } from "./Diff.ts"
import type { RecordKind, Subject, Trace, TraceRecord, TraceSink } from "./Trace.ts"

export class ReplaySink implements TraceSink {
  private readonly expected: Iterator<TraceRecord>
  private readonly onDifference: () => void
  private index = 0
  /** The first difference found, or null. */
  difference: Difference | null = null

  /** `onDifference` is called once, at the first difference (e.g. `() => sim.stop()`). */
  constructor(expected: Iterable<TraceRecord>, onDifference: () => void) {
    this.expected = expected[Symbol.iterator]()
    this.onDifference = onDifference
  }

  onRecord(trace: Trace, kind: RecordKind, t: number, subject: Subject, values: Float64Array): void {
    if (this.difference !== null) return
    const actual = trace.toRecord(kind, t, subject, values)
    const next = this.expected.next()
    const expected = next.done === true ? undefined : next.value
    if (expected === undefined || !sameRecord(expected, actual)) {
      this.difference = { index: this.index, t: (expected ?? actual).t, expected, actual }
      this.onDifference()
    }
    this.index++
  }

  /** Call after the run: reports a stored trace longer than the re-run. Returns the difference. */
  finish(): Difference | null {
    if (this.difference === null) {
      const next = this.expected.next()
      if (next.done !== true) {
        this.difference = { index: this.index, t: next.value.t, expected: next.value, actual: undefined }
      }
    }
    return this.difference
  }

  /** Records compared so far. */
  get compared(): number {
    return this.index
  }
}
