/**
 * One point of an experiment's domain, run and reduced to what a robust study keeps: every
 * variant's system built with the point's seed, scale and parameters (the builder's typed
 * parameters, then the parameters' `paths` written over its input), run to its time, analysed;
 * then the claims' verdicts and measured values and the headline metrics, keyed by claim id.
 *
 * Invariants:
 * - at the defaults a point builds exactly the headline run's systems (the framework only adds
 *   arguments the builders may ignore and writes each path's default value, which is the value the
 *   builder already wrote), so the pinned fingerprints hold;
 * - a point's record, less `wallMs`, is a pure function of (experiment, seed, scale, params);
 *   `execute` never throws: a run that throws is a failed record with its error and replay line.
 *
 * @module
 */
import type { Config } from "@qvsim/sandbox-kernel"
import type { Experiment, ExperimentResult, Run, Variant } from "../paper/Experiment.ts"
import { runVariants, systemOf } from "../paper/Experiment.ts"
import * as Override from "../Override.ts"
import type { ScenarioInput } from "../Scenario.ts"
import { claimId, type Threshold } from "./Contract.ts"
import { defaults, type Domain, type Params, seedsOnly, show } from "./Domain.ts"
import type { Point } from "./Design.ts"

/** The domain of `e` (its own, or seeds only). */
export const domainOf = (e: Experiment): Domain => e.domain ?? SEEDS_ONLY

const SEEDS_ONLY = seedsOnly()

/** The headline point of `e`: every parameter at its default. */
export const defaultsOf = (e: Experiment): Params => defaults(domainOf(e))

/** The overrides the parameters with `paths` make in variant `variant`. */
export const overridesFor = (d: Domain, variant: string, params: Params): Override.Override[] =>
  d.params.flatMap((p) => (p.paths === undefined || (p.variants !== undefined && !p.variants.includes(variant)))
    ? []
    : p.paths.map((path) => ({ ...Override.make(path, params[p.name]), origin: `domain parameter ${p.name}` })))

/** Variant `v`'s system input at a point: the builder's, then the parameters' paths. */
export const variantInput = (e: Experiment, v: Variant, seed: number, scale: number, params: Params): Config.SystemInput => {
  const input = systemOf(e, v, seed, scale, params)
  const overrides = overridesFor(domainOf(e), v.name, params)
  if (overrides.length === 0) return input
  const { seed: s, ...system } = input
  const scenario = { name: `${e.name}-${v.name}`, seed: s, duration: 1, system } as unknown as ScenarioInput
  const changed = Override.apply(scenario, overrides) as unknown as { system: Omit<Config.SystemInput, "seed"> }
  return { ...changed.system, seed: s } as Config.SystemInput
}

/** Variant `v`'s run time at a point. */
export const untilOf = (v: Variant, scale: number, params: Params): number => v.untilNs(scale, params)

export interface PointOptions {
  readonly seed: number
  readonly scale: number
  readonly params?: Params
  readonly checkInvariants?: boolean
  /** Record every variant's jobs (`--strict`). */
  readonly recordJobs?: boolean
}

/** Runs every variant at a point (or computes the result) and analyses the runs. */
export const runPoint = (e: Experiment, o: PointOptions): { runs: Run[]; result: ExperimentResult; events: number } => {
  const params = o.params ?? defaults(domainOf(e))
  const checkInvariants = o.checkInvariants ?? false
  const recordJobs = o.recordJobs ?? false
  if (e.compute !== undefined) {
    return { runs: [], result: e.compute(o.seed, o.scale, { checkInvariants }, params), events: 0 }
  }
  const { runs, events } = runVariants(e, (v) => variantInput(e, v, o.seed, o.scale, params), (v) => untilOf(v, o.scale, params), { checkInvariants, recordJobs })
  return { runs, result: e.analyse(runs, params), events }
}

/** A point's outcome, as one line of `runs.jsonl` (the sweep record's shape: `point` = the parameters, `verdicts` by claim id). */
export interface PointRecord {
  readonly type: "run"
  readonly key: string
  readonly point: Params
  readonly seed: number
  readonly ok: boolean
  /** Headline metrics, and each thresholded claim's measured value as `<claim id>.measured`. */
  readonly metrics?: Readonly<Record<string, number>>
  readonly verdicts?: Readonly<Record<string, boolean>>
  /** The details of the claims that do not hold here (the numbers behind a counterexample). */
  readonly details?: Readonly<Record<string, string>>
  /** Every claim's text, and its threshold's definition (without the measured value), by id. */
  readonly claims?: Readonly<Record<string, ClaimMeta>>
  readonly events?: number
  readonly error?: string
  readonly replay: string
  readonly wallMs: number
}

/** A claim's text and threshold definition, as the summary shows them. */
export interface ClaimMeta {
  readonly text: string
  readonly threshold?: Omit<Threshold, "measured" | "otherConditionsHold">
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./=:,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

/** The command line that runs one point at paper size (or `scale`): `qvsim run <experiment> --seed S --param name=value ...`. */
export const replayLine = (source: string, d: Domain, seed: number, scale: number, params: Params): string =>
  ["qvsim", "run", source, "--seed", String(seed), ...(scale !== 1 ? ["--scale", String(scale)] : []), ...d.params.flatMap((p) => ["--param", `${p.name}=${show(params[p.name]!)}`])]
    .map(shellQuote).join(" ")

/** The record of a finished result. */
export const recordOf = (result: ExperimentResult, head: Omit<PointRecord, "ok" | "metrics" | "verdicts" | "details" | "claims" | "wallMs">, wallMs: number): PointRecord => {
  const r = result
  const metrics: Record<string, number> = {}
  for (const [k, v] of Object.entries(r.metrics ?? {})) if (Number.isFinite(v)) metrics[k] = v
  const verdicts: Record<string, boolean> = {}
  const details: Record<string, string> = {}
  const claims: Record<string, ClaimMeta> = {}
  r.claims.forEach((c, i) => {
    const id = claimId(c, i)
    verdicts[id] = c.holds
    if (c.threshold === undefined) claims[id] = { text: c.text }
    else {
      const { measured: _m, otherConditionsHold: _o, ...definition } = c.threshold
      claims[id] = { text: c.text, threshold: definition }
    }
    if (!c.holds) details[id] = c.detail
    if (c.threshold !== undefined && Number.isFinite(c.threshold.measured)) {
      metrics[`${id}.measured`] = c.threshold.measured
      metrics[`${id}.others`] = c.threshold.otherConditionsHold ? 1 : 0
    }
  })
  return { ...head, ok: true, metrics, verdicts, ...(Object.keys(details).length > 0 ? { details } : {}), claims, wallMs }
}

const NO_CLOCK = (): number => 0

/**
 * Runs one point and returns its record (never throws). `clock` (ms) times it for `wallMs`: the
 * worker's entry passes the wall clock; without one `wallMs` is 0 (the record is otherwise the same).
 */
export const execute = (e: Experiment, source: string, pt: Point, scale: number, clock: () => number = NO_CLOCK): PointRecord => {
  const start = clock()
  const d = domainOf(e)
  const head = { type: "run" as const, key: pt.key, point: pt.params, seed: pt.seed, replay: replayLine(source, d, pt.seed, scale, pt.params) }
  const ms = () => Math.round((clock() - start) * 1000) / 1000
  try {
    const { result, events } = runPoint(e, { seed: pt.seed, scale, params: pt.params })
    return { ...recordOf(result, head, 0), events, wallMs: ms() }
  } catch (err) {
    const x = err instanceof Error ? err : new Error(String(err))
    return { ...head, ok: false, error: `${x.name}: ${x.message.split("\n")[0]}`, wallMs: ms() }
  }
}
