/**
 * The distribution of a measured quantity (issue 13: experiments report p50/p99/max, not only
 * means): nearest-rank percentiles, as the ping hosts compute theirs.
 *
 * Invariants: `p50 ≤ p99 ≤ max`, each a value of the sample; NaN for an empty sample.
 *
 * @module
 */

/** p50, p99 and the maximum of a sample. */
export interface Spread {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank p50, p99 and max of `values` (any order; not modified). */
export const spread = (values: ArrayLike<number>): Spread => {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  const rank = (p: number): number => (n === 0 ? NaN : sorted[Math.max(0, Math.ceil(p * n) - 1)]!)
  return { p50: rank(0.5), p99: rank(0.99), max: n === 0 ? NaN : sorted[n - 1]! }
}
