/**
 * The pending-event set: a binary min-heap over parallel typed arrays.
 *
 * Order: events are totally ordered by `(time, priority, seq)`. `priority` is a small integer
 * (0..255, lower first: see `EventClass`), `seq` a counter incremented at every push, so events
 * with equal time and priority pop in insertion order (FIFO). The order never depends on heap
 * stability, object identity or anything but these three numbers.
 *
 * Storage: the heap holds `(time, key, slot)` (three parallel arrays), the key being the event's
 * tie-break `priority * 2^44 + seq` (exact in a double while `seq < 2^44`), also kept with its
 * payload (handler id, two numeric arguments) in a slot of a free-listed pool; a sift moves three
 * numbers per level and compares keys without a load through the slot (with harmonic periods most
 * times tie: see `keyedHeap.ts`). Nothing is allocated per event: arrays grow by doubling.
 *
 * Cancellation is O(1) by generation: a handle encodes `(slot, generation)`; a slot's generation
 * is odd while its event is pending and even otherwise, so cancelling (or popping) bumps it once
 * and every older handle goes stale; a dead entry is dropped when it reaches the top (cancelled
 * there at once, surfaced by a pop at the next look). If dead entries outnumber live ones the heap
 * is compacted (amortised O(1) per cancel).
 *
 * The front event: an event pushed when it precedes every pending one (the heap's top, live or
 * not, and the far list's head) is kept in a one-event register in front of the heap; a later
 * push that precedes it moves it into the heap and takes its place; a pop takes it with no heap
 * operation. In a model where each event mostly posts the next one (a core's work completing, a
 * thread stepping on), most events never enter the heap: no sift-up to the root, no sift-down.
 *
 * Far events: an event pushed at least `farNs` (default 2^40 ns ≈ 18 simulated minutes) after
 * the last popped time goes, while fewer than `farMax` (default 16) are there, to a short list kept
 * sorted by `(time, key)` beside the heap instead of into it; each pop compares the heap's top with
 * the list's head (one number compared on the hot path: `farNext`, the head's time), so the order
 * is the same as with the heap alone. Cancelling a far event takes it out of the list at once (no
 * dead entry).
 *
 * The ahead heap: once the heap holds `aheadFrom` (default 128) entries, the events at least as far
 * after the last popped time as its nearest 1/32's farthest (`aheadNs`) move to a second heap, and
 * later pushes that far ahead go there too; the heap keeps the near events (a short sift each:
 * in a periodic task set of 200 tasks, the ~200 pending next releases wait in the ahead heap while
 * the scheduler's timer and the end of the running computation, pushed and mostly cancelled or
 * popped soon after, sift through a heap of a few). `farNext`/`farSlot` are the earlier of the far
 * list's head and the ahead heap's (live) top, so the pop's one far test covers both and the order
 * is still the heap's alone. The split is undone (the ahead heap merged back, the next split tried
 * after twice as many pushes as the last wait) when it holds nothing back: more than 3/4 of the
 * pushes it takes, or half its pops finding the heap empty (checked every `aheadCheck`, default
 * 256, of each); no split is tried past 16·aheadFrom entries (sorting and moving them would cost
 * more than the longer heap does).
 *
 * The heap's operations (sift up, sift down, remove the top, heapify) are `internal/keyedHeap.ts`'s;
 * the ahead heap's are `internal/aheadHeap.ts`'s (`(time, slot)` only, keys through the slot on ties).
 *
 * NOTE: the sift loops are written with a "hole" (one write per level instead of a swap) and
 * inline comparisons, as in flatqueue, for speed (see `keyedHeap.ts`). The front event and the far
 * list are for speed too (issue 15): in message-passing nearly every event is posted by the one
 * before it; and a busy-poll is one CPU piece of 10^15 ns that the writer's change cuts short, so
 * it pushed and cancelled two such events per round trip, each leaving a dead entry in the heap (a
 * deeper heap for every pop, and a compaction every ~32 round trips). The ahead heap is for speed
 * (issue 15, tasks per PCPU 5 → 200): `push` and `popUntil` have no test for it beyond the far test they
 * had (`splitNs` = min(farNs, aheadNs); `heapLimit` replaces the heap's capacity test), so a
 * queue that never splits (no built-in or experiment of the paper does) runs the same hot paths.
 * Measured (in-process A/B against the tree before it, CPU medians of 20 alternating rounds, both
 * load orders): the scale bench's workload at 200 tasks, log-uniform periods 0.83× / 0.87× per
 * event, harmonic (most pushes would go ahead: undone) 1.00× / 1.03×; message-passing,
 * shared-driver, quest-linux (scale 0.3) and the jobs bench's harness workload within ±2.2 %.
 *
 * @module
 */

/** A handle returned by `push`, for `cancel`/`isPending`. Never 0 for a live event... but opaque. */
export type EventHandle = number

import { CapacityError } from "./Capacity.ts"
import { heapifyAhead, removeTopAhead, siftUpAhead } from "./internal/aheadHeap.ts"
import { grow, heapify, removeTop, siftUp } from "./internal/keyedHeap.ts"

const SLOT_BITS = 2 ** 24 // slots per generation step: at most 16 M events pending at once
const SLOT_INV = 2 ** -24 // 1 / SLOT_BITS, exact
const PRIORITY_SHIFT = 2 ** 44 // seq < 2^44 ≈ 1.76e13 events per run
/** Default `farNs`: how far after the last popped time an event must be to go to the far list. */
export const FAR_NS = 2 ** 40
/** Default `farMax`: the far list's length at most (past it, far events go to the heap). */
export const FAR_MAX = 16
/** Default `aheadFrom`: the heap's length at which events far ahead start to go to the ahead heap. */
export const AHEAD_FROM = 128

/** Tuning of the far list (tests make it small to exercise it; the order never depends on it). */
export interface EventQueueOptions {
  /** An event at least this many ns after the last popped time may go to the far list (≥ 1). */
  readonly farNs?: number
  /** The far list's length at most (0: no far list). */
  readonly farMax?: number
  /** The heap's length (live and dead entries) that makes the queue split off an ahead heap (≥ 2). */
  readonly aheadFrom?: number
  /** Every this many pushes to the ahead heap (a power of 2), whether to merge it back is checked. */
  readonly aheadCheck?: number
}

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
  // far list, sorted by (time, key): slots and times; `sFar[slot]` is 1 while the slot is in it
  private readonly farNs: number
  private readonly farSlots: Int32Array
  private readonly farTimes: Float64Array
  private farCount = 0
  /** Time of the far list's head, or Infinity when it is empty. */
  private farNext = Infinity
  /** Slot of that event (the far list's head or the ahead heap's top), or -1. */
  private farSlot = -1
  /** The time of the event `push` hands to `pushAhead`. */
  private aheadTime = 0
  /** 1 while the slot is in the far list, 2 while in the ahead heap. */
  private sFar: Uint8Array
  // the ahead heap: events pushed at least `aheadNs` after the last popped time, once the heap grew
  // past `aheadFrom` (dead entries as in the heap; its top is always live; keys by slot: `sKey`)
  private aTime: Float64Array
  private aSlot: Int32Array
  private aLength = 0
  private aDead = 0
  private readonly aheadFrom: number
  /** Events at least this far after the last popped time go to the ahead heap (Infinity: none yet). */
  private aheadNs = Infinity
  /** min(farNs, aheadNs): `push`'s one test for both. */
  private splitNs: number
  /** The heap's length at which `heapPush` makes room (grows it, or splits off the ahead heap). */
  private heapLimit: number
  /** No split is tried before this many pushes (`makeRoom`). */
  private splitRetryAt = 0
  /** Pushes (`seq`) at the last split, and to the ahead heap since; pushes to wait after an undone split. */
  private splitSeq = 0
  private aheadPushes = 0
  /** Pops from the ahead heap since the last split, and those with the heap empty. */
  private aheadPops = 0
  private aheadAlonePops = 0
  private splitBackoff = 64
  private readonly aheadCheckMask: number
  // the front event: the earliest pending one, kept out of the heap (-1: none)
  private frontSlot = -1
  private frontTime = 0

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

  constructor(initialCapacity = 1024, options: EventQueueOptions = {}) {
    const n = Math.max(16, initialCapacity | 0)
    this.farNs = Math.max(1, options.farNs ?? FAR_NS)
    const farMax = Math.max(0, options.farMax ?? FAR_MAX)
    this.farSlots = new Int32Array(farMax)
    this.farTimes = new Float64Array(farMax)
    this.aheadFrom = Math.max(2, options.aheadFrom ?? AHEAD_FROM)
    this.aheadCheckMask = Math.max(1, options.aheadCheck ?? 256) - 1
    this.splitNs = this.farNs
    this.heapLimit = Math.min(n, this.aheadFrom)
    this.aTime = new Float64Array(16)
    this.aSlot = new Int32Array(16)
    this.sFar = new Uint8Array(n)
    this.hTime = new Float64Array(n)
    this.hKey = new Float64Array(n)
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
    return this.length - this.dead + this.farCount + this.aLength - this.aDead + (this.frontSlot >= 0 ? 1 : 0)
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
    const slot = this.fillSlot(priority, handler, a0, a1)
    const key = this.sKey[slot]!
    const gen = this.sGen[slot]!
    const handle = gen * SLOT_BITS + slot
    // NOTE: the slot's filling and the front and far cases in methods of their own: `push` stays
    // under V8's inlining limit (460 bytes of bytecode; with them written here it was 593 and was
    // called, not inlined, at every push).
    if (this.frontSlot >= 0 ? this.precedesFront(time, key) : this.isEarliest(time, key)) return this.toFront(time, slot, handle)
    if (time - this.time >= this.splitNs) {
      this.aheadTime = time
      this.pushAhead(slot, handle)
      return handle
    }
    this.heapPush(time, slot)
    return handle
  }

  /** A free slot holding the event's tie-break key (the next `seq`), payload and a new odd (pending) generation. */
  private fillSlot(priority: number, handler: number, a0: number, a1: number): number {
    let slot: number
    if (this.freeCount > 0) {
      slot = this.freeSlots[--this.freeCount]!
    } else {
      slot = this.slotCount++
      if (slot >= this.sHandler.length) this.growSlots()
    }
    this.sKey[slot] = priority * PRIORITY_SHIFT + this.seqCounter++
    this.sHandler[slot] = handler
    this.sA0[slot] = a0
    this.sA1[slot] = a1
    this.sGen[slot] = (this.sGen[slot]! + 1) & 0x1fff_ffff // odd: pending
    return slot
  }

  /** `slot` (at `time`) becomes the front event; a previous one moves to the heap. Returns `handle`. */
  private toFront(time: number, slot: number, handle: EventHandle): EventHandle {
    const old = this.frontSlot
    if (old >= 0) this.heapPush(this.frontTime, old)
    this.frontSlot = slot
    this.frontTime = time
    return handle
  }

  /** With no front event: whether (`time`, `key`) precedes the heap's top (live or not) and the far list's head. */
  private isEarliest(time: number, key: number): boolean {
    if (this.length > 0) {
      const ht = this.hTime[0]!
      if (!(time < ht || (time === ht && key < this.hKey[0]!))) return false
    }
    const fn = this.farNext
    return time < fn || (time === fn && key < this.sKey[this.farSlot]!)
  }

  /**
   * Whether an event at (`time`, `key`) comes before the front event (there is one). Protected:
   * the test suite's broken variant overrides it.
   */
  protected precedesFront(time: number, key: number): boolean {
    const ft = this.frontTime
    return time < ft || (time === ft && key < this.sKey[this.frontSlot]!)
  }

  /** Adds `slot` at `time` to the heap (making room first at `heapLimit`). */
  private heapPush(time: number, slot: number): void {
    if (this.length >= this.heapLimit) this.makeRoom()
    siftUp(this.hTime, this.hSlot, this.hKey, this.length++, time, this.sKey[slot]!, slot)
  }

  /** Cancels a pending event. Returns false if it already ran or was cancelled. O(1). */
  cancel(handle: EventHandle): boolean {
    // NOTE: no `%`: a handle past 2^31 is a double, and V8's double modulus is a C call.
    const gen = Math.floor(handle * SLOT_INV)
    const slot = handle - gen * SLOT_BITS
    if (slot >= this.slotCount || this.sGen[slot] !== gen || (gen & 1) === 0) return false
    this.sGen[slot] = (gen + 1) & 0x1fff_ffff // even: dead, its heap entry is dropped later
    if (slot === this.frontSlot) {
      this.frontSlot = -1
      this.freeSlots[this.freeCount++] = slot
      return true
    }
    const far = this.sFar[slot]!
    if (far !== 0) {
      if (far === 1) this.removeFar(slot)
      else this.cancelAhead(slot)
      return true
    }
    this.dead++
    if (this.hSlot[0] === slot) this.dropDeadTop() // at the top: dropped at once
    if (this.dead > 64 && this.dead > this.length >> 1) this.compact()
    return true
  }

  /** True while the event of `handle` is pending (neither popped nor cancelled). */
  isPending(handle: EventHandle): boolean {
    // NOTE: no `%`: a handle past 2^31 is a double, and V8's double modulus is a C call.
    const gen = Math.floor(handle * SLOT_INV)
    const slot = handle - gen * SLOT_BITS
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
    if (this.frontSlot >= 0) return this.frontTime > timeNs
    return (this.length === 0 || this.hTime[0]! > timeNs) && this.farNext > timeNs
  }

  /** Time of the earliest live event, or `Infinity` when none is pending. */
  peekTime(): number {
    if (this.frontSlot >= 0) return this.frontTime
    this.dropDeadTop()
    const t = this.length > 0 ? this.hTime[0]! : Infinity
    return t < this.farNext ? t : this.farNext
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
    const front = this.frontSlot
    if (front >= 0) {
      // The front event precedes every other: no heap operation.
      const t = this.frontTime
      if (t > untilNs) return false
      this.frontSlot = -1
      this.time = t
      this.key = this.sKey[front]!
      this.handler = this.sHandler[front]!
      this.a0 = this.sA0[front]!
      this.a1 = this.sA1[front]!
      this.releaseSlot(front)
      return true
    }
    if (this.length === 0) return this.farNext <= untilNs && this.popFar()
    let slot = this.hSlot[0]!
    if ((this.sGen[slot]! & 1) === 0) {
      this.dropDeadTop()
      if (this.length === 0) return this.farNext <= untilNs && this.popFar()
      slot = this.hSlot[0]!
    }
    const time = this.hTime[0]!
    // The far list's head first when it is earlier (rare: far events are mostly cancelled first).
    if (this.farNext <= time && this.farFirst(time, this.sKey[slot]!)) return this.farNext <= untilNs && this.popFar()
    if (time > untilNs) return false
    this.time = time
    this.key = this.sKey[slot]!
    this.handler = this.sHandler[slot]!
    this.a0 = this.sA0[slot]!
    this.a1 = this.sA1[slot]!
    this.releaseSlot(slot)
    removeTop(this.hTime, this.hSlot, this.hKey, --this.length)
    return true
  }

  /** Removes every event. Handles issued before become stale. */
  clear(): void {
    if (this.frontSlot >= 0) this.releaseSlot(this.frontSlot)
    this.frontSlot = -1
    for (let i = 0; i < this.length; i++) this.releaseSlot(this.hSlot[i]!)
    for (let i = 0; i < this.farCount; i++) {
      this.sFar[this.farSlots[i]!] = 0
      this.releaseSlot(this.farSlots[i]!)
    }
    for (let i = 0; i < this.aLength; i++) {
      this.sFar[this.aSlot[i]!] = 0
      this.releaseSlot(this.aSlot[i]!)
    }
    this.length = 0
    this.dead = 0
    this.farCount = 0
    this.aLength = 0
    this.aDead = 0
    this.updateFar()
  }

  /**
   * Whether the far list's head (time `farNext`) comes before the heap's top event (`time`, `key`).
   * Protected: the test suite's broken variant overrides it.
   */
  protected farFirst(time: number, key: number): boolean {
    return this.farNext < time || this.sKey[this.farSlot]! < key
  }

  /**
   * `push`'s case for an event at least `splitNs` after the last popped time: to the far list (at
   * least `farNs` after, while it has room), else to the ahead heap (at least `aheadNs` after), else
   * to the heap. Returns `handle`.
   */
  private pushAhead(slot: number, handle: EventHandle): void {
    // NOTE: the time comes in a field, not as an argument, and nothing is returned: a number passed
    // to or returned from a call that is not inlined is boxed (a heap allocation).
    const time = this.aheadTime
    const ahead = time - this.time
    if (ahead >= this.farNs && this.farCount < this.farSlots.length) {
      this.pushFar(time, this.sKey[slot]!, slot, handle)
      return
    }
    if (ahead < this.aheadNs) {
      this.heapPush(time, slot)
      return
    }
    if (this.aLength + 1 >= this.aTime.length) this.growAhead()
    siftUpAhead(this.aTime, this.aSlot, this.sKey, this.aLength++, time, this.sKey[slot]!, slot)
    this.sFar[slot] = 2
    if (this.aSlot[0] === slot) this.updateFar()
    if ((++this.aheadPushes & this.aheadCheckMask) === 0 && 4 * this.aheadPushes > 3 * (this.seqCounter - this.splitSeq)) this.mergeAhead()
  }

  /**
   * Most pushes go to the ahead heap (the heap holds few near events: the split saves nothing and
   * costs the far path on most pops): the ahead heap's events go back to the heap, and the next
   * split waits twice as long as the last.
   */
  private mergeAhead(): void {
    const aTime = this.aTime, aSlot = this.aSlot
    for (let i = 0; i < this.aLength; i++) {
      const s = aSlot[i]!
      this.sFar[s] = 0
      if ((this.sGen[s]! & 1) === 0) {
        this.freeSlots[this.freeCount++] = s
        continue
      }
      if (this.length >= this.hTime.length) this.growHeap()
      this.hTime[this.length] = aTime[i]!
      this.hKey[this.length] = this.sKey[s]!
      this.hSlot[this.length++] = s
    }
    this.aLength = 0
    this.aDead = 0
    heapify(this.hTime, this.hSlot, this.hKey, this.length)
    this.aheadNs = Infinity
    this.splitNs = this.farNs
    this.splitBackoff *= 2
    this.splitRetryAt = this.seqCounter + this.splitBackoff * this.length
    this.heapLimit = Math.min(this.length + 1, this.hTime.length)
    this.updateFar()
  }

  /** Cancelled `slot` is in the ahead heap: a dead entry, dropped at once at the top. */
  private cancelAhead(slot: number): void {
    this.aDead++
    if (this.aSlot[0] === slot) {
      this.dropDeadAhead()
      this.updateFar()
    } else if (this.aDead > 64 && this.aDead > this.aLength >> 1) {
      this.aLength = this.keepLive(this.aTime, this.aSlot, null, this.aLength)
      this.aDead = 0
    }
  }

  /** Drops the ahead heap's dead entries at its top. */
  private dropDeadAhead(): void {
    const aSlot = this.aSlot
    while (this.aLength > 0 && (this.sGen[aSlot[0]!]! & 1) === 0) {
      const s = aSlot[0]!
      this.sFar[s] = 0
      this.freeSlots[this.freeCount++] = s
      this.aDead--
      removeTopAhead(this.aTime, aSlot, this.sKey, --this.aLength)
    }
  }

  /** `farNext` and `farSlot` from the far list's head and the ahead heap's (live) top. */
  private updateFar(): void {
    let t = Infinity, s = -1
    if (this.farCount > 0) {
      t = this.farTimes[0]!
      s = this.farSlots[0]!
    }
    if (this.aLength > 0) {
      const at = this.aTime[0]!, as = this.aSlot[0]!
      if (at < t || (at === t && this.sKey[as]! < this.sKey[s]!)) {
        t = at
        s = as
      }
    }
    this.farNext = t
    this.farSlot = s
  }

  /**
   * The heap reached `heapLimit`: once it holds `aheadFrom` entries, the events at least as far
   * ahead as its nearest 1/32's farthest (`splitAhead`) move to the ahead heap and later ones that far ahead go
   * there too (so the heap keeps the near events: a short sift for each); then it grows if full.
   */
  private makeRoom(): void {
    const most = 16 * this.aheadFrom
    if (this.length >= this.aheadFrom && this.length <= most && this.seqCounter >= this.splitRetryAt && !this.splitAhead()) {
      // Nothing to split off (e.g. every event at the same time): try again after ~4 heaps' worth of pushes.
      this.splitRetryAt = this.seqCounter + 4 * this.length
    }
    if (this.length >= this.hTime.length) this.growHeap()
    // Past 16·aheadFrom entries no split is tried (its sort and moves would cost more than a
    // longer heap does: a pre-filled queue of 200,000 events ran 1.6× slower with them).
    const len = this.length
    const limit = len > most ? 2 * len : this.seqCounter < this.splitRetryAt ? len + 1 : Math.max(this.aheadFrom, 2 * len)
    this.heapLimit = limit < this.hTime.length ? limit : this.hTime.length
  }

  /** Moves the heap's far-ahead events to the ahead heap (see `makeRoom`); false when there is no such split. */
  private splitAhead(): boolean {
    const hTime = this.hTime, hSlot = this.hSlot, hKey = this.hKey, sGen = this.sGen, now = this.time
    const ahead = new Float64Array(this.length)
    let k = 0
    for (let i = 0; i < this.length; i++) if ((sGen[hSlot[i]!]! & 1) === 1) ahead[k++] = hTime[i]! - now
    if (k < 2) return false
    const sorted = ahead.subarray(0, k).sort()
    const split = sorted[k >> 5]!
    if (!(split > 0)) return false
    this.aheadNs = split
    this.splitNs = split < this.farNs ? split : this.farNs
    this.splitSeq = this.seqCounter
    this.aheadPushes = 0
    this.aheadPops = 0
    this.aheadAlonePops = 0
    // The far ones to the ahead heap, the dead dropped, the rest re-heapified.
    let n = 0
    for (let i = 0; i < this.length; i++) {
      const s = hSlot[i]!, t = hTime[i]!
      if ((sGen[s]! & 1) === 0) {
        this.freeSlots[this.freeCount++] = s
      } else if (t - now >= split) {
        if (this.aLength + 1 >= this.aTime.length) this.growAhead()
        siftUpAhead(this.aTime, this.aSlot, this.sKey, this.aLength++, t, hKey[i]!, s)
        this.sFar[s] = 2
      } else {
        hTime[n] = t
        hKey[n] = hKey[i]!
        hSlot[n] = s
        n++
      }
    }
    this.length = n
    this.dead = 0
    heapify(hTime, hSlot, hKey, n)
    this.updateFar()
    return true
  }

  /** Inserts `slot` (at `time`, tie-break `key`) into the far list, which has room, in order. Returns `handle`. */
  private pushFar(time: number, key: number, slot: number, handle: EventHandle): EventHandle {
    const fs = this.farSlots, ft = this.farTimes, sKey = this.sKey
    let i = this.farCount++
    while (i > 0 && (ft[i - 1]! > time || (ft[i - 1] === time && sKey[fs[i - 1]!]! > key))) {
      fs[i] = fs[i - 1]!
      ft[i] = ft[i - 1]!
      i--
    }
    fs[i] = slot
    ft[i] = time
    this.sFar[slot] = 1
    if (i === 0) this.updateFar()
    return handle
  }

  /** Takes (cancelled) `slot` out of the far list and frees it. */
  private removeFar(slot: number): void {
    const fs = this.farSlots, ft = this.farTimes
    let i = 0
    while (fs[i] !== slot) i++
    for (this.farCount--; i < this.farCount; i++) {
      fs[i] = fs[i + 1]!
      ft[i] = ft[i + 1]!
    }
    this.sFar[slot] = 0
    this.freeSlots[this.freeCount++] = slot
    this.updateFar()
  }

  /**
   * As `popUntil` for the far list's head or the ahead heap's top (the earliest live event when
   * called, due by the caller's limit). NOTE: no argument: a number passed to a call that is not
   * inlined is boxed.
   */
  private popFar(): boolean {
    const slot = this.farSlot
    if (slot < 0) return false
    this.time = this.farNext
    this.key = this.sKey[slot]!
    this.handler = this.sHandler[slot]!
    this.a0 = this.sA0[slot]!
    this.a1 = this.sA1[slot]!
    if (this.sFar[slot] === 1) {
      this.removeFar(slot)
      const gen = this.sGen[slot]!
      this.sGen[slot] = (gen + 1) & 0x1fff_ffff // even: popped
      return true
    }
    this.sFar[slot] = 0
    this.releaseSlot(slot)
    // With the heap empty the split holds nothing back from it: counted, to undo it (`mergeAhead`).
    if (this.length === 0) this.aheadAlonePops++
    const last = --this.aLength
    if (last > 0) {
      removeTopAhead(this.aTime, this.aSlot, this.sKey, last)
      if ((this.sGen[this.aSlot[0]!]! & 1) === 0) this.dropDeadAhead()
    }
    if (this.farCount === 0) {
      // The far list empty (the usual case): the ahead heap's top is the next far event.
      const has = this.aLength > 0
      this.farNext = has ? this.aTime[0]! : Infinity
      this.farSlot = has ? this.aSlot[0]! : -1
    } else {
      this.updateFar()
    }
    if ((++this.aheadPops & this.aheadCheckMask) === 0 && 2 * this.aheadAlonePops > this.aheadPops) this.mergeAhead()
    return true
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
      removeTop(this.hTime, this.hSlot, this.hKey, --this.length)
    }
  }

  /** Drops every dead entry of the heap and re-heapifies, O(n). */
  private compact(): void {
    this.length = this.keepLive(this.hTime, this.hSlot, this.hKey, this.length)
    this.dead = 0
  }

  /**
   * Keeps the live entries of the first `n` of a heap (the heap, or with `keys` null the ahead heap,
   * whose keys are its slots'), frees the dead ones' slots (out of the ahead heap too) and
   * re-heapifies (Floyd). Returns the new length. Protected, with `dropDead`, for the tests' broken
   * variant (a compaction that does not re-heapify).
   */
  protected keepLive(times: Float64Array, slots: Int32Array, keys: Float64Array | null, n: number): number {
    const k = this.dropDead(times, slots, keys, n)
    if (keys === null) heapifyAhead(times, slots, this.sKey, k)
    else heapify(times, slots, keys, k)
    return k
  }

  /** `keepLive`'s first half: the live entries moved to the front in place order, the dead ones' slots freed. Returns their number. */
  protected dropDead(times: Float64Array, slots: Int32Array, keys: Float64Array | null, n: number): number {
    let k = 0
    for (let i = 0; i < n; i++) {
      const s = slots[i]!
      if ((this.sGen[s]! & 1) === 1) {
        times[k] = times[i]!
        if (keys !== null) keys[k] = keys[i]!
        slots[k++] = s
      } else {
        this.sFar[s] = 0
        this.freeSlots[this.freeCount++] = s
      }
    }
    return k
  }

  private growHeap(): void {
    const n = this.hTime.length * 2
    this.hTime = grow(this.hTime, new Float64Array(n))
    this.hKey = grow(this.hKey, new Float64Array(n))
    this.hSlot = grow(this.hSlot, new Int32Array(n))
  }

  private growAhead(): void {
    const n = this.aTime.length * 2
    this.aTime = grow(this.aTime, new Float64Array(n))
    this.aSlot = grow(this.aSlot, new Int32Array(n))
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
    this.sFar = grow(this.sFar, new Uint8Array(n))
  }
}

const badTime = (time: number): never => {
  throw new EventQueueError(`EventQueue.push: time ${time} must be a non-negative integer (ns)`)
}
const badPriority = (priority: number): never => {
  throw new EventQueueError(`EventQueue.push: priority ${priority} must be an integer in 0..255`)
}
