/**
 * The harness runs its own events (invocations, ends of computations) in place when one is the
 * run's very next event (`Harness.settle`, sim-core `runNextInPlace`); with an `onInvoke` hook it
 * posts every one of them. Both must give the same run: schedule, job records, statistics, trace
 * fingerprint and event count — alone, with I/O VCPUs and interrupt top halves, and with two
 * harnesses sharing one simulation (their events interleave at equal times). The property is also
 * run on a simulation whose `runNextInPlace` is broken on purpose, to show it can fail.
 */
import { Simulation } from "@qvsim/sim-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness } from "../src/Harness.ts"
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
      harnesses: hs.map((h) => ({
        segments: h.schedule.segments(),
        jobs: h.jobs,
        ioJobs: h.ioJobs,
        unfinished: h.unfinishedJobs(),
        invocations: h.sched.invocations,
        gap: h.maxInvocationGapNs,
        latency: h.maxPreemptionLatencyNs,
      })),
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
