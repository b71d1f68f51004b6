/**
 * Main VCPU (§B.3): rules SS0–SS6 one by one, then properties F1 (conservation) and F4 (window
 * bound) over random workloads and options, each with a deliberately broken variant that the
 * property must catch.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { liuLayland, responseTimes } from "../src/Analysis.ts"
import { MainVcpu, checkInvariants, queueString } from "../src/MainVcpu.ts"
import { checkWindowBound } from "../src/Schedule.ts"
import type { PcpuSpec } from "../src/Workload.ts"
import { MS, US, assertHolds, findViolation, runChecked } from "./support.ts"

describe("MainVcpu rules", () => {
  it("SS0: one chunk of C eligible at creation; SS1 budget = capacity", () => {
    const v = new MainVcpu(4, 10, 7)
    expect(queueString(v)).toBe("7:4")
    v.refresh(6)
    expect(v.budgetNs).toBe(0)
    v.refresh(7)
    expect(v.budgetNs).toBe(4)
    expect(v.nextEventNs(6)).toBe(7)
    expect(v.nextEventNs(7)).toBe(-1)
  })

  it("SS4: fully used chunks come back at eligibility + T; an overrun delays the next chunk and merges once", () => {
    const v = new MainVcpu(4, 10, 0)
    v.unblock(0)
    v.endTimeslice(2, 2, false) // split: 0:2, 10:2
    expect(queueString(v)).toBe("0:2, 10:2")
    v.unblock(5) // 5:2, 10:2
    v.endTimeslice(3, 8, true) // used 3 of a 2-chunk: 5:2 → 15; overrun 1 delays 10 → 11
    expect(queueString(v)).toBe("11:2, 15:2")
    expect(v.usedNs).toBe(1)
    // Merge: overrun pushes the head so close to the next chunk that they touch.
    const w = new MainVcpu(4, 10, 0)
    w.endTimeslice(1, 1, false) // 0:3, 10:1
    w.unblock(9) // 9:3, merged with 10:1 (10 ≤ 9 + 3) → 9:4
    expect(queueString(w)).toBe("9:4")
    const x = new MainVcpu(6, 10, 0)
    x.endTimeslice(2, 2, false) // 0:4, 10:2
    x.endTimeslice(5, 7, true) // u = 5 ≥ 4: 0:4 → 10:4; u = 1: head (10:2) → 11, 11 + 2 ≥ 10+... second is 10:4
    expect(queueString(x)).toBe("11:6")
    expect(checkInvariants(x)).toBeNull()
  })

  it("SS4.2 regression: an overrun that pushes the head past two entries keeps Q sorted (F1)", () => {
    const v = new MainVcpu(40, 1000, 0, { maxRepl: 4 })
    expect(v.restore([[100, 10], [102, 10], [104, 10], [106, 10]], 0, 0)).toBeNull()
    v.endTimeslice(15, 120, true) // 100:10 used up → 1100; overrun 5 pushes 102 → 107, past 104 and 106
    expect(queueString(v)).toBe("107:30, 1100:10") // one merge alone would leave "107:20, 106:10, 1100:10"
    expect(v.usedNs).toBe(5)
    expect(checkInvariants(v)).toBeNull()
  })

  it("SS5: split keeps the remnant eligible; a full queue folds it into the next chunk", () => {
    const v = new MainVcpu(4, 10, 0, { maxRepl: 2 })
    v.endTimeslice(1, 1, false) // 0:3, 10:1
    expect(queueString(v)).toBe("0:3, 10:1")
    v.endTimeslice(1, 2, false) // full: remove 0:3, 10:1 += 2 → 10:3, insert (10+10, 1)
    expect(queueString(v)).toBe("10:3, 20:1")
    const s = new MainVcpu(4, 10, 0, { splitAdvancesHead: true })
    s.endTimeslice(1, 1, false)
    expect(queueString(s)).toBe("1:3, 10:1")
    const one = new MainVcpu(4, 10, 0, { maxRepl: 1 })
    one.endTimeslice(1, 1, false)
    expect(queueString(one)).toBe("10:4")
  })

  it("SS6: activation moves the head to now and merges chunks reached before it is used up", () => {
    const v = new MainVcpu(4, 10, 0)
    v.endTimeslice(3, 3, false) // 0:1, 10:3
    v.unblock(8)
    expect(queueString(v)).toBe("8:1, 10:3")
    const w = new MainVcpu(4, 10, 0)
    w.endTimeslice(3, 3, false)
    w.unblock(9) // 10 ≤ 9 + 1 → merge: 9:4
    expect(queueString(w)).toBe("9:4")
    const z = new MainVcpu(4, 10, 20)
    z.unblock(5) // capacity 0: nothing changes
    expect(queueString(z)).toBe("20:4")
  })

  it("refuses a bad (C, T) and inserting into a full queue is impossible through the rules", () => {
    expect(() => new MainVcpu(0, 10)).toThrow(/0 < C ≤ T/)
    expect(() => new MainVcpu(11, 10)).toThrow(/0 < C ≤ T/)
    expect(() => new MainVcpu(1, 10, 0, { maxRepl: 0 })).toThrow(/maxRepl/)
  })
})

/** Broken: SS4.1 drops fully used chunks instead of re-posting them. */
class ForgetsRepost extends MainVcpu {
  protected override budgetCheck(nowNs: number): void {
    if (this.capacity(nowNs) > 0) return
    while (this.count > 1 && this.amountAt(0) <= this.usedNs) {
      this.usedNs -= this.amountAt(0)
      this.removeHead()
    }
  }
}

/** Broken: the overrun is re-posted with the exhausted chunk (as N3 does: defect D1, budget amplification). */
class AmplifiesOverrun extends MainVcpu {
  protected override budgetCheck(nowNs: number): void {
    if (this.capacity(nowNs) > 0) return
    while (this.amountAt(0) <= this.usedNs) {
      const t = this.timeAt(0), b = this.amountAt(0)
      this.usedNs -= b
      this.removeHead()
      const overrun = this.count === 0 || this.amountAt(0) > this.usedNs ? this.usedNs : 0
      this.insert(t + this.periodNs, b + overrun)
      this.usedNs -= overrun
    }
  }
}

const UNIT = 100 * US
const HORIZON = 600 * UNIT
/**
 * With `llFraction` (the utilisation premise of F4) the scheduler also re-arms its timer on a
 * budgetless wakeup: Quest's own wakeup does not, so a VCPU can wait up to `maxTimerIntervalNs`
 * (unbounded when the rule is relaxed) with eligible budget, and then catch up with back-to-back
 * chunks (see the F5 tests of PcpuScheduler.test.ts).
 */
const specs = (latency: boolean, llFraction?: number) =>
  Arbitraries.pcpuSpec({
    unitNs: UNIT, mains: [1, 4], threadsPerVcpu: [1, 2],
    options: Arbitraries.schedulerOptions({ latency, overhead: true, ...(llFraction === undefined ? {} : { rearm: true }) }),
    ...(llFraction === undefined ? {} : { llFraction }),
  })

const f1 = (spec: PcpuSpec, make?: (C: number, T: number) => MainVcpu) =>
  runChecked(spec, HORIZON, (h) => {
    for (const v of h.sched.vcpus) if (v instanceof MainVcpu) { const m = checkInvariants(v); if (m !== null) return m }
    return null
  }, make === undefined ? {} : { makeVcpu: (_i, v) => make(v.budgetNs, v.periodNs) })

const f4 = (spec: PcpuSpec, make?: (C: number, T: number, o: PcpuSpec["options"]) => MainVcpu) =>
  runChecked(spec, HORIZON, null, make === undefined ? {} : { makeVcpu: (_i, v) => make(v.budgetNs, v.periodNs, spec.options) }, (h) => {
    const delta = h.sched.options.enforcementLatencyNs + h.sched.options.schedOverheadNs
    for (let i = 0; i < spec.vcpus.length; i++) {
      const v = spec.vcpus[i]!
      const m = checkWindowBound(h.schedule.intervalsOf(i), v.budgetNs, v.periodNs, delta, 4)
      if (m !== null) return `VCPU ${i} (C=${v.budgetNs}, T=${v.periodNs}): ${m}`
    }
    return null
  })

describe("F1 conservation (Σ Q = C, amounts > 0, sorted, |Q| ≤ maxRepl, 0 ≤ b ≤ C) at every invocation", () => {
  it("holds for random workloads, options and enforcement latencies", () => {
    assertHolds(specs(true), (spec) => f1(spec), 150)
  })
  it("catches a Main VCPU that forgets to re-post a used chunk", () => {
    const r = findViolation(specs(false), (spec) => f1(spec, (C, T) => new ForgetsRepost(C, T)), 450)
    expect(r.failed).toBe(true)
  })
})

/**
 * F4's premise under Quest's W1 (a budgetless wakeup does not re-arm the timer). F4's `(k+1)` form
 * rests on every chunk being used up within `T` of becoming eligible (F5's conclusion): then a window
 * `[a, a + kT]` only sees chunks eligible in `(a − T, a + kT)`, at most `k + 1` of them (each comes
 * back `T` after it became eligible, SS4.1). The Liu & Layland bound gives that only for servers that
 * behave as sporadic tasks. Under W1 a thread that wakes just before its chunk is eligible leaves the
 * chunk unseen until the next invocation, up to `maxTimerIntervalNs` later: the server is a sporadic
 * task with release jitter `J = maxTimerIntervalNs`, and after the wait it runs its chunks back to
 * back, which delays the VCPUs below it past their periods (the pinned case below: VCPU 0, T = 1 ms,
 * waits 0.98 ms, then runs three chunks in a row; VCPU 1's chunk starts 1.16 ms > T after it became
 * eligible; 5 chunks fall in one 3·T window). So the premise is fixed-priority response-time analysis
 * with that jitter: `w = C'_i + B + Σ_{hp} ⌈(w + J)/T_j⌉·C'_j`, `R_i = w + J ≤ T_i`, with
 * `C' = C + δ` (each chunk's overrun and scheduler overhead, as the LL cap counts them) and a blocking
 * `B = δ` (a lower VCPU overrunning when a higher chunk becomes eligible); equal periods counted as
 * interference both ways (sound for either tie rule).
 */
export const withinJitterPremise = (spec: PcpuSpec): boolean => {
  const o = spec.options ?? {}
  const extra = (o.enforcementLatencyNs ?? 0) + (o.schedOverheadNs ?? 0)
  const vcpus = spec.vcpus.map((v) => ({ ...v, budgetNs: v.budgetNs + extra }))
  if (vcpus.some((v) => v.budgetNs > v.periodNs)) return false
  return responseTimes(vcpus, { releaseJitterNs: o.maxTimerIntervalNs ?? MS, blockingNs: extra }).verdict === "schedulable"
}

/**
 * Under the faithful defaults (Quest's W1: a budgetless wakeup does not re-arm the timer), random
 * workloads within the Liu & Layland bound, with the timer rule on (`maxTimerIntervalNs` 1 ms or
 * 250 µs; and then within {@link withinJitterPremise}) or relaxed (`Infinity`: no premise, the
 * jitter is unbounded).
 */
const faithfulAny = (timerRule: boolean) =>
  Arbitraries.pcpuSpec({
    unitNs: UNIT, mains: [1, 4], threadsPerVcpu: [1, 2], llFraction: 1,
    options: Arbitraries.schedulerOptions({ latency: true, overhead: true, rearm: false }).filter((o) => (o.maxTimerIntervalNs !== Infinity) === timerRule),
  })
const faithfulSpecs = (timerRule: boolean) => (timerRule ? faithfulAny(true).filter(withinJitterPremise) : faithfulAny(false))

/** F4's counterexample under Quest's W1 with the 1 ms timer rule (seed campaign, FC_SEED=579737735, shrunk). */
const f4Jitter = (rearmOnBudgetlessWakeup: boolean): PcpuSpec => ({
  vcpus: [{ kind: "main", budgetNs: 521_000, periodNs: 1_000_000 }, { kind: "main", budgetNs: 18_700, periodNs: 1_100_000 }, { kind: "main", budgetNs: 10_000, periodNs: 1_000_000 }],
  threads: [
    { vcpu: 0, arrivals: { kind: "poisson", meanInterArrivalNs: 100_000 }, job: [{ sleep: [700_000, 700_000] }, { compute: [1_200_000, 1_400_000] }] },
    { vcpu: 1, arrivals: { kind: "sporadic", minInterArrivalNs: 100_000, maxExtraNs: 0 }, job: [{ compute: [0, 100_000] }] },
    { vcpu: 2, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 0 }] },
  ],
  options: {
    maxRepl: 1, splitAdvancesHead: false, enforcementLatencyNs: 0, schedOverheadNs: 2_000, maxTimerIntervalNs: 1_000_000,
    quantumNs: 1_000_000, rearmOnBudgetlessWakeup, ties: "rotate", policy: "sporadic",
  },
})

/** F4's counterexample under Quest's W1 with the timer rule relaxed (found and shrunk by fast-check). */
const f4Relaxed = (rearmOnBudgetlessWakeup: boolean): PcpuSpec => ({
  vcpus: [{ kind: "main", budgetNs: 32_000, periodNs: 3_200_000 }, { kind: "main", budgetNs: 127_600, periodNs: 2_900_000 }],
  threads: [
    { vcpu: 0, arrivals: { kind: "poisson", meanInterArrivalNs: 100_000 }, job: [{ compute: [0, 100_000] }] },
    { vcpu: 1, arrivals: { kind: "sporadic", minInterArrivalNs: 100_000, maxExtraNs: 0 }, job: [{ compute: [400_000, 800_000] }, { sleep: 2_700_000 }] },
  ],
  options: { maxRepl: 1, maxTimerIntervalNs: Infinity, rearmOnBudgetlessWakeup },
})

describe("F4 window bound: execution in any window k·T ≤ (k+1)·(C+δ), for sets within the Liu & Layland bound", () => {
  it("holds for random workloads, options and latencies (δ = enforcement latency + scheduler overhead), timer re-armed on budgetless wakeups", () => {
    assertHolds(specs(true, 1), (spec) => f4(spec), 150)
  })
  it("holds under the faithful defaults too (no re-arm on budgetless wakeups) with the timer rule on, for sets within the jitter premise", () => {
    assertHolds(faithfulSpecs(true), (spec) => f4(spec), 150)
  })
  it("fails under the faithful defaults with the timer rule on outside the jitter premise: a higher VCPU's timer wait and catch-up delays VCPU 1 past T (printed)", () => {
    const spec = f4Jitter(false)
    expect(liuLayland(spec.vcpus.map((v) => ({ ...v, budgetNs: v.budgetNs + 2_000 }))).verdict).toBe("schedulable") // inside the old premise
    expect(withinJitterPremise(spec)).toBe(false) // VCPU 0 (T = 1 ms) alone has R = J + C' > T
    const m = f4(spec)
    console.log(`F4 under Quest's W1 with the 1 ms timer rule, outside the jitter premise: ${m}`)
    expect(m).toMatch(/^VCPU 1 .*F4: 83500ns executed in a window of 3·T = 3300000ns > \(k\+1\)\(C\+δ\) = 82800ns/)
    // Re-arming on the budgetless wakeup removes the wait (the jitter), and with it the violation.
    expect(f4(f4Jitter(true))).toBeNull()
  })
  it("within the jitter premise still catches budget amplification and the naive POSIX rules", () => {
    const heavy = (policy: string) => fc.record({ spec: faithfulAny(true), delta: fc.constantFrom(300 * US, 500 * US) })
      .map(({ spec, delta }): PcpuSpec => ({ ...spec, options: { ...spec.options, policy, enforcementLatencyNs: delta } }))
      .filter(withinJitterPremise)
    const amplifies = findViolation(heavy("sporadic"), (spec) => f4(spec, (C, T, o) => new AmplifiesOverrun(C, T, 0, { maxRepl: o?.maxRepl ?? 32 })), 600)
    expect(amplifies.failed).toBe(true)
    expect(findViolation(heavy("posixNaive"), (spec) => f4(spec), 600).failed).toBe(true)
  })
  it("fails under the faithful defaults with the timer rule relaxed: eligible budget waits for an unrelated event, then catches up (printed)", () => {
    // VCPU 1's thread wakes before its chunk is eligible; nothing re-arms the timer for that chunk
    // (Quest's W1), so it is used late, and the chunk after it comes back T after it became
    // ELIGIBLE (SS4.1): two chunks (and more) close together.
    const m = f4(f4Relaxed(false))
    console.log(`F4 under Quest's W1 with maxTimerIntervalNs = Infinity: ${m}\n  spec: ${JSON.stringify(f4Relaxed(false), (_k, v) => (v === Infinity ? "Infinity" : v))}`)
    expect(m).toMatch(/^VCPU 1 .*F4: 355200ns executed in a window of 1·T/)
    expect(f4(f4Relaxed(true))).toBeNull()
    // Random sets find more (no shrinking: the pinned case above is the readable one). They are
    // rare: 37 of 6,000 sampled specs (p ≈ 0.0062, 95 % interval 0.0044–0.0085; fc.sample seed
    // 12345), so 600 runs missed them under about 2.5 % of seeds (the seed campaign's seed 82432163).
    // 4,000 runs miss with probability below (1 − 0.0044)^4000 ≈ 2·10⁻⁸; the search stops at the
    // first hit (about 160 runs on average).
    const r = fc.check(fc.property(faithfulSpecs(false), (spec) => f4(spec) === null), { numRuns: 4000, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
  it("does not hold without the utilisation premise: a starved server catches up with back-to-back chunks", () => {
    // Chunks come back one period after they became ELIGIBLE (SS4.1), so a VCPU delayed by more
    // than T (overload) consumes its backlog of chunks in a burst: more than (k+1)·C in k·T.
    const r = findViolation(specs(false), (spec) => f4(spec), 900)
    expect(r.failed).toBe(true)
  })
  it("catches a Main VCPU that re-posts overruns with the chunk (budget amplification)", () => {
    const heavy = fc.record({ spec: specs(false, 1), delta: fc.constantFrom(300 * US, 500 * US) })
      .map(({ spec, delta }): PcpuSpec => ({ ...spec, options: { ...spec.options, enforcementLatencyNs: delta } }))
    const r = findViolation(heavy, (spec) => f4(spec, (C, T, o) => new AmplifiesOverrun(C, T, 0, { maxRepl: o?.maxRepl ?? 32 })), 600)
    expect(r.failed).toBe(true)
  })
  it("catches the naive POSIX rules with δ > 0 (worked example 1's window of 10 > 2·(4+1))", () => {
    const naive = fc.record({ spec: specs(false, 1), delta: fc.constantFrom(300 * US, 500 * US) })
      .map(({ spec, delta }): PcpuSpec => ({ ...spec, options: { ...spec.options, policy: "posixNaive", enforcementLatencyNs: delta } }))
    const r = findViolation(naive, (spec) => f4(spec), 600)
    expect(r.failed).toBe(true)
  })
})
