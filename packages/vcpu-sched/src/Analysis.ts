/**
 * Schedulability analysis of one PCPU's VCPUs, under either priority rule.
 *
 * Rate monotonic (`'rm'`): utilisation, the Liu & Layland bound, the hyperbolic bound, the Main +
 * I/O VCPU test of spec §C.3 (these four only when every Main VCPU demands like a periodic task),
 * and exact response-time analysis (fixed priority, each Main VCPU's interference on lower
 * priorities given by its policy's {@link DemandModel}; a deferrable server, for instance, counts
 * as a task with release jitter `T − C`).
 *
 * EDF (`'edf'`): the utilisation test `Σ C/T ≤ 1` (exact for sporadic tasks with `D = T`, Liu &
 * Layland 1973) and the processor-demand test `Σ dbf_i(L) ≤ L` at every testing point `L` up to
 * `min(hyperperiod, L_a)` (Baruah, Rosier & Howell 1990; `L_a = Σ B_i / (1 − U)` from the linear
 * bound `dbf_i(L) ≤ U_i·L + B_i`, the form of George, Rivierre & Spuri 1996), each VCPU's dbf from
 * its policy's demand model.
 *
 * What a verdict means: a Main VCPU is schedulable when a thread that has work from the start of one
 * of its replenishment periods gets the full budget `C` within the VCPU's deadline `D` (`T` unless
 * given). A policy without a demand model for the rule leaves the PCPU without a verdict
 * (`inconclusive`, the VCPU listed in `unanalysed`): nothing is claimed rather than something wrong.
 *
 * Invariants: response times and the hyperperiod are exact integers (ns; the hyperperiod is a
 * bigint because it easily leaves the safe range); utilisations and bounds are floats (they are
 * reported, and compared with `≤`); demand is summed in integers.
 *
 * Verdicts: `"schedulable"`; `"unschedulable"` (an exact test fails for VCPUs that all demand like
 * sporadic tasks); `"inconclusive"` (a sufficient test that fails says nothing).
 *
 * @module
 */
import { gcd } from "./internal/arith.ts"

/** A Main VCPU's parameters as a demand model reads them: `C`, `T`, `D`, ns. */
export interface TaskParams {
  readonly budgetNs: number
  readonly periodNs: number
  readonly deadlineNs: number
}

/**
 * How the analyses see the demand of one Main VCPU of a policy (each policy gives one, or none).
 * Implementations keep, for every `L ≥ 0`: `dbfNs(L + T) ≤ dbfNs(L) + C` (so a violation of the
 * demand test, if any, shows within one hyperperiod) and `dbfNs(L) ≤ (C/T)·L + dbfOffsetNs`.
 */
export interface DemandModel {
  /** Where it comes from (the literature; printed by `qvsim check`). */
  readonly source: string
  /** True when the VCPU demands exactly like a sporadic task `(C, T, D)`: the utilisation tests apply and a failed exact test proves a miss. */
  readonly sporadicTask: boolean
  /** Fixed priorities: the most the VCPU executes in any window of `windowNs` (RTA's interference term). Absent: no RM analysis. */
  readonly rm?: { readonly interferenceNs: (v: TaskParams, windowNs: number) => number }
  /** EDF. Absent: no EDF analysis. */
  readonly edf?: {
    /** The demand bound: the most execution eligible and due inside any interval of `lengthNs`. */
    readonly dbfNs: (v: TaskParams, lengthNs: number) => number
    /** The smallest testing point `> lengthNs`: where `dbf` ends a rise (a step, or the end of a slope). */
    readonly nextPointNs: (v: TaskParams, lengthNs: number) => number
    /** `B` with `dbf(L) ≤ (C/T)·L + B` for every `L`. */
    readonly dbfOffsetNs: (v: TaskParams) => number
  }
}

const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b)

/**
 * A sporadic task `(C, T, D)`: releases at least `T` apart, `C` each, due `D` after release. RM
 * interference `⌈w/T⌉·C` (Joseph & Pandya 1986; Audsley et al. 1993); EDF demand
 * `dbf(L) = max(0, ⌊(L − D)/T⌋ + 1)·C` at the points `D + kT` (Baruah, Rosier & Howell 1990).
 */
export const sporadicTask: DemandModel = Object.freeze({
  source: "a sporadic task (C, T, D): RTA (Joseph & Pandya 1986), dbf (Baruah, Rosier & Howell 1990)",
  sporadicTask: true,
  rm: { interferenceNs: (v: TaskParams, w: number) => ceilDiv(w, v.periodNs) * v.budgetNs },
  edf: {
    dbfNs: (v: TaskParams, L: number) => (L < v.deadlineNs ? 0 : (Math.floor((L - v.deadlineNs) / v.periodNs) + 1) * v.budgetNs),
    nextPointNs: (v: TaskParams, L: number) => (L < v.deadlineNs ? v.deadlineNs : v.deadlineNs + (Math.floor((L - v.deadlineNs) / v.periodNs) + 1) * v.periodNs),
    dbfOffsetNs: (v: TaskParams) => (v.budgetNs * (v.periodNs - v.deadlineNs)) / v.periodNs,
  },
})

/** A VCPU as the analysis sees it. */
export interface VcpuParams {
  /** Default `'main'`. */
  readonly kind?: "main" | "io"
  readonly budgetNs: number
  readonly periodNs: number
  /** Relative deadline `D` of each replenishment period (default `T`). */
  readonly deadlineNs?: number
  readonly name?: string
  /** The Main VCPU's policy, for messages (default `'sporadic'`). */
  readonly policy?: string
  /** Its demand model; `null`: its policy has no analysis; default {@link sporadicTask}. */
  readonly model?: DemandModel | null
}

export type Verdict = "schedulable" | "unschedulable" | "inconclusive"

export interface UtilisationBoundResult {
  readonly test: "liu-layland" | "hyperbolic" | "main+io"
  readonly verdict: Verdict
  /** Number of Main VCPUs `n`. */
  readonly n: number
  /** The left-hand side: `Σ C/T` (LL, main+io) or `Π (U_i + 1)` (hyperbolic). */
  readonly value: number
  /** The right-hand side: `n(2^{1/n} − 1)` or 2. */
  readonly bound: number
}

export interface ResponseTime {
  /** Index of the VCPU in the input. */
  readonly index: number
  readonly budgetNs: number
  readonly periodNs: number
  readonly deadlineNs: number
  /** Worst-case response time, ns, or the first iterate beyond the deadline when it misses. */
  readonly responseNs: number
  /** `responseNs ≤ deadlineNs`. */
  readonly schedulable: boolean
}

export interface RtaResult {
  readonly test: "rta"
  readonly verdict: Verdict
  /** Per Main VCPU, in input order. */
  readonly responses: readonly ResponseTime[]
  /** How equal periods were ordered (see {@link RtaOptions}). */
  readonly ties: "conservative" | "index"
}

export interface RtaOptions {
  /**
   * Equal periods: `'conservative'` (default) counts every other VCPU of equal period as
   * higher-priority interference, which is sound whatever order the scheduler's runnable list
   * gives; `'index'` ranks them by input index (exact for a fixed tie order).
   */
  readonly ties?: "conservative" | "index"
  /**
   * Release jitter `J`, ns, of every Main VCPU (default 0): a chunk that becomes eligible at `e` may
   * be seen by the scheduler only at `e + J`. Quest's W1 does not arm the timer for a woken VCPU
   * whose chunk is not yet eligible, so the chunk waits for the next invocation: `J` =
   * `maxTimerIntervalNs` under the faithful defaults. Then (Audsley et al. 1993, Tindell's jitter
   * form) `w = C_i + B + Σ_{j ∈ hp(i)} I_j(w + J)` and `R = w + J`.
   */
  readonly releaseJitterNs?: number
  /** Blocking `B`, ns, added to every response time (default 0): e.g. a lower VCPU's overrun past its budget. */
  readonly blockingNs?: number
}

const mains = (vcpus: readonly VcpuParams[]) => vcpus.filter((v) => (v.kind ?? "main") === "main")
const ios = (vcpus: readonly VcpuParams[]) => vcpus.filter((v) => v.kind === "io")
const modelOf = (v: VcpuParams): DemandModel | null => (v.model === undefined ? sporadicTask : v.model)
const paramsOf = (v: VcpuParams): TaskParams => ({ budgetNs: v.budgetNs, periodNs: v.periodNs, deadlineNs: v.deadlineNs ?? v.periodNs })
/** True when every Main VCPU demands like a periodic/sporadic task with `D = T` (the utilisation bounds' premise). */
const periodicMains = (vcpus: readonly VcpuParams[]): boolean =>
  mains(vcpus).every((v) => modelOf(v)?.sporadicTask === true && (v.deadlineNs ?? v.periodNs) === v.periodNs)

/** `Σ C/T` over the given VCPUs (all kinds). */
export const utilisation = (vcpus: readonly VcpuParams[]): number => vcpus.reduce((s, v) => s + v.budgetNs / v.periodNs, 0)

/** `n(2^{1/n} − 1)`; 1 for n = 1; `NaN` for n = 0. */
export const liuLaylandBound = (n: number): number => (n === 0 ? NaN : n * (Math.pow(2, 1 / n) - 1))

/** Liu & Layland over the Main VCPUs: `Σ C_i/T_i ≤ n(2^{1/n} − 1)` (sufficient). */
export const liuLayland = (vcpus: readonly VcpuParams[]): UtilisationBoundResult => {
  const m = mains(vcpus)
  const value = utilisation(m)
  const bound = liuLaylandBound(m.length)
  return { test: "liu-layland", verdict: m.length > 0 && value <= bound && periodicMains(vcpus) ? "schedulable" : "inconclusive", n: m.length, value, bound }
}

/** Hyperbolic bound (Bini, Buttazzo & Buttazzo) over the Main VCPUs: `Π (U_i + 1) ≤ 2` (sufficient). */
export const hyperbolic = (vcpus: readonly VcpuParams[]): UtilisationBoundResult => {
  const m = mains(vcpus)
  const value = m.reduce((p, v) => p * (v.budgetNs / v.periodNs + 1), 1)
  return { test: "hyperbolic", verdict: m.length > 0 && value <= 2 && periodicMains(vcpus) ? "schedulable" : "inconclusive", n: m.length, value, bound: 2 }
}

/**
 * §C.3 (the RTAS 2011 test as the spec reconstructs it; sufficient):
 * `Σ_i C_i/T_i + Σ_j (2 − U_j)·U_j ≤ n(2^{1/n} − 1)`, `n` = number of Main VCPUs, `U_j = C_j/T_j`
 * of each I/O VCPU.
 */
export const mainIoTest = (vcpus: readonly VcpuParams[]): UtilisationBoundResult & { readonly mainUtilisation: number; readonly ioTerm: number } => {
  const m = mains(vcpus)
  const mainUtilisation = utilisation(m)
  const ioTerm = ios(vcpus).reduce((s, v) => {
    const u = v.budgetNs / v.periodNs
    return s + (2 - u) * u
  }, 0)
  const value = mainUtilisation + ioTerm
  const bound = liuLaylandBound(m.length)
  return { test: "main+io", verdict: m.length > 0 && value <= bound && periodicMains(vcpus) ? "schedulable" : "inconclusive", n: m.length, value, bound, mainUtilisation, ioTerm }
}

/**
 * Exact response-time analysis of the Main VCPUs under rate-monotonic priorities:
 * `R = C_i + Σ_{j ∈ hp(i)} I_j(R)`, `I_j` the interference of VCPU `j`'s demand model (`⌈R/T_j⌉·C_j`
 * for a sporadic task), iterated from `Σ_{j ∈ hp(i) ∪ {i}} C_j` to a fixed point or past `D_i`
 * (with release jitter and blocking, see {@link RtaOptions}).
 * I/O VCPUs are not included (their priority is inherited; see {@link mainIoTest}). When a Main
 * VCPU's policy has no RM model, the verdict is `inconclusive` and only the VCPUs above every
 * unanalysed one get a response time.
 */
export const responseTimes = (vcpus: readonly VcpuParams[], options: RtaOptions = {}): RtaResult => {
  const ties = options.ties ?? "conservative"
  const jitter = options.releaseJitterNs ?? 0, blocking = options.blockingNs ?? 0
  const items = vcpus.map((v, index) => ({ v, index, p: paramsOf(v), model: modelOf(v) })).filter(({ v }) => (v.kind ?? "main") === "main")
  const exact = items.every((o) => o.model?.sporadicTask === true)
  const responses: ResponseTime[] = []
  for (const { v, index, p, model } of items) {
    const hp = items.filter((o) => o.index !== index && (o.v.periodNs < v.periodNs || (o.v.periodNs === v.periodNs && (ties === "conservative" || o.index < index))))
    if (model?.rm === undefined || hp.some((o) => o.model?.rm === undefined)) continue
    const own = v.budgetNs + blocking
    let r = own + hp.reduce((s, o) => s + o.v.budgetNs, 0)
    for (;;) {
      let next = own
      for (const o of hp) next += o.model!.rm!.interferenceNs(o.p, r + jitter)
      if (next === r || next + jitter > p.deadlineNs) {
        r = next
        break
      }
      r = next
    }
    r += jitter
    responses.push({ index, budgetNs: v.budgetNs, periodNs: v.periodNs, deadlineNs: p.deadlineNs, responseNs: r, schedulable: r <= p.deadlineNs })
  }
  const complete = responses.length === items.length
  const verdict: Verdict = !complete ? "inconclusive" : responses.every((r) => r.schedulable) ? "schedulable" : exact ? "unschedulable" : "inconclusive"
  return { test: "rta", verdict, responses, ties }
}

/** The EDF utilisation test `Σ C/T ≤ 1` over the Main VCPUs (exact when they are sporadic tasks with `D = T`). */
export interface EdfUtilisationResult {
  readonly test: "edf-utilisation"
  readonly verdict: Verdict
  readonly value: number
  readonly bound: 1
}

/** Liu & Layland 1973: EDF schedules implicit-deadline sporadic tasks iff `Σ C/T ≤ 1`. */
export const edfUtilisation = (vcpus: readonly VcpuParams[]): EdfUtilisationResult => {
  const m = mains(vcpus)
  const value = utilisation(m)
  const exact = periodicMains(vcpus)
  const verdict: Verdict = m.length === 0 ? "inconclusive" : value > 1 ? "unschedulable" : exact ? "schedulable" : "inconclusive"
  return { test: "edf-utilisation", verdict, value, bound: 1 }
}

export interface DemandResult {
  readonly test: "processor-demand"
  readonly verdict: Verdict
  /** The testing horizon, ns: `min(hyperperiod, L_a)` (the hyperperiod when `U = 1`). */
  readonly horizonNs: number
  /** Testing points checked. */
  readonly points: number
  /** The first `L` with `Σ dbf(L) > L`, ns (-1: none). */
  readonly failedAtNs: number
  /** `Σ dbf` at `failedAtNs`, ns (0: none). */
  readonly demandNs: number
  /** Why there is no verdict, when there is none. */
  readonly note?: string
}

export interface DemandOptions {
  /** Most testing points to check before giving up (`inconclusive`), default 1,000,000. */
  readonly maxPoints?: number
}

/**
 * The processor-demand test for EDF (Baruah, Rosier & Howell 1990): the Main VCPUs are EDF-feasible
 * iff `Σ dbf_i(L) ≤ L` for every `L > 0`, checked at each testing point up to `min(H, L_a)`:
 * `H` the hyperperiod (by `dbf(L + T) ≤ dbf(L) + C`, a violation beyond `H` implies one `H`
 * earlier), `L_a = Σ B_i / (1 − U)` when `U < 1`. `U > 1` is unschedulable outright.
 */
export const processorDemand = (vcpus: readonly VcpuParams[], options: DemandOptions = {}): DemandResult => {
  const items = mains(vcpus).map((v) => ({ p: paramsOf(v), edf: modelOf(v)?.edf }))
  const exact = mains(vcpus).every((v) => modelOf(v)?.sporadicTask === true)
  const base = { test: "processor-demand" as const, horizonNs: 0, points: 0, failedAtNs: -1, demandNs: 0 }
  if (items.length === 0) return { ...base, verdict: "inconclusive", note: "no Main VCPU" }
  if (items.some((o) => o.edf === undefined)) return { ...base, verdict: "inconclusive", note: "a policy without an EDF demand model" }
  const u = utilisation(items.map((o) => o.p))
  if (u > 1) return { ...base, verdict: "unschedulable", note: `U = ${u} > 1` }
  const h = hyperperiodNs(items.map((o) => o.p.periodNs))
  let horizon = h > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(h)
  if (u < 1) {
    const la = Math.ceil(items.reduce((s, o) => s + o.edf!.dbfOffsetNs(o.p), 0) / (1 - u))
    if (la < horizon) horizon = Math.max(la, 1)
  }
  const maxPoints = options.maxPoints ?? 1_000_000
  let points = 0
  let L = 0
  for (;;) {
    let next = Infinity
    for (const o of items) {
      const x = o.edf!.nextPointNs(o.p, L)
      if (x < next) next = x
    }
    if (next > horizon) return { ...base, verdict: "schedulable", horizonNs: horizon, points }
    if (++points > maxPoints) return { ...base, verdict: "inconclusive", horizonNs: horizon, points: points - 1, note: `more than ${maxPoints} testing points below ${horizon} ns` }
    L = next
    let demand = 0
    for (const o of items) demand += o.edf!.dbfNs(o.p, L)
    if (demand > L) return { ...base, verdict: exact ? "unschedulable" : "inconclusive", horizonNs: horizon, points, failedAtNs: L, demandNs: demand }
  }
}

/** The least common multiple of the periods, ns (exact, bigint). */
export const hyperperiodNs = (periodsNs: readonly number[]): bigint =>
  periodsNs.reduce((l, p) => {
    const b = BigInt(p)
    return (l / gcd(l, b)) * b
  }, 1n)

/** Everything `qvsim check` prints for one PCPU. */
export interface PcpuAnalysis {
  /** The PCPU's priority rule: which tests decide. */
  readonly rule: "rm" | "edf"
  /** `Σ C/T` over all VCPUs (Main and I/O). */
  readonly utilisation: number
  readonly mainUtilisation: number
  /** `'rm'`: the fixed-priority tests (under `'edf'` still computed, for information). */
  readonly liuLayland: UtilisationBoundResult
  readonly hyperbolic: UtilisationBoundResult
  readonly rta: RtaResult
  readonly mainIo: ReturnType<typeof mainIoTest>
  /** `'edf'`: the EDF tests (null under `'rm'`). */
  readonly edf: { readonly utilisation: EdfUtilisationResult; readonly demand: DemandResult } | null
  /** Main VCPUs (input indices) whose policy has no analysis under the rule, with the policy's name. */
  readonly unanalysed: ReadonlyArray<{ readonly index: number; readonly policy: string }>
  /** Hyperperiod of every VCPU's period, ns. */
  readonly hyperperiodNs: bigint
}

export interface AnalyseOptions extends RtaOptions, DemandOptions {
  /** The PCPU's priority rule (default `'rm'`). */
  readonly rule?: "rm" | "edf"
}

/** All the tests for the VCPUs of one PCPU. */
export const analyse = (vcpus: readonly VcpuParams[], options: AnalyseOptions = {}): PcpuAnalysis => {
  const rule = options.rule ?? "rm"
  const unanalysed = vcpus.flatMap((v, index) => {
    if ((v.kind ?? "main") !== "main") return []
    const m = modelOf(v)
    return (rule === "rm" ? m?.rm : m?.edf) === undefined ? [{ index, policy: v.policy ?? "sporadic" }] : []
  })
  return {
    rule,
    utilisation: utilisation(vcpus),
    mainUtilisation: utilisation(mains(vcpus)),
    liuLayland: liuLayland(vcpus),
    hyperbolic: hyperbolic(vcpus),
    rta: responseTimes(vcpus, options),
    mainIo: mainIoTest(vcpus),
    edf: rule === "edf" ? { utilisation: edfUtilisation(vcpus), demand: processorDemand(vcpus, options) } : null,
    unanalysed,
    hyperperiodNs: hyperperiodNs(vcpus.map((v) => v.periodNs)),
  }
}

/** {@link PcpuAnalysis} as plain JSON (the hyperperiod as a decimal string), for `--json` output. */
export const toJson = (a: PcpuAnalysis): Record<string, unknown> => ({ ...a, hyperperiodNs: a.hyperperiodNs.toString() })
