/**
 * Analysis: known values of every test; then RTA exactness against the simulated schedule, and the
 * interference bound of sporadic servers (a lowest-priority periodic VCPU never waits longer than
 * RTA says, whatever the servers' threads do), each with a broken variant the property catches.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { analyse, edfUtilisation, hyperbolic, hyperperiodNs, liuLayland, mainIoTest, processorDemand, responseTimes, sporadicTask, type TaskParams, type VcpuParams } from "../src/Analysis.ts"
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

  it("RTA with release jitter J and blocking B: w = C + B + Σ ⌈(w + J)/T_j⌉·C_j, R = w + J", () => {
    const two = [{ budgetNs: 1, periodNs: 4 }, { budgetNs: 2, periodNs: 6 }]
    expect(responseTimes(two).responses.map((r) => r.responseNs)).toEqual([1, 3])
    expect(responseTimes(two, { releaseJitterNs: 1 }).responses.map((r) => r.responseNs)).toEqual([2, 4])
    // J = 2: the higher task's second release falls in the window (⌈(4 + 2)/4⌉ = 2): w = 4, R = 6.
    expect(responseTimes(two, { releaseJitterNs: 2 }).responses.map((r) => r.responseNs)).toEqual([3, 6])
    expect(responseTimes(two, { releaseJitterNs: 3 }).verdict).toBe("unschedulable")
    expect(responseTimes(two, { blockingNs: 1 }).responses.map((r) => r.responseNs)).toEqual([2, 4])
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
    const r = findViolation(sets, (tasks) => rtaExact(tasks, brokenRta), 450)
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
    while (this.amountAt(0) <= this.usedNs) {
      const t = this.timeAt(0), b = this.amountAt(0)
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
    const r = findViolation(interferenceCases, (c) => interference(c, (C, T) => new HalfPeriodRepost(C, T)), 450)
    expect(r.failed).toBe(true)
  })
})

// ------------------------------------------------------------------ EDF: processor demand exactness

interface EdfCase {
  readonly tasks: Array<{ budgetNs: number; periodNs: number; deadlineNs: number }>
}

/** Small hyperperiods (periods from a set with LCM ≤ 120 units), utilisation 0.5–1, deadlines C ≤ D ≤ T. */
const edfCases: fc.Arbitrary<EdfCase> = fc.array(fc.record({
  period: fc.constantFrom(4, 5, 6, 8, 10, 12, 15, 20, 24, 30, 40, 60, 120),
  weight: fc.integer({ min: 1, max: 100 }),
  dPerMille: fc.oneof(fc.constant(1000), fc.integer({ min: 0, max: 1000 })),
}), { minLength: 2, maxLength: 5 }).chain((raw) => fc.integer({ min: 500, max: 1000 }).map((perMille) => {
  const total = raw.reduce((s, r) => s + r.weight, 0)
  return {
    tasks: raw.map((r) => {
      const T = r.period * UNIT
      const C = Math.max(1, Math.min(T, Math.floor((T * perMille * r.weight) / (1000 * total))))
      return { budgetNs: C, periodNs: T, deadlineNs: C + Math.floor(((T - C) * r.dPerMille) / 1000) }
    }),
  }
}))

/** Broken dbf: counts the jobs due by L as ⌊(L − D)/T⌋, one too few (misses the first deadline). */
const brokenDbf = { ...sporadicTask, edf: { ...sporadicTask.edf!, dbfNs: (v: TaskParams, L: number) => (L < v.deadlineNs ? 0 : Math.floor((L - v.deadlineNs) / v.periodNs) * v.budgetNs) } }

/**
 * EDF schedules the synchronous periodic set (one sporadic-server VCPU and one thread per task,
 * demand C every T from 0, deadline D) without a miss iff the processor-demand test says so; a
 * failure at L shows as a miss by L.
 */
const edfExact = (c: EdfCase, model = sporadicTask): string | null => {
  const result = processorDemand(c.tasks.map((t) => ({ ...t, model })))
  const horizon = 120 * UNIT + Math.max(...c.tasks.map((t) => t.periodNs))
  const spec: PcpuSpec = {
    vcpus: c.tasks.map((t) => ({ budgetNs: t.budgetNs, periodNs: t.periodNs, deadlineNs: t.deadlineNs })),
    threads: c.tasks.map((t, i) => ({ vcpu: i, arrivals: { kind: "periodic", periodNs: t.periodNs }, deadlineNs: t.deadlineNs, job: [{ compute: t.budgetNs }] })),
    options: { priority: "edf" },
  }
  const h = new Harness(spec, { recordJobs: true, recordSchedule: false, checkInvariants: true }).run(horizon)
  const late = h.jobs.find((j) => j.completeNs > j.deadlineNs)
  if (result.verdict === "schedulable") return late === undefined ? null : `demand test says schedulable, but thread ${late.thread} job ${late.job} completed at ${late.completeNs} > deadline ${late.deadlineNs}`
  if (result.verdict !== "unschedulable") return `no verdict: ${result.note}`
  const byL = h.jobs.find((j) => j.deadlineNs <= result.failedAtNs && j.completeNs > j.deadlineNs)
  return byL !== undefined ? null : `demand test fails at L = ${result.failedAtNs} but no job due by then is late`
}

describe("EDF (scheduler.priority 'edf'): the processor-demand test is exact against the simulated schedule", () => {
  it("synchronous periodic sets with D ≤ T: no miss iff Σ dbf(L) ≤ L; a failure at L is a miss by L", () => {
    assertHolds(edfCases, (c) => edfExact(c), 150)
  })
  it("catches a dbf with an off-by-one (one job too few due by L)", () => {
    const r = findViolation(edfCases, (c) => edfExact(c, brokenDbf), 450)
    expect(r.failed).toBe(true)
  })
  it("utilisation test: Σ C/T ≤ 1 decides for implicit deadlines; the set RM cannot schedule runs under EDF without a miss", () => {
    const set = [{ budgetNs: 2_000 * US, periodNs: 4_000 * US }, { budgetNs: 2_900 * US, periodNs: 6_000 * US }]
    expect(responseTimes(set).verdict).toBe("unschedulable")
    expect(edfUtilisation(set)).toMatchObject({ verdict: "schedulable", bound: 1 })
    expect(processorDemand(set).verdict).toBe("schedulable")
    const run = (priority: "rm" | "edf") => {
      const h = new Harness({ ...periodicSpec(set), options: { priority } }, { recordSchedule: false, checkInvariants: true }).run(120_000 * US)
      return h.statsOf(0).missed + h.statsOf(1).missed
    }
    expect(run("rm")).toBeGreaterThan(0)
    expect(run("edf")).toBe(0)
    expect(edfUtilisation([{ budgetNs: 3, periodNs: 4 }, { budgetNs: 2, periodNs: 6 }]).verdict).toBe("unschedulable")
  })
  it("a policy without a demand model leaves no verdict (never another policy's)", () => {
    const a = analyse([{ budgetNs: 1, periodNs: 4 }, { budgetNs: 1, periodNs: 8, model: null, policy: "posixNaive" }], { rule: "edf" })
    expect(a.edf!.demand.verdict).toBe("inconclusive")
    expect(a.unanalysed).toEqual([{ index: 1, policy: "posixNaive" }])
    expect(analyse([{ budgetNs: 1, periodNs: 4, model: null, policy: "posixNaive" }]).rta.verdict).toBe("inconclusive")
  })
})
