/**
 * A paper experiment (spec section E): a named group of runs ("variants", each one Quest-V
 * system from sandbox-kernel built from a `SystemInput` and run to a time), and an analysis that
 * turns the finished runs into result tables and checks the paper's claims.
 *
 * How the CLI uses it: `qvsim run <experiment>` runs every variant and prints the tables and the
 * claims (and writes them as CSV and JSON); `qvsim run <experiment>/<variant>` runs one variant as
 * an ordinary scenario, so `--trace`, `replay`, `--perfetto`, `--report`, `--schedule` work on it.
 *
 * Invariants:
 * - a variant is a pure function of the seed (and the scale): same seed, same system, same run;
 * - `analyse` reads only the finished systems (metrics, recoveries, channel observations, host
 *   statistics): it never runs anything itself;
 * - claims are computed, never hard-coded: each says what the paper claims, whether the run
 *   supports it, and the numbers behind the verdict.
 *
 * @module
 */
import { System, type Config } from "@qvsim/sandbox-kernel"
import type { PooledClaim, Threshold } from "../robust/Contract.ts"
import type { Domain, InputValue, Params } from "../robust/Domain.ts"
import { ScenarioError } from "../Scenario.ts"

/** One run of an experiment. */
export interface Variant {
  /** Unique in its experiment; lowercase letters, digits, dashes (`local`, `remote`, `reboot`). */
  readonly name: string
  /** One line: what this run is. */
  readonly description: string
  /**
   * The system to build. `scale` (default 1) shrinks long experiments for tests: a variant should
   * scale its request counts or duration by it (e.g. 30,000 pings × 0.01 = 300) and nothing else.
   * `params`: the point of the experiment's domain (robust/Domain.ts) to build; absent = the
   * headline point (every parameter at its default; `Domain.at` reads them typed either way).
   * The system runs on the given seed: its `seed`, if set, must be that one (`systemOf`).
   */
  readonly system: (seed: number, scale: number, params?: Params) => Config.SystemInput
  /** Simulated time to run to, ns, at the given scale (and domain point). */
  readonly untilNs: (scale: number, params?: Params) => number
  /**
   * Optional: called on the variant's built system before it runs, e.g. to stream the few
   * observations `analyse` reads instead of keeping them all (message-passing: its reply times).
   * It must not change the run (no record, no draw, no event); `analyse` must accept a system it
   * was not called on (a test's own run) and give the same result.
   */
  readonly prepare?: (system: System.System) => void
}

/**
 * A cell of a results table: a number, text, a boolean (yes/no), null (not applicable / missing;
 * shown as "—", an empty CSV cell), or a list (of numbers or texts, or of number tuples such as
 * `[time, units]`): a JSON array in `results.json`, its JSON text in a CSV cell, shown as its
 * items joined by ", " (a tuple's by ":", a run of equal items as `item×count`).
 */
export type Cell = number | string | boolean | null | ReadonlyArray<number | string | ReadonlyArray<number>>

/**
 * A results table: named columns, one record per row, each value a {@link Cell}. `id` names its
 * files (`<id>.csv`): snake_case, stable across seeds and scales (a title may carry numbers that
 * are not); `results.json` and the CSVs key columns by `report/Tidy.columnKey` of their titles.
 */
export interface ResultTable {
  readonly id?: string
  readonly title: string
  readonly columns: readonly string[]
  readonly rows: ReadonlyArray<Readonly<Record<string, Cell>>>
}

/** One claim of the paper, checked against the runs. */
export interface Claim {
  /** The claim, in the paper's terms ("local and remote recovery give very similar results"). */
  readonly text: string
  /** Whether the runs support it. */
  readonly holds: boolean
  /** The numbers behind the verdict ("outage local 95.3 ms, remote 95.3 ms, reboot 10,000 ms"). */
  readonly detail: string
  /** Stable across runs (robust results are keyed by it); default `claim<i+1>`. */
  readonly id?: string
  /** When a threshold decides the verdict: what is compared, with what, whose threshold it is (robust/Contract.ts). */
  readonly threshold?: Threshold
}

export interface ExperimentResult {
  readonly tables: readonly ResultTable[]
  readonly claims: readonly Claim[]
  /** The analogue of the paper's figure, as a Vega-Lite spec (rendered by the report), if any. */
  readonly plot?: Readonly<Record<string, unknown>>
  /** Headline numbers of the run by name, units in the names (`meanRttOverheadPct`): what robust and sensitivity studies summarise. */
  readonly metrics?: Readonly<Record<string, number>>
}

/** A finished run handed to `analyse`. */
export interface Run {
  readonly variant: string
  readonly system: System.System
}

export interface Experiment {
  /** Built-in name (`driver-recovery`). */
  readonly name: string
  readonly description: string
  /** Where it comes from: paper section and figure/table, spec experiment id. */
  readonly source: string
  /** Default seed. */
  readonly seed: number
  readonly variants: readonly Variant[]
  /** Tables and claims from the finished runs (in variant order), at the domain point `params` (absent: the headline point). */
  readonly analyse: (runs: readonly Run[], params?: Params) => ExperimentResult
  /**
   * Optional: an experiment that is not a set of Quest-V systems (e.g. single-PCPU scheduler
   * harness runs, spec E7/E8) computes its result here instead, as a pure function of the seed and
   * the scale; it then has `variants: []` and an `analyse` that is never given runs. `runAll` calls
   * it when present (and `analyse` otherwise). `options.checkInvariants`: check every scheduler it
   * runs at every decision (`--check-invariants`); it must not change the result.
   */
  readonly compute?: (seed: number, scale: number, options?: ComputeOptions, params?: Params) => ExperimentResult
  /** What the claims are stated over (robust/Domain.ts): seeds, choices, assumed constants; default 30 seeds and nothing else. */
  readonly domain?: Domain
  /** Values configured from the paper (or the code) with their source: shown as inputs, never as claims. */
  readonly inputs?: readonly InputValue[]
  /** Claims over a whole robust sample (a pooled rate with its interval), besides the per-run claims. */
  readonly pooled?: readonly PooledClaim[]
}

/** How a computed experiment is run. */
export interface ComputeOptions {
  readonly checkInvariants?: boolean
}

/** How the variants' systems are built besides their input. */
export interface RunAllOptions {
  readonly seed?: number
  readonly scale?: number
  /** `kernel.checkInvariants` in every variant (`--check-invariants`). */
  readonly checkInvariants?: boolean
  /** `recordJobs` in every variant (`--strict` counts missed deadlines from them). */
  readonly recordJobs?: boolean
}

/** A variant's input with the run's options applied (they change what is checked or recorded, never the run). */
export const withRunOptions = (input: Config.SystemInput, o: RunAllOptions): Config.SystemInput => ({
  ...input,
  ...(o.recordJobs === true ? { recordJobs: true } : {}),
  ...(o.checkInvariants === true ? { kernel: { ...input.kernel, checkInvariants: true } } : {}),
})

/**
 * Variant `v`'s system input on the run's `seed`: the builder's, its `seed` set to the run's. A
 * builder that names another seed is refused (every path that runs a variant, `runAll`,
 * robust/RunPoint and the CLI's Runner, builds it from this, so they cannot disagree; a replay
 * re-runs the variant from the run's seed). Different draws per variant come from stream names.
 */
export const systemOf = (e: Experiment, v: Variant, seed: number, scale: number, params?: Params): Config.SystemInput => {
  const input = v.system(seed, scale, params)
  if (input.seed !== undefined && input.seed !== seed) {
    throw new ScenarioError(`${e.name}/${v.name}: system.seed is ${JSON.stringify(input.seed)}, not the run's seed ${seed}: a variant's system runs on the run's seed (leave seed out, or pass the one given)`)
  }
  return { ...input, seed }
}

/** Typed identity for experiment modules. */
export const defineExperiment = (e: Experiment): Experiment => e

/** Runs every variant of an experiment at `scale` at its headline point and analyses them (plain TS; no files; `robust/RunPoint.ts` runs any point of the domain). */
export const runAll = (e: Experiment, options: RunAllOptions = {}): { runs: Run[]; result: ExperimentResult } => {
  const seed = options.seed ?? e.seed
  const scale = options.scale ?? 1
  if (e.compute !== undefined) return { runs: [], result: e.compute(seed, scale, { checkInvariants: options.checkInvariants ?? false }) }
  const { runs } = runVariants(e, (v) => systemOf(e, v, seed, scale), (v) => v.untilNs(scale), options)
  return { runs, result: e.analyse(runs) }
}

/**
 * Builds every variant's system from `inputOf` with the run's options applied, lets the variant
 * prepare it, runs it for `untilNs`, and counts the events: the one loop `runAll` (the headline
 * point) and robust/RunPoint (any point of the domain) share.
 */
export const runVariants = (
  e: Experiment,
  inputOf: (v: Variant) => Config.SystemInput,
  untilNs: (v: Variant) => number,
  options: RunAllOptions,
): { runs: Run[]; events: number } => {
  let events = 0
  const runs: Run[] = e.variants.map((v) => {
    const system = new System.System(withRunOptions(inputOf(v), options))
    v.prepare?.(system)
    system.run(untilNs(v))
    events += system.sim.events
    return { variant: v.name, system }
  })
  return { runs, events }
}

/** A table as CSV (RFC 4180 quoting). */
export const toCsv = (t: ResultTable): string => {
  const cell = (v: unknown): string => {
    const s = v === undefined ? "" : String(v)
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
  }
  return [t.columns.map(cell).join(","), ...t.rows.map((r) => t.columns.map((c) => cell(r[c])).join(","))].join("\n") + "\n"
}
