/**
 * Comparing two record streams: the first difference, by index, with both records.
 *
 * Records are compared by their canonical JSON (`t`, `kind`, `subject`, then fields in order),
 * so a record read back from a JSONL file equals the one emitted. One stream ending before the
 * other is a difference too (the missing side is `undefined`).
 *
 * @module
 */
import { canonicalJson, type TraceRecord } from "./Trace.ts"

export interface Difference {
  /** 0-based index of the first differing record. */
  readonly index: number
  /** Time of the first differing record (of either side that exists), ns. */
  readonly t: number
  readonly expected: TraceRecord | undefined
  readonly actual: TraceRecord | undefined
}

/** True when the two records are the same in canonical form. */
export const sameRecord = (a: TraceRecord, b: TraceRecord): boolean => canonicalJson(a) === canonicalJson(b)

/** The first difference between two record streams, or `null` when they are identical. */
export const firstDifference = (expected: Iterable<TraceRecord>, actual: Iterable<TraceRecord>): Difference | null => {
  const ea = expected[Symbol.iterator]()
  const aa = actual[Symbol.iterator]()
  for (let index = 0; ; index++) {
    const e = ea.next()
    const a = aa.next()
    if (e.done === true && a.done === true) return null
    const ev = e.done === true ? undefined : e.value
    const av = a.done === true ? undefined : a.value
    if (ev === undefined || av === undefined || !sameRecord(ev, av)) {
      return { index, t: (ev ?? av)!.t, expected: ev, actual: av }
    }
  }
}

/** One line describing a difference, for the CLI. */
export const describe = (d: Difference): string => {
  const show = (r: TraceRecord | undefined): string => (r === undefined ? "(end of trace)" : canonicalJson(r))
  return `first difference at record ${d.index} (t=${d.t}ns): expected ${show(d.expected)}, got ${show(d.actual)}`
}
