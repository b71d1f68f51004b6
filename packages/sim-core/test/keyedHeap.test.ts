import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { heapify, removeTop, siftDown, siftUp } from "../src/internal/keyedHeap.ts"

type Op = { push: true; time: number; key: number } | { push: false }
type Heap = { siftUp: typeof siftUp; removeTop: typeof removeTop; heapify: typeof heapify }

/** Entries as the queue has them: by position, time in `times`, tie-break key in `keys` (unique), slot in `slots`. */
const entry = fc.record({ time: fc.integer({ min: 0, max: 6 }), key: fc.integer({ min: 0, max: 1000 }) })
const ops = fc.array(fc.oneof(entry.map((e) => ({ push: true as const, ...e })), fc.constant({ push: false as const })), { maxLength: 200 })
const order = (a: { time: number; key: number }, b: { time: number; key: number }): number => a.time - b.time || a.key - b.key

/** Pushes (siftUp) and pops (removeTop) against a sorted array; then heapify of what is left, drained in order. */
const agrees = (h: Heap) => fc.property(ops, (list: Op[]) => {
  const keys = new Float64Array(list.length + 1), keyOf = new Float64Array(list.length + 1), times = new Float64Array(list.length + 1), slots = new Int32Array(list.length + 1)
  const model: { time: number; key: number; slot: number }[] = []
  let n = 0, nextSlot = 0
  for (const op of list) {
    if (op.push) {
      const slot = nextSlot++
      keyOf[slot] = op.key * 1024 + slot // unique, as the queue's priority·2^44 + seq
      h.siftUp(times, slots, keys, n++, op.time, keyOf[slot]!, slot)
      model.push({ time: op.time, key: keyOf[slot]!, slot })
      model.sort(order)
    } else if (n > 0) {
      const want = model.shift()!
      if (times[0] !== want.time || keys[0] !== want.key || slots[0] !== want.slot) return false
      h.removeTop(times, slots, keys, --n)
    }
  }
  // What is left, shuffled (reversed) and re-heapified, drains in order.
  times.subarray(0, n).reverse()
  keys.subarray(0, n).reverse()
  slots.subarray(0, n).reverse()
  h.heapify(times, slots, keys, n)
  for (const want of model) {
    if (times[0] !== want.time || keys[0] !== want.key || slots[0] !== want.slot) return false
    h.removeTop(times, slots, keys, --n)
  }
  return n === 0
})

describe("keyedHeap (EventQueue's heap operations)", () => {
  it("siftUp/removeTop/heapify keep (time, key) order, ties on time by key (model-based)", () => {
    fc.assert(agrees({ siftUp, removeTop, heapify }), { numRuns: 300 })
  })

  it("the model-based test catches a removeTop that ignores the keys on equal times, one that never takes the right child, and a heapify that ignores the keys (broken variants)", () => {
    // A removeTop written as the real one but choosing children and stopping by `before`.
    const removeTopBy = (before: (t: number, k: number, ct: number, ck: number) => boolean, leftOnly = false): Heap["removeTop"] => (times, slots, keys, last) => {
      if (last === 0) return
      const time = times[last]!, key = keys[last]!, slot = slots[last]!
      let pos = 0
      for (let left = 1; left < last; left = 2 * pos + 1) {
        const right = left + 1
        const child = !leftOnly && right < last && before(times[right]!, keys[right]!, times[left]!, keys[left]!) ? right : left
        if (!before(times[child]!, keys[child]!, time, key)) break
        times[pos] = times[child]!
        keys[pos] = keys[child]!
        slots[pos] = slots[child]!
        pos = child
      }
      times[pos] = time
      keys[pos] = key
      slots[pos] = slot
    }
    const byTimeAndKey = (t: number, k: number, ct: number, ck: number): boolean => t < ct || (t === ct && k < ck)
    // Sanity: with the right order it agrees, so the variants below fail for their flaw only.
    expect(fc.check(agrees({ siftUp, heapify, removeTop: removeTopBy(byTimeAndKey) }), { numRuns: 300 }).failed).toBe(false)
    const tieBlind: Heap = { siftUp, heapify, removeTop: removeTopBy((t, _k, ct) => t < ct) }
    const leftOnly: Heap = { siftUp, heapify, removeTop: removeTopBy(byTimeAndKey, true) }
    const zeros = new Float64Array(1 << 12)
    const tieBlindHeapify: Heap = {
      siftUp,
      removeTop,
      heapify: (times, slots, keys, n) => {
        // Sifts with all keys 0 (ties on time left in place order), then puts each entry's key back beside it.
        const keyOf = new Map<number, number>()
        for (let i = 0; i < n; i++) keyOf.set(slots[i]!, keys[i]!)
        heapify(times, slots, zeros, n)
        for (let i = 0; i < n; i++) keys[i] = keyOf.get(slots[i]!)!
      },
    }
    for (const broken of [tieBlind, leftOnly, tieBlindHeapify]) expect(fc.check(agrees(broken), { numRuns: 900, endOnFailure: true }).failed).toBe(true)
  })

  it("siftDown from a hole at any position restores the heap below it", () => {
    const keys = Float64Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    const times = Float64Array.from([1, 3, 2, 5, 4, 6, 7, 9]), slots = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    siftDown(times, slots, keys, 8, 1, 8, 9, 9) // replace position 1 (time 3) by time 8, key 9
    expect([...times]).toEqual([1, 4, 2, 5, 8, 6, 7, 9])
    expect([...keys]).toEqual([0, 4, 2, 3, 9, 5, 6, 7])
    expect([...slots]).toEqual([0, 4, 2, 3, 9, 5, 6, 7])
  })
})
