/**
 * Workloads for the single-PCPU harness: VCPUs, threads on them, when each thread's jobs are
 * released (periodic, sporadic, Poisson, explicit) and what a job does (compute, sleep, I/O
 * requests completing after a delay). Plain data, JSON-friendly, so scenarios can declare them.
 *
 * Invariants: every duration is an integer number of ns (a `Range` `[lo, hi]` draws an integer
 * uniformly in `lo..hi` from the thread's own named random stream); {@link validate} refuses
 * anything else with the path of the bad field.
 *
 * I/O: each I/O VCPU gets one service thread (created by the harness, after the declared threads).
 * An `io` step hands the service thread a job of `work` ns with the requesting thread's VCPU period
 * inherited (P1); when the service thread has done the work, the device completes after `delay` ns;
 * with `wait` the requesting thread blocks until then.
 *
 * @module
 */
import "./BuiltinPolicies.ts"
import type { SchedulerOptionsInput } from "./Options.ts"
import * as Policy from "./Policy.ts"

/** A duration in ns: fixed, or an integer drawn uniformly in `[lo, hi]`. */
export type Range = number | readonly [number, number]

export type Step =
  | { readonly compute: Range }
  | { readonly sleep: Range }
  | {
      readonly io: {
        /** Index of the I/O VCPU. */
        readonly vcpu: number
        /** Work for the I/O VCPU's service thread, ns. */
        readonly work: Range
        /** Device time after the work, ns (default 0). */
        readonly delay?: Range
        /** Whether the requesting thread blocks until the device completes (default true). */
        readonly wait?: boolean
        /** Probability that the step happens in a given job (default 1). */
        readonly probability?: number
      }
    }

export type Arrivals =
  /** Jobs at `offset + k·period`. */
  | { readonly kind: "periodic"; readonly periodNs: number; readonly offsetNs?: number }
  /** Inter-arrival = `minInterArrivalNs` + uniform integer in `[0, maxExtraNs]`. */
  | { readonly kind: "sporadic"; readonly minInterArrivalNs: number; readonly maxExtraNs?: number; readonly offsetNs?: number }
  /** Exponential inter-arrivals of the given mean (rounded to ns, ≥ 1 ns). */
  | { readonly kind: "poisson"; readonly meanInterArrivalNs: number; readonly offsetNs?: number }
  /** Jobs at the listed times (non-decreasing). */
  | { readonly kind: "explicit"; readonly releasesNs: readonly number[] }

export interface ThreadSpec {
  /** Index of the VCPU the thread runs on. */
  readonly vcpu: number
  readonly name?: string
  readonly arrivals: Arrivals
  /** What every job does. */
  readonly job: readonly Step[]
  /** Per-job programs overriding `job` for the first `jobs.length` jobs (worked examples). */
  readonly jobs?: readonly (readonly Step[])[]
  /** Relative deadline, ns; default the period / minimum inter-arrival time, else none. */
  readonly deadlineNs?: number
}

export interface VcpuSpec {
  /** Default `'main'`. */
  readonly kind?: "main" | "io"
  readonly name?: string
  /** `C`, ns (for I/O VCPUs: `U = C/T`). */
  readonly budgetNs: number
  /** `T`, ns. */
  readonly periodNs: number
  /** Main VCPUs: the relative deadline `D` of each replenishment period, ns (`≤ T`; default `T`; the `'edf'` priority). */
  readonly deadlineNs?: number
  /** Main VCPUs: a registered policy (`Policy.names()`; default the scheduler option `policy`). */
  readonly policy?: string
}

/** Everything one PCPU runs. */
export interface PcpuSpec {
  readonly vcpus: readonly VcpuSpec[]
  readonly threads: readonly ThreadSpec[]
  readonly options?: SchedulerOptionsInput | undefined
}

/** Thrown by {@link validate}; `path` names the bad field (e.g. `threads[2].job[0].compute`). */
export class WorkloadError extends RangeError {
  override readonly name = "WorkloadError"
  readonly path: string
  constructor(path: string, message: string) {
    super(`${path}: ${message}`)
    this.path = path
  }
}

const isNs = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

const checkRange = (path: string, r: unknown): void => {
  if (isNs(r)) return
  if (Array.isArray(r) && r.length === 2 && isNs(r[0]) && isNs(r[1]) && r[0] <= r[1]) return
  throw new WorkloadError(path, `expected an integer ns ≥ 0 or [lo, hi] with lo ≤ hi, got ${JSON.stringify(r)}`)
}

/** Checks a PCPU spec; throws a {@link WorkloadError} naming the first bad field. */
export const validate = (spec: PcpuSpec): void => {
  if (spec.vcpus.length === 0) throw new WorkloadError("vcpus", "at least one VCPU is needed")
  spec.vcpus.forEach((v, i) => {
    const p = `vcpus[${i}]`
    if (v.kind !== undefined && v.kind !== "main" && v.kind !== "io") throw new WorkloadError(`${p}.kind`, `expected 'main' or 'io'`)
    if (!isNs(v.periodNs) || v.periodNs === 0) throw new WorkloadError(`${p}.periodNs`, `expected an integer > 0, got ${v.periodNs}`)
    if (!isNs(v.budgetNs) || v.budgetNs === 0 || v.budgetNs > v.periodNs) {
      throw new WorkloadError(`${p}.budgetNs`, `expected an integer in 1..periodNs (${v.periodNs}), got ${v.budgetNs}`)
    }
    if (v.deadlineNs !== undefined && (!isNs(v.deadlineNs) || v.deadlineNs === 0 || v.deadlineNs > v.periodNs)) {
      throw new WorkloadError(`${p}.deadlineNs`, `expected an integer in 1..periodNs (${v.periodNs}), got ${v.deadlineNs}`)
    }
    if (v.policy !== undefined && (v.kind === "io" || !Policy.has(v.policy))) {
      throw new WorkloadError(`${p}.policy`, v.kind === "io" ? "I/O VCPUs are PIBS; a policy is for Main VCPUs" : `expected a registered policy (${Policy.names().join(", ")}), got ${JSON.stringify(v.policy)}`)
    }
  })
  const isIo = (i: number) => spec.vcpus[i]?.kind === "io"
  const checkSteps = (p: string, steps: readonly Step[]) => {
    steps.forEach((s, k) => {
      const q = `${p}[${k}]`
      if ("compute" in s) checkRange(`${q}.compute`, s.compute)
      else if ("sleep" in s) checkRange(`${q}.sleep`, s.sleep)
      else if ("io" in s) {
        if (!isIo(s.io.vcpu)) throw new WorkloadError(`${q}.io.vcpu`, `VCPU ${s.io.vcpu} is not an I/O VCPU`)
        checkRange(`${q}.io.work`, s.io.work)
        if (s.io.delay !== undefined) checkRange(`${q}.io.delay`, s.io.delay)
        const pr = s.io.probability
        if (pr !== undefined && !(pr >= 0 && pr <= 1)) throw new WorkloadError(`${q}.io.probability`, `expected a number in [0, 1]`)
      } else throw new WorkloadError(q, `expected {compute}, {sleep} or {io}`)
    })
  }
  spec.threads.forEach((t, i) => {
    const p = `threads[${i}]`
    if (!Number.isSafeInteger(t.vcpu) || t.vcpu < 0 || t.vcpu >= spec.vcpus.length) throw new WorkloadError(`${p}.vcpu`, `no VCPU ${t.vcpu}`)
    const a = t.arrivals
    const ap = `${p}.arrivals`
    if (a.kind === "periodic") {
      if (!isNs(a.periodNs) || a.periodNs === 0) throw new WorkloadError(`${ap}.periodNs`, `expected an integer > 0`)
      if (a.offsetNs !== undefined && !isNs(a.offsetNs)) throw new WorkloadError(`${ap}.offsetNs`, `expected an integer ≥ 0`)
    } else if (a.kind === "sporadic") {
      if (!isNs(a.minInterArrivalNs) || a.minInterArrivalNs === 0) throw new WorkloadError(`${ap}.minInterArrivalNs`, `expected an integer > 0`)
      if (a.maxExtraNs !== undefined && !isNs(a.maxExtraNs)) throw new WorkloadError(`${ap}.maxExtraNs`, `expected an integer ≥ 0`)
      if (a.offsetNs !== undefined && !isNs(a.offsetNs)) throw new WorkloadError(`${ap}.offsetNs`, `expected an integer ≥ 0`)
    } else if (a.kind === "poisson") {
      if (!(a.meanInterArrivalNs > 0)) throw new WorkloadError(`${ap}.meanInterArrivalNs`, `expected a number > 0`)
      if (a.offsetNs !== undefined && !isNs(a.offsetNs)) throw new WorkloadError(`${ap}.offsetNs`, `expected an integer ≥ 0`)
    } else if (a.kind === "explicit") {
      a.releasesNs.forEach((r, k) => {
        if (!isNs(r) || (k > 0 && r < a.releasesNs[k - 1]!)) throw new WorkloadError(`${ap}.releasesNs[${k}]`, `expected non-decreasing integers ≥ 0`)
      })
    } else throw new WorkloadError(`${ap}.kind`, `expected periodic, sporadic, poisson or explicit`)
    checkSteps(`${p}.job`, t.job)
    t.jobs?.forEach((steps, k) => checkSteps(`${p}.jobs[${k}]`, steps))
    if (t.deadlineNs !== undefined && (!isNs(t.deadlineNs) || t.deadlineNs === 0)) throw new WorkloadError(`${p}.deadlineNs`, `expected an integer > 0`)
  })
}

/** The relative deadline of a thread's jobs, ns (`Infinity` when none applies). */
export const relativeDeadline = (t: ThreadSpec): number =>
  t.deadlineNs ?? (t.arrivals.kind === "periodic" ? t.arrivals.periodNs : t.arrivals.kind === "sporadic" ? t.arrivals.minInterArrivalNs : Infinity)

/** A periodic task as one thread on its own Main VCPU with `(C, T)` = (job demand, period). */
export interface PeriodicTask {
  readonly budgetNs: number
  readonly periodNs: number
}

/**
 * The classic set-up: one Main VCPU `(C_i, T_i)` per task, one thread on it whose jobs (demand `C_i`,
 * or `demandNs` when given) are released every `T_i` from 0 (synchronous).
 */
export const periodicSpec = (tasks: readonly PeriodicTask[], options: SchedulerOptionsInput = {}, demandNs?: (i: number) => number): PcpuSpec => ({
  vcpus: tasks.map((t) => ({ kind: "main" as const, budgetNs: t.budgetNs, periodNs: t.periodNs })),
  threads: tasks.map((t, i) => ({
    vcpu: i,
    arrivals: { kind: "periodic" as const, periodNs: t.periodNs },
    job: [{ compute: demandNs === undefined ? t.budgetNs : demandNs(i) }],
  })),
  options,
})
