/**
 * The points a robustness or sensitivity study runs, as pure functions of the domain, the size and
 * a design seed (sim-core streams named `robust/<dimension>`, so a design is the same on every
 * machine and does not depend on how many workers run it).
 *
 * **Robust sample** (`--robust`): one Latin hypercube of `n` points over every dimension at once,
 * the seed being one more dimension. A continuous range is cut into `n` equal strata (in log space
 * for `log` ranges), each stratum used once, a uniform point inside it (rounded to 4 significant
 * digits, or to an integer, so a point's printed value IS the value run); a discrete dimension (a
 * choice, the seeds) is stratified: its values repeated in turn to `n` entries, then shuffled, so
 * every value appears ⌊n/k⌋ or ⌈n/k⌉ times. With `n` = the number of seeds (the default) every seed
 * runs exactly once. The seeds are NOT crossed with the other dimensions: crossing 30 seeds with 30
 * parameter points would cost 900 runs per experiment for the same estimate of "the share of the
 * domain where the claim holds" (a uniform draw over seeds × choices × ranges), which `n` stratified
 * points estimate with a Wilson interval.
 *
 * **One at a time** (sensitivity): every parameter over its levels — a choice's values, a range's
 * `levels` evenly spaced values (log-spaced for `log`), its default among them — the others at
 * their defaults, at each of the given seeds.
 *
 * **Morris elementary effects** (sensitivity, Morris 1991 with Campolongo et al.'s μ*): `r`
 * trajectories on a `p = 4` level grid of the unit cube, step Δ = p / (2(p − 1)) = 2/3: a random
 * base point with coordinates in {0, 1/3}, then each factor in a random order moved by +Δ, so a
 * trajectory is k + 1 points and gives one elementary effect per factor. Trajectory `t` runs at
 * seed `seeds[t mod |seeds|]` (both points of an effect share it: common random numbers).
 *
 * @module
 */
import { Rng } from "@qvsim/sim-core"
import { type Domain, keyOf, type NamedParam, type Params, type Value } from "./Domain.ts"

/** One run of a design: a seed and every parameter's value. */
export interface Point {
  readonly key: string
  readonly seed: number
  readonly params: Params
}

/** The default design seed. */
export const DESIGN_SEED = 1

const significant = (x: number): number => Number(x.toPrecision(4))

/** The value of range `p` at `u` in [0, 1] (log-spaced for log ranges), rounded as points are. */
export const rangeValue = (p: NamedParam & { kind: "range" }, u: number): number => {
  const x = p.log === true ? Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min))) : p.min + u * (p.max - p.min)
  if (p.integer === true) return Math.min(p.max, Math.max(p.min, Math.round(x)))
  return Math.min(p.max, Math.max(p.min, significant(x)))
}

/** `values` repeated in turn to `n` entries, shuffled by `rng` (each value ⌊n/k⌋ or ⌈n/k⌉ times). */
const stratified = <A>(values: readonly A[], n: number, rng: Rng.RngStream): A[] => rng.shuffle(Array.from({ length: n }, (_, i) => values[i % values.length]!))

const point = (d: Domain, seed: number, params: Params): Point => ({ key: keyOf(d, seed, params), seed, params })

/** The robust sample: `n` points of a Latin hypercube over seeds, choices and ranges (see the module doc). */
export const robustSample = (d: Domain, n: number, designSeed = DESIGN_SEED): Point[] => {
  if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`robust sample size: a positive integer, got ${n}`)
  const seeds = stratified(d.seeds, n, Rng.stream(designSeed, "robust/seed"))
  const columns = d.params.map((p): Value[] => {
    const rng = Rng.stream(designSeed, `robust/${p.name}`)
    if (p.kind === "choice") return stratified(p.values, n, rng)
    const strata = rng.shuffle(Array.from({ length: n }, (_, i) => i))
    return strata.map((s) => rangeValue(p, (s + rng.float()) / n))
  })
  return Array.from({ length: n }, (_, i) => point(d, seeds[i]!, Object.fromEntries(d.params.map((p, j) => [p.name, columns[j]![i]!]))))
}

/** The levels one-at-a-time runs use for `p`: a choice's values, or `levels` spaced values of a range plus its default, ascending. */
export const levelsOf = (p: NamedParam, levels: number): Value[] => {
  if (p.kind === "choice") return [...p.values]
  const xs = new Set<number>([p.default])
  for (let i = 0; i < levels; i++) xs.add(rangeValue(p, levels === 1 ? 0.5 : i / (levels - 1)))
  return [...xs].sort((a, b) => a - b)
}

export interface OatPoint extends Point {
  /** The parameter varied (undefined: the base point, all defaults). */
  readonly param: string | undefined
}

/** One-at-a-time: the base point and every parameter of `names` over its levels, at each seed; unique keys. */
export const oneAtATime = (d: Domain, names: readonly string[], levels: number, seeds: readonly number[]): OatPoint[] => {
  const base = Object.fromEntries(d.params.map((p) => [p.name, p.default]))
  const out: OatPoint[] = []
  const seen = new Set<string>()
  const add = (seed: number, params: Params, param: string | undefined) => {
    const pt = point(d, seed, params)
    if (seen.has(pt.key)) return
    seen.add(pt.key)
    out.push({ ...pt, param })
  }
  for (const seed of seeds) {
    add(seed, base, undefined)
    for (const name of names) {
      const p = d.params.find((x) => x.name === name)!
      for (const v of levelsOf(p, levels)) add(seed, { ...base, [name]: v }, name)
    }
  }
  return out
}

/** Morris grid levels and step. */
export const MORRIS_LEVELS = 4
export const MORRIS_DELTA = MORRIS_LEVELS / (2 * (MORRIS_LEVELS - 1))

/** The value of `p` at the unit-cube coordinate `x` (a grid level): a range's value, a choice's value by index. */
export const valueAt = (p: NamedParam, x: number): Value => {
  if (p.kind === "choice") return p.values[Math.round(x * (p.values.length - 1))]!
  return rangeValue(p, x)
}

/** One Morris trajectory: k + 1 points; `steps[i]` is the factor moved between point i and i + 1. */
export interface Trajectory {
  readonly seed: number
  readonly points: readonly Point[]
  readonly steps: readonly string[]
}

/** `r` Morris trajectories over the factors `names` (the others at their defaults). */
export const morris = (d: Domain, names: readonly string[], r: number, seeds: readonly number[], designSeed = DESIGN_SEED): Trajectory[] => {
  const rng = Rng.stream(designSeed, "robust/morris")
  const factors = names.map((n) => d.params.find((p) => p.name === n)!)
  const base = Object.fromEntries(d.params.map((p) => [p.name, p.default]))
  const lowLevels = Array.from({ length: MORRIS_LEVELS / 2 }, (_, i) => i / (MORRIS_LEVELS - 1))
  return Array.from({ length: r }, (_, t) => {
    const seed = seeds[t % seeds.length]!
    const x = factors.map(() => rng.pick(lowLevels))
    const order = rng.shuffle(factors.map((_, i) => i))
    const at = (): Point => point(d, seed, { ...base, ...Object.fromEntries(factors.map((p, i) => [p.name, valueAt(p, x[i]!)])) })
    const points = [at()]
    for (const i of order) {
      x[i] = x[i]! + MORRIS_DELTA
      points.push(at())
    }
    return { seed, points, steps: order.map((i) => factors[i]!.name) }
  })
}
