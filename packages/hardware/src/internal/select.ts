/**
 * The k-th smallest value of a numeric array (0-based), found in place by a selection walk
 * (Hoare partitions around a median of three), in linear expected time instead of a full sort.
 *
 * Invariants: the result is exactly `Float64Array.from(a).sort()[k]` for arrays without NaN;
 * afterwards `a` holds the same values, every value left of k ≤ a[k] ≤ every value right of it
 * (so a second, smaller rank can be selected in `a[0..k]`); deterministic (no random pivot).
 *
 * @module
 */

/** Selects the `k`-th smallest value of `a[lo..hi]` (inclusive) in place and returns it. */
export const selectKth = (a: Float64Array, k: number, lo = 0, hi = a.length - 1): number => {
  if (k < lo || k > hi) throw new RangeError(`selectKth: rank ${k} outside [${lo}, ${hi}]`)
  while (hi > lo) {
    // Median of three as the pivot (sorted into a[lo], a[mid], a[hi]).
    const mid = lo + ((hi - lo) >> 1)
    if (a[mid]! < a[lo]!) swap(a, mid, lo)
    if (a[hi]! < a[lo]!) swap(a, hi, lo)
    if (a[hi]! < a[mid]!) swap(a, hi, mid)
    const pivot = a[mid]!
    let i = lo, j = hi
    while (i <= j) {
      while (a[i]! < pivot) i++
      while (a[j]! > pivot) j--
      if (i <= j) {
        swap(a, i, j)
        i++
        j--
      }
    }
    // Now a[lo..j] ≤ pivot ≤ a[i..hi], and every slot strictly between j and i equals the pivot.
    if (k <= j) hi = j
    else if (k >= i) lo = i
    else return a[k]!
  }
  return a[k]!
}

const swap = (a: Float64Array, i: number, j: number): void => {
  const t = a[i]!
  a[i] = a[j]!
  a[j] = t
}
