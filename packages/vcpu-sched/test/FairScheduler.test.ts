/**
 * The fair scheduler of a Linux sandbox (CFS approximation): worked examples (weights from nice,
 * slices, wakeup preemption, placement), then properties on a single-core driver of its own —
 * proportional share within the vruntime lag bound, `min_vruntime` monotonic, sleepers placed no
 * earlier than `min_vruntime − latency/2`, states consistent — each shown to catch a deliberately
 * broken variant (weights ignored, the largest vruntime picked, placement forgotten).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { FairScheduler, NICE_0_WEIGHT, weightOfNice } from "../src/FairScheduler.ts"
import { ThreadState } from "../src/PcpuScheduler.ts"
import { MS, PROP_SCALE, US } from "./support.ts"

/** One thread of the driver: runs `runNs` then sleeps `sleepNs` (0: never sleeps, a CPU hog). */
interface Behaviour { readonly nice: number; readonly runNs: number; readonly sleepNs: number }
interface Case { readonly threads: readonly Behaviour[]; readonly latencyNs: number; readonly minGranNs: number; readonly wakeGranNs: number; readonly untilNs: number }

/** Called after every invocation with the time; returns a violation or null. */
type Check = (s: FairScheduler, nowNs: number) => string | null

/**
 * Runs `c` on scheduler `s`, whose threads 0..n−1 exist (one core, no overhead, 1 ns timer tick, no timer cap): the running
 * thread blocks when its run is done, sleepers wake at their time, the timer invokes the scheduler.
 * Returns the first violation of `check`, or null, and each thread's CPU time.
 */
const drive = (s: FairScheduler, c: Case, check: Check | null = null): { violation: string | null; cpuNs: number[]; spread0Ns: number } => {
  const n = c.threads.length
  const left = c.threads.map((b) => b.runNs)
  const wakeAt = new Array<number>(n).fill(-1)
  const cpu = new Array<number>(n).fill(0)
  for (let i = 0; i < n; i++) s.wakeup(i, 0)
  // The spread of the first placements (START_DEBIT grows with each newcomer's slice).
  const v0 = Array.from({ length: n }, (_, i) => s.vruntimeOf(i))
  const spread0Ns = Math.max(...v0) - Math.min(...v0)
  let d = s.invoke(0)
  let t = 0
  let v = check?.(s, 0) ?? null
  while (t < c.untilNs && v === null) {
    const cur = d.thread
    let tn = Math.min(d.timerAtNs, c.untilNs)
    if (cur >= 0 && c.threads[cur]!.sleepNs > 0) tn = Math.min(tn, t + left[cur]!)
    for (let i = 0; i < n; i++) if (wakeAt[i]! >= 0) tn = Math.min(tn, wakeAt[i]!)
    if (cur >= 0) {
      cpu[cur]! += tn - t
      left[cur]! -= tn - t
    }
    t = tn
    let invoke = t === d.timerAtNs
    if (cur >= 0 && c.threads[cur]!.sleepNs > 0 && left[cur]! <= 0) {
      s.block(cur, t)
      wakeAt[cur] = t + c.threads[cur]!.sleepNs
      left[cur] = c.threads[cur]!.runNs
      invoke = true
    }
    for (let i = 0; i < n; i++) {
      if (wakeAt[i]! >= 0 && wakeAt[i]! <= t) {
        wakeAt[i] = -1
        if (s.wakeup(i, t)) invoke = true
        v = v ?? check?.(s, t) ?? null
      }
    }
    if (invoke && t < c.untilNs) {
      d = s.invoke(t)
      v = v ?? check?.(s, t) ?? null
    }
  }
  return { violation: v, cpuNs: cpu, spread0Ns }
}

/** A scheduler with one weight class per thread of `c` (thread i in class i). */
const schedulerFor = (c: Case, Make: typeof FairScheduler = FairScheduler): FairScheduler => {
  const s = new Make({ maxTimerIntervalNs: Infinity }, { schedLatencyNs: c.latencyNs, minGranularityNs: c.minGranNs, wakeupGranularityNs: c.wakeGranNs }, c.threads.map((b) => weightOfNice(b.nice)))
  for (let i = 0; i < c.threads.length; i++) s.addMainVcpu(1, 1)
  return s
}

/** Runs `c` with thread i in weight class i. */
const driveCase = (c: Case, Make: typeof FairScheduler = FairScheduler, check: Check | null = null) => {
  const s = schedulerFor(c, Make)
  for (let i = 0; i < c.threads.length; i++) s.addThread(i)
  return { s, ...drive(s, c, check) }
}

/** The largest slice in virtual time among `c`'s threads when all are runnable, ns. */
const maxVsliceNs = (s: FairScheduler, c: Case): number => {
  const ws = c.threads.map((b) => weightOfNice(b.nice))
  const total = ws.reduce((a, b) => a + b, 0)
  return Math.max(...ws.map((w) => Math.ceil((s.sliceNs(w, ws.length, total) * NICE_0_WEIGHT) / w)))
}

/** CFS variants that must be caught. */
class IgnoresWeights extends FairScheduler {
  protected override charge(thread: number, deltaNs: number): void {
    super.charge(thread, deltaNs)
    // Undo the weighting: every entity ages at wall-clock rate (plain round-robin).
    ;(this as unknown as { vruntime: number[] }).vruntime[thread] = (this as unknown as { vruntime: number[] }).vruntime[thread]! - Math.floor((deltaNs * NICE_0_WEIGHT) / this.weightOf(thread)) + deltaNs
  }
}
class PicksLargest extends FairScheduler {
  protected override pick(): number {
    const q = this.queued()
    let best = -1
    for (const t of q) if (best < 0 || this.vruntimeOf(t) > this.vruntimeOf(best)) best = t
    return best
  }
}
class ForgetsPlacement extends FairScheduler {
  protected override place(thread: number, w: number): void {
    if (this.vruntimeOf(thread) < 0) super.place(thread, w)
  }
}

const hogCase = (): fc.Arbitrary<Case> =>
  fc.record({
    threads: fc.array(fc.record({ nice: fc.integer({ min: -10, max: 10 }), runNs: fc.constant(1), sleepNs: fc.constant(0) }), { minLength: 2, maxLength: 6 }),
    latencyNs: fc.integer({ min: 2, max: 24 }).map((x) => x * 500 * US),
    minGranNs: fc.integer({ min: 1, max: 4 }).map((x) => x * 250 * US),
    wakeGranNs: fc.integer({ min: 0, max: 4 }).map((x) => x * 250 * US),
    untilNs: fc.integer({ min: 50, max: 400 }).map((x) => x * MS),
  }).filter((c) => c.minGranNs <= c.latencyNs)

const mixedCase = (): fc.Arbitrary<Case> =>
  fc.record({
    threads: fc.array(fc.record({ nice: fc.integer({ min: -10, max: 10 }), runNs: fc.integer({ min: 50, max: 5000 }).map((x) => x * US), sleepNs: fc.oneof(fc.constant(0), fc.integer({ min: 100, max: 50_000 }).map((x) => x * US)) }), { minLength: 1, maxLength: 6 }),
    latencyNs: fc.integer({ min: 2, max: 24 }).map((x) => x * 500 * US),
    minGranNs: fc.integer({ min: 1, max: 4 }).map((x) => x * 250 * US),
    wakeGranNs: fc.integer({ min: 0, max: 4 }).map((x) => x * 250 * US),
    untilNs: fc.integer({ min: 20, max: 300 }).map((x) => x * MS),
  }).filter((c) => c.minGranNs <= c.latencyNs)

/**
 * Proportional share: each hog's CPU within `w_i · lag / 1024` of `T · w_i / W`, where the lag
 * (the largest difference of two hogs' vruntime gains) is the spread of the first placements plus
 * twice the larger of that spread and the largest slice in virtual time (the running entity
 * overshoots the least by at most its slice), plus 1 ns per invocation of truncation.
 */
const shareViolation = (c: Case, Make: typeof FairScheduler = FairScheduler): string | null => {
  const { s, cpuNs, spread0Ns } = driveCase(c, Make)
  const ws = c.threads.map((b) => weightOfNice(b.nice))
  const total = ws.reduce((a, b) => a + b, 0)
  const lag = spread0Ns + 2 * Math.max(spread0Ns, maxVsliceNs(s, c)) + s.invocations
  for (let i = 0; i < ws.length; i++) {
    const ideal = (c.untilNs * ws[i]!) / total
    const bound = (ws[i]! * lag) / NICE_0_WEIGHT
    if (Math.abs(cpuNs[i]! - ideal) > bound) return `thread ${i} (nice ${c.threads[i]!.nice}) ran ${cpuNs[i]} ns, ideal ${Math.round(ideal)} ± ${Math.round(bound)}`
  }
  return null
}

/** At every decision: states consistent, min_vruntime monotonic, queued entities within the lag bound of each other, sleepers placed ≥ min − latency/2. */
const invariantCheck = (c: Case): Check => {
  let lastMin = -Infinity
  return (s, now) => {
    if (s.minVruntime < lastMin) return `min_vruntime went back from ${lastMin} to ${s.minVruntime} at ${now}`
    lastMin = s.minVruntime
    const q = s.queued()
    for (const t of q) if (s.stateOf(t) !== ThreadState.Queued) return `queued thread ${t} in state ${s.stateOf(t)}`
    if (s.currentThread >= 0 && q.includes(s.currentThread)) return `running thread ${s.currentThread} is queued`
    const floor = s.minVruntime - (c.latencyNs >>> 1)
    for (const t of q) if (s.vruntimeOf(t) < floor) return `queued thread ${t} at vruntime ${s.vruntimeOf(t)} < min_vruntime − latency/2 = ${floor} at ${now}`
    return null
  }
}

describe("FairScheduler rules", () => {
  it("weights follow Linux's nice table; nice must be in [-20, 19]", () => {
    expect([weightOfNice(-20), weightOfNice(0), weightOfNice(5), weightOfNice(19)]).toEqual([88761, 1024, 335, 15])
    expect(() => weightOfNice(20)).toThrow(/nice 20 must be an integer in \[-20, 19\]/)
    expect(() => new FairScheduler({}, { minGranularityNs: 7 * MS })).toThrow(/minGranularityNs=7000000: must not exceed schedLatencyNs/)
  })

  it("slices: the latency shared by weight, at least the minimum granularity; the period stretches past latency/min_gran entities", () => {
    const s = new FairScheduler()
    expect(s.sliceNs(1024, 2, 2048)).toBe(3 * MS)
    expect(s.sliceNs(335, 2, 1359)).toBe(Math.floor((6 * MS * 335) / 1359))
    expect(s.sliceNs(15, 2, 1039)).toBe(750 * US) // floor at min granularity
    expect(s.sliceNs(1024, 10, 10240)).toBe(750 * US) // period 10 × 0.75 ms
  })

  it("two hogs, nice 0 and 5, share a core 1024 : 335 (75.3 % / 24.7 %) over 1 s", () => {
    const c: Case = { threads: [{ nice: 0, runNs: 1, sleepNs: 0 }, { nice: 5, runNs: 1, sleepNs: 0 }], latencyNs: 6 * MS, minGranNs: 750 * US, wakeGranNs: 1 * MS, untilNs: 1000 * MS }
    const { cpuNs } = driveCase(c)
    expect(cpuNs[0]! + cpuNs[1]!).toBe(1000 * MS)
    expect(cpuNs[0]! / 1e9).toBeCloseTo(1024 / 1359, 2)
  })

  it("wakeup preemption: a sleeper that comes back well behind the running entity preempts it; a queued or running one does not", () => {
    const s = new FairScheduler({ maxTimerIntervalNs: Infinity }, {}, [1024, 1024])
    s.addMainVcpu(1, 1)
    s.addMainVcpu(1, 1)
    const a = s.addThread(0), b = s.addThread(1)
    expect(s.wakeup(a, 0)).toBe(true) // idle core
    let d = s.invoke(0)
    expect([d.thread, d.timerAtNs]).toEqual([a, 6 * MS]) // alone: the whole latency
    expect(s.wakeup(a, 1)).toBe(false) // running already
    // b's first wakeup starts at min_vruntime + its slice (START_DEBIT): no preemption 1 ms in.
    expect(s.wakeup(b, 1 * MS)).toBe(false)
    d = s.invoke(6 * MS)
    expect(d.thread).toBe(b)
    s.block(b, 7 * MS)
    d = s.invoke(7 * MS)
    expect(d.thread).toBe(a)
    // b slept: placed at no less than min_vruntime − 3 ms; a has run 5 ms more meanwhile → preempts.
    expect(s.wakeup(b, 20 * MS)).toBe(true)
    expect(s.stateOf(b)).toBe(ThreadState.Queued)
  })

  it("a woken I/O service thread is just woken (no inheritance); a thread of another group is refused", () => {
    const s = new FairScheduler()
    const g = s.addIoVcpu(1, 1), h = s.addMainVcpu(1, 1)
    const t = s.addThread(g)
    s.addThread(h)
    expect(s.requestIo(g, 5 * MS, t, 0)).toBe(true)
    expect(() => s.requestIo(h, 5 * MS, t, 0)).toThrow(/thread 0 is not in group 1/)
    expect(s.vcpus[g]!.periodNs).toBe(0)
  })
})

describe("FairScheduler properties", () => {
  it("proportional share: CPU hogs receive their weight's share within the vruntime lag bound", () => {
    fc.assert(fc.property(hogCase(), (c) => { const m = shareViolation(c); if (m !== null) throw new Error(m) }), { numRuns: 100 * PROP_SCALE })
  })

  it("the share property catches a scheduler that ignores weights (round robin)", () => {
    const unequal = hogCase().filter((c) => new Set(c.threads.map((t) => t.nice)).size > 1)
    const r = fc.check(fc.property(unequal, (c) => shareViolation(c, IgnoresWeights) === null), { numRuns: 300, endOnFailure: true })
    expect(r.failed).toBe(true)
  })

  it("the share property catches a scheduler that picks the largest vruntime (starvation)", () => {
    const r = fc.check(fc.property(hogCase(), (c) => shareViolation(c, PicksLargest) === null), { numRuns: 300, endOnFailure: true })
    expect(r.failed).toBe(true)
  })

  it("with sleepers: states consistent, min_vruntime monotonic, every queued entity at or after min_vruntime − latency/2", () => {
    fc.assert(fc.property(mixedCase(), (c) => { const v = driveCase(c, FairScheduler, invariantCheck(c)).violation; if (v !== null) throw new Error(v) }), { numRuns: 100 * PROP_SCALE })
  })

  it("the placement property catches a scheduler that forgets to place sleepers (a long sleeper comes back far behind)", () => {
    const r = fc.check(fc.property(mixedCase(), (c) => driveCase(c, ForgetsPlacement, invariantCheck(c)).violation === null), { numRuns: 600, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})
