/**
 * Analysis: known values of every test; then RTA exactness against the simulated schedule, and the
 * interference bound of sporadic servers (a lowest-priority periodic VCPU never waits longer than
 * RTA says, whatever the servers' threads do), each with a broken variant the property catches.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { analyse, hyperbolic, hyperperiodNs, liuLayland, mainIoTest, responseTimes, type VcpuParams } from "../src/Analysis.ts"
import { Harness } from "../src/Harness.ts"
import { MainVcpu } from "../src/MainVcpu.ts"
import { periodicSpec, type PcpuSpec, type PeriodicTask, type ThreadSpec } from "../src/Workload.ts"
import { US, assertHolds, findViolation } from "./support.ts"

describe("analysis values", () => {
  const set: VcpuParams[] = [{ budgetNs: 1, periodNs: 4 }, { budgetNs: 2, periodNs: 6 }, { budgetNs: 3, periodNs: 12 }]

  it("Liu & Layland and hyperbolic: the numbers and 'inconclusive' when they fail", () => {
    const ll = liuLayland(set)
    expect(ll.value).toBeCloseTo(0.8333, 4)
    expect(ll.bound).toBeCloseTo(3 * (Math.cbrt(2) - 1), 12)
    expect(ll.verdict).toBe("inconclusive")
    const hb = hyperbolic(set)
    expect(hb.value).toBeCloseTo(1.25 * (4 / 3) * 1.25, 12)
    expect(hb.verdict).toBe("inconclusive")
    expect(liuLayland([{ budgetNs: 1, periodNs: 4 }, { budgetNs: 1, periodNs: 5 }]).verdict).toBe("schedulable")
    expect(hyperbolic([{ budgetNs: 1, periodNs: 2 }, { budgetNs: 1, periodNs: 3 }]).verdict).toBe("schedulable") // 1.5·(4/3) = 2
  })

  it("RTA: exact response times, and 'unschedulable' past a period", () => {
    const rta = responseTimes(set)
    expect(rta.responses.map((r) => r.responseNs)).toEqual([1, 3, 10])
    expect(rta.verdict).toBe("schedulable")
    const bad = responseTimes([{ budgetNs: 2, periodNs: 4 }, { budgetNs: 3, periodNs: 6 }])
    expect(bad.verdict).toBe("unschedulable")
    expect(bad.responses[1]!.schedulable).toBe(false)
    // Equal periods: conservative counts each against the other; 'index' ranks by position.
    const tie = [{ budgetNs: 2, periodNs: 10 }, { budgetNs: 3, periodNs: 10 }]
    expect(responseTimes(tie).responses.map((r) => r.responseNs)).toEqual([5, 5])
    expect(responseTimes(tie, { ties: "index" }).responses.map((r) => r.responseNs)).toEqual([2, 5])
    // I/O VCPUs are left out of RTA.
    expect(responseTimes([...set, { kind: "io", budgetNs: 1, periodNs: 10 }]).responses).toHaveLength(3)
  })

  it("§C.3: Σ C/T + Σ (2 − U)·U ≤ n(2^{1/n} − 1)", () => {
    const r = mainIoTest([{ budgetNs: 2, periodNs: 10 }, { budgetNs: 2, periodNs: 10 }, { kind: "io", budgetNs: 1, periodNs: 10 }])
    expect(r.mainUtilisation).toBeCloseTo(0.4, 12)
    expect(r.ioTerm).toBeCloseTo(1.9 * 0.1, 12)
    expect(r.bound).toBeCloseTo(2 * (Math.SQRT2 - 1), 12)
    expect(r.verdict).toBe("schedulable")
    expect(mainIoTest([{ budgetNs: 3, periodNs: 10 }, { budgetNs: 3, periodNs: 10 }, { kind: "io", budgetNs: 2, periodNs: 10 }]).verdict).toBe("inconclusive")
  })

  it("hyperperiod is an exact bigint; analyse gathers everything", () => {
    expect(hyperperiodNs([4, 6, 12])).toBe(12n)
    expect(hyperperiodNs([999_999_937, 1_000_000_007, 999_999_929])).toBe(999_999_937n * 1_000_000_007n * 999_999_929n)
    const a = analyse(set)
    expect([a.utilisation, a.rta.verdict, a.hyperperiodNs]).toEqual([a.mainUtilisation, "schedulable", 12n])
  })
})

// ------------------------------------------------------------------ RTA exactness

/** Broken RTA: counts floor(R/T_j) higher-priority releases instead of ceil (an off-by-one). */
const brokenRta = (tasks: readonly PeriodicTask[]): number[] =>
  tasks.map((t) => {
    const hp = tasks.filter((o) => o.periodNs < t.periodNs)
    let r = t.budgetNs
    for (let k = 0; k < 1000; k++) {
      const next = t.budgetNs + hp.reduce((s, o) => s + Math.floor(r / o.periodNs) * o.budgetNs, 0)
      if (next === r || next > t.periodNs) return next
      r = next
    }
    return r
  })

const UNIT = 100 * US
const sets = Arbitraries.periodicSet({ tasks: [2, 6], periodUnits: [10, 200], unitNs: UNIT, utilisationPerMille: [500, 1000], distinctPeriods: true })

/** Simulates the set (one thread per VCPU, demand C every T from 0); checks first jobs against `rta`. */
const rtaExact = (tasks: readonly PeriodicTask[], rta: (tasks: readonly PeriodicTask[]) => number[]): string | null => {
  const expected = rta(tasks)
  const schedulable = expected.every((r, i) => r <= tasks[i]!.periodNs)
  const maxT = Math.max(...tasks.map((t) => t.periodNs))
  const hyper = hyperperiodNs(tasks.map((t) => t.periodNs))
  const horizon = hyper <= BigInt(20 * maxT) ? Number(hyper) : 5 * maxT
  const h = new Harness(periodicSpec(tasks), { recordJobs: true, recordSchedule: false }).run(horizon)
  for (let i = 0; i < tasks.length; i++) {
    const first = h.jobs.find((j) => j.thread === i && j.job === 0)
    if (expected[i]! <= tasks[i]!.periodNs) {
      if (first === undefined || first.completeNs !== expected[i]) return `VCPU ${i}: first job completed at ${first?.completeNs} ≠ RTA ${expected[i]}`
    } else if (first !== undefined && first.completeNs <= tasks[i]!.periodNs) {
      return `VCPU ${i}: RTA says it misses (${expected[i]}) but the first job completed at ${first.completeNs}`
    }
    if (schedulable && h.statsOf(i).missed > 0) return `VCPU ${i}: ${h.statsOf(i).missed} misses although RTA says schedulable`
  }
  return null
}

const rta = (tasks: readonly PeriodicTask[]) => responseTimes(tasks, { ties: "index" }).responses.map((r) => r.responseNs)

describe("RTA exactness: synchronous periodic set, implicit deadlines, one thread per Main VCPU with demand C", () => {
  it("the first job of every VCPU completes exactly at its RTA response time; no miss when RTA says schedulable", () => {
    assertHolds(sets, (tasks) => rtaExact(tasks, rta), 150)
  })
  it("catches an RTA with an off-by-one (floor instead of ceil)", () => {
    const r = findViolation(sets, (tasks) => rtaExact(tasks, brokenRta), 150)
    expect(r.failed).toBe(true)
  })
})

// ------------------------------------------------------------------ interference bound

interface InterferenceCase {
  readonly servers: PeriodicTask[]
  readonly low: PeriodicTask
  readonly behaviour: Array<{ arrivals: ThreadSpec["arrivals"]; job: ThreadSpec["job"] }>
}

const interferenceCases: fc.Arbitrary<InterferenceCase> = Arbitraries.periodicSet({ tasks: [1, 4], periodUnits: [10, 60], unitNs: UNIT, utilisationPerMille: [300, 800] })
  .chain((servers) => fc.record({
    servers: fc.constant(servers),
    lowPeriod: fc.integer({ min: 61, max: 200 }),
    lowPerMille: fc.integer({ min: 10, max: 1000 }),
    behaviour: fc.array(fc.record({ arrivals: Arbitraries.arrivals(UNIT, 600, [1, 60]), job: Arbitraries.jobSteps(UNIT, 0, 30) }), { minLength: servers.length, maxLength: servers.length }),
  }))
  .map(({ servers, lowPeriod, lowPerMille, behaviour }) => {
    const T = lowPeriod * UNIT
    const slack = Math.max(0, 1 - servers.reduce((s, v) => s + v.budgetNs / v.periodNs, 0))
    return { servers, low: { budgetNs: Math.max(1, Math.floor(T * slack * lowPerMille / 1000)), periodNs: T }, behaviour }
  })

const interference = (c: InterferenceCase, make?: (C: number, T: number) => MainVcpu): string | null => {
  const all = [...c.servers, c.low]
  const bound = responseTimes(all).responses[all.length - 1]!
  if (!bound.schedulable) return null
  const spec: PcpuSpec = {
    vcpus: all.map((t) => ({ kind: "main" as const, ...t })),
    threads: [
      ...c.behaviour.map((b, i) => ({ vcpu: i, arrivals: b.arrivals, job: b.job })),
      { vcpu: c.servers.length, arrivals: { kind: "periodic", periodNs: c.low.periodNs }, job: [{ compute: c.low.budgetNs }] },
    ],
  }
  const h = new Harness(spec, { recordSchedule: false, ...(make === undefined ? {} : { makeVcpu: (_i, v) => make(v.budgetNs, v.periodNs) }) }).run(8 * c.low.periodNs)
  const low = h.statsOf(c.servers.length)
  return low.maxResponseNs <= bound.responseNs ? null : `lowest-priority VCPU: response ${low.maxResponseNs}ns > RTA bound ${bound.responseNs}ns`
}

/** Broken SS4: used chunks come back after half a period (premature replenishment). */
class HalfPeriodRepost extends MainVcpu {
  protected override budgetCheck(nowNs: number): void {
    if (this.capacity(nowNs) > 0) return
    while (this.amounts[0]! <= this.usedNs) {
      const t = this.times[0]!, b = this.amounts[0]!
      this.usedNs -= b
      this.removeHead()
      this.insert(t + Math.floor(this.periodNs / 2), b)
    }
  }
}

describe("interference bound: a lowest-priority periodic VCPU never exceeds the RTA bound that treats every server as a periodic task", () => {
  it("holds whatever the servers' threads do (random arrivals, blocking, bursts)", () => {
    assertHolds(interferenceCases, (c) => interference(c), 150)
  })
  it("catches servers whose chunks come back after half a period", () => {
    const r = findViolation(interferenceCases, (c) => interference(c, (C, T) => new HalfPeriodRepost(C, T)), 150)
    expect(r.failed).toBe(true)
  })
})
