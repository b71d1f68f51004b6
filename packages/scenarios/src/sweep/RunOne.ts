/**
 * One keyed run of a sweep, in plain TypeScript: its scenario (base, task set, grid overrides),
 * validated, simulated with its seed to the sweep's `until`, its metrics flattened and filtered,
 * its schedulability verdicts; or, when anything throws, a failed run with the error and the
 * command line that replays it. The same function runs in a worker and in the CLI process.
 *
 * Invariants: a run's record, less `wallMs`, is a pure function of (sweep, key): the simulation is
 * deterministic and nothing here reads the clock except to measure `wallMs`. A run never throws.
 *
 * @module
 */
import * as Check from "../Check.ts"
import * as Runner from "../Runner.ts"
import { parseScenario } from "../Scenario.ts"
import * as Plan from "./Plan.ts"
import { ANALYSES, type AnalysisName } from "./Sweep.ts"
import type { LoadedSweep } from "./SweepFile.ts"

/** A run as one line of `runs.jsonl`. */
export interface RunRecord {
  readonly type: "run"
  readonly key: string
  /** The point's parameters by name (`tasksets.utilisation`, grid paths). */
  readonly point: Readonly<Record<string, unknown>>
  readonly set?: number
  readonly seed: number
  readonly ok: boolean
  readonly fingerprint?: string
  readonly simTimeNs?: number
  readonly events?: number
  /** Numeric metrics by dotted name (booleans as 0/1). */
  readonly metrics?: Readonly<Record<string, number>>
  /** Verdicts: each analysis asked for (all PCPUs schedulable by it) and `no-miss` (no deadline missed in the simulation). */
  readonly verdicts?: Readonly<Record<string, boolean>>
  /** A failed run: the error, one line. */
  readonly error?: string
  /** The command line that runs this run alone. */
  readonly replay: string
  readonly wallMs: number
}

/** The verdict of the simulation itself: no job of any thread missed its deadline. */
export const NO_MISS = "no-miss"

export interface Context {
  readonly loaded: LoadedSweep
  readonly plan: Plan.Plan
  /** Keeps a metric (by dotted name)? */
  readonly keep: (name: string) => boolean
  readonly analyses: ReadonlyArray<AnalysisName>
  /** The sweep file as the user named it (for replay lines). */
  readonly fileArg: string
}

/** A metric-name pattern (`pcpus.*.threads.*.missed`, `**` for any parts) as a predicate. */
export const matcher = (patterns: ReadonlyArray<string> | undefined): ((name: string) => boolean) => {
  if (patterns === undefined) return () => true
  const res = patterns.map((p) => new RegExp(`^${p.split(".").map((part) => (part === "**" ? ".*" : part.split("*").map((s) => s.replace(/[\\^$+?.()|[\]{}]/g, "\\$&")).join("[^.]*"))).join("\\.")}$`))
  return (name) => res.some((r) => r.test(name))
}

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./=:,@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)

export const replayLine = (fileArg: string, key: string): string => `qvsim sweep ${shellQuote(fileArg)} --only ${shellQuote(key)}`

const ANALYSIS_FIELD = { "liu-layland": "liuLayland", hyperbolic: "hyperbolic", rta: "rta", "main+io": "mainIo" } as const

const NO_CLOCK = (): number => 0

/**
 * Runs `spec` and returns its record (never throws). `clock` (ms) times it for `wallMs`: the
 * worker's entry and the CLI pass the wall clock; without one `wallMs` is 0.
 */
export const execute = (ctx: Context, spec: Plan.RunSpec, clock: () => number = NO_CLOCK): RunRecord => {
  const start = clock()
  const { plan, loaded } = ctx
  const point = Object.fromEntries(plan.params.map((p, i) => [p.path, plan.points[spec.point]![i]]))
  const head = { type: "run" as const, key: spec.key, point, ...(spec.set !== undefined ? { set: spec.set } : {}), seed: spec.seed }
  const replay = replayLine(ctx.fileArg, spec.key)
  try {
    const input = Plan.inputOf(loaded, plan, spec.point, spec.set, spec.seed)
    const scenario = parseScenario(input, `${loaded.baseSpec} at ${spec.key}`)
    const s = Runner.run(scenario, { seed: spec.seed, untilNs: loaded.sweep.until ?? scenario.duration })
    const metrics: Record<string, number> = {}
    let misses: number | undefined
    for (const [name, v] of flatten(s.metrics)) {
      const x = typeof v === "number" ? v : typeof v === "boolean" ? (v ? 1 : 0) : undefined
      if (x === undefined || !Number.isFinite(x)) continue
      if (/\.(missed|jobsMissed)$/.test(name)) misses = (misses ?? 0) + x
      if (ctx.keep(name)) metrics[name] = x
    }
    const verdicts: Record<string, boolean> = {}
    if (ctx.analyses.length > 0) {
      const checks = Check.check(scenario)
      for (const test of ctx.analyses) verdicts[test] = checks.length > 0 && checks.every((c) => c.analysis[ANALYSIS_FIELD[test]].verdict === "schedulable")
      for (const c of checks) {
        const name = `analysis.${c.name}.utilisation`
        if (ctx.keep(name)) metrics[name] = c.analysis.utilisation
      }
    }
    if (misses !== undefined) verdicts[NO_MISS] = misses === 0
    return {
      ...head, ok: true, fingerprint: s.fingerprint, simTimeNs: s.simTimeNs, events: s.events, metrics, verdicts, replay,
      wallMs: Math.round((clock() - start) * 1000) / 1000,
    }
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e))
    return { ...head, ok: false, error: `${err.name}: ${err.message.split("\n")[0]}`, replay, wallMs: Math.round((clock() - start) * 1000) / 1000 }
  }
}

/** Every leaf of a metrics object by dotted name, in insertion order. */
export const flatten = (value: unknown, prefix = "", out: Array<[string, unknown]> = []): Array<[string, unknown]> => {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out)
  } else {
    out.push([prefix, value])
  }
  return out
}

/** The analyses a sweep runs: those asked for, or all four with `tasksets`. */
export const analysesOf = (loaded: LoadedSweep): ReadonlyArray<AnalysisName> =>
  loaded.sweep.measure.analyses ?? (loaded.sweep.tasksets !== undefined ? ANALYSES : [])

/** The context of a loaded sweep's runs. */
export const context = (loaded: LoadedSweep, plan: Plan.Plan, fileArg: string): Context => ({
  loaded, plan, keep: matcher(loaded.sweep.measure.metrics), analyses: analysesOf(loaded), fileArg,
})
