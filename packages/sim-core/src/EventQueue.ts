/**
 * The pending-event set: a binary min-heap over parallel typed arrays.
 *
 * Order: events are totally ordered by `(time, priority, seq)`. `priority` is a small integer
 * (0..255, lower first: see `EventClass`), `seq` a counter incremented at every push, so events
 * with equal time and priority pop in insertion order (FIFO). The order never depends on heap
 * stability, object identity or anything but these three numbers.
 *
 * Storage: the heap holds `(time, slot)`; each event's tie-break key
 * `priority * 2^44 + seq` (exact in a double while `seq < 2^44`) and payload (handler id, two
 * numeric arguments) live in a slot of a free-listed pool, so a sift moves two numbers per level
 * and reads the key only on equal times. Nothing is allocated per event: arrays grow by doubling.
 *
 * Cancellation is O(1) by generation: a handle encodes `(slot, generation)`; a slot's generation
 * is odd while its event is pending and even otherwise, so cancelling (or popping) bumps it once
 * and every older handle goes stale; a dead entry is dropped when it reaches the top (cancelled
 * there at once, surfaced by a pop at the next look). If dead entries outnumber live ones the heap
 * is compacted (amortised O(1) per cancel).
 *
 * NOTE: sift loops are written with a "hole" (one write per level instead of a swap) and
 * inline comparisons, as in flatqueue, for speed.
 *
 * @module
 */

/** A handle returned by `push`, for `cancel`/`isPending`. Never 0 for a live event... but opaque. */
export type EventHandle = number

import { CapacityError } from "./Capacity.ts"

const SLOT_BITS = 2 ** 24 // slots per generation step: at most 16 M events pending at once
const PRIORITY_SHIFT = 2 ** 44 // seq < 2^44 ≈ 1.76e13 events per run

/** Thrown on misuse (bad time or priority, too many pending events). */
export class EventQueueError extends RangeError {
  override readonly name = "EventQueueError"
}

export class EventQueue {
  // heap, by position
  private hTime: Float64Array
  private hSlot: Int32Array
  private length = 0
  // pool, by slot
  private sKey: Float64Array
  private sHandler: Int32Array
  private sA0: Float64Array
  private sA1: Float64Array
  private sGen: Uint32Array
  private freeSlots: Int32Array
  private freeCount = 0
  private slotCount = 0
  private seqCounter = 0
  private dead = 0

  /** Fields of the last popped event (a reused record: read them right after `pop`). */
  time = 0
  handler = 0
  a0 = 0
  a1 = 0
  private key = 0

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
  }

  /** Number of live (not cancelled) pending events. */
  get size(): number {
    return this.length - this.dead
  }

  /** Number of events ever pushed (the next `seq`). */
  get pushed(): number {
    return this.seqCounter
  }

  /**
   * Adds an event. `time` must be a non-negative integer, `priority` an integer in 0..255.
   * Returns a handle for `cancel`.
   */
  push(time: number, priority: number, handler: number, a0 = 0, a1 = 0): EventHandle {
    if (!(time >= 0 && time <= Number.MAX_SAFE_INTEGER && Math.floor(time) === time)) badTime(time)
    if ((priority & 255) !== priority) badPriority(priority)
    let slot: number
    if (this.freeCount > 0) {
      slot = this.freeSlots[--this.freeCount]!
    } else {
      slot = this.slotCount++
      if (slot >= this.sHandler.length) this.growSlots()
    }
    const key = priority * PRIORITY_SHIFT + this.seqCounter++
    const sKey = this.sKey
    sKey[slot] = key
    this.sHandler[slot] = handler
    this.sA0[slot] = a0
    this.sA1[slot] = a1
    const gen = (this.sGen[slot]! + 1) & 0x1fff_ffff // odd: pending
    this.sGen[slot] = gen
    if (this.length >= this.hTime.length) this.growHeap()
    // NOTE: sift-up with a hole, comparisons inlined; keys read only on equal times.
    const hTime = this.hTime, hSlot = this.hSlot
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
    return gen * SLOT_BITS + slot
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. O(1). */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS
    const gen = (handle - slot) / SLOT_BITS
    if (slot >= this.slotCount || this.sGen[slot] !== gen || (gen & 1) === 0) return false
    this.sGen[slot] = (gen + 1) & 0x1fff_ffff // even: dead, its heap entry is dropped later
    this.dead++
    if (this.hSlot[0] === slot) this.dropDeadTop() // at the top: dropped at once
    if (this.dead > 64 && this.dead > this.length >> 1) this.compact()
    return true
  }

  /** True while the event of `handle` is pending (neither popped nor cancelled). */
  isPending(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS
    const gen = (handle - slot) / SLOT_BITS
    return slot < this.slotCount && this.sGen[slot] === gen && (gen & 1) === 1
  }

  /**
   * Whether no pending event is due at or before `timeNs`, in O(1), changing nothing: exact unless
   * a cancelled entry surfaced at the heap's top since the last pop (then false: the caller posts
   * its event instead of running it in place).
   * NOTE: a boolean, so the per-event caller (`Simulation.runNextInPlace`) neither boxes nor
   * unboxes the top's time (issue 15: the boxed number was 11 MB allocated per 5 harness runs).
   */
  noneUntil(timeNs: number): boolean {
    return this.length === 0 || this.hTime[0]! > timeNs
  }

  /** Time of the earliest live event, or `Infinity` when none is pending. */
  peekTime(): number {
    this.dropDeadTop()
    return this.length > 0 ? this.hTime[0]! : Infinity
  }

  /**
   * Removes the earliest live event and exposes it in `time`, `priority`, `seq`, `handler`,
   * `a0`, `a1`. Returns false (and changes nothing) when the queue is empty.
   */
  pop(): boolean {
    return this.popUntil(Infinity)
  }

  /**
   * As `pop`, for the earliest live event only if its time is ≤ `untilNs`: false (and nothing
   * changes) when the queue is empty or the next event is later (tell them apart by `size`).
   * The run loop calls it, so it reads the top once per event (not `peekTime`, then `pop`).
   */
  popUntil(untilNs: number): boolean {
    if (this.length === 0) return false
    let slot = this.hSlot[0]!
    if ((this.sGen[slot]! & 1) === 0) {
      this.dropDeadTop()
      if (this.length === 0) return false
      slot = this.hSlot[0]!
    }
    const time = this.hTime[0]!
    if (time > untilNs) return false
    this.time = time
    this.key = this.sKey[slot]!
    this.handler = this.sHandler[slot]!
    this.a0 = this.sA0[slot]!
    this.a1 = this.sA1[slot]!
    this.releaseSlot(slot)
    this.removeTop()
    return true
  }

  /** Removes every event. Handles issued before become stale. */
  clear(): void {
    for (let i = 0; i < this.length; i++) this.releaseSlot(this.hSlot[i]!)
    this.length = 0
    this.dead = 0
  }

  /** Returns a slot to the free list, making its generation even (not pending) if it was odd. */
  private releaseSlot(slot: number): void {
    const gen = this.sGen[slot]!
    if ((gen & 1) === 1) this.sGen[slot] = (gen + 1) & 0x1fff_ffff
    this.freeSlots[this.freeCount++] = slot
  }

  private dropDeadTop(): void {
    while (this.length > 0 && (this.sGen[this.hSlot[0]!]! & 1) === 0) {
      this.freeSlots[this.freeCount++] = this.hSlot[0]!
      this.dead--
      this.removeTop()
    }
  }

  private removeTop(): void {
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
  private compact(): void {
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

  private siftDown(start: number): void {
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

  private growHeap(): void {
    const n = this.hTime.length * 2
    this.hTime = grow(this.hTime, new Float64Array(n))
    this.hSlot = grow(this.hSlot, new Int32Array(n))
  }

  private growSlots(): void {
    const n = this.sHandler.length * 2
    if (n > SLOT_BITS) throw new CapacityError(`EventQueue: more than ${SLOT_BITS} events pending at once (the input asks for more than the simulator holds)`)
    this.sKey = grow(this.sKey, new Float64Array(n))
    this.sHandler = grow(this.sHandler, new Int32Array(n))
    this.sA0 = grow(this.sA0, new Float64Array(n))
    this.sA1 = grow(this.sA1, new Float64Array(n))
    this.sGen = grow(this.sGen, new Uint32Array(n))
    this.freeSlots = grow(this.freeSlots, new Int32Array(n))
  }
}

const badTime = (time: number): never => {
  throw new EventQueueError(`EventQueue.push: time ${time} must be a non-negative integer (ns)`)
}
const badPriority = (priority: number): never => {
  throw new EventQueueError(`EventQueue.push: priority ${priority} must be an integer in 0..255`)
}

const grow = <A extends Float64Array | Int32Array | Uint32Array>(from: A, to: A): A => {
  to.set(from as never)
  return to
}
