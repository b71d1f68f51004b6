/**
 * The event queue's calendar tier (`EventQueue.ts` is the queue, `EventHeap.ts` its heap and slots).
 *
 * NOTE: for speed: each level of a heap of a few hundred events costs a mispredicted branch, and a
 * run's pending set is mostly far-future releases. So, once many events are pending:
 * - the heap holds every event with `time < nearEnd`, the calendar every later one, so the heap's
 *   top is the earliest event whenever the heap is not empty. Up to CALENDAR_FROM events the heap
 *   holds them all (`nearEnd = Infinity`);
 * - the calendar (Brown's calendar queue, unsorted): `bCount` buckets of `widthNs`, an event of
 *   bucket number `⌊time / widthNs⌋` in bucket `number mod bCount` (a linked list through the
 *   slots; a bucket also holds later "years"); a push there is O(1);
 * - when the heap is empty, the buckets are visited from `nearEnd`'s on (`refill`): the events of
 *   the current year move to the heap and `nearEnd` moves to the bucket's end; a whole year with
 *   nothing due jumps to the earliest event's bucket;
 * - the calendar is laid out again (bucket count ≈ events, width from a sample so that a year
 *   spans about seven eighths of them) when it holds over 2× or under ¼ as many events as
 *   buckets, or when later years were passed over more than 4·bCount times beyond the events
 *   moved; it goes back to the heap below CALENDAR_TO events. Times ≥ FAR_LIMIT (2^52, where
 *   `k·widthNs` might not stay exact) wait in a list the heap takes when the calendar is done.
 * The calendar only decides where an event waits, never the order: the heap orders, and it holds
 * everything before `nearEnd`. Each event moves to the heap once; passing over empty buckets and
 * later years, and the lay-outs, are amortised over the events moved.
 *
 * Invariants: every heap event's time `< nearEnd ≤` every calendar event's time; `cur·widthNs ≤
 * nearEnd`; a calendar event of time `t < FAR_LIMIT` is in bucket `⌊t / widthNs⌋ mod bCount` and
 * `ringCount` counts them (live or dead), `byCount` those beyond; `farDead` the dead among both.
 *
 * @module
 */
import { EventHeap, EventQueueError } from "./EventHeap.ts"

/** Events at or after this time wait beyond the calendar (so `k·widthNs` stays exact). */
const FAR_LIMIT = 2 ** 52
/** Sample size for a lay-out's bucket width, and the most buckets the calendar has. */
const SAMPLE = 32
const MAX_BUCKETS = 1 << 16
/**
 * [ASSUMED] speed knob only (any value gives the same order; the constructor's `calendarFrom`, tests
 * pass 64): a heap of at most this many events holds them all; past it the later events go to the
 * calendar, and they come back once fewer than CALENDAR_TO are left there at a refill. Measured:
 * at ~100 pending (the 64-sandbox manycore run) the calendar's extra handling of each far event
 * (a push to a bucket, a move to the heap) costs more than the heap levels it saves (manycore CPU
 * +10 %); at 1,000 pending and more it wins (hold model, `bench -- queue`: −30 % at 1,000).
 */
const CALENDAR_FROM = 512
const CALENDAR_TO = 8

export class EventCalendar extends EventHeap {
  /** `calendarFrom`: the heap length from which later events go to the calendar (a speed knob only). */
  constructor(initialCapacity = 1024, calendarFrom = CALENDAR_FROM) {
    super(initialCapacity)
    if (!(calendarFrom >= 1)) throw new EventQueueError(`EventQueue: calendarFrom ${calendarFrom} must be ≥ 1`)
    this.calendarStart = calendarFrom
    this.calendarFrom = calendarFrom
  }
  /** Near heap: every event with `time < nearEnd` (the heap holds only those; Infinity: the heap holds every event). */
  protected nearEnd = Infinity
  /** Heap length from which the later events go to the calendar (Infinity while they do). */
  protected calendarFrom: number
  /** The heap length from which the calendar starts (`CALENDAR_FROM` unless told). */
  private readonly calendarStart: number
  /**
   * The calendar: `bCount` buckets (a power of two) of `widthNs`; an event of bucket number
   * `a = ⌊time / widthNs⌋` is in bucket `a mod bCount` (an unsorted list through `sNext`, `bHead[i]`
   * its first slot or -1); `cur` is the bucket number of `nearEnd` (`cur·widthNs ≤ nearEnd`) and
   * `curIdx = cur mod bCount`. A bucket also holds events of later laps ("years") of the calendar.
   */
  protected bHead = new Int32Array(0)
  protected bCount = 0
  protected widthNs = 1
  protected cur = 0
  protected curIdx = 0
  /** Events (live or dead) in the buckets. */
  protected ringCount = 0
  /** Since the last lay-out: entries of a later year passed over, and entries moved to the heap. */
  protected skips = 0
  protected moved = 0
  /** Events at or after FAR_LIMIT: first slot, entries (live or dead); the heap takes them when nothing earlier is left. */
  protected byHead = -1
  protected byCount = 0
  /** Dead entries in the far tier. */
  protected farDead = 0
  protected readonly sample = new Float64Array(SAMPLE)
  /** What the last `gather` found: live events, the earliest time. */
  private gatheredCount = 0
  private gatheredMinNs = Infinity

  /** Into the far tier (`time ≥ nearEnd`): its calendar bucket, or the list beyond FAR_LIMIT. O(1). */
  protected pushFar(time: number, slot: number): void {
    this.sTime[slot] = time
    if (time < FAR_LIMIT) {
      const rel = Math.floor(time / this.widthNs) - this.cur
      const k = rel < this.bCount ? (this.curIdx + rel) & (this.bCount - 1) : this.indexOf(rel + this.cur)
      this.sNext[slot] = this.bHead[k]!
      this.bHead[k] = slot
      this.ringCount++
    } else {
      this.sNext[slot] = this.byHead
      this.byHead = slot
      this.byCount++
    }
  }

  /**
   * The heap grew past CALENDAR_FROM: from now on, events after its latest go to the calendar
   * (empty now), laid out over the heap's span. O(heap).
   */
  protected toCalendar(): void {
    const hTime = this.hTime
    let minNs = Infinity, maxNs = -Infinity
    for (let i = 0; i < this.length; i++) {
      const t = hTime[i]!
      if (t < minNs) minNs = t
      if (t > maxNs) maxNs = t
    }
    if (!(maxNs < FAR_LIMIT)) {
      // Not beyond FAR_LIMIT (bucket arithmetic would not be exact): the heap keeps them; try again when it has doubled.
      this.calendarFrom = 2 * this.length
      return
    }
    this.calendarFrom = Infinity
    this.nearEnd = maxNs + 1
    let b = 16
    while (b < this.length && b < MAX_BUCKETS) b *= 2
    if (this.bHead.length < b) this.bHead = new Int32Array(b).fill(-1)
    this.bCount = b
    this.widthNs = Math.max(1, Math.ceil((maxNs - minNs + 1) / (b - 1)))
    this.skips = this.moved = 0
    this.cur = Math.floor(this.nearEnd / this.widthNs)
    this.curIdx = this.indexOf(this.cur)
  }

  /**
   * The calendar holds fewer than CALENDAR_TO events (the heap is empty): the heap takes them all
   * again, and those beyond FAR_LIMIT (whose bucket arithmetic would not be exact).
   */
  protected toHeap(): void {
    this.nearEnd = Infinity
    this.calendarFrom = this.calendarStart
    const sNext = this.sNext, sTime = this.sTime, sKey = this.sKey
    for (let s = this.gather(true); s >= 0;) {
      const next = sNext[s]!
      this.heapInsert(sTime[s]!, s, sKey[s]!)
      s = next
    }
    if (this.length >= this.calendarFrom) this.toCalendar()
  }

  /**
   * Empties the buckets (and the list beyond FAR_LIMIT with `beyond`) into one list of their live
   * events, returning its first slot (-1: none) and freeing the dead; `gatheredCount` and
   * `gatheredMinNs` describe the list.
   */
  private gather(beyond: boolean): number {
    const sGen = this.sGen, sNext = this.sNext, sTime = this.sTime
    let all = -1, live = 0, minNs = Infinity
    for (let k = beyond ? -1 : 0; k < this.bCount; k++) {
      let s = k < 0 ? this.byHead : this.bHead[k]!
      if (k >= 0) this.bHead[k] = -1
      while (s >= 0) {
        const next = sNext[s]!
        if ((sGen[s]! & 1) === 0) {
          this.freeSlots[this.freeCount++] = s
          this.farDead--
        } else {
          sNext[s] = all
          all = s
          live++
          if (sTime[s]! < minNs) minNs = sTime[s]!
        }
        s = next
      }
    }
    this.ringCount = 0
    if (beyond) {
      this.byHead = -1
      this.byCount = 0
    }
    this.gatheredCount = live
    this.gatheredMinNs = minNs
    return all
  }


  /** Bucket number `a` mod `bCount` (`a` an integer < 2^53: exact in doubles). */
  protected indexOf(a: number): number {
    return a - Math.floor(a / this.bCount) * this.bCount
  }

  /**
   * The heap is empty: moves the live events of the calendar's next non-empty bucket (of the
   * current year) into it; lays the calendar out again when it fits the far events badly. Returns
   * false when the far tier held no live event (it is then empty).
   */
  protected refill(): boolean {
    const sGen = this.sGen, sNext = this.sNext, sTime = this.sTime, sKey = this.sKey
    for (;;) {
      if (this.ringCount < CALENDAR_TO) {
        this.toHeap()
        return this.length > 0
      }
      const b = this.bCount
      // Too many events per bucket, too few, or too many passed over (a later year): lay out again.
      if ((this.ringCount > 2 * b && b < MAX_BUCKETS) || (b > 16 && this.ringCount < b >> 2) || this.skips > this.moved + 4 * b) {
        if (!this.layOut()) continue
      }
      const mask = this.bCount - 1, widthNs = this.widthNs
      let idle = 0, jumped = false
      while (this.ringCount > 0) {
        const k = this.curIdx
        const endNs = (this.cur + 1) * widthNs
        let s = this.bHead[k]!
        let keep = -1, due = -1
        while (s >= 0) {
          const next = sNext[s]!
          if ((sGen[s]! & 1) === 0) {
            this.freeSlots[this.freeCount++] = s
            this.farDead--
            this.ringCount--
          } else if (sTime[s]! < endNs) {
            sNext[s] = due
            due = s
            this.ringCount--
            this.moved++
          } else {
            sNext[s] = keep // a later year's: stays
            keep = s
            this.skips++
          }
          s = next
        }
        this.bHead[k] = keep
        // NOTE: the bucket's list is newest first, `due` oldest first: pushed in that order, events
        // of one instant (a harmonic burst) arrive in key order and stay where they land in the heap.
        while (due >= 0) {
          const next = sNext[due]!
          this.heapInsert(sTime[due]!, due, sKey[due]!)
          due = next
        }
        this.cur++
        this.curIdx = (k + 1) & mask
        this.nearEnd = endNs
        if (this.length > 0) return true
        // A whole year with nothing due: go straight to the earliest event's bucket (whose first
        // step then finds it: a second jump means an event was filed in the wrong bucket).
        if (++idle > mask) {
          if (jumped) throw new EventQueueError("EventQueue: internal error: the calendar lost an event")
          this.jump()
          idle = 0
          jumped = true
        }
      }
    }
  }

  /** Moves `cur` to the bucket of the earliest far event (the heap is empty). O(bCount + far). */
  protected jump(): void {
    let minNs = Infinity
    for (let k = 0; k < this.bCount; k++) {
      for (let s = this.bHead[k]!; s >= 0; s = this.sNext[s]!) if (this.sTime[s]! < minNs && (this.sGen[s]! & 1) === 1) minNs = this.sTime[s]!
    }
    if (minNs === Infinity) return
    this.setCur(Math.floor(minNs / this.widthNs))
  }

  /** `cur` := `a` (≥ cur; the heap is empty): `nearEnd` rises to its start if below. */
  protected setCur(a: number): void {
    this.cur = a
    this.curIdx = this.indexOf(a)
    const startNs = a * this.widthNs
    if (this.nearEnd < startNs) this.nearEnd = startNs
  }

  /**
   * Lays the calendar out again over its events (the heap is empty): as many buckets as live
   * events (a power of two, 16 to MAX_BUCKETS), wide enough that one year spans the earliest seven
   * eighths of an evenly strided sample of them; `cur` at the earliest. Frees the dead. Returns false
   * when none was live (the calendar is then empty).
   */
  protected layOut(): boolean {
    const sNext = this.sNext, sTime = this.sTime
    const all = this.gather(false), live = this.gatheredCount, minNs = this.gatheredMinNs
    this.skips = this.moved = 0
    if (live === 0) return false
    const stride = Math.ceil(live / SAMPLE)
    const sample = this.sample
    let n = 0, i = 0
    for (let s = all; s >= 0; s = sNext[s]!, i++) if (i % stride === 0) sample[n++] = sTime[s]!
    for (let a = 1; a < n; a++) {
      const x = sample[a]!
      let j = a - 1
      while (j >= 0 && sample[j]! > x) { sample[j + 1] = sample[j]!; j-- }
      sample[j + 1] = x
    }
    let b = 16
    while (b < live && b < MAX_BUCKETS) b *= 2
    if (this.bHead.length < b) this.bHead = new Int32Array(b).fill(-1)
    this.bCount = b
    this.widthNs = Math.max(1, Math.ceil((sample[(n * 7) >> 3]! - minNs + 1) / (b - 1)))
    this.setCur(Math.floor(minNs / this.widthNs))
    for (let s = all; s >= 0;) {
      const next = sNext[s]!
      this.pushFar(sTime[s]!, s)
      s = next
    }
    return true
  }

  /** Frees the far tier's dead entries (they outnumber its live ones). O(bCount + far). */
  protected compactFar(): void {
    const sGen = this.sGen, sNext = this.sNext
    const keep = (head: number): number => {
      let first = -1, prev = -1
      for (let s = head; s >= 0;) {
        const next = sNext[s]!
        if ((sGen[s]! & 1) === 0) this.freeSlots[this.freeCount++] = s
        else {
          if (prev < 0) first = s
          else sNext[prev] = s
          prev = s
        }
        s = next
      }
      if (prev >= 0) sNext[prev] = -1
      return first
    }
    let ring = 0
    for (let k = 0; k < this.bCount; k++) {
      this.bHead[k] = keep(this.bHead[k]!)
      for (let s = this.bHead[k]!; s >= 0; s = sNext[s]!) ring++
    }
    this.ringCount = ring
    this.byHead = keep(this.byHead)
    let by = 0
    for (let s = this.byHead; s >= 0; s = sNext[s]!) by++
    this.byCount = by
    this.farDead = 0
  }
}
