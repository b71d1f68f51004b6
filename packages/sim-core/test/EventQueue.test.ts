import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { EventQueue, type EventQueueOptions } from "../src/EventQueue.ts"

/** The trivially correct model: a sorted array of live events. */
interface ModelEvent { time: number; priority: number; seq: number; handler: number; a0: number; handle: number }
interface Model { events: ModelEvent[]; seq: number; handles: number[] }

const before = (a: ModelEvent, b: ModelEvent): number => a.time - b.time || a.priority - b.priority || a.seq - b.seq

class PushCommand implements fc.Command<Model, EventQueue> {
  readonly time: number
  readonly priority: number
  readonly a0: number
  constructor(time: number, priority: number, a0: number) {
    this.time = time
    this.priority = priority
    this.a0 = a0
  }
  check = () => true
  run(m: Model, q: EventQueue): void {
    const handle = q.push(this.time, this.priority, 7, this.a0, -this.a0)
    m.events.push({ time: this.time, priority: this.priority, seq: m.seq++, handler: 7, a0: this.a0, handle })
    m.events.sort(before)
    m.handles.push(handle)
    expect(q.size).toBe(m.events.length)
  }
  toString = () => `push(${this.time}, ${this.priority}, ${this.a0})`
}

class PopCommand implements fc.Command<Model, EventQueue> {
  check = () => true
  run(m: Model, q: EventQueue): void {
    const expected = m.events.shift()
    const got = q.pop()
    if (expected === undefined) {
      expect(got).toBe(false)
      return
    }
    expect(got).toBe(true)
    expect([q.time, q.priority, q.seq, q.handler, q.a0, q.a1]).toEqual([
      expected.time, expected.priority, expected.seq, expected.handler, expected.a0, -expected.a0,
    ])
    expect(q.isPending(expected.handle)).toBe(false)
  }
  toString = () => "pop()"
}

class PopUntilCommand implements fc.Command<Model, EventQueue> {
  readonly untilNs: number
  constructor(untilNs: number) {
    this.untilNs = untilNs
  }
  check = () => true
  run(m: Model, q: EventQueue): void {
    const next = m.events[0]
    const got = q.popUntil(this.untilNs)
    if (next === undefined || next.time > this.untilNs) {
      expect(got).toBe(false)
      expect(q.size).toBe(m.events.length)
      return
    }
    m.events.shift()
    expect(got).toBe(true)
    expect([q.time, q.priority, q.seq, q.handler, q.a0, q.a1]).toEqual([next.time, next.priority, next.seq, next.handler, next.a0, -next.a0])
    expect(q.size).toBe(m.events.length)
  }
  toString = () => `popUntil(${this.untilNs})`
}

class CancelCommand implements fc.Command<Model, EventQueue> {
  readonly pick: number
  constructor(pick: number) {
    this.pick = pick
  }
  check = (m: Readonly<Model>) => m.handles.length > 0
  run(m: Model, q: EventQueue): void {
    const handle = m.handles[this.pick % m.handles.length]!
    const idx = m.events.findIndex((e) => e.handle === handle)
    expect(q.cancel(handle)).toBe(idx >= 0)
    if (idx >= 0) m.events.splice(idx, 1)
    expect(q.isPending(handle)).toBe(false)
    expect(q.size).toBe(m.events.length)
  }
  toString = () => `cancel(#${this.pick})`
}

class PeekCommand implements fc.Command<Model, EventQueue> {
  check = () => true
  run(m: Model, q: EventQueue): void {
    expect(q.peekTime()).toBe(m.events.length > 0 ? m.events[0]!.time : Infinity)
  }
  toString = () => "peekTime()"
}

class NoneUntilCommand implements fc.Command<Model, EventQueue> {
  readonly untilNs: number
  constructor(untilNs: number) {
    this.untilNs = untilNs
  }
  check = () => true
  run(m: Model, q: EventQueue): void {
    // Sound always (true only when nothing is due by then); exact when the heap's top is live, so
    // compare with the exact answer only when true.
    const none = m.events.length === 0 || m.events[0]!.time > this.untilNs
    if (q.noneUntil(this.untilNs)) expect(none).toBe(true)
  }
  toString = () => `noneUntil(${this.untilNs})`
}

// Few distinct times and priorities, so equal keys (the FIFO tie-break) are common.
const commands = [
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 }))
    .map(([t, p, a]) => new PushCommand(t, p, a)),
  fc.constant(new PopCommand()),
  fc.integer({ min: 0, max: 22 }).map((t) => new PopUntilCommand(t)),
  fc.nat(1000).map((i) => new CancelCommand(i)),
  fc.constant(new PeekCommand()),
  fc.integer({ min: 0, max: 22 }).map((t) => new NoneUntilCommand(t)),
]

/**
 * The far list made small enough for these times (events 3 ns or more after the last pop, at most
 * 3 at once): pushes go to both tiers, the list fills and overflows to the heap, heads tie with
 * the heap's top.
 */
const SMALL_FAR: EventQueueOptions = { farNs: 3, farMax: 3 }
/**
 * The ahead heap made small: the heap splits once it holds 4 entries, and whether to merge the
 * ahead heap back is checked every 2 pushes to it (so splits, merges and retries all happen).
 */
const SMALL_AHEAD: EventQueueOptions = { aheadFrom: 4, aheadCheck: 2 }
const modelRun = (make: () => EventQueue) => fc.property(fc.commands(commands, { size: "+1" }), (cmds) => {
  fc.modelRun(() => ({ model: { events: [], seq: 0, handles: [] }, real: make() }), cmds)
})

describe("EventQueue", () => {
  it("behaves like a sorted array of (time, priority, seq), with cancellation (model-based)", () => {
    fc.assert(modelRun(() => new EventQueue(16)), { numRuns: 300 })
  })

  it("with a small far list: still a sorted array of (time, priority, seq) (model-based)", () => {
    fc.assert(modelRun(() => new EventQueue(16, SMALL_FAR)), { numRuns: 300, endOnFailure: true })
  })

  it("with a small ahead heap (and a small far list): still a sorted array of (time, priority, seq) (model-based)", () => {
    fc.assert(modelRun(() => new EventQueue(16, SMALL_AHEAD)), { numRuns: 300, endOnFailure: true })
    fc.assert(modelRun(() => new EventQueue(16, { ...SMALL_AHEAD, ...SMALL_FAR })), { numRuns: 300, endOnFailure: true })
  })

  // Broken variants of the one test `farFirst` makes between the heap's top and `farNext` (the
  // earlier of the far list's head and the ahead heap's top): each test below sets up one of the two.
  class IgnoresFar extends EventQueue {
    protected override farFirst(): boolean {
      return false // Broken: the heap's top first even when a far or ahead event is earlier.
    }
  }
  class FarTiesLast extends EventQueue {
    protected override farFirst(time: number): boolean {
      return (this as unknown as { farNext: number }).farNext < time // Broken: on equal times the heap's event first, whatever the keys.
    }
  }

  it("the model-based test with a small ahead heap catches a pop that ignores the ahead heap's top, or its tie-break (broken variants)", () => {
    // 3,000 runs (here and in the two catches below): at 900, FarTiesLast went uncaught at 1 random seed in ~80 (seed 1375171676), a
    // CI flake; each run catches it with probability ~0.4 %, so 3,000 miss it about once in 10^5.
    for (const Broken of [IgnoresFar, FarTiesLast]) {
      const result = fc.check(modelRun(() => new Broken(16, { ...SMALL_AHEAD, farMax: 0 })), { numRuns: 3000, endOnFailure: true })
      expect(result.failed, Broken.name).toBe(true)
    }
  })

  it("the model-based test with a small far list catches a pop that ignores the far list's head, a far or front tie-break that ignores the keys (broken variants)", () => {
    class FrontTiesFirst extends EventQueue {
      protected override precedesFront(time: number): boolean {
        return time <= this.peekTime() // Broken: on equal times the new event takes the front, whatever the keys.
      }
    }
    for (const Broken of [IgnoresFar, FarTiesLast, FrontTiesFirst]) {
      const result = fc.check(modelRun(() => new Broken(16, SMALL_FAR)), { numRuns: 3000, endOnFailure: true })
      expect(result.failed, Broken.name).toBe(true)
    }
  })

  // Many events ahead, most cancelled: the ahead heap's compaction (`keepLive` once its dead entries
  // pass 64 and half of it), which the command lists above are too short to reach.
  const SPLIT_KEPT: EventQueueOptions = { aheadFrom: 16, aheadCheck: 1024 }
  const manyCancelled = (make: () => EventQueue) => fc.property(
    fc.array(fc.record({ time: fc.integer({ min: 1, max: 1_000_000 }), priority: fc.integer({ min: 0, max: 3 }), cancel: fc.integer({ min: 0, max: 4 }).map((x) => x > 0), popAfter: fc.integer({ min: 0, max: 19 }) }), { minLength: 150, maxLength: 400 }),
    fc.array(fc.nat(), { minLength: 400, maxLength: 400 }),
    (evs, order) => {
      const q = make()
      const model = evs.map((e, seq) => ({ ...e, seq, handle: q.push(e.time, e.priority, seq), live: true }))
      const live = () => model.filter((m) => m.live).sort((a, b) => a.time - b.time || a.priority - b.priority || a.seq - b.seq)
      // Cancel the chosen ones in a shuffled order, popping the earliest now and then.
      const chosen = model.filter((m) => m.cancel).map((m, i) => ({ m, r: order[i]! })).sort((a, b) => a.r - b.r || a.m.seq - b.m.seq)
      for (const { m } of chosen) {
        if (!m.live) continue
        expect(q.cancel(m.handle)).toBe(true)
        m.live = false
        if (m.popAfter === 0) {
          const want = live()[0]
          expect(q.pop()).toBe(want !== undefined)
          if (want === undefined) continue
          expect([q.time, q.priority, q.seq]).toEqual([want.time, want.priority, want.seq])
          want.live = false
        }
        expect(q.size).toBe(live().length)
      }
      for (const want of live()) {
        expect(q.pop()).toBe(true)
        expect([q.time, q.priority, q.seq]).toEqual([want.time, want.priority, want.seq])
      }
      expect(q.pop()).toBe(false)
    },
  )

  it("with many events ahead, most of them cancelled: still a sorted array of (time, priority, seq) (the ahead heap's compaction)", () => {
    fc.assert(manyCancelled(() => new EventQueue(16, SPLIT_KEPT)), { numRuns: 60, endOnFailure: true })
  })

  it("the test with many events ahead catches a compaction that does not re-heapify (broken variant; the ahead heap compacts in it, the heap does not)", () => {
    class NoReheapify extends EventQueue {
      protected override keepLive(times: Float64Array, slots: Int32Array, keys: Float64Array, n: number): number {
        return this.dropDead(times, slots, keys, n) // Broken: the live entries kept in place order, not made a heap again.
      }
    }
    const result = fc.check(manyCancelled(() => new NoReheapify(16, SPLIT_KEPT)), { numRuns: 60, endOnFailure: true })
    expect(result.failed).toBe(true)
  })

  it("a far event pops in order, cancels without a dead entry, and the default far list takes only far events", () => {
    const q = new EventQueue(16)
    const far = q.push(2 ** 50, 0, 1)
    q.push(5, 0, 2)
    const far2 = q.push(2 ** 41, 3, 3)
    q.push(2 ** 41, 2, 4)
    expect(q.size).toBe(4)
    expect(q.peekTime()).toBe(5)
    expect(q.noneUntil(2 ** 41 - 1)).toBe(false)
    expect(q.pop() && q.handler).toBe(2)
    expect(q.noneUntil(2 ** 41 - 1)).toBe(true)
    expect(q.cancel(far)).toBe(true)
    expect(q.cancel(far)).toBe(false)
    expect(q.isPending(far)).toBe(false)
    expect(q.size).toBe(2)
    expect(q.pop() && [q.time, q.priority, q.handler]).toEqual([2 ** 41, 2, 4])
    expect(q.isPending(far2)).toBe(true)
    expect(q.pop() && [q.time, q.priority, q.handler]).toEqual([2 ** 41, 3, 3])
    expect(q.isPending(far2)).toBe(false)
    expect(q.pop()).toBe(false)
    expect(q.size).toBe(0)
  })

  it("pops equal times in priority, then FIFO order, and survives growth and compaction", () => {
    const q = new EventQueue(16)
    const handles: number[] = []
    for (let i = 0; i < 5000; i++) handles.push(q.push(100 - (i % 3), i % 2, i))
    for (let i = 0; i < 5000; i += 2) expect(q.cancel(handles[i]!)).toBe(true)
    const seen: number[][] = []
    while (q.pop()) seen.push([q.time, q.priority, q.seq])
    expect(seen.length).toBe(2500)
    for (let i = 1; i < seen.length; i++) {
      const [t0, p0, s0] = seen[i - 1]!, [t1, p1, s1] = seen[i]!
      expect(t0! < t1! || (t0 === t1 && (p0! < p1! || (p0 === p1 && s0! < s1!)))).toBe(true)
    }
  })

  it("refuses a negative or fractional time and a bad priority, naming the value", () => {
    const q = new EventQueue()
    expect(() => q.push(-1, 0, 0)).toThrow(/time -1/)
    expect(() => q.push(1.5, 0, 0)).toThrow(/time 1.5/)
    expect(() => q.push(1, 256, 0)).toThrow(/priority 256/)
  })

  it("a stale handle cannot cancel a later event that reuses its slot", () => {
    const q = new EventQueue(16)
    const h1 = q.push(1, 0, 1)
    q.pop()
    const h2 = q.push(2, 0, 2)
    expect(q.cancel(h1)).toBe(false)
    expect(q.isPending(h2)).toBe(true)
  })

  it("the model-based test catches a queue that breaks ties LIFO (broken variant)", () => {
    class LifoQueue extends EventQueue {
      override push(time: number, priority: number, handler: number, a0 = 0, a1 = 0): number {
        // Broken: later pushes at the same time jump ahead by using a smaller priority.
        return super.push(time, Math.max(0, priority - (a0 % 2)), handler, a0, a1)
      }
    }
    const result = fc.check(modelRun(() => new LifoQueue(16)), { numRuns: 3000, endOnFailure: true })
    expect(result.failed).toBe(true)
  })
})
