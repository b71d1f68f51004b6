/**
 * `Simulation.runNextInPlace`: a handler that takes its own next event in place must give the run
 * it would give by posting that event — the same events in the same order at the same times, the
 * same event count, and the same stops at a time limit, an event limit (in slices) and `stop()`.
 * The property is also run against a deliberately broken variant (taking the event in place when
 * another is pending at the same instant) to show it can fail.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { EventClass, Simulation, type StopReason } from "../src/Simulation.ts"

/** A ticker: each event logs itself and posts its next one after the next delay of its list. */
interface Ticker {
  readonly priority: number
  readonly startNs: number
  readonly delaysNs: readonly number[]
}
interface Case {
  readonly tickers: readonly Ticker[]
  /** Every event of another kind posted at fixed times (it competes for instants). */
  readonly others: ReadonlyArray<{ atNs: number; priority: number }>
  readonly untilNs: number
  /** Run in slices of this many events (0: one run). */
  readonly slice: number
  /** `stop()` at the k-th logged event (-1: never). */
  readonly stopAt: number
}

type InPlace = (sim: Simulation, timeNs: number) => boolean
const never: InPlace = () => false
const real: InPlace = (sim, t) => sim.runNextInPlace(t, 1)
/** Broken on purpose: ignores events pending at `timeNs` itself (only earlier ones block it). */
const broken: InPlace = (sim, t) => {
  if (!(sim.queue.peekTime() >= t) || t > sim.horizonNs) return false
  sim.events++
  sim.now = t
  return true
}

const runCase = (c: Case, inPlace: InPlace): { log: string[]; events: number; now: number; reasons: StopReason[] } => {
  const sim = new Simulation(1)
  const log: string[] = []
  const step = c.tickers.map(() => 0)
  const other = sim.register("other", (a0) => {
    log.push(`${sim.now} o${a0}`)
    if (log.length === c.stopAt) sim.stop()
  })
  const tick = sim.register("tick", (i) => {
    for (;;) {
      log.push(`${sim.now} t${i}`)
      if (log.length === c.stopAt) sim.stop()
      const tk = c.tickers[i]!
      if (step[i]! >= tk.delaysNs.length) return
      const next = sim.now + tk.delaysNs[step[i]!++]!
      if (!inPlace(sim, next)) {
        sim.at(next, tk.priority, tick, i)
        return
      }
    }
  })
  c.tickers.forEach((t, i) => sim.at(t.startNs, t.priority, tick, i))
  c.others.forEach((o, i) => sim.at(o.atNs, o.priority, other, i))
  const reasons: StopReason[] = []
  if (c.slice === 0) reasons.push(sim.run({ untilNs: c.untilNs }))
  else {
    for (let k = 0; k < 10_000; k++) {
      const r = sim.run({ untilNs: c.untilNs, maxEvents: c.slice })
      reasons.push(r)
      if (r !== "maxEvents") break
    }
  }
  return { log, events: sim.events, now: sim.now, reasons }
}

const small = fc.integer({ min: 0, max: 6 })
const caseArb: fc.Arbitrary<Case> = fc.record({
  tickers: fc.array(fc.record({ priority: fc.integer({ min: 0, max: EventClass.Probe + 2 }), startNs: small, delaysNs: fc.array(small, { maxLength: 12 }) }), { minLength: 1, maxLength: 4 }),
  others: fc.array(fc.record({ atNs: fc.integer({ min: 0, max: 40 }), priority: fc.integer({ min: 0, max: EventClass.Probe + 2 }) }), { maxLength: 6 }),
  untilNs: fc.integer({ min: 0, max: 50 }),
  slice: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
  stopAt: fc.oneof(fc.constant(-1), fc.integer({ min: 1, max: 30 })),
})

describe("Simulation.runNextInPlace", () => {
  it("gives the same run as posting the event: order, times, count, limits and stop()", () => {
    fc.assert(fc.property(caseArb, (c) => { expect(runCase(c, real)).toEqual(runCase(c, never)) }), { numRuns: 400 })
  })

  it("the property catches a variant that runs in place over an event pending at the same instant", () => {
    const r = fc.check(fc.property(caseArb, (c) => { expect(runCase(c, broken)).toEqual(runCase(c, never)) }), { numRuns: 400 })
    expect(r.failed).toBe(true)
  })

  it("is refused outside a handler, past the time limit, after stop() and at the event limit", () => {
    const sim = new Simulation(1)
    expect(sim.runNextInPlace(0, 0)).toBe(false) // not in a handler
    const seen: boolean[] = []
    const h = sim.register("h", (a0) => {
      if (a0 === 0) seen.push(sim.runNextInPlace(sim.now + 100, h)) // beyond untilNs 50
      if (a0 === 1) { sim.stop(); seen.push(sim.runNextInPlace(sim.now + 1, h)) }
      if (a0 === 2) seen.push(sim.runNextInPlace(sim.now + 1, h)) // the run's last event (maxEvents 1)
      if (a0 === 3) seen.push(sim.runNextInPlace(sim.now + 1, h), sim.now === 81, sim.runNextInPlace(sim.now + 0.5, h))
    })
    sim.at(10, 0, h, 0)
    sim.run({ untilNs: 50 })
    sim.at(sim.now, 0, h, 1)
    sim.run()
    sim.at(sim.now, 0, h, 2)
    sim.run({ maxEvents: 1 })
    sim.at(80, 0, h, 3)
    const before = sim.events
    sim.run({ maxEvents: 5 })
    expect(seen).toEqual([false, false, false, true, true, false])
    expect(sim.events - before).toBe(2) // the posted event and the one taken in place
    // A handler that throws out of `run` leaves nothing that runs in place.
    const boom = sim.register("boom", () => { throw new Error("boom") })
    sim.at(sim.now, 0, boom)
    expect(() => sim.run()).toThrow("boom")
    expect(sim.runNextInPlace(sim.now + 1, h)).toBe(false)
  })
})
