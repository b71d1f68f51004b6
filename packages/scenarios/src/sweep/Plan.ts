/**
 * The keyed runs of a sweep: every grid point (the grid's axes, then the task sets' `n` and
 * utilisation), every task set of a point, every seed, in one canonical order, each with a key
 * that names it (`pcpus[0].vcpus[1].budget=2000000,set=3,seed=7`). The grid is checked here,
 * before anything runs: every value against the field it lands on, every point's scenario
 * against the whole schema (with the first seed and set), keys unique.
 *
 * Invariants: the plan is a pure function of the loaded sweep, so the parent, every worker and
 * every Slurm shard compute the same runs in the same order; a run's key depends only on its
 * point, set and seed (never on its position), so runs written by different processes, shards or
 * resumed sweeps can be matched and sorted back into plan order.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import * as Override from "../Override.ts"
import { parseScenario, ScenarioError, type ScenarioInput } from "../Scenario.ts"
import * as Grid from "./Grid.ts"
import type { LoadedSweep } from "./SweepFile.ts"
import { seedsOf } from "./Sweep.ts"
import * as Tasksets from "./Tasksets.ts"

/** One run of the plan. */
export interface RunSpec {
  /** Position in the plan's canonical order. */
  readonly index: number
  readonly key: string
  /** Index of its grid point. */
  readonly point: number
  /** Task set index within the point (with `tasksets`). */
  readonly set: number | undefined
  readonly seed: number
}

export interface Plan {
  /** The grid's axes, then `tasksets.n` and `tasksets.utilisation` (with `tasksets`). */
  readonly params: ReadonlyArray<Grid.Param>
  readonly points: ReadonlyArray<Grid.Point>
  /** Each point as `path=value,...` (JSON values), the prefix of its runs' keys. */
  readonly pointKeys: ReadonlyArray<string>
  /** The grid's overrides of each point (tasksets' axes are not overrides). */
  readonly overrides: ReadonlyArray<ReadonlyArray<Override.Override>>
  readonly seeds: ReadonlyArray<number>
  /** Task sets per point (0 without `tasksets`). */
  readonly sets: number
  readonly runs: ReadonlyArray<RunSpec>
}

export const TASKSETS_N = "tasksets.n"
export const TASKSETS_U = "tasksets.utilisation"

/** `path=value` pairs with JSON values: a point's key. */
const pointKey = (params: ReadonlyArray<Grid.Param>, point: Grid.Point): string =>
  params.map((p, i) => `${p.path}=${JSON.stringify(point[i])}`).join(",")

export const runKey = (pointKeyText: string, set: number | undefined, seed: number): string =>
  [pointKeyText, set === undefined ? "" : `set=${set}`, `seed=${seed}`].filter((x) => x !== "").join(",")

const axisOf = (path: string, v: number | Parameters<typeof Grid.expandAxis>[1]): Grid.Param =>
  typeof v === "number" ? { path, values: [v], durationNs: false } : Grid.expandAxis(path, v)

/**
 * A list of durations with units (`["1ms", "250us"]`) on a field that takes integer ns becomes
 * integer ns (numbers in the summary, `_ns` in its column); a list mixing other values
 * (`["1ms", "none"]`) stays as written.
 */
const asDurations = (p: Grid.Param): Grid.Param => {
  if (p.durationNs || !p.values.every((v) => typeof v === "string")) return p
  const ns: number[] = []
  for (const v of p.values as string[]) {
    try {
      ns.push(Time.parseDuration(v))
    } catch {
      return p
    }
  }
  let schemas
  try {
    schemas = Override.fieldSchemas(Override.parsePath(p.path))
  } catch (e) {
    throw new ScenarioError(`grid ${(e as Error).message}`)
  }
  return ns.every((x) => Override.checkValue(schemas, x) === undefined) ? { path: p.path, values: ns, durationNs: true } : p
}

/** The scenario input of a run (before validation): base for its seed, its task set, its overrides. */
export const inputOf = (loaded: LoadedSweep, plan: Plan, point: number, set: number | undefined, seed: number): ScenarioInput => {
  let input = loaded.baseInput(seed)
  const t = loaded.sweep.tasksets
  if (t !== undefined) {
    const p = plan.points[point]!
    const n = p[plan.params.length - 2] as number
    const u = p[plan.params.length - 1] as number
    input = Tasksets.scenarioOf(input, Tasksets.draw(t, n, u, set ?? 0))
  }
  return Override.apply(input, plan.overrides[point]!)
}

/**
 * Expands and checks the sweep (throws a `ScenarioError` naming the path, value or point).
 * `validate: false` skips validating each point's whole scenario (the workers: the parent did).
 */
export const make = (loaded: LoadedSweep, options: { readonly validate?: boolean } = {}): Plan => {
  const { sweep } = loaded
  const gridParams = Object.entries(sweep.grid).map(([path, axis]) => asDurations(Grid.expandAxis(path, axis)))
  // Each value checked against the field it lands on (one-line error naming the path and the value).
  const checked = gridParams.map((p) => p.values.map((v) => {
    try {
      return { ...Override.make(p.path, v), origin: "grid" }
    } catch (e) {
      throw new ScenarioError(`grid ${(e as Error).message}`)
    }
  }))
  const gridPoints = Grid.combine(gridParams, sweep.zip)
  const t = sweep.tasksets
  const params = t === undefined ? gridParams : [...gridParams, axisOf(TASKSETS_N, t.n), axisOf(TASKSETS_U, t.utilisation)]
  const points: Grid.Point[] = t === undefined
    ? gridPoints
    : gridPoints.flatMap((g) => params[params.length - 2]!.values.flatMap((n) => params[params.length - 1]!.values.map((u) => [...g, n, u])))
  const valueIndex = gridParams.map((p) => new Map(p.values.map((v, i) => [v, i])))
  const overrides = points.map((p) => gridParams.map((_, i) => checked[i]![valueIndex[i]!.get(p[i])!]!))
  const seeds = seedsOf(sweep) ?? [loaded.baseSeed]
  const sets = t?.count ?? 0
  const pointKeys = points.map((p) => pointKey(params, p))
  const plan: Plan = { params, points, pointKeys, overrides, seeds, sets, runs: [] }
  const seen = new Set<string>()
  points.forEach((p, i) => {
    if (seen.has(pointKeys[i]!)) throw new ScenarioError(`grid: the point ${pointKeys[i]} appears twice (a value repeated on an axis)`)
    seen.add(pointKeys[i]!)
    if (t !== undefined) Tasksets.checkPoint(t, p[params.length - 2], p[params.length - 1])
    if (options.validate === false) return
    const input = inputOf(loaded, plan, i, t === undefined ? undefined : 0, seeds[0]!)
    try {
      parseScenario(input, loaded.baseSpec)
    } catch (e) {
      throw new ScenarioError(`grid point ${pointKeys[i] || "(no grid)"}: ${(e as Error).message}`)
    }
  })
  if (new Set(seeds).size !== seeds.length) throw new ScenarioError(`seeds: a seed is repeated (${seeds.join(", ")})`)
  const runs: RunSpec[] = []
  points.forEach((_, point) => {
    for (let set = 0; set < Math.max(1, sets); set++) {
      for (const seed of seeds) {
        runs.push({ index: runs.length, key: runKey(pointKeys[point]!, t === undefined ? undefined : set, seed), point, set: t === undefined ? undefined : set, seed })
      }
    }
  })
  return { ...plan, runs }
}
