/**
 * The pending-event set: a binary min-heap over parallel typed arrays.
 *
 * Order: events are totally ordered by `(time, priority, seq)`. `priority` is a small integer
 * (0..255, lower first: see `EventClass`), `seq` a counter incremented at every push, so events
 * with equal time and priority pop in insertion order (FIFO). The order never depends on heap
 * stability, object identity or anything but these three numbers.
 *
 * Storage: the heap holds `(time, key, slot)` with `key = priority * 2^44 + seq` (exact in a
 * double while `seq < 2^44`); each event's payload (handler id, two numeric arguments) lives in a
 * slot of a free-listed pool. Nothing is allocated per event: arrays grow by doubling.
 *
 * Cancellation is O(1) by generation: a handle encodes `(slot, generation)`; cancelling marks the
 * slot dead; a dead entry is dropped when it reaches the top. If dead entries outnumber live ones
 * the heap is compacted (amortised O(1) per cancel).
 *
 * NOTE: sift loops are written with a "hole" (one write per level instead of a swap) and
 * inline comparisons, as in flatqueue, for speed.
 *
 * @module
 */

/** A handle returned by `push`, for `cancel`/`isPending`. Never 0 for a live event... but opaque. */
export type EventHandle = number

const SLOT_BITS = 2 ** 24 // slots per generation step: at most 16 M events pending at once
const PRIORITY_SHIFT = 2 ** 44 // seq < 2^44 ≈ 1.76e13 events per run

/** Thrown on misuse (bad time or priority, too many pending events). */
export class EventQueueError extends RangeError {
  override readonly name = "EventQueueError"
}

export class EventQueue {
  // heap, by position
  private hTime: Float64Array
  private hKey: Float64Array
  private hSlot: Int32Array
  private length = 0
  // pool, by slot
  private sHandler: Int32Array
  private sA0: Float64Array
  private sA1: Float64Array
  private sGen: Uint32Array
  private sLive: Uint8Array
  private freeSlots: Int32Array
  private freeCount = 0
  private slotCount = 0
  private seqCounter = 0
  private dead = 0

  /** Fields of the last popped event (a reused record: read them right after `pop`). */
  time = 0
  priority = 0
  seq = 0
  handler = 0
  a0 = 0
  a1 = 0

  constructor(initialCapacity = 1024) {
    const n = Math.max(16, initialCapacity | 0)
    this.hTime = new Float64Array(n)
    this.hKey = new Float64Array(n)
    this.hSlot = new Int32Array(n)
    this.sHandler = new Int32Array(n)
    this.sA0 = new Float64Array(n)
    this.sA1 = new Float64Array(n)
    this.sGen = new Uint32Array(n)
    this.sLive = new Uint8Array(n)
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
    if (!(time >= 0 && Math.floor(time) === time && time <= Number.MAX_SAFE_INTEGER)) {
      throw new EventQueueError(`EventQueue.push: time ${time} must be a non-negative integer (ns)`)
    }
    if (!(priority >= 0 && priority <= 255 && (priority | 0) === priority)) {
      throw new EventQueueError(`EventQueue.push: priority ${priority} must be an integer in 0..255`)
    }
    let slot: number
    if (this.freeCount > 0) {
      slot = this.freeSlots[--this.freeCount]!
    } else {
      slot = this.slotCount++
      if (slot >= this.sHandler.length) this.growSlots()
    }
    this.sHandler[slot] = handler
    this.sA0[slot] = a0
    this.sA1[slot] = a1
    this.sLive[slot] = 1
    const gen = this.sGen[slot]!

    if (this.length >= this.hTime.length) this.growHeap()
    const key = priority * PRIORITY_SHIFT + this.seqCounter++
    // NOTE: sift-up with a hole, comparisons inlined.
    const hTime = this.hTime, hKey = this.hKey, hSlot = this.hSlot
    let pos = this.length++
    while (pos > 0) {
      const parent = (pos - 1) >> 1
      const pt = hTime[parent]!
      if (pt < time || (pt === time && hKey[parent]! <= key)) break
      hTime[pos] = pt
      hKey[pos] = hKey[parent]!
      hSlot[pos] = hSlot[parent]!
      pos = parent
    }
    hTime[pos] = time
    hKey[pos] = key
    hSlot[pos] = slot
    return gen * SLOT_BITS + slot
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. O(1). */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS
    const gen = (handle - slot) / SLOT_BITS
    if (slot >= this.slotCount || this.sGen[slot] !== gen || this.sLive[slot] !== 1) return false
    this.sLive[slot] = 0
    this.dead++
    if (this.dead > 64 && this.dead > this.length >> 1) this.compact()
    return true
  }

  /** True while the event of `handle` is pending (neither popped nor cancelled). */
  isPending(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS
    const gen = (handle - slot) / SLOT_BITS
    return slot < this.slotCount && this.sGen[slot] === gen && this.sLive[slot] === 1
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
    this.dropDeadTop()
    if (this.length === 0) return false
    const slot = this.hSlot[0]!
    const key = this.hKey[0]!
    this.time = this.hTime[0]!
    this.priority = Math.floor(key / PRIORITY_SHIFT)
    this.seq = key - this.priority * PRIORITY_SHIFT
    this.handler = this.sHandler[slot]!
    this.a0 = this.sA0[slot]!
    this.a1 = this.sA1[slot]!
    this.releaseSlot(slot)
    this.removeTop()
    return true
  }

  /** Removes every event. Handles issued before become stale. */
  clear(): void {
    for (let i = 0; i < this.length; i++) {
      const slot = this.hSlot[i]!
      if (this.sLive[slot] === 1) this.releaseSlot(slot)
      else this.freeDeadSlot(slot)
    }
    this.length = 0
    this.dead = 0
  }

  private releaseSlot(slot: number): void {
    this.sLive[slot] = 0
    this.sGen[slot] = (this.sGen[slot]! + 1) % 0x2000_0000
    this.freeSlots[this.freeCount++] = slot
  }

  private freeDeadSlot(slot: number): void {
    this.sGen[slot] = (this.sGen[slot]! + 1) % 0x2000_0000
    this.freeSlots[this.freeCount++] = slot
  }

  private dropDeadTop(): void {
    while (this.length > 0 && this.sLive[this.hSlot[0]!] !== 1) {
      this.freeDeadSlot(this.hSlot[0]!)
      this.dead--
      this.removeTop()
    }
  }

  private removeTop(): void {
    const last = --this.length
    if (last === 0) return
    const hTime = this.hTime, hKey = this.hKey, hSlot = this.hSlot
    const time = hTime[last]!, key = hKey[last]!, slot = hSlot[last]!
    // NOTE: sift-down with a hole, comparisons inlined.
    const half = last >> 1
    let pos = 0
    while (pos < half) {
      let child = 2 * pos + 1
      let ct = hTime[child]!
      let ck = hKey[child]!
      const right = child + 1
      if (right < last) {
        const rt = hTime[right]!
        if (rt < ct || (rt === ct && hKey[right]! < ck)) {
          child = right
          ct = rt
          ck = hKey[right]!
        }
      }
      if (time < ct || (time === ct && key <= ck)) break
      hTime[pos] = ct
      hKey[pos] = ck
      hSlot[pos] = hSlot[child]!
      pos = child
    }
    hTime[pos] = time
    hKey[pos] = key
    hSlot[pos] = slot
  }

  /** Drops every dead entry and re-heapifies (Floyd), O(n). */
  private compact(): void {
    const hTime = this.hTime, hKey = this.hKey, hSlot = this.hSlot
    let n = 0
    for (let i = 0; i < this.length; i++) {
      const slot = hSlot[i]!
      if (this.sLive[slot] === 1) {
        hTime[n] = hTime[i]!
        hKey[n] = hKey[i]!
        hSlot[n] = slot
        n++
      } else {
        this.freeDeadSlot(slot)
      }
    }
    this.length = n
    this.dead = 0
    for (let i = (n >> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private siftDown(start: number): void {
    const hTime = this.hTime, hKey = this.hKey, hSlot = this.hSlot
    const n = this.length
    const time = hTime[start]!, key = hKey[start]!, slot = hSlot[start]!
    let pos = start
    for (;;) {
      let child = 2 * pos + 1
      if (child >= n) break
      const right = child + 1
      if (right < n && (hTime[right]! < hTime[child]! || (hTime[right] === hTime[child] && hKey[right]! < hKey[child]!))) {
        child = right
      }
      const ct = hTime[child]!
      if (time < ct || (time === ct && key <= hKey[child]!)) break
      hTime[pos] = ct
      hKey[pos] = hKey[child]!
      hSlot[pos] = hSlot[child]!
      pos = child
    }
    hTime[pos] = time
    hKey[pos] = key
    hSlot[pos] = slot
  }

  private growHeap(): void {
    const n = this.hTime.length * 2
    this.hTime = grow(this.hTime, new Float64Array(n))
    this.hKey = grow(this.hKey, new Float64Array(n))
    this.hSlot = grow(this.hSlot, new Int32Array(n))
  }

  private growSlots(): void {
    const n = this.sHandler.length * 2
    if (n > SLOT_BITS) throw new EventQueueError(`EventQueue: more than ${SLOT_BITS} events pending`)
    this.sHandler = grow(this.sHandler, new Int32Array(n))
    this.sA0 = grow(this.sA0, new Float64Array(n))
    this.sA1 = grow(this.sA1, new Float64Array(n))
    this.sGen = grow(this.sGen, new Uint32Array(n))
    this.sLive = grow(this.sLive, new Uint8Array(n))
    this.freeSlots = grow(this.freeSlots, new Int32Array(n))
  }
}

const grow = <A extends Float64Array | Int32Array | Uint32Array | Uint8Array>(from: A, to: A): A => {
  to.set(from as never)
  return to
}
