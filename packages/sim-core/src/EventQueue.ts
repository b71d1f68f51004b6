/**
 * The pending-event set: push, pop in order, cancel.
 *
 * Order: events are totally ordered by `(time, priority, seq)`. `priority` is a small integer
 * (0..255, lower first: see `EventClass`), `seq` a counter incremented at every push, so events
 * with equal time and priority pop in insertion order (FIFO). The order never depends on heap
 * stability, object identity or anything but these three numbers.
 *
 * Structure: a binary heap of the near events and a calendar of the later ones once many are
 * pending (`EventCalendar.ts`: why and how; `EventHeap.ts`: the heap and the slots). The calendar
 * only decides where an event waits; the heap orders.
 *
 * Cancellation is O(1) by generation: a handle encodes `(slot, generation)`; a slot's generation
 * is odd while its event is pending and even otherwise, so cancelling (or popping) bumps it once
 * and every older handle goes stale; a dead entry is dropped when it reaches the top (cancelled
 * there at once, surfaced by a pop at the next look) or when the calendar passes it. If dead
 * entries outnumber live ones in the heap (or in the calendar) it is compacted (amortised O(1)
 * per cancel).
 *
 * @module
 */
import { EventCalendar } from "./EventCalendar.ts"
import { badPriority, badTime, IN_HEAP, PRIORITY_SHIFT, SLOT_BITS } from "./EventHeap.ts"

export { EventQueueError } from "./EventHeap.ts"

/** A handle returned by `push`, for `cancel`/`isPending`. Never 0 for a live event... but opaque. */
export type EventHandle = number

export class EventQueue extends EventCalendar {
  /** Number of live (not cancelled) pending events. */
  get size(): number {
    return this.length - this.dead + this.ringCount + this.byCount - this.farDead
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
    if (time < this.nearEnd) {
      this.heapInsert(time, slot, key)
      if (this.length >= this.calendarFrom) this.toCalendar()
    } else {
      this.pushFar(time, slot)
    }
    return gen * SLOT_BITS + slot
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. O(1). */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS
    const gen = (handle - slot) / SLOT_BITS
    if (slot >= this.slotCount || this.sGen[slot] !== gen || (gen & 1) === 0) return false
    this.sGen[slot] = (gen + 1) & 0x1fff_ffff // even: dead, its entry is dropped later
    if (this.sNext[slot] !== IN_HEAP) {
      if (++this.farDead > 64 && this.farDead > (this.ringCount + this.byCount) >> 1) this.compactFar()
      return true
    }
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
   * A lower bound of `peekTime()`, changing no pending event: exact unless a cancelled entry
   * surfaced at the heap's top since the last pop. O(1) but when the heap is empty and the
   * calendar is not: then the calendar's next bucket moves to the heap first (amortised O(1)).
   */
  nextTimeAtLeast(): number {
    if (this.length > 0) return this.hTime[0]!
    // NOTE: an empty heap takes the next bucket (the same events, only where they wait).
    return this.ringCount + this.byCount > 0 && this.refill() ? this.hTime[0]! : Infinity
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
    if (this.length === 0 && !(this.ringCount + this.byCount > 0 && this.refill())) return false
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
    for (let k = 0; k < this.bCount; k++) {
      for (let s = this.bHead[k]!; s >= 0; s = this.sNext[s]!) this.releaseSlot(s)
      this.bHead[k] = -1
    }
    for (let s = this.byHead; s >= 0; s = this.sNext[s]!) this.releaseSlot(s)
    this.ringCount = this.byCount = this.farDead = 0
    this.byHead = -1
  }

  /** Drops dead entries at the heap's top; an emptied heap takes the next bucket (then drops again). */
  private dropDeadTop(): void {
    for (;;) {
      while (this.length > 0 && (this.sGen[this.hSlot[0]!]! & 1) === 0) {
        this.freeSlots[this.freeCount++] = this.hSlot[0]!
        this.dead--
        this.removeTop()
      }
      if (this.length > 0 || this.ringCount + this.byCount === 0 || !this.refill()) return
    }
  }
}
