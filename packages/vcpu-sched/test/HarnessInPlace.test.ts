/**
 * The harness runs its own events (invocations, ends of computations) in place when one is the
 * run's very next event (`Harness.settle`, sim-core `runNextInPlace`); with an `onInvoke` hook it
 * posts every one of them. Both must give the same run: schedule, job records, statistics, trace
 * fingerprint and event count — alone, with I/O VCPUs and interrupt top halves, and with two
 * harnesses sharing one simulation (their events interleave at equal times). The property is also
 * run on a simulation whose `runNextInPlace` is broken on purpose, to show it can fail.
 *
 * An idle PCPU's timer ticks run together (`Harness.idleTicks`, `PcpuScheduler.idleInvocations`):
 * the same run as with a scheduler subclass (which takes every invocation the long way), over the
 * timer and overhead options that set the ticks' interval, runs cut at several times and by event
 * counts; the property also fails with `idleInvocations` setting a timer 1 ns late. A long, mostly
 * idle traced run checks the same where the trace's pending records fill up inside a run of ticks.
 */
import { Simulation } from "@qvsim/sim-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness } from "../src/Harness.ts"
import { PcpuScheduler } from "../src/PcpuScheduler.ts"
import type { PcpuSpec } from "../src/Workload.ts"
import { MS, US } from "./support.ts"

/** Broken on purpose: runs in place over an event pending at the same instant. */
class SameInstantSim extends Simulation.Simulation {
  override runNextInPlace(timeNs: number, _handler: number): boolean {
    if (!(this.queue.peekTime() >= timeNs) || timeNs > this.horizonNs) return false
    this.events++
    this.now = timeNs
    return true
  }
}

interface Case {
  readonly specs: readonly PcpuSpec[]
  readonly seed: number
  readonly irqTopHalfNs: number
}

const HORIZON = 60 * MS

/** What a harness's run leaves: its schedule, jobs, statistics and invocation count. */
const outcomeOf = (h: Harness) => ({
  segments: h.schedule.segments(),
  jobs: h.jobs,
  ioJobs: h.ioJobs,
  unfinished: h.unfinishedJobs(),
  invocations: h.sched.invocations,
  gap: h.maxInvocationGapNs,
  latency: h.maxPreemptionLatencyNs,
})

const runCase = (c: Case, mode: "inPlace" | "posted" | "broken") => {
  const sim = mode === "broken" ? new SameInstantSim(c.seed) : new Simulation.Simulation(c.seed)
  const hook = mode === "posted" ? () => {} : undefined
  const hs = c.specs.map((spec, p) => new Harness(spec, { sim, pcpu: p, trace: true, recordJobs: true, irqTopHalfNs: c.irqTopHalfNs, ...(hook ? { onInvoke: hook } : {}) }))
  sim.run({ untilNs: HORIZON })
  for (const h of hs) h.flush(HORIZON)
  return {
    run: {
      events: sim.events,
      fingerprint: sim.trace.fingerprint(),
      harnesses: hs.map(outcomeOf),
    },
    pushed: sim.queue.pushed,
  }
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  specs: fc.array(Arbitraries.pcpuSpec({ ios: [0, 1], horizonUnits: 600 }), { minLength: 1, maxLength: 2 }),
  seed: fc.nat(1000),
  irqTopHalfNs: fc.constantFrom(0, 0, 50 * US),
})

describe("Harness: own events run in place", () => {
  it("give the same run as posting every one (schedule, jobs, statistics, fingerprint, event count)", () => {
    let fewerPushes = 0
    fc.assert(fc.property(caseArb, (c) => {
      const inPlace = runCase(c, "inPlace"), posted = runCase(c, "posted")
      expect(inPlace.run).toEqual(posted.run)
      if (inPlace.pushed < posted.pushed) fewerPushes++
    }), { numRuns: 60 })
    expect(fewerPushes).toBeGreaterThan(30) // it does run events in place
  })

  it("the property catches a simulation that runs in place over an event at the same instant", () => {
    const r = fc.check(fc.property(caseArb, (c) => { expect(runCase(c, "broken").run).toEqual(runCase(c, "posted").run) }), { numRuns: 60, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})

/** Takes every invocation the long way (`idleTimerNs` is -1 for a subclass). */
class LongWay extends PcpuScheduler {}

interface IdleCase {
  readonly spec: PcpuSpec
  readonly seed: number
  /** Where the run is cut: `untilNs` limits (ascending) and an event-count step before each. */
  readonly cuts: readonly number[]
  readonly maxEvents: number
}

const idleCaseArb: fc.Arbitrary<IdleCase> = fc.record({
  // low budgets: the PCPU idles often; the options vary the idle timer (maxTimerIntervalNs, schedOverheadNs)
  spec: Arbitraries.pcpuSpec({ mains: [1, 3], ios: [0, 1], horizonUnits: 600, options: Arbitraries.schedulerOptions({ overhead: true, latency: true }) }),
  seed: fc.nat(1000),
  cuts: fc.uniqueArray(fc.integer({ min: 0, max: HORIZON }), { minLength: 0, maxLength: 3 }).map((xs) => [...xs].sort((a, b) => a - b)),
  maxEvents: fc.integer({ min: 1, max: 400 }),
})

const runIdle = (c: IdleCase, longWay: boolean) => {
  const sim = new Simulation.Simulation(c.seed)
  const h = new Harness(c.spec, { sim, trace: true, recordJobs: true, ...(longWay ? { scheduler: new LongWay(c.spec.options ?? {}) } : {}) })
  for (const until of [...c.cuts, HORIZON]) {
    if (until < sim.now) continue
    sim.run({ maxEvents: c.maxEvents, untilNs: until })
    h.run(until)
  }
  const d = h.sched.decision
  return {
    events: sim.events,
    fingerprint: sim.trace.fingerprint(),
    ...outcomeOf(h),
    decision: { ...d },
    now: sim.now,
  }
}

describe("Harness: an idle PCPU's ticks run together", () => {
  it("give the same run as invoking the scheduler at each (schedule, jobs, statistics, fingerprint, event count, last decision)", () => {
    const idleInvocations = PcpuScheduler.prototype.idleInvocations
    let together = 0
    PcpuScheduler.prototype.idleInvocations = function (count: number, lastNs: number) {
      together += count
      return idleInvocations.call(this, count, lastNs)
    }
    try {
      fc.assert(fc.property(idleCaseArb, (c) => {
        expect(runIdle(c, false)).toEqual(runIdle(c, true))
      }), { numRuns: 60 })
    } finally {
      PcpuScheduler.prototype.idleInvocations = idleInvocations
    }
    expect(together).toBeGreaterThan(100) // the shortcut does run (some hundreds of ticks in 60 runs)
  })

  it("a long, mostly idle traced run: the trace's pending records fill up inside runs of ticks (flushed there), same run as the long way", () => {
    // 100 µs of work every 50 ms: 49 idle ticks (1 ms timer) between jobs, 6 slots each, so the
    // pending records (4096 slots) fill up 30 times in 20 s, 26 of them inside a run of ticks (in
    // 2 s: 3 times, none there). The random cases above (60 ms) never reach that flush.
    const spec: PcpuSpec = {
      vcpus: [{ budgetNs: 1 * MS, periodNs: 10 * MS }],
      threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 50 * MS, offsetNs: 300 * US }, job: [{ compute: 100 * US }] }],
    }
    const idleInvocations = PcpuScheduler.prototype.idleInvocations
    let together = 0
    PcpuScheduler.prototype.idleInvocations = function (count: number, lastNs: number) {
      together += count
      return idleInvocations.call(this, count, lastNs)
    }
    const run = (longWay: boolean) => {
      const sim = new Simulation.Simulation(1)
      const h = new Harness(spec, { sim, trace: true, recordJobs: true, ...(longWay ? { scheduler: new LongWay({}) } : {}) })
      h.run(20_000 * MS)
      return { events: sim.events, fingerprint: sim.trace.fingerprint(), ...outcomeOf(h) }
    }
    try {
      const together0 = together
      const a = run(false)
      expect(together - together0).toBe(400 * 49) // the ticks ran together: 49 after each of the 400 jobs
      expect(a).toEqual(run(true))
    } finally {
      PcpuScheduler.prototype.idleInvocations = idleInvocations
    }
  })

  it("the property catches idle ticks that set the timer 1 ns late", () => {
    const idleInvocations = PcpuScheduler.prototype.idleInvocations
    PcpuScheduler.prototype.idleInvocations = function (count: number, lastNs: number) {
      const d = idleInvocations.call(this, count, lastNs)
      d.timerAtNs += 1
      return d
    }
    try {
      const r = fc.check(fc.property(idleCaseArb, (c) => { expect(runIdle(c, false)).toEqual(runIdle(c, true)) }), { numRuns: 60, endOnFailure: true })
      expect(r.failed).toBe(true)
    } finally {
      PcpuScheduler.prototype.idleInvocations = idleInvocations
    }
  })
})
