/**
 * Sorted replenishment lists stored interleaved in a Float64Array: entry `i` is
 * `(rec[q + 2i], rec[q + 2i + 1])` = (time, amount), entries `[0, count)` live. Shared by the
 * corrected and the naive sporadic servers; the caller keeps `count` and the record's layout.
 *
 * NOTE: interleaved (time beside amount) and inside the server's one flat record, so the head
 * `(t₀, b₀)` a hook reads shares a cache line with `u` and `|Q|` (see MainVcpu's header: at 200
 * VCPUs per PCPU these records are cold at each event, and two parallel arrays were two chains of
 * object -> typed array -> backing store).
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

/** Where a server's record lives: `rec[o ...]`. */
export interface RecordPlace {
  readonly rec: Float64Array
  readonly o: number
}

/** Doubles per shared slab (32 KiB). */
const SLAB_DOUBLES = 4096
let slab: Float64Array | null = null
let slabUsed = 0

/**
 * A zeroed record of `size` doubles, carved from a shared slab in creation order (records a
 * multiple of 64 bytes apart); a record larger than a quarter slab gets its own array.
 * NOTE: the servers of a PCPU share one typed-array object (hot) instead of one each (cold at
 * 200 VCPUs: object -> typed array -> backing store). Records are never reused; a slab is freed
 * when the last server in it is. Placement never changes a result.
 */
export const allocRecord = (size: number): RecordPlace => {
  const stride = (size + 7) & ~7
  if (stride > SLAB_DOUBLES / 4) return { rec: new Float64Array(size), o: 0 }
  if (slab === null || slabUsed + stride > SLAB_DOUBLES) {
    slab = new Float64Array(SLAB_DOUBLES)
    slabUsed = 0
  }
  const o = slabUsed
  slabUsed += stride
  return { rec: slab, o }
}
