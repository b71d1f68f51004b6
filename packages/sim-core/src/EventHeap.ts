/**
 * The event queue's storage (`EventQueue.ts` is the queue; `EventCalendar.ts` its calendar tier): a
 * binary min-heap of `(time, slot)` over parallel typed arrays, and a free-listed pool of slots.
 *
 * Storage: each event's tie-break key `priority * 2^44 + seq` (exact in a double while
 * `seq < 2^44`) and payload (handler id, two numeric arguments) live in its slot, so a sift moves
 * two numbers per level and reads the key only on equal times. A slot's generation is odd while its
 * event is pending and even otherwise (`EventQueue.ts`: handles, cancellation). A slot also holds
 * the time and list link the calendar uses while the event waits there (`sNext = IN_HEAP` while it
 * is in the heap). Nothing is allocated per event: arrays grow by doubling.
 *
 * Invariant: the heap's entries `[0, length)` are heap-ordered by `(time, key)`; `dead` of them are
 * dead (even generation), dropped when they reach the top or by `compact`.
 *
 * NOTE: sift loops are written with a "hole" (one write per level instead of a swap) and inline
 * comparisons, as in flatqueue, for speed.
 *
 * @module
 */
import { CapacityError } from "./Capacity.ts"

export const SLOT_BITS = 2 ** 24 // slots per generation step: at most 16 M events pending at once
export const PRIORITY_SHIFT = 2 ** 44 // seq < 2^44 ≈ 1.76e13 events per run
/** `sNext` of a slot whose event is in the heap (a calendar slot holds the next slot of its list, or -1). */
export const IN_HEAP = -2

/** Thrown on misuse (bad time or priority, too many pending events). */
export class EventQueueError extends RangeError {
  override readonly name = "EventQueueError"
}

export class EventHeap {
  // heap, by position
  protected hTime: Float64Array
  protected hSlot: Int32Array
  protected length = 0
  // pool, by slot
  protected sKey: Float64Array
  protected sHandler: Int32Array
  protected sA0: Float64Array
  protected sA1: Float64Array
  protected sGen: Uint32Array
  protected freeSlots: Int32Array
  protected freeCount = 0
  protected slotCount = 0
  protected seqCounter = 0
  /** Dead (cancelled) entries in the heap. */
  protected dead = 0
  // calendar (`EventCalendar.ts`), by slot: the event's time and the next slot of its list
  protected sTime: Float64Array
  protected sNext: Int32Array

  /** Fields of the last popped event (a reused record: read them right after `pop`). */
  time = 0
  handler = 0
  a0 = 0
  a1 = 0
  protected key = 0

  /** Priority of the last popped event. */
  get priority(): number {
    return Math.floor(this.key / PRIORITY_SHIFT)
  }

  /** Insertion number of the last popped event. */
  get seq(): number {
    return this.key % PRIORITY_SHIFT
  }

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity | 0)
    this.hTime = new Float64Array(n)
    this.hSlot = new Int32Array(n)
    this.sKey = new Float64Array(n)
    this.sHandler = new Int32Array(n)
    this.sA0 = new Float64Array(n)
    this.sA1 = new Float64Array(n)
    this.sGen = new Uint32Array(n)
    this.freeSlots = new Int32Array(n)
    this.sTime = new Float64Array(n)
    this.sNext = new Int32Array(n)
  }

  /** Into the near heap (`time < nearEnd`). */
  protected heapInsert(time: number, slot: number, key: number): void {
    this.sNext[slot] = IN_HEAP
    if (this.length >= this.hTime.length) this.growHeap()
    // NOTE: sift-up with a hole, comparisons inlined; keys read only on equal times.
    const hTime = this.hTime, hSlot = this.hSlot, sKey = this.sKey
    let pos = this.length++
    while (pos > 0) {
      const parent = (pos - 1) >> 1
      const pt = hTime[parent]!
      if (pt < time || (pt === time && sKey[hSlot[parent]!]! <= key)) break
      hTime[pos] = pt
      hSlot[pos] = hSlot[parent]!
      pos = parent
    }
    hTime[pos] = time
    hSlot[pos] = slot
  }

  /** Returns a slot to the free list, making its generation even (not pending) if it was odd. */
  protected releaseSlot(slot: number): void {
    const gen = this.sGen[slot]!
    if ((gen & 1) === 1) this.sGen[slot] = (gen + 1) & 0x1fff_ffff
    this.freeSlots[this.freeCount++] = slot
  }

  protected removeTop(): void {
    const last = --this.length
    if (last === 0) return
    const hTime = this.hTime, hSlot = this.hSlot, sKey = this.sKey
    const time = hTime[last]!, slot = hSlot[last]!
    // NOTE: sift-down with a hole, comparisons inlined; keys read only on equal times.
    const half = last >> 1
    let pos = 0
    while (pos < half) {
      let child = 2 * pos + 1
      let ct = hTime[child]!
      const right = child + 1
      if (right < last) {
        const rt = hTime[right]!
        if (rt < ct || (rt === ct && sKey[hSlot[right]!]! < sKey[hSlot[child]!]!)) {
          child = right
          ct = rt
        }
      }
      if (time < ct || (time === ct && sKey[slot]! <= sKey[hSlot[child]!]!)) break
      hTime[pos] = ct
      hSlot[pos] = hSlot[child]!
      pos = child
    }
    hTime[pos] = time
    hSlot[pos] = slot
  }

  /** Drops every dead entry and re-heapifies (Floyd), O(n). */
  protected compact(): void {
    const hTime = this.hTime, hSlot = this.hSlot
    let n = 0
    for (let i = 0; i < this.length; i++) {
      const slot = hSlot[i]!
      if ((this.sGen[slot]! & 1) === 1) {
        hTime[n] = hTime[i]!
        hSlot[n] = slot
        n++
      } else {
        this.freeSlots[this.freeCount++] = slot
      }
    }
    this.length = n
    this.dead = 0
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  protected siftDown(start: number): void {
    const hTime = this.hTime, hSlot = this.hSlot, sKey = this.sKey
    const n = this.length
    const time = hTime[start]!, slot = hSlot[start]!, key = sKey[slot]!
    let pos = start
    for (;;) {
      let child = 2 * pos + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && (hTime[right]! < hTime[child]! || (hTime[right] === hTime[child] && sKey[hSlot[right]!]! < sKey[hSlot[child]!]!))) {
        child = right
      }
      const ct = hTime[child]!
      if (time < ct || (time === ct && key <= sKey[hSlot[child]!]!)) break
      hTime[pos] = ct
      hSlot[pos] = hSlot[child]!
      pos = child
    }
    hTime[pos] = time
    hSlot[pos] = slot
  }

  protected growHeap(): void {
    const n = this.hTime.length * 2
    this.hTime = grow(this.hTime, new Float64Array(n))
    this.hSlot = grow(this.hSlot, new Int32Array(n))
  }

  protected growSlots(): void {
    const n = this.sHandler.length * 2
    if (n > SLOT_BITS) throw new CapacityError(`EventQueue: more than ${SLOT_BITS} events pending at once (the input asks for more than the simulator holds)`)
    this.sKey = grow(this.sKey, new Float64Array(n))
    this.sHandler = grow(this.sHandler, new Int32Array(n))
    this.sA0 = grow(this.sA0, new Float64Array(n))
    this.sA1 = grow(this.sA1, new Float64Array(n))
    this.sGen = grow(this.sGen, new Uint32Array(n))
    this.freeSlots = grow(this.freeSlots, new Int32Array(n))
    this.sTime = grow(this.sTime, new Float64Array(n))
    this.sNext = grow(this.sNext, new Int32Array(n))
  }
}

export const badTime = (time: number): never => {
  throw new EventQueueError(`EventQueue.push: time ${time} must be a non-negative integer (ns)`)
}
export const badPriority = (priority: number): never => {
  throw new EventQueueError(`EventQueue.push: priority ${priority} must be an integer in 0..255`)
}

const grow = <A extends Float64Array | Int32Array | Uint32Array>(from: A, to: A): A => {
  to.set(from as never)
  return to
}
