/**
 * A binary min-heap's operations for `EventQueue`'s ahead heap: position `i` holds an entry's time
 * in `times[i]` and its slot in `slots[i]`; its tie-break key is the slot's (`sKey[slot]`, the
 * queue's `priority * 2^44 + seq`, unique), read only when two times are equal. The order is the
 * total order on (time, key), as in `keyedHeap.ts` (the main heap's), never where an entry sits.
 *
 * NOTE: why not `keyedHeap.ts`'s keys-beside layout here. The ahead heap holds the far-ahead events
 * (at 200 log-uniform tasks, the ~200 pending releases, seldom at equal times) and its pop was the
 * largest growth item 5 → 200 tasks (`popFar`, ~18 ns/event in `perf`: ~100 ns per pop, 0.18 pops
 * per event, 7 levels each). In V8 the sift-down's level was ~70 instructions: ten typed-array
 * accesses (two children's times and keys, the child's time and key again, three moves), each with
 * its bound test. Here a level reads the two children's times, picks by time without a branch, reads
 * keys only on a tie (a branch almost never taken in the ahead heap; with harmonic periods most
 * times tie, but then the ahead heap is merged back: see `EventQueue`), then moves a time and a
 * slot: six accesses, ~45 instructions; index arithmetic is `| 0`-truncated (no overflow checks).
 * Measured (session 14, ah30): hold model of 200 entries, log-uniform periods, pop + push, CPU
 * medians of 21: 53.0 / 56.4 ns against 59.5 / 64.5 with `keyedHeap`'s; with 40 KB of other memory
 * read between two pops (the cache state of the real run, roughly) 78 / 72 ns against 108 / 132.
 * The child's time is read again after the pick, not chosen by `lt < rt ? lt : rt` or `Math.min`
 * (branches: 83.8 / 82.8 ns against 69.0). The workload (the scale bench's fixed demand,
 * log-uniform, 200 tasks), in-process against the tree before, a copy of it as a third tree, 30
 * processes of 30 rounds (15 per load order), medians: 0.984 (the copy 0.996; each process read
 * 0.92-1.02); the per-size profile's `popFar` at 200 tasks 16.8 / 17.1 / 13.6 ns/event against
 * 18.0 / 17.7 / 18.8 (three runs each). 5 tasks, the paper's runs and the jobs bench never split,
 * harmonic 200 never pops from its ahead heap: unchanged (within the copy's spread).
 * Tried and dropped (same hold model, then the workload): a 4-ary heap (keys beside, branchless
 * tournament): `popFar` unchanged in the per-size profile (18.0), in-process 1.000 / 1.003 (100
 * rounds per order); records of (time, slot) interleaved in one Float64Array: 59-62 ns hot, no better
 * cold; the top left a hole that the next push fills (every ahead pop is followed by the released
 * task's next push, 100,703 of 100,703: one sift instead of two) — the pushed release still sinks
 * 6.5 of 7 levels on average, no gain (in-process 1.009, 10 processes); a radix heap 174 ns and
 * a two-rung (unsorted top, sorted bottom refilled in batches) 100-147 ns per pop + push, hot.
 *
 * @module
 */

/** Puts (`time`, `slot`, of key `key`) at position `pos` (a hole: the heap's length before the push) and sifts it up. */
export const siftUpAhead = (times: Float64Array, slots: Int32Array, sKey: Float64Array, pos: number, time: number, key: number, slot: number): void => {
  while (pos > 0) {
    const parent = (pos - 1) >> 1
    const pt = times[parent]!
    if (pt < time) break
    const ps = slots[parent]!
    if (pt === time && sKey[ps]! <= key) break
    times[pos] = pt
    slots[pos] = ps
    pos = parent
  }
  times[pos] = time
  slots[pos] = slot
}

/**
 * Puts (`time`, `slot`) at position `pos` (a hole) of a heap of `n` entries and sifts it down.
 * `times[n]` must be `Infinity` (the right child needs no bound test).
 */
const siftDownAhead = (times: Float64Array, slots: Int32Array, sKey: Float64Array, n: number, pos: number, time: number, slot: number): void => {
  const half = n >> 1
  while (pos < half) {
    const left = (pos << 1) | 1
    const right = (left + 1) | 0
    const lt = times[left]!, rt = times[right]!
    let child = (left + Number(rt < lt)) | 0
    if (rt === lt && sKey[slots[right]!]! < sKey[slots[left]!]!) child = right
    const ct = times[child]!
    const cs = slots[child]!
    if (time < ct || (time === ct && sKey[slot]! <= sKey[cs]!)) break
    times[pos] = ct
    slots[pos] = cs
    pos = child
  }
  times[pos] = time
  slots[pos] = slot
}

/**
 * Removes the heap's top: `last` is its length after the removal; its entry at `last` fills the top
 * and sifts down. `times[last]` becomes `Infinity` (the slot past the heap).
 */
export const removeTopAhead = (times: Float64Array, slots: Int32Array, sKey: Float64Array, last: number): void => {
  const time = times[last]!
  times[last] = Infinity
  if (last > 0) siftDownAhead(times, slots, sKey, last, 0, time, slots[last]!)
}

/** Makes the first `n` entries a heap (Floyd's bottom-up build), O(n); sets `times[n]` to `Infinity`. */
export const heapifyAhead = (times: Float64Array, slots: Int32Array, sKey: Float64Array, n: number): void => {
  if (n < times.length) times[n] = Infinity
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDownAhead(times, slots, sKey, n, i, times[i]!, slots[i]!)
}

