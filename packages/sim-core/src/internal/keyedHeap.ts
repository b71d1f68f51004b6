/**
 * A binary min-heap's operations over parallel arrays, for `EventQueue`'s heap (its ahead heap has
 * its own, keys read through the slot: `aheadHeap.ts`):
 * position `i` holds an entry's time in `times[i]`, its tie-break key in `keys[i]` (the queue's
 * `priority * 2^44 + seq`, unique) and its slot in `slots[i]`; ties on time are broken by the key,
 * so the order is total and never depends on where an entry sits. The heap's length is the caller's: each function takes it.
 *
 * NOTE: the sifts are written with a "hole" (one write per level instead of a swap) and inline
 * comparisons, as in flatqueue. The keys sit beside the times (by position, moved with them) and
 * `removeTop` picks the smaller child without a branch (see it): measured (session 13, qh28) on a
 * hold model of 200 pending entries (pop the top, push it a period later; in-process, CPU
 * medians of 15), per pop+push against keys read through the slot with branchy picks: log-uniform
 * periods 0.95x, harmonic periods (most times tie) 0.71x; keys through the slot with a branchless
 * time pick read 0.86x / 0.87-0.90x; keys beside with a branch on ties 0.88x / 0.80x; a 4-ary heap
 * (children adjacent) 1.10x / 1.22x, with a branchless tournament 0.95x / 1.08x; a bottom-up
 * removeTop (to a leaf, then up) 1.07x / 1.04x. The scale bench's workload at 200 tasks,
 * in-process, CPU, 60 rounds per load order, against a copy of the base's: harmonic 0.96x /
 * 0.94x, log-uniform 1.01x / 0.92x (the branch's report has every figure). They are small free functions
 * over typed arrays so V8 inlines them at each call site (`EventQueue.push`, `popUntil`; then also
 * the ahead heap's push and pop), where the same loops were written out before (checked with
 * `--trace-turbo-inlining`). Measured in-process against that tree (d4bfd0a), CPU, B/A medians,
 * both load orders, load 2.3-4.5: the scale bench's workload at 200 tasks, log-uniform 0.988 / 1.055 (50
 * rounds), harmonic 0.924 / 1.030 (16); message-passing 0.977 / 0.982 and shared-driver 1.009 /
 * 1.015 (scale 0.3, 8 rounds); the jobs bench's harness 0.966 / 0.998 untraced, 0.979 / 0.983
 * traced (16). Keeping `push`'s fast path and the ahead heap's pop written out instead read 1.020 /
 * 1.015 (log-uniform 200, 50 rounds): no difference this noise (±5 % a run) can show.
 *
 * @module
 */

/** Puts (`time`, `key`, `slot`) at position `pos` (a hole: the heap's length before the push) and sifts it up. */
export const siftUp = (times: Float64Array, slots: Int32Array, keys: Float64Array, pos: number, time: number, key: number, slot: number): void => {
  while (pos > 0) {
    const parent = (pos - 1) >> 1
    const pt = times[parent]!
    if (pt < time || (pt === time && keys[parent]! <= key)) break
    times[pos] = pt
    keys[pos] = keys[parent]!
    slots[pos] = slots[parent]!
    pos = parent
  }
  times[pos] = time
  keys[pos] = key
  slots[pos] = slot
}

/**
 * Puts (`time`, `key`, `slot`) at position `pos` (a hole) of a heap of `n` entries and sifts it down.
 * NOTE: the loop runs while `pos` has a child (`pos < n >> 1`) and tests the right child's bound
 * inside: one bound test per level fewer than testing the left child's too. (`heapify`'s; the pop's
 * is `removeTop`.)
 */
export const siftDown = (times: Float64Array, slots: Int32Array, keys: Float64Array, n: number, pos: number, time: number, key: number, slot: number): void => {
  const half = n >> 1
  while (pos < half) {
    let child = 2 * pos + 1
    let ct = times[child]!
    const right = child + 1
    if (right < n) {
      const rt = times[right]!
      if (rt < ct || (rt === ct && keys[right]! < keys[child]!)) {
        child = right
        ct = rt
      }
    }
    const ck = keys[child]!
    if (time < ct || (time === ct && key <= ck)) break
    times[pos] = ct
    keys[pos] = ck
    slots[pos] = slots[child]!
    pos = child
  }
  times[pos] = time
  keys[pos] = key
  slots[pos] = slot
}

/**
 * Removes the heap's top: `last` is its length after the removal; its entry at `last` fills the top and sifts down.
 * NOTE: written apart from `siftDown`, with the smaller child chosen without a branch
 * (`Number(rt < lt) | (Number(rt === lt) & Number(rk < lk))` compiles to set-on-compare
 * instructions, the child's index is `left + pick`): at ~200 pending releases the pop's cost was
 * mostly mispredicted child choices (each ~50/50), and with harmonic periods most times tie, so
 * the keys sit beside the times (read at the same position, no load through the slot).
 * `times[last]`, past the heap once its entry is taken, is set to Infinity so the right child
 * needs no bound test.
 */
export const removeTop = (times: Float64Array, slots: Int32Array, keys: Float64Array, last: number): void => {
  if (last === 0) return
  const time = times[last]!, key = keys[last]!, slot = slots[last]!
  times[last] = Infinity
  const half = last >> 1
  let pos = 0
  while (pos < half) {
    const left = 2 * pos + 1
    const lt = times[left]!, rt = times[left + 1]!
    const pick = Number(rt < lt) | (Number(rt === lt) & Number(keys[left + 1]! < keys[left]!))
    const child = left + pick
    const ct = times[child]!, ck = keys[child]!
    if (time < ct || (time === ct && key <= ck)) break
    times[pos] = ct
    keys[pos] = ck
    slots[pos] = slots[child]!
    pos = child
  }
  times[pos] = time
  keys[pos] = key
  slots[pos] = slot
}

/** Makes the first `n` entries a heap (Floyd's bottom-up build), O(n). */
export const heapify = (times: Float64Array, slots: Int32Array, keys: Float64Array, n: number): void => {
  for (let i = (n >> 1) - 1; i >= 0; i--) siftDown(times, slots, keys, n, i, times[i]!, keys[i]!, slots[i]!)
}
/** `to` (a larger array of the same kind) with `from` copied to its start. */
export const grow = <A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(from: A, to: A): A => {
  to.set(from as never)
  return to
}
