/**
 * The paper's experiments at the CLI's reach: finding one (a registry name, or a `.ts` file whose
 * default export is an experiment), turning one variant into an ordinary scenario (so `--trace`,
 * `replay`, `--perfetto`, `--report`, `--schedule` work on it), running all variants, and the
 * results as text, CSV and JSON. Plain TypeScript; the CLI adds files and timing.
 *
 * Invariants:
 * - a variant scenario is a pure function of (experiment, variant, seed, scale): the same
 *   arguments give the same scenario and the same identity hash, so a variant's trace replays;
 * - running an experiment here gives the same runs as `Experiment.runAll` (each variant's system
 *   built from its `SystemInput` with the run's seed and run to `untilNs(scale)`); with trace
 *   sinks the variants go through the Runner, which builds the same system.
 *
 * @module
 */
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import type { Trace } from "@qvsim/sim-core"
import type { System } from "@qvsim/sandbox-kernel"
import * as Experiment from "./paper/Experiment.ts"
import * as Registry from "./paper/registry.ts"
import type { Params } from "./robust/Domain.ts"
import * as RunPoint from "./robust/RunPoint.ts"
import * as Tidy from "./report/Tidy.ts"
import * as Runner from "./Runner.ts"
import { parseScenario, type Scenario, ScenarioError, type ScenarioInput } from "./Scenario.ts"
import { importModule } from "./UserModule.ts"

/** An experiment found for a spec, and how to name it again. */
export interface Found {
  readonly experiment: Experiment.Experiment
  /** The registry name or the absolute file path. */
  readonly source: string
}

const isExperiment = (x: unknown): x is Experiment.Experiment =>
  typeof x === "object" && x !== null && typeof (x as { name?: unknown }).name === "string" &&
  Array.isArray((x as { variants?: unknown }).variants) && typeof (x as { analyse?: unknown }).analyse === "function"

/** The experiments of the registry, in listing order. */
export const registered = (): ReadonlyArray<Experiment.Experiment> => Registry.experiments

/**
 * The experiment `spec` names: a registry name, or a `.ts` file whose default export is an
 * experiment; undefined otherwise (e.g. a file exporting a scenario).
 */
export const find = async (spec: string): Promise<Found | undefined> => {
  const named = Registry.find(spec)
  if (named !== undefined) return { experiment: named, source: spec }
  if (!spec.endsWith(".ts")) return undefined
  const path = resolve(spec)
  if (!existsSync(path)) return undefined
  const mod = await importModule(path, ".ts file")
  return isExperiment(mod.default) ? { experiment: mod.default, source: path } : undefined
}

/** `<experiment>/<variant>` (the experiment a registry name or a `.ts` file), or undefined. */
export const splitVariant = (spec: string): { experiment: string; variant: string } | undefined => {
  const m = /^(.+)\/([a-z0-9][a-z0-9-]*)$/.exec(spec)
  if (m === null) return undefined
  if (!m[1]!.endsWith(".ts") && Registry.find(m[1]!) === undefined) return undefined
  return { experiment: m[1]!, variant: m[2]! }
}

/**
 * The scenario of one variant: its system (less the seed, which the run gives), run to
 * `untilNs(scale)`; at the domain point `params` (default: the headline point).
 */
export const variantScenario = (e: Experiment.Experiment, v: Experiment.Variant, seed: number, scale: number, params?: Params): ScenarioInput => {
  const at = params ?? RunPoint.defaultsOf(e)
  const { seed: _seed, ...system } = RunPoint.variantInput(e, v, seed, scale, at)
  return {
    name: `${e.name}-${v.name}`,
    description: v.description,
    seed,
    duration: RunPoint.untilOf(v, scale, at),
    system: system as NonNullable<ScenarioInput["system"]>,
  }
}

/** The variant named `name` of `e`, or a `ScenarioError` listing the known ones. */
export const variantOf = (e: Experiment.Experiment, name: string): Experiment.Variant => {
  const v = e.variants.find((x) => x.name === name)
  if (v !== undefined) return v
  const known = e.variants.map((x) => x.name).join(", ")
  throw new ScenarioError(`experiment ${e.name} has no variant "${name}"${known === "" ? " (it has no variants: it computes its results without systems)" : ` (variants: ${known})`}`)
}

/** The validated scenario of a variant (errors name the variant). */
export const parseVariant = (e: Experiment.Experiment, v: Experiment.Variant, seed: number, scale: number, params?: Params): { input: ScenarioInput; scenario: Scenario } => {
  const input = variantScenario(e, v, seed, scale, params)
  return { input, scenario: parseScenario(input, `${e.name}/${v.name}`) }
}

/**
 * Every variant's scenario at (seed, scale, params), built and validated, nothing run: a variant
 * whose builder gives a bad input (a wrong field, another seed) is refused when the experiment
 * loads, before any run or file (the CLI checks this first; the error names the variant).
 */
export const checkVariants = (e: Experiment.Experiment, seed: number, scale: number, params?: Params): void => {
  for (const v of e.variants) parseVariant(e, v, seed, scale, params)
}

export interface RunOptions {
  readonly seed?: number
  readonly scale?: number
  /** Trace sinks per variant (e.g. a JSONL file); given, the variants run through the Runner. */
  readonly sinks?: (v: Experiment.Variant, scenario: Scenario, input: ScenarioInput) => Trace.TraceSink[] | undefined
  /** Called after each variant with its events (for progress and benchmarks); given, the variants run through the Runner. */
  readonly onVariant?: (v: Experiment.Variant, events: number) => void
  /** Called between slices of each variant's run (progress); given, the variants run through the Runner. */
  readonly onSlice?: (v: Experiment.Variant) => Runner.OnSlice | undefined
  /** Check every scheduler at every decision (`--check-invariants`). */
  readonly checkInvariants?: boolean
  /** Record every variant's jobs (`--strict` counts their missed deadlines). */
  readonly recordJobs?: boolean
  /** The domain point (`--param`); default the headline point (every parameter at its default). */
  readonly params?: Params
}

export interface Ran {
  readonly runs: Experiment.Run[]
  readonly result: Experiment.ExperimentResult
  /** Simulation events over all variants. */
  readonly events: number
}

/**
 * Variant `v`'s scenario, built through the Runner with the run's sinks and options, its system
 * handed to the variant's pre-run hook (`Variant.prepare`): what `run` and `runAsync` execute.
 */
const prepareVariant = (e: Experiment.Experiment, v: Experiment.Variant, seed: number, scale: number, params: Params, options: RunOptions): Runner.Prepared => {
  const { input, scenario } = parseVariant(e, v, seed, scale, params)
  const prepared = Runner.prepare(scenario, {
    seed, untilNs: scenario.duration, sinks: options.sinks?.(v, scenario, input) ?? [],
    checkInvariants: options.checkInvariants ?? false, recordJobs: options.recordJobs ?? false, recordObservations: true,
  })
  v.prepare?.(prepared.system as System.System)
  return prepared
}

/** Runs every variant and analyses them. */
export const run = (e: Experiment.Experiment, options: RunOptions = {}): Ran => {
  const seed = options.seed ?? e.seed
  const scale = options.scale ?? 1
  const params = options.params ?? RunPoint.defaultsOf(e)
  const viaRunner = options.sinks !== undefined || options.onVariant !== undefined || options.onSlice !== undefined
  if (!viaRunner || e.compute !== undefined) {
    return RunPoint.runPoint(e, { seed, scale, params, checkInvariants: options.checkInvariants ?? false, recordJobs: options.recordJobs ?? false })
  }
  const runs: Experiment.Run[] = []
  let events = 0
  for (const v of e.variants) {
    const prepared = prepareVariant(e, v, seed, scale, params, options)
    Runner.execute(prepared, options.onSlice?.(v))
    events += prepared.sim.events
    options.onVariant?.(v, prepared.sim.events)
    runs.push({ variant: v.name, system: prepared.system as System.System })
  }
  return { runs, result: e.analyse(runs, params), events }
}

/**
 * As {@link run}, always through the Runner, each variant's run sharing its thread through
 * `control` (see `Runner.executeAsync`; `control(v)` may stop the run by throwing). Computed
 * experiments (no variants) run as in {@link run}, checked once before and after.
 */
export const runAsync = async (e: Experiment.Experiment, options: RunOptions & { readonly control: (v: Experiment.Variant) => Runner.RunControl; readonly check?: () => void }): Promise<Ran> => {
  const seed = options.seed ?? e.seed
  const scale = options.scale ?? 1
  const params = options.params ?? RunPoint.defaultsOf(e)
  options.check?.()
  if (e.compute !== undefined) return run(e, { seed, scale, params })
  const runs: Experiment.Run[] = []
  let events = 0
  for (const v of e.variants) {
    const prepared = prepareVariant(e, v, seed, scale, params, options)
    await Runner.executeAsync(prepared, options.control(v), options.onSlice?.(v))
    events += prepared.sim.events
    options.onVariant?.(v, prepared.sim.events)
    runs.push({ variant: v.name, system: prepared.system as System.System })
  }
  options.check?.()
  return { runs, result: e.analyse(runs, params), events }
}

/** The CSV files of a result: `<table id>.csv` and its CSVW metadata (`<id>.csv-metadata.json`) per table (see `report/Tidy.ts`). */
export const csvFiles = (result: Experiment.ExperimentResult, provenance: Tidy.Provenance): Array<{ name: string; text: string }> =>
  Tidy.csvFiles(result, provenance)

/**
 * A cell as text: numbers with separators (4 decimals at most), null as "—" (not applicable),
 * booleans as yes/no; a list as its items joined by ", " (a tuple's items by ":", a run of equal
 * consecutive items as `item×count`; an empty list as "none").
 */
export const cellText = (v: unknown): string => {
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en-US") : v.toLocaleString("en-US", { maximumFractionDigits: 4 })
  if (v === null) return "—"
  if (typeof v === "boolean") return v ? "yes" : "no"
  if (Array.isArray(v)) {
    if (v.length === 0) return "none"
    const items = v.map((x) => (Array.isArray(x) ? x.map(cellText).join(":") : cellText(x)))
    const runs: string[] = []
    for (let i = 0; i < items.length;) {
      let j = i + 1
      while (j < items.length && items[j] === items[i]) j++
      runs.push(j - i > 1 ? `${items[i]}×${j - i}` : items[i]!)
      i = j
    }
    return runs.join(", ")
  }
  return v === undefined ? "" : String(v)
}

/** A table as aligned text columns (numbers right-aligned). */
export const formatTable = (t: Experiment.ResultTable): string => {
  const cells = t.rows.map((r) => t.columns.map((c) => cellText(r[c])))
  const numeric = t.columns.map((c) => t.rows.length > 0 && t.rows.every((r) => typeof r[c] === "number" || r[c] === undefined || r[c] === null))
  const widths = t.columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)))
  const line = (row: readonly string[]) => row.map((x, i) => (numeric[i] ? x.padStart(widths[i]!) : x.padEnd(widths[i]!))).join("  ").trimEnd()
  return [t.title, line(t.columns), line(widths.map((w) => "─".repeat(w))), ...cells.map(line)].join("\n")
}

/** The claims as `✓ text — detail` lines, and a closing verdict. */
export const formatClaims = (claims: ReadonlyArray<Experiment.Claim>): string => {
  if (claims.length === 0) return "claims: none"
  const failed = claims.filter((c) => !c.holds).length
  return [
    "claims",
    ...claims.map((c) => {
      const t = c.threshold
      const th = t === undefined ? "" : `\n      threshold (${t.ours ? "ours" : "given"}): ${t.name} ${t.holdsWhen} ${t.value.toLocaleString("en-US")}${t.unit !== undefined ? ` ${t.unit}` : ""}; measured ${Number(t.measured.toPrecision(6)).toLocaleString("en-US", { maximumFractionDigits: 6 })}${t.unit !== undefined ? ` ${t.unit}` : ""}`
      return `  ${c.holds ? "✓" : "✗"} ${c.text}\n      ${c.detail}${th}`
    }),
    failed === 0 ? `all ${claims.length} claims hold` : `${failed} of ${claims.length} claims do NOT hold`,
  ].join("\n")
}

/**
 * `results.json`: the experiment, its seed, the domain parameters when not the headline point, the
 * inputs when the experiment declares them, then (with `provenance`) the scale, the provenance and
 * the tables made tidy by `report/Tidy.ts` (snake_case keys with units, numbers, null), the claims
 * and the metrics. Without `provenance` the tables are as the experiment gave them.
 */
export const resultsJson = (e: Experiment.Experiment, seed: number, result: Experiment.ExperimentResult, params?: Params, provenance?: Tidy.Provenance): Record<string, unknown> => {
  const inputs = e.inputs
  const metrics = result.metrics
  return {
    experiment: e.name,
    seed,
    ...(params !== undefined ? { params } : {}),
    ...(inputs !== undefined ? { inputs } : {}),
    ...(provenance !== undefined ? Tidy.resultsFields(result, provenance) : { tables: result.tables }),
    claims: result.claims,
    ...(metrics !== undefined ? { metrics } : {}),
  }
}
