import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { heapifyAhead, removeTopAhead, siftUpAhead } from "../src/internal/aheadHeap.ts"

type Op = { push: true; time: number; key: number } | { push: false }
type Heap = { siftUp: typeof siftUpAhead; removeTop: typeof removeTopAhead; heapify: typeof heapifyAhead }

/** Entries as the ahead heap has them: by position, time in `times`, slot in `slots`; the tie-break key (unique) by slot, in `sKey`. */
const entry = fc.record({ time: fc.integer({ min: 0, max: 6 }), key: fc.integer({ min: 0, max: 1000 }) })
const ops = fc.array(fc.oneof(entry.map((e) => ({ push: true as const, ...e })), fc.constant({ push: false as const })), { maxLength: 200 })
const order = (a: { time: number; key: number }, b: { time: number; key: number }): number => a.time - b.time || a.key - b.key

/**
 * Pushes (siftUp) and pops (removeTop) against a sorted array; then heapify of what is left (shuffled), drained in order.
 * The arrays hold one position more than the entries (the ahead heap's `Infinity` past its end).
 */
const agrees = (h: Heap) => fc.property(ops, fc.integer({ min: 0, max: 2 ** 31 - 1 }), (list: Op[], mix) => {
  const sKey = new Float64Array(list.length + 1), times = new Float64Array(list.length + 1), slots = new Int32Array(list.length + 1)
  const model: { time: number; key: number; slot: number }[] = []
  let n = 0, nextSlot = 0
  for (const op of list) {
    if (op.push) {
      const slot = nextSlot++
      sKey[slot] = op.key * 1024 + slot // unique, as the queue's priority·2^44 + seq
      h.siftUp(times, slots, sKey, n++, op.time, sKey[slot]!, slot)
      model.push({ time: op.time, key: sKey[slot]!, slot })
      model.sort(order)
    } else if (n > 0) {
      const want = model.shift()!
      if (times[0] !== want.time || slots[0] !== want.slot) return false
      h.removeTop(times, slots, sKey, --n)
    }
  }
  // What is left, shuffled (a seeded Fisher-Yates) and re-heapified, drains in order.
  let x = mix
  for (let i = n - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff
    const j = x % (i + 1)
    ;[times[i], times[j]] = [times[j]!, times[i]!]
    ;[slots[i], slots[j]] = [slots[j]!, slots[i]!]
  }
  h.heapify(times, slots, sKey, n)
  for (const want of model) {
    if (times[0] !== want.time || slots[0] !== want.slot) return false
    h.removeTop(times, slots, sKey, --n)
  }
  return n === 0
})

describe("aheadHeap (EventQueue's ahead heap operations, keys by slot)", () => {
  it("siftUp/removeTop/heapify keep (time, key) order, ties on time by the slot's key (model-based)", () => {
    fc.assert(agrees({ siftUp: siftUpAhead, removeTop: removeTopAhead, heapify: heapifyAhead }), { numRuns: 300 })
  })

  it("the model-based test catches a removeTop or a siftUp that ignores the keys on equal times, a removeTop that never takes the right child, and a heapify that ignores the keys (broken variants)", () => {
    type Before = (t: number, k: number, ct: number, ck: number) => boolean
    const byTimeAndKey: Before = (t, k, ct, ck) => t < ct || (t === ct && k < ck)
    const byTime: Before = (t, _k, ct) => t < ct
    // A sift down written as the real one's contract but choosing children and stopping by `before`.
    const siftDownBy = (before: Before, leftOnly = false) => (times: Float64Array, slots: Int32Array, sKey: Float64Array, n: number, pos: number, time: number, slot: number): void => {
      for (let left = 2 * pos + 1; left < n; left = 2 * pos + 1) {
        const right = left + 1
        const child = !leftOnly && right < n && before(times[right]!, sKey[slots[right]!]!, times[left]!, sKey[slots[left]!]!) ? right : left
        if (!before(times[child]!, sKey[slots[child]!]!, time, sKey[slot]!)) break
        times[pos] = times[child]!
        slots[pos] = slots[child]!
        pos = child
      }
      times[pos] = time
      slots[pos] = slot
    }
    const removeTopBy = (before: Before, leftOnly = false): Heap["removeTop"] => (times, slots, sKey, last) => {
      if (last > 0) siftDownBy(before, leftOnly)(times, slots, sKey, last, 0, times[last]!, slots[last]!)
    }
    const heapifyBy = (before: Before): Heap["heapify"] => (times, slots, sKey, n) => {
      for (let i = (n >> 1) - 1; i >= 0; i--) siftDownBy(before)(times, slots, sKey, n, i, times[i]!, slots[i]!)
    }
    const siftUpBy = (before: Before): Heap["siftUp"] => (times, slots, sKey, pos, time, key, slot) => {
      while (pos > 0) {
        const parent = (pos - 1) >> 1
        if (!before(time, key, times[parent]!, sKey[slots[parent]!]!)) break
        times[pos] = times[parent]!
        slots[pos] = slots[parent]!
        pos = parent
      }
      times[pos] = time
      slots[pos] = slot
    }
    // Sanity: with the right order the written-out variants agree, so the broken ones fail for their flaw only.
    expect(fc.check(agrees({ siftUp: siftUpBy(byTimeAndKey), removeTop: removeTopBy(byTimeAndKey), heapify: heapifyBy(byTimeAndKey) }), { numRuns: 300 }).failed).toBe(false)
    const broken: Record<string, Heap> = {
      tieBlindRemoveTop: { siftUp: siftUpAhead, heapify: heapifyAhead, removeTop: removeTopBy(byTime) },
      tieBlindSiftUp: { siftUp: siftUpBy(byTime), heapify: heapifyAhead, removeTop: removeTopAhead },
      leftOnly: { siftUp: siftUpAhead, heapify: heapifyAhead, removeTop: removeTopBy(byTimeAndKey, true) },
      tieBlindHeapify: { siftUp: siftUpAhead, heapify: heapifyBy(byTime), removeTop: removeTopAhead },
    }
    for (const [name, h] of Object.entries(broken)) expect(fc.check(agrees(h), { numRuns: 3000, endOnFailure: true }).failed, name).toBe(true)
  })
})
