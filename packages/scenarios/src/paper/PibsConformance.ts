/**
 * Experiment E8 (spec §C.2–C.3; ours): does the §C.3 schedulability test for Main + I/O VCPUs hold
 * for the PIBS rules as coded? Random single-PCPU sets — periodic Main VCPUs (one thread each,
 * demand `C` every `T`) plus one or two I/O VCPUs driven by non-blocking requests from random Main
 * VCPUs in every job — with utilisations chosen just under the §C.3 bound (95–100 % of it), run on
 * the vcpu-sched harness for 20 of the longest periods, with `pibsClampOnInherit` true (the
 * analysis-conformant clamp, expect no Main VCPU miss) and false (the code-faithful rules, where an
 * I/O VCPU keeps a budget computed at a lower priority after inheriting a higher one: expect
 * occasional misses — the documented deviation). Misses without the clamp are rare in these sets,
 * so "misses occur" is a rate over many seeds' sets (the pooled claims of `qvsim run
 * pibs-conformance --robust`), not a verdict of one seed's 300.
 *
 * Why about 0.6 per 300 here (17 of 9,000 passing sets over seeds 1–30: 0.57 [0.35, 0.91]) and
 * 10 per 300 in the spec's prototype. The §C.3 test, `Σ C_i/T_i + Σ (2 − U_j)·U_j ≤ n(2^{1/n} − 1)`,
 * charges each I/O VCPU `(2 − U)·U` of utilisation at its inherited priority: in a window of its
 * inherited period `T` it may start with a full budget `U·T` and then run at its long-run rate `U`
 * for the rest, `U·T + U·(T − U·T) = (2 − U)·U·T`. The premise is a budget of at most `U·T` for the
 * CURRENT `T`; the clamp keeps it (`b ≤ U·T_current` at every refresh), so with the clamp no passing
 * set may miss, and none does. Without the clamp an I/O VCPU that inherits a shorter period `T_new`
 * keeps a budget of up to `U·T_old`, i.e. up to `U·(T_old − T_new)` more interference at the higher
 * priority than the test charged: a miss needs that excess to exceed the slack of a Main VCPU below
 * it, and sets at 95–100 % of the Liu & Layland bound (0.74–0.83) keep much of the slack an exact
 * analysis would find. `npm run campaign -- pibs` measured what moves the rate (docs/claims.md has
 * the table): not longer runs, more work per request or the last 1 % of the bound; the excess does —
 * larger I/O utilisations (2.56 per 300 with U ≤ 0.40, 3.52 with U ≤ 0.60) and a wider spread of
 * inherited periods (2.2 with periods up to 1 s), together 5.6. A 1 ms enforcement tick gives 3.8,
 * but 3.9 with the clamp too, which the prototype's 0/300 with the clamp rules out. No variant
 * reaches 10 per 300: the prototype's generator (not kept) drew larger I/O shares and/or periods
 * spread wider than ours, in a way we cannot reconstruct from the spec; the scheduler is not the
 * suspect (the harness agrees with the independent reference scheduler decision by decision).
 *
 * The sets follow vcpu-sched's `Arbitraries.mixedSet` (the shape its F8 property test uses: 2–5
 * Main VCPUs, periods 1–40 ms in 100 µs units, I/O utilisations 1–15 %, I/O work per request up to
 * `U·T_requester`) but are drawn from sim-core random streams named `pibs/set<i>` of the seed, so
 * the experiment needs no property-testing library. Not Quest-V systems: the experiment computes
 * its result with `compute`; `scale` shrinks the number of sets (300 at scale 1, at least 20).
 *
 * @module
 */
import { Rng } from "@qvsim/sim-core"
import { Analysis, Harness, MainVcpu, type Workload } from "@qvsim/vcpu-sched"
import type { PooledClaim, Sample } from "../robust/Contract.ts"
import { defineDomain } from "../robust/Domain.ts"
import { wilson } from "../sweep/Stats.ts"
import { defineExperiment, type ExperimentResult } from "./Experiment.ts"

const UNIT = 100_000
/** The paper-size number of sets. */
export const SETS = 300
export const setsAt = (scale: number): number => Math.max(20, Math.round(SETS * scale))

/**
 * The generator's knobs (defaults: the experiment's sets). The same draws are made whatever the
 * knobs, so a knob changes the sets it shapes and nothing else (`npm run campaign -- pibs` varies them).
 */
export interface GeneratorOptions {
  /** Largest I/O VCPU utilisation, per mille (default 150). */
  readonly ioUtilMaxPerMille?: number
  /** Lowest share of the bound the sets are drawn at, per mille (default 950). */
  readonly boundLowPerMille?: number
  /** Largest I/O work per request as a multiple of `U·T_requester` (default 1). */
  readonly workScale?: number
  /** Longest period, in 100 µs units (default 400: periods 1–40 ms; the draws map onto 1 ms … this). */
  readonly periodMaxUnits?: number
  /** The scheduler's enforcement latency, ns (default 0: exact budget enforcement; a tick-driven scheduler overruns by up to a tick). */
  readonly enforcementLatencyNs?: number
}

/** A random mixed set (the shape of `Arbitraries.mixedSet`, options of vcpu-sched's F8 test). */
export const mixedSet = (rng: Rng.RngStream, g: GeneratorOptions = {}): Workload.PcpuSpec => {
  const n = rng.int(2, 5)
  const m = rng.int(1, 2)
  const pMax = g.periodMaxUnits ?? 400
  // NOTE: drawn in [10, 400] and mapped onto [10, pMax] (units), so the stream advances the same way for every knob.
  const period = (): number => (pMax === 400 ? rng.int(10, 400) : Math.round(10 + ((rng.int(10, 400) - 10) * (pMax - 10)) / 390)) * UNIT
  const periods = Array.from({ length: n }, period)
  const weights = Array.from({ length: n }, () => rng.int(1, 100))
  const ioMax = g.ioUtilMaxPerMille ?? 150
  // NOTE: drawn per mille in [10, 150] and mapped onto [10, ioMax], so the stream advances the same way for every knob.
  const ioU = Array.from({ length: m }, () => (10 + ((rng.int(10, 150) - 10) * (ioMax - 10)) / 140) / 1000)
  const ioPeriods = Array.from({ length: m }, period)
  const low = g.boundLowPerMille ?? 950
  const perMille = low + ((rng.int(950, 1000) - 950) * (1000 - low)) / 50
  const requests = Array.from({ length: n }, () => [rng.int(0, m - 1), rng.int(1, 1000)] as const)
  const bound = Analysis.liuLaylandBound(n) * (perMille / 1000)
  const ioTerm = ioU.reduce((s, u) => s + (2 - u) * u, 0)
  const mainTotal = Math.max(0.01, bound - ioTerm)
  const wsum = weights.reduce((a, b) => a + b, 0)
  const tasks = periods.map((T, i) => ({ periodNs: T, budgetNs: Math.min(T, Math.max(1, Math.floor((mainTotal * weights[i]! * T) / wsum))) }))
  const ios = ioU.map((u, j) => ({ kind: "io" as const, budgetNs: Math.max(1, Math.floor(ioPeriods[j]! * u)), periodNs: ioPeriods[j]! }))
  return {
    ...(g.enforcementLatencyNs !== undefined ? { options: { enforcementLatencyNs: g.enforcementLatencyNs } } : {}),
    vcpus: [...tasks.map((t) => ({ kind: "main" as const, ...t })), ...ios],
    threads: tasks.map((t, i) => {
      const [target, workPerMille] = requests[i]!
      const io = ios[target]!
      const maxWork = Math.max(1, Math.floor(((g.workScale ?? 1) * io.budgetNs * t.periodNs) / io.periodNs))
      return {
        vcpu: i,
        arrivals: { kind: "periodic" as const, periodNs: t.periodNs },
        job: [
          { compute: t.budgetNs },
          { io: { vcpu: n + target, work: [1, Math.max(1, Math.floor((maxWork * workPerMille) / 1000))] as const, wait: false, probability: 1 } },
        ],
      }
    }),
  }
}

/** One set's outcome. */
export interface SetOutcome {
  readonly index: number
  /** The §C.3 test's verdict. */
  readonly passes: boolean
  /** Main VCPUs' missed deadlines with the clamp on / off. */
  readonly missesClamp: number
  readonly missesFaithful: number
  /**
   * Whether a Main VCPU with work held a budget chunk eligible for a whole period or longer (spec F5:
   * it was denied service it was entitled to, the step before a miss), with the clamp on / off.
   */
  readonly starvedClamp: boolean
  readonly starvedFaithful: boolean
}

/** Longest periods each set runs for. */
export const HORIZON_PERIODS = 20

/**
 * Main-VCPU misses of `spec` with the clamp set to `clamp`, over {@link HORIZON_PERIODS} of its
 * longest periods, and whether F5 failed (`checkInvariants`: the scheduler is checked at every decision).
 */
export const mainMisses = (spec: Workload.PcpuSpec, clamp: boolean, seed: number, checkInvariants = false, horizonPeriods = HORIZON_PERIODS): { missed: number; starved: boolean } => {
  const horizon = horizonPeriods * Math.max(...spec.vcpus.map((v) => v.periodNs))
  const mains = spec.threads.length
  let starved = false
  const h = new Harness.Harness({ ...spec, options: { ...spec.options, pibsClampOnInherit: clamp } }, {
    seed,
    recordSchedule: false,
    checkInvariants,
    onInvoke: (hh, now) => {
      if (starved) return
      for (let th = 0; th < mains; th++) {
        if (!hh.hasPendingWork(th)) continue
        const v = hh.sched.vcpus[th]
        if (v instanceof MainVcpu.MainVcpu && v.capacity(now) > 0 && v.timeAt(0) <= now - v.periodNs) starved = true
      }
    },
  })
  h.run(horizon)
  let missed = 0
  for (let th = 0; th < mains; th++) missed += h.statsOf(th).missed
  return { missed, starved }
}

export const pibsOutcomes = (seed: number, scale: number, checkInvariants = false, g: GeneratorOptions = {}, horizonPeriods = HORIZON_PERIODS): SetOutcome[] =>
  Array.from({ length: setsAt(scale) }, (_, index) => {
    const spec = mixedSet(Rng.stream(seed, `pibs/set${index}`), g)
    const passes = Analysis.mainIoTest(spec.vcpus).verdict === "schedulable"
    const c = mainMisses(spec, true, seed, checkInvariants, horizonPeriods)
    const f = mainMisses(spec, false, seed, checkInvariants, horizonPeriods)
    return { index, passes, missesClamp: c.missed, missesFaithful: f.missed, starvedClamp: c.starved, starvedFaithful: f.starved }
  })

/** Tables and claims from the outcomes (exported so tests can feed broken outcomes). */
export const analysePibs = (outcomes: readonly SetOutcome[]): ExperimentResult => {
  const passing = outcomes.filter((o) => o.passes)
  const missClamp = passing.filter((o) => o.missesClamp > 0)
  const missFaithful = passing.filter((o) => o.missesFaithful > 0)
  const list = (xs: readonly SetOutcome[]): string => (xs.length === 0 ? "none" : xs.slice(0, 10).map((o) => `#${o.index}`).join(", ") + (xs.length > 10 ? ", …" : ""))
  return {
    tables: [{
      id: "pibs_conformance",
      title: `PIBS conformance: random near-bound Main + I/O sets (Main VCPU misses over ${HORIZON_PERIODS} longest periods), with the inheritance clamp (pibsClampOnInherit yes) and code-faithful (no)`,
      columns: ["pibsClampOnInherit", "sets", "sets passing the §C.3 test", "sets with a Main VCPU miss", "missed deadlines", "sets where a Main VCPU waited a period with budget (F5)"],
      rows: [
        { pibsClampOnInherit: true, sets: outcomes.length, "sets passing the §C.3 test": passing.length, "sets with a Main VCPU miss": missClamp.length, "missed deadlines": passing.reduce((a, o) => a + o.missesClamp, 0), "sets where a Main VCPU waited a period with budget (F5)": passing.filter((o) => o.starvedClamp).length },
        { pibsClampOnInherit: false, sets: outcomes.length, "sets passing the §C.3 test": passing.length, "sets with a Main VCPU miss": missFaithful.length, "missed deadlines": passing.reduce((a, o) => a + o.missesFaithful, 0), "sets where a Main VCPU waited a period with budget (F5)": passing.filter((o) => o.starvedFaithful).length },
      ],
    }],
    claims: [
      {
        id: "clampNoMiss",
        text: "With the clamp (b ≤ U·T_current), no Main VCPU misses a deadline in any set passing the §C.3 test",
        holds: passing.length > 0 && missClamp.length === 0,
        detail: `${missClamp.length} of ${passing.length} passing sets miss (${list(missClamp)}); without the clamp ${missFaithful.length} of ${passing.length} miss (${list(missFaithful)}) — a rate, stated over 30 seeds by \`qvsim run pibs-conformance --robust\``,
      },
    ],
    metrics: { passingSets: passing.length, clampMissSets: missClamp.length, faithfulMissSets: missFaithful.length, faithfulStarvedSets: passing.filter((o) => o.starvedFaithful).length },
  }
}

/** Sums a metric over the sample. */
const total = (samples: readonly Sample[], name: string): number => samples.reduce((a, x) => a + (x.metrics[name] ?? 0), 0)

const rate = (k: number, n: number): string => {
  if (n === 0) return "no passing set"
  const w = wilson(k, n)
  const per300 = (x: number) => (x * SETS).toFixed(2)
  return `${k} of ${n.toLocaleString("en-US")} passing sets: ${per300(k / n)} per ${SETS} sets (95 % Wilson ${per300(w.low)}–${per300(w.high)})`
}

/**
 * Claims over the whole robust sample (every seed's sets pooled): the rate of passing sets with a
 * Main VCPU miss, with and without the clamp. A single seed's 300 sets hold about one miss without
 * the clamp, so whether "misses occur" in one seed is luck; over 30 seeds it is a rate.
 */
export const POOLED: readonly PooledClaim[] = [
  {
    id: "faithfulMissRate",
    text: "Without the clamp (the code's rules), Main VCPU misses occur in sets passing the §C.3 test — the code deviates from the analysis (a rate over every seed's sets)",
    from: (samples) => {
      const k = total(samples, "faithfulMissSets"), n = total(samples, "passingSets")
      return { holds: k > 0, detail: `${rate(k, n)} over ${samples.length} seeds; the spec's prototype reported 10 per 300 with its own generator (see the module's notes)` }
    },
  },
  {
    id: "clampMissRate",
    text: "With the clamp, no passing set misses over every seed's sets",
    from: (samples) => {
      const k = total(samples, "clampMissSets"), n = total(samples, "passingSets")
      return { holds: n > 0 && k === 0, detail: `${rate(k, n)} over ${samples.length} seeds` }
    },
  },
]

/** The robustness domain: the task-set draws (the seed names the sets' random streams). */
export const domain = defineDomain({
  seedsReason: "each seed draws its own 300 task sets (streams pibs/set<i> of the seed): the seeds are the experiment's random task-set draws",
})

export const pibsConformance = defineExperiment({
  name: "pibs-conformance",
  description: "PIBS analysis conformance: 300 random Main + I/O VCPU sets just under the §C.3 bound, Main VCPU misses with and without the inheritance clamp (single-PCPU scheduler harness)",
  source: "spec §C.2–C.3; experiment E8 (ours)",
  seed: 1,
  variants: [],
  // No systems: a caller that only knows `analyse` gets the default seed's result at scale 1.
  analyse: () => analysePibs(pibsOutcomes(1, 1)),
  compute: (seed, scale, o) => analysePibs(pibsOutcomes(seed, scale, o?.checkInvariants ?? false)),
  domain,
  pooled: POOLED,
  inputs: [
    { name: "sets per seed", value: SETS, source: "spec §C.2 (the prototype's 300 random near-bound sets)" },
    { name: "utilisation", value: "95–100 % of the §C.3 bound", source: "spec E8 (just under the bound)" },
  ],
})
