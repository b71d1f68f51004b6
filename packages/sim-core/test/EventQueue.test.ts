import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { EventQueue } from "../src/EventQueue.ts"

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

// Few distinct times and priorities, so equal keys (the FIFO tie-break) are common.
const commands = [
  fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1000 }))
    .map(([t, p, a]) => new PushCommand(t, p, a)),
  fc.constant(new PopCommand()),
  fc.integer({ min: 0, max: 22 }).map((t) => new PopUntilCommand(t)),
  fc.nat(1000).map((i) => new CancelCommand(i)),
  fc.constant(new PeekCommand()),
]

describe("EventQueue", () => {
  it("behaves like a sorted array of (time, priority, seq), with cancellation (model-based)", () => {
    fc.assert(
      fc.property(fc.commands(commands, { size: "+1" }), (cmds) => {
        fc.modelRun(() => ({ model: { events: [], seq: 0, handles: [] }, real: new EventQueue(16) }), cmds)
      }),
      { numRuns: 300 },
    )
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
    const result = fc.check(
      fc.property(fc.commands(commands, { size: "+1" }), (cmds) => {
        fc.modelRun(() => ({ model: { events: [], seq: 0, handles: [] }, real: new LifoQueue(16) }), cmds)
      }),
      { numRuns: 900, endOnFailure: true },
    )
    expect(result.failed).toBe(true)
  })
})
