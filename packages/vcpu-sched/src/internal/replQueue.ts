/**
 * Sorted replenishment lists over two parallel typed arrays (times, amounts), entries `[0, count)`,
 * shared by the corrected and the naive sporadic servers. The caller keeps `count`.
 * @module
 */

/** Inserts `(t, b)` at the first position whose time is ≥ `t` (before equal times); `count` < capacity. */
export const insertBeforeEqual = (times: Float64Array, amounts: Float64Array, count: number, t: number, b: number): void => {
  let i = count
  while (i > 0 && times[i - 1]! >= t) {
    times[i] = times[i - 1]!
    amounts[i] = amounts[i - 1]!
    i--
  }
  times[i] = t
  amounts[i] = b
}

/**
 * Drops entry 0 by shifting the others down.
 * NOTE: a plain loop, not copyWithin: the list holds a few entries and the builtin call costs more.
 */
export const shiftHead = (times: Float64Array, amounts: Float64Array, count: number): void => {
  for (let i = 0; i < count - 1; i++) {
    times[i] = times[i + 1]!
    amounts[i] = amounts[i + 1]!
  }
}
