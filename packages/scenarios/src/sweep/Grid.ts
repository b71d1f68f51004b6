/**
 * A sweep's grid: each axis (a list, a range with a step, or a seeded distribution) expanded to
 * its values, and the axes combined into points: the cartesian product (first axis outermost), or
 * zipped (all axes, or groups of them; the groups then crossed).
 *
 * Invariants: expansion is a pure function of the sweep (random axes draw from a stream named
 * after their path, seeded by the axis's `seed`), so every process (the parent, each worker, each
 * Slurm shard) computes the same points in the same order; float ranges are computed as
 * `from + i·step` rounded to 12 significant digits (0.5, 0.55, ... 1, never 0.7000000000000001);
 * duration ranges and draws are integer ns.
 *
 * @module
 */
import { Rng, Time } from "@qvsim/sim-core"
import { ScenarioError } from "../Scenario.ts"
import type { Axis } from "./Sweep.ts"

/** One axis: its name (a path into the scenario, or `tasksets.n`, ...) and its values. */
export interface Param {
  readonly path: string
  readonly values: ReadonlyArray<unknown>
  /** Values are durations (integer ns): the summary's column says `_ns`. */
  readonly durationNs: boolean
}

/** A point of the grid: one value per axis, in axis order. */
export type Point = ReadonlyArray<unknown>

const fail = (path: string, why: string): never => {
  throw new ScenarioError(`grid["${path}"]: ${why}`)
}

/** Rounds away binary noise: 12 significant digits. */
const tidy = (x: number): number => (x === 0 ? 0 : Number(x.toPrecision(12)))

const toNs = (path: string, field: string, v: number | string): number => {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v) || v < 0) fail(path, `${field} ${v} is not a duration (a string with a unit, e.g. "10ms", or integer ns)`)
    return v
  }
  try {
    return Time.parseDuration(v)
  } catch (e) {
    return fail(path, `${field}: ${(e as Error).message}`)
  }
}

const numeric = (path: string, field: string, v: number | string): number => {
  if (typeof v !== "number" || !Number.isFinite(v)) fail(path, `${field} ${JSON.stringify(v)} is not a number`)
  return v as number
}

/** The values of one axis. */
export const expandAxis = (path: string, axis: Axis): Param => {
  if (Array.isArray(axis)) return { path, values: axis, durationNs: false }
  if ("values" in axis) return { path, values: axis.values, durationNs: false }
  if ("step" in axis) {
    const durationNs = [axis.from, axis.to, axis.step].some((v) => typeof v === "string")
    const [from, to, step] = durationNs
      ? [toNs(path, "from", axis.from), toNs(path, "to", axis.to), toNs(path, "step", axis.step)]
      : [numeric(path, "from", axis.from), numeric(path, "to", axis.to), numeric(path, "step", axis.step)]
    if (!(step > 0)) fail(path, `step ${JSON.stringify(axis.step)} must be greater than 0`)
    if (to < from) fail(path, `to ${JSON.stringify(axis.to)} is below from ${JSON.stringify(axis.from)}`)
    const count = Math.floor((to - from) / step + 1e-9) + 1
    if (count > 1_000_000) fail(path, `${count} values: more than a million`)
    const values = Array.from({ length: count }, (_, i) => (durationNs ? from + i * step : tidy(from + i * step)))
    return { path, values, durationNs }
  }
  const durationNs = typeof axis.min === "string" || typeof axis.max === "string"
  const [min, max] = durationNs ? [toNs(path, "min", axis.min), toNs(path, "max", axis.max)] : [numeric(path, "min", axis.min), numeric(path, "max", axis.max)]
  if (max < min) fail(path, `max ${JSON.stringify(axis.max)} is below min ${JSON.stringify(axis.min)}`)
  if (axis.distribution === "log-uniform" && !(min > 0)) fail(path, `a log-uniform distribution needs min > 0`)
  if (axis.distribution === "int-uniform" && (!Number.isSafeInteger(min) || !Number.isSafeInteger(max))) fail(path, `int-uniform needs integer min and max`)
  const rng = Rng.stream(axis.seed ?? 1, `grid/${path}`)
  const draw = (): number => {
    switch (axis.distribution) {
      case "int-uniform": return rng.int(min, max)
      case "uniform": return min + (max - min) * rng.float()
      case "log-uniform": return Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * rng.float())
    }
  }
  const values = Array.from({ length: axis.count }, () => {
    const x = draw()
    return durationNs ? Math.min(max, Math.max(min, Math.round(x))) : tidy(x)
  })
  return { path, values, durationNs }
}

/**
 * The points of `params` (indices into each param's values): cartesian, or zipped per `zip`
 * (`true`: all params; groups: those paths together). Throws naming the axes on a length mismatch.
 */
export const combine = (params: ReadonlyArray<Param>, zip: boolean | ReadonlyArray<ReadonlyArray<string>>): Point[] => {
  const index = new Map(params.map((p, i) => [p.path, i]))
  const groups: number[][] = []
  if (zip === true) {
    if (params.length > 0) groups.push(params.map((_, i) => i))
  } else {
    const grouped = new Set<number>()
    const zipped = zip === false ? [] : zip
    const groupOf = new Map<number, number[]>()
    for (const g of zipped) {
      const members = g.map((path) => {
        const i = index.get(path)
        if (i === undefined) throw new ScenarioError(`zip: "${path}" is not an axis of the grid (axes: ${params.map((p) => p.path).join(", ") || "none"})`)
        if (grouped.has(i)) throw new ScenarioError(`zip: "${path}" is in two groups`)
        grouped.add(i)
        return i
      })
      for (const m of members) groupOf.set(m, members)
    }
    const seen = new Set<number[]>()
    params.forEach((_, i) => {
      const g = groupOf.get(i)
      if (g === undefined) groups.push([i])
      else if (!seen.has(g)) {
        seen.add(g)
        groups.push(g)
      }
    })
  }
  for (const g of groups) {
    const lengths = g.map((i) => params[i]!.values.length)
    if (new Set(lengths).size > 1) {
      throw new ScenarioError(`zip: zipped axes need the same number of values (${g.map((i) => `${params[i]!.path}: ${params[i]!.values.length}`).join(", ")})`)
    }
  }
  let points: unknown[][] = [new Array<unknown>(params.length)]
  for (const g of groups) {
    const n = params[g[0]!]!.values.length
    const next: unknown[][] = []
    for (const p of points) {
      for (let k = 0; k < n; k++) {
        const q = p.slice()
        for (const i of g) q[i] = params[i]!.values[k]
        next.push(q)
      }
    }
    points = next
  }
  return points
}
