import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { heapify, removeTop, siftDown, siftUp } from "../src/internal/keyedHeap.ts"

type Op = { push: true; time: number; key: number } | { push: false }
type Heap = { siftUp: typeof siftUp; removeTop: typeof removeTop; heapify: typeof heapify }

/** Entries as the queue has them: time in `times`, slot in `slots`, tie-break `keys[slot]` (unique). */
const entry = fc.record({ time: fc.integer({ min: 0, max: 6 }), key: fc.integer({ min: 0, max: 1000 }) })
const ops = fc.array(fc.oneof(entry.map((e) => ({ push: true as const, ...e })), fc.constant({ push: false as const })), { maxLength: 200 })
const order = (a: { time: number; key: number }, b: { time: number; key: number }): number => a.time - b.time || a.key - b.key

/** Pushes (siftUp) and pops (removeTop) against a sorted array; then heapify of what is left, drained in order. */
const agrees = (h: Heap) => fc.property(ops, (list: Op[]) => {
  const keys = new Float64Array(list.length + 1), times = new Float64Array(list.length + 1), slots = new Int32Array(list.length + 1)
  const model: { time: number; key: number; slot: number }[] = []
  let n = 0, nextSlot = 0
  for (const op of list) {
    if (op.push) {
      const slot = nextSlot++
      keys[slot] = op.key * 1024 + slot // unique, as the queue's priority·2^44 + seq
      h.siftUp(times, slots, keys, n++, op.time, slot)
      model.push({ time: op.time, key: keys[slot]!, slot })
      model.sort(order)
    } else if (n > 0) {
      const want = model.shift()!
      if (times[0] !== want.time || slots[0] !== want.slot) return false
      h.removeTop(times, slots, keys, --n)
    }
  }
  // What is left, shuffled (reversed) and re-heapified, drains in order.
  times.subarray(0, n).reverse()
  slots.subarray(0, n).reverse()
  h.heapify(times, slots, keys, n)
  for (const want of model) {
    if (times[0] !== want.time || slots[0] !== want.slot) return false
    h.removeTop(times, slots, keys, --n)
  }
  return n === 0
})

describe("keyedHeap (EventQueue's heap operations)", () => {
  it("siftUp/removeTop/heapify keep (time, key) order, ties on time by key (model-based)", () => {
    fc.assert(agrees({ siftUp, removeTop, heapify }), { numRuns: 300 })
  })

  it("the model-based test catches a sift-down that ignores the keys on equal times, and a removeTop that never takes the right child (broken variants)", () => {
    const noKeys = new Float64Array(1 << 12) // all keys 0: ties on time broken by position only
    const tieBlind: Heap = {
      siftUp,
      heapify,
      removeTop: (times, slots, _keys, last) => { if (last > 0) siftDown(times, slots, noKeys, last, 0, times[last]!, slots[last]!) },
    }
    const leftOnly: Heap = {
      siftUp,
      heapify,
      removeTop: (times, slots, keys, last) => {
        if (last === 0) return
        const time = times[last]!, slot = slots[last]!
        let pos = 0
        for (let child = 1; child < last; child = 2 * pos + 1) {
          if (time < times[child]! || (time === times[child] && keys[slot]! <= keys[slots[child]!]!)) break
          times[pos] = times[child]!
          slots[pos] = slots[child]!
          pos = child
        }
        times[pos] = time
        slots[pos] = slot
      },
    }
    for (const broken of [tieBlind, leftOnly]) expect(fc.check(agrees(broken), { numRuns: 900, endOnFailure: true }).failed).toBe(true)
  })

  it("siftDown from a hole at any position restores the heap below it", () => {
    const keys = Float64Array.from({ length: 16 }, (_, i) => i)
    const times = Float64Array.from([1, 3, 2, 5, 4, 6, 7, 9]), slots = Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7])
    siftDown(times, slots, keys, 8, 1, 8, 9) // replace position 1 (time 3) by time 8
    expect([...times]).toEqual([1, 4, 2, 5, 8, 6, 7, 9])
    expect([...slots]).toEqual([0, 4, 2, 3, 9, 5, 6, 7])
  })
})
