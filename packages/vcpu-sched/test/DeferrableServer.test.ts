/**
 * The deferrable server policy: its rules DS0–DS3 on one VCPU; the worked case where the
 * sporadic-server analysis would be wrong for it (the back-to-back execution across a period
 * boundary); and the interference bound of its demand model (RTA with release jitter `T − C`) on
 * random servers, which the sporadic-task model is shown to violate.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { processorDemand, responseTimes, sporadicTask, type VcpuParams } from "../src/Analysis.ts"
import { DeferrableServer, deferrableDemand } from "../src/DeferrableServer.ts"
import { Harness } from "../src/Harness.ts"
import * as Policy from "../src/Policy.ts"
import type { PcpuSpec, PeriodicTask, ThreadSpec } from "../src/Workload.ts"
import { MS, US, assertHolds, findViolation } from "./support.ts"

const ds = (C: number, T: number, createdAtNs = 0) => new DeferrableServer({ budgetNs: C, periodNs: T, deadlineNs: T }, { rule: "rm", createdAtNs })

describe("deferrable server rules", () => {
  it("DS1/DS3: full budget at every boundary, kept while idle, unused budget never banked", () => {
    const v = ds(2 * MS, 10 * MS)
    v.refresh(0)
    expect(v.budgetNs).toBe(2 * MS)
    v.endTimeslice(500 * US, 500 * US, false) // used 0.5 ms, then idle
    v.unblock(7 * MS) // still the first period: the rest is kept
    v.refresh(7 * MS)
    expect(v.budgetNs).toBe(1_500 * US)
    expect(v.nextEventNs(7 * MS)).toBe(10 * MS)
    v.unblock(25 * MS) // two boundaries later: C again, not 2C or more
    v.refresh(25 * MS)
    expect(v.budgetNs).toBe(2 * MS)
    expect(v.periodStartNs).toBe(20 * MS)
  })
  it("DS2: a timeslice crossing a boundary charges only its part after the boundary", () => {
    const v = ds(2 * MS, 10 * MS)
    v.refresh(9 * MS)
    v.endTimeslice(1_500 * US, 10_500 * US, true) // ran [9, 10.5): 0.5 ms in the new period
    expect(v.usedNs).toBe(500 * US)
    expect(v.budgetNs).toBe(1_500 * US)
  })
  it("refuses D ≠ T, and is registered with its analysis and migration", () => {
    expect(() => new DeferrableServer({ budgetNs: 1, periodNs: 10, deadlineNs: 5 }, { rule: "rm", createdAtNs: 0 })).toThrow(/deadline 5ns must equal the period 10ns/)
    const p = Policy.get("deferrable")
    expect(p.analysis).toBe(deferrableDemand)
    expect(p.migration).not.toBeNull()
  })
})

describe("why the sporadic-server analysis must not be applied to it", () => {
  // hi: deferrable (2, 5) whose work arrives at 3 (4 ms) and at 10 (2 ms): it runs [3, 5) at the end
  // of one period, [5, 7) at the start of the next, and [10, 12). lo: sporadic (6, 10), 6 ms from 3.
  const spec: PcpuSpec = {
    vcpus: [{ budgetNs: 2 * MS, periodNs: 5 * MS, policy: "deferrable" }, { budgetNs: 6 * MS, periodNs: 10 * MS }],
    threads: [
      { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [3 * MS, 10 * MS] }, job: [{ compute: 2 * MS }], jobs: [[{ compute: 4 * MS }]] },
      { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [3 * MS] }, job: [{ compute: 6 * MS }] },
    ],
  }
  it("lo takes 12 ms, more than the 10 ms the sporadic-task RTA promises; the deferrable model's bound covers it", () => {
    const h = new Harness(spec, { recordJobs: true, checkInvariants: true }).run(40 * MS)
    const lo = h.jobs.find((j) => j.thread === 1)!
    expect(lo.completeNs - lo.releaseNs).toBe(12 * MS)
    const asSporadic: VcpuParams[] = [{ budgetNs: 2 * MS, periodNs: 5 * MS, model: sporadicTask }, { budgetNs: 6 * MS, periodNs: 10 * MS }]
    expect(responseTimes(asSporadic).responses[1]).toMatchObject({ responseNs: 10 * MS, schedulable: true }) // wrong for a DS
    const asDeferrable: VcpuParams[] = [{ budgetNs: 2 * MS, periodNs: 5 * MS, model: deferrableDemand }, { budgetNs: 6 * MS, periodNs: 10 * MS }]
    const r = responseTimes(asDeferrable)
    expect(r.responses[1]!.responseNs).toBeGreaterThanOrEqual(12 * MS)
    expect(r.verdict).toBe("inconclusive") // the DS bound is sufficient, not exact: no 'unschedulable' claim
  })
})

// ------------------------------------------------------------------ interference bound

const UNIT = 100 * US

interface Case {
  readonly servers: Array<PeriodicTask & { readonly deferrable: boolean }>
  readonly low: PeriodicTask
  readonly behaviour: Array<{ arrivals: ThreadSpec["arrivals"]; job: ThreadSpec["job"] }>
}

const cases: fc.Arbitrary<Case> = Arbitraries.periodicSet({ tasks: [1, 4], periodUnits: [10, 60], unitNs: UNIT, utilisationPerMille: [300, 800] })
  .chain((servers) => fc.record({
    servers: fc.constant(servers),
    deferrable: fc.array(fc.boolean(), { minLength: servers.length, maxLength: servers.length }),
    lowPeriod: fc.integer({ min: 61, max: 200 }),
    lowPerMille: fc.integer({ min: 10, max: 1000 }),
    behaviour: fc.array(fc.record({ arrivals: Arbitraries.arrivals(UNIT, 600, [1, 60]), job: Arbitraries.jobSteps(UNIT, 0, 30) }), { minLength: servers.length, maxLength: servers.length }),
  }))
  .map(({ servers, deferrable, lowPeriod, lowPerMille, behaviour }) => {
    const T = lowPeriod * UNIT
    const slack = Math.max(0, 1 - servers.reduce((s, v) => s + v.budgetNs / v.periodNs, 0))
    return { servers: servers.map((s, i) => ({ ...s, deferrable: deferrable[i]! })), low: { budgetNs: Math.max(1, Math.floor(T * slack * lowPerMille / 1000)), periodNs: T }, behaviour }
  })

/** The lowest-priority (sporadic, periodic demand C) VCPU's worst response against RTA with each server's model (`dsModel` for the deferrable ones). */
const interference = (c: Case, dsModel = deferrableDemand): string | null => {
  const params: VcpuParams[] = [...c.servers.map((s) => ({ ...s, model: s.deferrable ? dsModel : sporadicTask })), c.low]
  const bound = responseTimes(params).responses.find((r) => r.index === c.servers.length)
  if (bound === undefined || !bound.schedulable) return null
  const spec: PcpuSpec = {
    vcpus: [...c.servers.map((s) => ({ budgetNs: s.budgetNs, periodNs: s.periodNs, ...(s.deferrable ? { policy: "deferrable" } : {}) })), { ...c.low }],
    threads: [
      ...c.behaviour.map((b, i) => ({ vcpu: i, arrivals: b.arrivals, job: b.job })),
      { vcpu: c.servers.length, arrivals: { kind: "periodic", periodNs: c.low.periodNs }, job: [{ compute: c.low.budgetNs }] },
    ],
  }
  const h = new Harness(spec, { recordSchedule: false, checkInvariants: true }).run(8 * c.low.periodNs)
  const low = h.statsOf(c.servers.length)
  return low.maxResponseNs <= bound.responseNs ? null : `lowest-priority VCPU: response ${low.maxResponseNs}ns > RTA bound ${bound.responseNs}ns`
}

describe("interference bound of deferrable servers: RTA with release jitter T − C", () => {
  it("a lowest-priority periodic VCPU never exceeds it, whatever the servers' threads do (invariants checked at every decision)", () => {
    assertHolds(cases, (c) => interference(c), 150)
  })
  it("the sporadic-task model (no jitter) is violated by deferrable servers", () => {
    const r = findViolation(cases.filter((c) => c.servers.some((s) => s.deferrable)), (c) => interference(c, sporadicTask), 900)
    expect(r.failed).toBe(true)
  })
})

// ------------------------------------------------------------------ EDF demand

/** Under EDF: when the processor-demand test (each server through its model) passes, the periodic VCPU's jobs never miss. */
const edfDemand = (c: Case, dsModel = deferrableDemand): string | null => {
  const params: VcpuParams[] = [...c.servers.map((s) => ({ ...s, model: s.deferrable ? dsModel : sporadicTask })), c.low]
  if (processorDemand(params).verdict !== "schedulable") return null
  const spec: PcpuSpec = {
    vcpus: [...c.servers.map((s) => ({ budgetNs: s.budgetNs, periodNs: s.periodNs, ...(s.deferrable ? { policy: "deferrable" } : {}) })), { ...c.low }],
    threads: [
      ...c.behaviour.map((b, i) => ({ vcpu: i, arrivals: b.arrivals, job: b.job })),
      { vcpu: c.servers.length, arrivals: { kind: "periodic", periodNs: c.low.periodNs }, job: [{ compute: c.low.budgetNs }] },
    ],
    options: { priority: "edf" },
  }
  const h = new Harness(spec, { recordSchedule: false, checkInvariants: true }).run(8 * c.low.periodNs)
  const low = h.statsOf(c.servers.length)
  return low.missed === 0 ? null : `periodic VCPU under EDF: ${low.missed} misses (worst response ${low.maxResponseNs}ns, T = ${c.low.periodNs}ns) although the demand test passes`
}

describe("EDF demand of deferrable servers: n·C + min(r, C) over L = nT + r", () => {
  it("a periodic VCPU never misses when the demand test passes, whatever the servers' threads do", () => {
    assertHolds(cases, (c) => edfDemand(c), 150)
  })
  it("the sporadic-task dbf is wrong for it: v (5, 20, D = 8) from 3 ms misses behind a deferrable (2, 5) running [3, 7) back to back", () => {
    const spec: PcpuSpec = {
      vcpus: [{ budgetNs: 2 * MS, periodNs: 5 * MS, policy: "deferrable" }, { budgetNs: 5 * MS, periodNs: 20 * MS, deadlineNs: 8 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [3 * MS] }, job: [{ compute: 4 * MS }] },
        { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [3 * MS] }, deadlineNs: 8 * MS, job: [{ compute: 5 * MS }] },
      ],
      options: { priority: "edf" },
    }
    const h = new Harness(spec, { recordJobs: true, checkInvariants: true }).run(40 * MS)
    expect(h.jobs.find((j) => j.thread === 1)).toMatchObject({ completeNs: 12 * MS, deadlineNs: 11 * MS })
    const set = (model: typeof sporadicTask): VcpuParams[] => [{ budgetNs: 2 * MS, periodNs: 5 * MS, model }, { budgetNs: 5 * MS, periodNs: 20 * MS, deadlineNs: 8 * MS }]
    expect(processorDemand(set(sporadicTask)).verdict).toBe("schedulable") // wrong for a DS
    expect(processorDemand(set(deferrableDemand))).toMatchObject({ verdict: "inconclusive", failedAtNs: 8 * MS, demandNs: 9 * MS })
  })
})
