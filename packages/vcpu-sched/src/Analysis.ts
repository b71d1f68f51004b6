/**
 * Schedulability analysis of one PCPU's VCPUs under rate-monotonic priorities: utilisation, the
 * Liu & Layland bound, the hyperbolic bound, exact response-time analysis (fixed priority, VCPUs
 * treated as periodic tasks with `D = T`), the Main + I/O VCPU test of spec §C.3, and the
 * hyperperiod. Each test returns a verdict and the numbers behind it.
 *
 * Invariants: response times and the hyperperiod are exact integers (ns; the hyperperiod is a
 * bigint because it easily leaves the safe range); utilisations and bounds are floats (they are
 * reported, and compared with `≤`).
 *
 * Verdicts: `"schedulable"`; `"unschedulable"` (RTA only: a response time exceeds the period);
 * `"inconclusive"` (a sufficient test that fails says nothing).
 *
 * @module
 */
import { gcd } from "./internal/arith.ts"

/** A VCPU as the analysis sees it. */
export interface VcpuParams {
  /** Default `'main'`. */
  readonly kind?: "main" | "io"
  readonly budgetNs: number
  readonly periodNs: number
  readonly name?: string
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
  /** Worst-case response time, ns, or the first iterate beyond the deadline when it misses. */
  readonly responseNs: number
  /** `responseNs ≤ periodNs`. */
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
}

const mains = (vcpus: readonly VcpuParams[]) => vcpus.filter((v) => (v.kind ?? "main") === "main")
const ios = (vcpus: readonly VcpuParams[]) => vcpus.filter((v) => v.kind === "io")

/** `Σ C/T` over the given VCPUs (all kinds). */
export const utilisation = (vcpus: readonly VcpuParams[]): number => vcpus.reduce((s, v) => s + v.budgetNs / v.periodNs, 0)

/** `n(2^{1/n} − 1)`; 1 for n = 1; `NaN` for n = 0. */
export const liuLaylandBound = (n: number): number => (n === 0 ? NaN : n * (Math.pow(2, 1 / n) - 1))

/** Liu & Layland over the Main VCPUs: `Σ C_i/T_i ≤ n(2^{1/n} − 1)` (sufficient). */
export const liuLayland = (vcpus: readonly VcpuParams[]): UtilisationBoundResult => {
  const m = mains(vcpus)
  const value = utilisation(m)
  const bound = liuLaylandBound(m.length)
  return { test: "liu-layland", verdict: m.length > 0 && value <= bound ? "schedulable" : "inconclusive", n: m.length, value, bound }
}

/** Hyperbolic bound (Bini, Buttazzo & Buttazzo) over the Main VCPUs: `Π (U_i + 1) ≤ 2` (sufficient). */
export const hyperbolic = (vcpus: readonly VcpuParams[]): UtilisationBoundResult => {
  const m = mains(vcpus)
  const value = m.reduce((p, v) => p * (v.budgetNs / v.periodNs + 1), 1)
  return { test: "hyperbolic", verdict: m.length > 0 && value <= 2 ? "schedulable" : "inconclusive", n: m.length, value, bound: 2 }
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
  return { test: "main+io", verdict: m.length > 0 && value <= bound ? "schedulable" : "inconclusive", n: m.length, value, bound, mainUtilisation, ioTerm }
}

const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b)

/**
 * Exact response-time analysis of the Main VCPUs as periodic tasks `(C, T)`, `D = T`, rate-monotonic
 * priorities: `R = C_i + Σ_{j ∈ hp(i)} ⌈R / T_j⌉·C_j`, iterated from `Σ_{j ∈ hp(i) ∪ {i}} C_j` to a
 * fixed point or past `T_i`. I/O VCPUs are not included (their priority is inherited; see
 * {@link mainIoTest}).
 */
export const responseTimes = (vcpus: readonly VcpuParams[], options: RtaOptions = {}): RtaResult => {
  const ties = options.ties ?? "conservative"
  const items = vcpus.map((v, index) => ({ v, index })).filter(({ v }) => (v.kind ?? "main") === "main")
  const responses: ResponseTime[] = items.map(({ v, index }) => {
    const hp = items.filter((o) => o.index !== index && (o.v.periodNs < v.periodNs || (o.v.periodNs === v.periodNs && (ties === "conservative" || o.index < index))))
    let r = v.budgetNs + hp.reduce((s, o) => s + o.v.budgetNs, 0)
    for (;;) {
      let next = v.budgetNs
      for (const o of hp) next += ceilDiv(r, o.v.periodNs) * o.v.budgetNs
      if (next === r || next > v.periodNs) {
        r = next
        break
      }
      r = next
    }
    return { index, budgetNs: v.budgetNs, periodNs: v.periodNs, responseNs: r, schedulable: r <= v.periodNs }
  })
  return { test: "rta", verdict: responses.every((r) => r.schedulable) ? "schedulable" : "unschedulable", responses, ties }
}

/** The least common multiple of the periods, ns (exact, bigint). */
export const hyperperiodNs = (periodsNs: readonly number[]): bigint =>
  periodsNs.reduce((l, p) => {
    const b = BigInt(p)
    return (l / gcd(l, b)) * b
  }, 1n)

/** Everything `qvsim check` prints for one PCPU. */
export interface PcpuAnalysis {
  /** `Σ C/T` over all VCPUs (Main and I/O). */
  readonly utilisation: number
  readonly mainUtilisation: number
  readonly liuLayland: UtilisationBoundResult
  readonly hyperbolic: UtilisationBoundResult
  readonly rta: RtaResult
  readonly mainIo: ReturnType<typeof mainIoTest>
  /** Hyperperiod of every VCPU's period, ns. */
  readonly hyperperiodNs: bigint
}

/** All the tests for the VCPUs of one PCPU. */
export const analyse = (vcpus: readonly VcpuParams[], options: RtaOptions = {}): PcpuAnalysis => ({
  utilisation: utilisation(vcpus),
  mainUtilisation: utilisation(mains(vcpus)),
  liuLayland: liuLayland(vcpus),
  hyperbolic: hyperbolic(vcpus),
  rta: responseTimes(vcpus, options),
  mainIo: mainIoTest(vcpus),
  hyperperiodNs: hyperperiodNs(vcpus.map((v) => v.periodNs)),
})

/** {@link PcpuAnalysis} as plain JSON (the hyperperiod as a decimal string), for `--json` output. */
export const toJson = (a: PcpuAnalysis): Record<string, unknown> => ({ ...a, hyperperiodNs: a.hyperperiodNs.toString() })
