/**
 * fast-check arbitraries for VCPU sets and workloads, exported so researchers can property-test
 * their own ideas against the scheduler (this package's tests use exactly these).
 *
 * Everything generated is integer ns, built from small integers times `unitNs` so shrunk
 * counterexamples read well. Sets are plain {@link PcpuSpec}s / {@link PeriodicTask}s, ready for the
 * harness and the analysis.
 *
 * @module
 */
import fc from "fast-check"
import { liuLaylandBound } from "./Analysis.ts"
import * as Policy from "./Policy.ts"
import type { SchedulerOptions, SchedulerOptionsInput } from "./Options.ts"
import type { Arrivals, PcpuSpec, PeriodicTask, Step, ThreadSpec, VcpuSpec } from "./Workload.ts"

const US = 1_000

export interface PeriodicSetOptions {
  /** Number of tasks, inclusive range (default [1, 6]). */
  readonly tasks?: readonly [number, number]
  /** Periods in units, inclusive range (default [10, 200]). */
  readonly periodUnits?: readonly [number, number]
  /** One unit in ns (default 100 µs). */
  readonly unitNs?: number
  /**
   * Total utilisation as a fraction of the Liu & Layland bound of the set's size, inclusive range
   * in per-mille (default [500, 1000], i.e. up to the bound). Budgets are floored, so the realised
   * utilisation never exceeds the target.
   */
  readonly llPerMille?: readonly [number, number]
  /** Absolute utilisation target in per-mille instead of `llPerMille` (e.g. [900, 1000]). */
  readonly utilisationPerMille?: readonly [number, number]
  /** All periods distinct (default false). */
  readonly distinctPeriods?: boolean
}

/** Splits `total` (a utilisation) over the weights and floors `u_i·T_i` to integer budgets ≥ 1 ns. */
const budgetsFor = (periodsNs: readonly number[], weights: readonly number[], total: number): PeriodicTask[] => {
  const sum = weights.reduce((a, b) => a + b, 0)
  return periodsNs.map((T, i) => ({ periodNs: T, budgetNs: Math.min(T, Math.max(1, Math.floor((total * weights[i]! * T) / sum))) }))
}

/** Rate-monotonic periodic task sets `(C, T)` at a chosen utilisation. */
export const periodicSet = (o: PeriodicSetOptions = {}): fc.Arbitrary<PeriodicTask[]> => {
  const [nMin, nMax] = o.tasks ?? [1, 6]
  const [pMin, pMax] = o.periodUnits ?? [10, 200]
  const unit = o.unitNs ?? 100 * US
  const per = o.utilisationPerMille ?? o.llPerMille ?? [500, 1000]
  const absolute = o.utilisationPerMille !== undefined
  return fc.integer({ min: nMin, max: nMax }).chain((n) =>
    fc.record({
      periods: o.distinctPeriods
        ? fc.uniqueArray(fc.integer({ min: pMin, max: pMax }), { minLength: n, maxLength: n })
        : fc.array(fc.integer({ min: pMin, max: pMax }), { minLength: n, maxLength: n }),
      weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: n, maxLength: n }),
      perMille: fc.integer({ min: per[0], max: per[1] }),
    }).map(({ periods, weights, perMille }) => {
      const total = (perMille / 1000) * (absolute ? 1 : liuLaylandBound(n))
      return budgetsFor(periods.map((p) => p * unit), weights, total)
    }),
  )
}

/** Scheduler options worth varying in property tests (the spec's defaults are among the values). */
export const schedulerOptions = (o: {
  /** The default Main-VCPU policy (default `'sporadic'`). */
  readonly policy?: string
  /** @deprecated use `policy`. */
  readonly ssPolicy?: "quest" | "posixNaive"
  readonly latency?: boolean
  readonly overhead?: boolean
  readonly pibsClampOnInherit?: boolean
  /** Fix `rearmOnBudgetlessWakeup` (default: both values). */
  readonly rearm?: boolean
  /** Fix the tie rule (default: both). */
  readonly ties?: SchedulerOptions["ties"]
} = {}): fc.Arbitrary<Partial<SchedulerOptions>> =>
  fc.record({
    maxRepl: fc.constantFrom(32, 1, 2, 3, 4),
    splitAdvancesHead: fc.boolean(),
    enforcementLatencyNs: o.latency ? fc.constantFrom(0, 1, 999, 50 * US, 300 * US) : fc.constant(0),
    schedOverheadNs: o.overhead ? fc.constantFrom(0, 1, 2 * US) : fc.constant(0),
    maxTimerIntervalNs: fc.constantFrom(1_000_000, Infinity, 250 * US),
    quantumNs: fc.constantFrom(1_000_000, 300 * US),
    rearmOnBudgetlessWakeup: o.rearm === undefined ? fc.boolean() : fc.constant(o.rearm),
    ties: o.ties === undefined ? fc.constantFrom<SchedulerOptions["ties"]>("rotate", "declaration") : fc.constant(o.ties),
  }).map((r) => ({
    ...r,
    policy: o.policy ?? (o.ssPolicy === undefined ? "sporadic" : Policy.fromSsPolicy(o.ssPolicy)),
    ...(o.pibsClampOnInherit === undefined ? {} : { pibsClampOnInherit: o.pibsClampOnInherit }),
  }))

/** The scheduler options a policy reads, drawn from its `optionValues` (`{}` when it reads none). */
export const policyOptions = (policy: Policy.VcpuPolicy): fc.Arbitrary<Partial<SchedulerOptions>> => {
  const entries = Object.entries(policy.optionValues).filter(([, values]) => values !== undefined && values.length > 0)
  if (entries.length === 0) return fc.constant({})
  return fc.record(Object.fromEntries(entries.map(([name, values]) => [name, fc.constantFrom(...(values as unknown[]))]))) as fc.Arbitrary<Partial<SchedulerOptions>>
}

export interface SpecOptions {
  /** One unit in ns (default 100 µs). */
  readonly unitNs?: number
  /** Main VCPUs, inclusive range (default [1, 4]). */
  readonly mains?: readonly [number, number]
  /** I/O VCPUs, inclusive range (default [0, 0]). */
  readonly ios?: readonly [number, number]
  /** Threads per Main VCPU (default [1, 2]). */
  readonly threadsPerVcpu?: readonly [number, number]
  /** Periods in units (default [10, 100]). */
  readonly periodUnits?: readonly [number, number]
  /** Simulated horizon in units, used for explicit release times (default 600). */
  readonly horizonUnits?: number
  /** Options merged into every spec. */
  readonly options?: fc.Arbitrary<SchedulerOptionsInput>
  /**
   * Scale the Main VCPUs' budgets down so that `Σ (C_i + δ + overhead)/T_i` stays within this
   * fraction of the Liu & Layland bound (default: no cap, overload allowed).
   */
  readonly llFraction?: number
}

const rangeUnits = (lo: number, hi: number, unit: number): fc.Arbitrary<readonly [number, number]> =>
  fc.tuple(fc.integer({ min: lo, max: hi }), fc.integer({ min: 0, max: hi })).map(([a, extra]) => [a * unit, (a + extra) * unit] as const)

/** Job release patterns: periodic, sporadic, Poisson, and explicit bursts. */
export const arrivals = (unit: number, horizonUnits: number, periodUnits: readonly [number, number]): fc.Arbitrary<Arrivals> =>
  fc.oneof(
    fc.record({ p: fc.integer({ min: periodUnits[0], max: periodUnits[1] }), off: fc.integer({ min: 0, max: periodUnits[1] }) })
      .map(({ p, off }): Arrivals => ({ kind: "periodic", periodNs: p * unit, offsetNs: off * unit })),
    fc.record({ p: fc.integer({ min: 1, max: periodUnits[1] }), extra: fc.integer({ min: 0, max: periodUnits[1] }) })
      .map(({ p, extra }): Arrivals => ({ kind: "sporadic", minInterArrivalNs: p * unit, maxExtraNs: extra * unit })),
    fc.integer({ min: 1, max: periodUnits[1] }).map((m): Arrivals => ({ kind: "poisson", meanInterArrivalNs: m * unit })),
    fc.array(fc.tuple(fc.integer({ min: 0, max: horizonUnits }), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 12 })
      .map((bursts): Arrivals => ({
        kind: "explicit",
        releasesNs: bursts.flatMap(([t, k]) => Array.from({ length: k }, () => t * unit)).sort((a, b) => a - b),
      })),
  )

/** Job programs: 1–4 steps of computation, sleeps and (if I/O VCPUs exist) I/O requests. */
export const jobSteps = (unit: number, ioCount: number, maxComputeUnits = 20): fc.Arbitrary<Step[]> => {
  const compute = rangeUnits(0, maxComputeUnits, unit).map((r): Step => ({ compute: r[0] === r[1] ? r[0] : r }))
  const sleep = rangeUnits(0, 2 * maxComputeUnits, unit).map((r): Step => ({ sleep: r }))
  const kinds: fc.Arbitrary<Step>[] = [compute, compute, sleep]
  if (ioCount > 0) {
    kinds.push(fc.record({
      target: fc.integer({ min: 0, max: ioCount - 1 }),
      work: rangeUnits(1, 5, unit),
      delay: rangeUnits(0, 10, unit),
      wait: fc.boolean(),
      probability: fc.constantFrom(1, 0.5),
    }).map(({ target, work, delay, wait, probability }): Step => ({ io: { vcpu: -1 - target, work, delay, wait, probability } })))
  }
  return fc.array(fc.oneof(...kinds), { minLength: 1, maxLength: 4 })
}

/**
 * Random PCPU specs: Main VCPUs `(C, T)` (any utilisation, overload included), optional I/O VCPUs,
 * threads with random arrivals (periodic, sporadic, Poisson, bursts), computation, blocking and
 * I/O requests completing after a delay.
 */
export const pcpuSpec = (o: SpecOptions = {}): fc.Arbitrary<PcpuSpec> => {
  const unit = o.unitNs ?? 100 * US
  const [mMin, mMax] = o.mains ?? [1, 4]
  const [iMin, iMax] = o.ios ?? [0, 0]
  const [tMin, tMax] = o.threadsPerVcpu ?? [1, 2]
  const periodUnits = o.periodUnits ?? [10, 100]
  const horizon = o.horizonUnits ?? 600
  return fc.integer({ min: iMin, max: iMax }).chain((ioCount) =>
    fc.record({
      mains: fc.array(
        fc.record({
          period: fc.integer({ min: periodUnits[0], max: periodUnits[1] }),
          budgetPerMille: fc.integer({ min: 10, max: 1000 }),
          threads: fc.array(fc.record({ arrivals: arrivals(unit, horizon, periodUnits), job: jobSteps(unit, ioCount) }), { minLength: tMin, maxLength: tMax }),
        }),
        { minLength: mMin, maxLength: mMax },
      ),
      ios: fc.array(
        fc.record({ period: fc.integer({ min: periodUnits[0], max: periodUnits[1] }), budgetPerMille: fc.integer({ min: 10, max: 300 }) }),
        { minLength: ioCount, maxLength: ioCount },
      ),
      options: o.options ?? fc.constant<SchedulerOptionsInput>({}),
    }).map(({ mains, ios, options }): PcpuSpec => {
      const vcpus: VcpuSpec[] = []
      const threads: ThreadSpec[] = []
      const firstIo = mains.length
      mains.forEach((m, i) => {
        const T = m.period * unit
        vcpus.push({ kind: "main", budgetNs: Math.max(1, Math.floor((T * m.budgetPerMille) / 1000)), periodNs: T })
        for (const t of m.threads) {
          threads.push({
            vcpu: i,
            arrivals: t.arrivals,
            // I/O targets were generated as -1 - k: point them at the k-th I/O VCPU.
            job: t.job.map((s) => ("io" in s ? { io: { ...s.io, vcpu: firstIo - 1 - s.io.vcpu } } : s)),
          })
        }
      })
      if (o.llFraction !== undefined) {
        const extra = (options.enforcementLatencyNs ?? 0) + (options.schedOverheadNs ?? 0)
        const u = vcpus.reduce((acc, v) => acc + (v.budgetNs + extra) / v.periodNs, 0)
        const cap = o.llFraction * liuLaylandBound(vcpus.length)
        if (u > cap) {
          const scale = cap / u
          vcpus.forEach((v, i) => {
            const C = Math.max(1, Math.floor(((v.budgetNs + extra) * scale) - extra))
            vcpus[i] = { ...v, budgetNs: Math.min(v.periodNs, C) }
          })
        }
      }
      for (const io of ios) {
        const T = io.period * unit
        vcpus.push({ kind: "io", budgetNs: Math.max(1, Math.floor((T * io.budgetPerMille) / 1000)), periodNs: T })
      }
      return { vcpus, threads, options }
    }),
  )
}

export interface MixedSetOptions extends PeriodicSetOptions {
  /** I/O VCPUs (default [1, 2]). */
  readonly ios?: readonly [number, number]
  /** How close to the §C.3 bound, per-mille of it (default [850, 1000]). */
  readonly boundPerMille?: readonly [number, number]
  /** Probability that a job of a Main VCPU issues an I/O request (default 0.5). */
  readonly ioProbability?: number
}

/**
 * Experiment E8: periodic Main VCPUs (one thread each, demand `C` every `T`) plus I/O VCPUs driven
 * by non-blocking requests from random Main VCPUs, with utilisations chosen just under the §C.3
 * bound. I/O work per request is at most one full budget at the requester's period.
 */
export const mixedSet = (o: MixedSetOptions = {}): fc.Arbitrary<PcpuSpec> => {
  const unit = o.unitNs ?? 100 * US
  const [nMin, nMax] = o.tasks ?? [2, 5]
  const [pMin, pMax] = o.periodUnits ?? [10, 100]
  const [iMin, iMax] = o.ios ?? [1, 2]
  const [bMin, bMax] = o.boundPerMille ?? [850, 1000]
  return fc.record({ n: fc.integer({ min: nMin, max: nMax }), m: fc.integer({ min: iMin, max: iMax }) }).chain(({ n, m }) =>
    fc.record({
      periods: fc.array(fc.integer({ min: pMin, max: pMax }), { minLength: n, maxLength: n }),
      weights: fc.array(fc.integer({ min: 1, max: 100 }), { minLength: n, maxLength: n }),
      ioU: fc.array(fc.integer({ min: 10, max: 150 }), { minLength: m, maxLength: m }), // per-mille
      ioPeriods: fc.array(fc.integer({ min: pMin, max: pMax }), { minLength: m, maxLength: m }),
      perMille: fc.integer({ min: bMin, max: bMax }),
      requests: fc.array(fc.tuple(fc.integer({ min: 0, max: m - 1 }), fc.integer({ min: 1, max: 1000 })), { minLength: n, maxLength: n }),
    }).map(({ periods, weights, ioU, ioPeriods, perMille, requests }): PcpuSpec => {
      const bound = liuLaylandBound(n) * (perMille / 1000)
      const ioTerm = ioU.reduce((s, u) => s + (2 - u / 1000) * (u / 1000), 0)
      const mainTotal = Math.max(0.01, bound - ioTerm)
      const tasks = budgetsFor(periods.map((p) => p * unit), weights, mainTotal)
      const ioVcpus: VcpuSpec[] = ioU.map((u, j) => {
        const T = ioPeriods[j]! * unit
        return { kind: "io", budgetNs: Math.max(1, Math.floor((T * u) / 1000)), periodNs: T }
      })
      const vcpus: VcpuSpec[] = [...tasks.map((t): VcpuSpec => ({ kind: "main", ...t })), ...ioVcpus]
      const threads: ThreadSpec[] = tasks.map((t, i) => {
        const [target, workPerMille] = requests[i]!
        const io = ioVcpus[target]!
        const maxWork = Math.max(1, Math.floor((io.budgetNs * t.periodNs) / io.periodNs)) // U·T_requester
        return {
          vcpu: i,
          arrivals: { kind: "periodic", periodNs: t.periodNs },
          job: [
            { compute: t.budgetNs },
            { io: { vcpu: n + target, work: [1, Math.max(1, Math.floor((maxWork * workPerMille) / 1000))], wait: false, probability: o.ioProbability ?? 0.5 } },
          ],
        }
      })
      return { vcpus, threads }
    }),
  )
}
