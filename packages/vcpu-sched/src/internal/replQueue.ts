/**
 * Sorted replenishment lists stored interleaved in a Float64Array: entry `i` is
 * `(rec[q + 2i], rec[q + 2i + 1])` = (time, amount), entries `[0, count)` live. Shared by the
 * corrected and the naive sporadic servers; the caller keeps `count` and the record's layout.
 *
 * NOTE: interleaved (time beside amount) and inside the server's one flat record, so the head
 * `(t₀, b₀)` a hook reads shares a cache line with `u` (see MainVcpu's `rec`: one typed array
 * instead of two).
 * @module
 */

/** Inserts `(t, b)` at the first position whose time is ≥ `t` (before equal times); `count` < capacity. */
export const insertBeforeEqual = (rec: Float64Array, q: number, count: number, t: number, b: number): void => {
  let i = q + 2 * count
  while (i > q && rec[i - 2]! >= t) {
    rec[i] = rec[i - 2]!
    rec[i + 1] = rec[i - 1]!
    i -= 2
  }
  rec[i] = t
  rec[i + 1] = b
}

/**
 * Drops entry 0 by shifting the others down.
 * NOTE: a plain loop, not copyWithin: the list holds a few entries and the builtin call costs more.
 */
export const shiftHead = (rec: Float64Array, q: number, count: number): void => {
  const end = q + 2 * (count - 1)
  for (let i = q; i < end; i++) rec[i] = rec[i + 2]!
}

