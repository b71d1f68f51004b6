/**
 * Task-set generators for experiments: utilisations by UUniFast (Bini & Buttazzo), UUniFast-Discard
 * and RandFixedSum (Stafford's algorithm, as used by Emberson, Stafford & Davis for multiprocessor
 * sets), periods uniform, log-uniform or drawn from a set (with a helper that keeps the hyperperiod
 * bounded), and their combination into integer-ns `(C, T)` sets.
 *
 * Invariants: every draw comes from the sim-core `RngStream` passed in (same seed and stream name →
 * same set on every machine); utilisations are floats, but budgets and periods returned are integer
 * ns with `1 ≤ C ≤ T` (`C = round(u·T)`, halves up, clamped to [1, T]).
 *
 * @module
 */
import type { Rng } from "@qvsim/sim-core"
import type { PeriodicTask } from "./Workload.ts"

/** Thrown for impossible parameters; the message names the generator and the values. */
export class GeneratorError extends RangeError {
  override readonly name = "GeneratorError"
}

/** UUniFast: `n` utilisations summing to `total`, uniformly distributed over that simplex. */
export const uunifast = (rng: Rng.RngStream, n: number, total: number): number[] => {
  if (!Number.isSafeInteger(n) || n < 1 || !(total > 0)) throw new GeneratorError(`uunifast(n=${n}, total=${total}): need n ≥ 1 and total > 0`)
  const out: number[] = []
  let sum = total
  for (let i = 1; i < n; i++) {
    const next = sum * Math.pow(rng.float(), 1 / (n - i))
    out.push(sum - next)
    sum = next
  }
  out.push(sum)
  return out
}

/**
 * UUniFast-Discard: UUniFast, re-drawn until every utilisation is ≤ `max` (default 1), for totals
 * above 1 (multiprocessor sets). Gives up after `maxTries` draws.
 */
export const uunifastDiscard = (rng: Rng.RngStream, n: number, total: number, max = 1, maxTries = 100_000): number[] => {
  if (total > n * max) throw new GeneratorError(`uunifastDiscard(n=${n}, total=${total}, max=${max}): total exceeds n·max`)
  for (let i = 0; i < maxTries; i++) {
    const u = uunifast(rng, n, total)
    if (u.every((x) => x <= max)) return u
  }
  throw new GeneratorError(`uunifastDiscard(n=${n}, total=${total}): no valid set in ${maxTries} draws (use randFixedSum)`)
}

/**
 * RandFixedSum (Stafford): `n` values in `[a, b]` summing to `total`, uniformly distributed over
 * that polytope. With `a = 0, b = 1` it gives multiprocessor utilisation sets (each task ≤ 1) with
 * no rejection.
 */
export const randFixedSum = (rng: Rng.RngStream, n: number, total: number, a = 0, b = 1): number[] => {
  if (!Number.isSafeInteger(n) || n < 1 || !(b > a) || total < n * a || total > n * b) {
    throw new GeneratorError(`randFixedSum(n=${n}, total=${total}, a=${a}, b=${b}): need n ≥ 1, a < b, n·a ≤ total ≤ n·b`)
  }
  if (n === 1) return [total]
  // Rescale to the unit cube.
  let s = (total - n * a) / (b - a)
  const k = Math.max(Math.min(Math.floor(s), n - 1), 0)
  s = Math.max(Math.min(s, k + 1), k)
  const s1: number[] = [], s2: number[] = []
  for (let i = 0; i < n; i++) {
    s1.push(s - (k - i)) // s - [k, k-1, ..., k-n+1]
    s2.push(k + n - i - s) // [k+n, ..., k+1] - s
  }
  // w[i][j], t[i][j]: the transition table (rows 1..n of the reference are 0..n-1 here).
  const huge = Number.MAX_VALUE, tiny = Number.MIN_VALUE
  const w: number[][] = Array.from({ length: n }, () => new Array<number>(n + 1).fill(0))
  const t: number[][] = Array.from({ length: n - 1 }, () => new Array<number>(n).fill(0))
  w[0]![1] = huge
  for (let i = 2; i <= n; i++) {
    for (let j = 1; j <= i; j++) {
      const tmp1 = (w[i - 2]![j]! * s1[j - 1]!) / i
      const tmp2 = (w[i - 2]![j - 1]! * s2[n - i + j - 1]!) / i
      const wij = tmp1 + tmp2
      w[i - 1]![j] = wij
      const tmp3 = wij + tiny
      const tmp4 = s2[n - i + j - 1]! > s1[j - 1]!
      t[i - 2]![j - 1] = tmp4 ? tmp2 / tmp3 : 1 - tmp1 / tmp3
    }
  }
  const x = new Array<number>(n).fill(0)
  let sm = 0, pr = 1
  let j = k + 1 // 1-based column in t
  let sRem = s
  for (let i = n - 1; i >= 1; i--) {
    const e = rng.float() <= t[i - 1]![j - 1]! ? 1 : 0
    const sx = Math.pow(rng.float(), 1 / i)
    sm += ((1 - sx) * pr * sRem) / (i + 1)
    pr *= sx
    x[n - i - 1] = sm + pr * e
    sRem -= e
    j -= e
  }
  x[n - 1] = sm + pr * sRem
  rng.shuffle(x)
  return x.map((v) => (b - a) * v + a)
}

/** `n` integer periods uniform in `[minNs, maxNs]`, rounded down to a multiple of `granularityNs` (≥ it). */
export const periodsUniform = (rng: Rng.RngStream, n: number, minNs: number, maxNs: number, granularityNs = 1): number[] => {
  checkPeriodRange("periodsUniform", minNs, maxNs, granularityNs)
  return Array.from({ length: n }, () => snap(rng.int(minNs, maxNs), granularityNs, minNs))
}

/** `n` integer periods log-uniform in `[minNs, maxNs]` (each decade equally likely), on a `granularityNs` grid. */
export const periodsLogUniform = (rng: Rng.RngStream, n: number, minNs: number, maxNs: number, granularityNs = 1): number[] => {
  checkPeriodRange("periodsLogUniform", minNs, maxNs, granularityNs)
  const lo = Math.log(minNs), hi = Math.log(maxNs)
  return Array.from({ length: n }, () => {
    const p = Math.floor(Math.exp(lo + (hi - lo) * rng.float()))
    return snap(Math.min(maxNs, Math.max(minNs, p)), granularityNs, minNs)
  })
}

/** `n` periods drawn uniformly (with replacement) from `set`. */
export const periodsFromSet = (rng: Rng.RngStream, n: number, set: readonly number[]): number[] => {
  if (set.length === 0 || !set.every((p) => Number.isSafeInteger(p) && p > 0)) throw new GeneratorError(`periodsFromSet: the set must hold positive integers`)
  return Array.from({ length: n }, () => rng.pick(set))
}

/**
 * Hyperperiod control: the divisors of `hyperperiodNs` within `[minNs, maxNs]`, ascending. Periods
 * drawn from them (with {@link periodsFromSet}) have a hyperperiod dividing `hyperperiodNs`.
 */
export const divisorsWithin = (hyperperiodNs: number, minNs: number, maxNs: number): number[] => {
  if (!Number.isSafeInteger(hyperperiodNs) || hyperperiodNs < 1) throw new GeneratorError(`divisorsWithin: ${hyperperiodNs} must be a positive integer`)
  const small: number[] = [], large: number[] = []
  for (let d = 1; d * d <= hyperperiodNs; d++) {
    if (hyperperiodNs % d !== 0) continue
    small.push(d)
    if (d * d !== hyperperiodNs) large.push(hyperperiodNs / d)
  }
  return [...small, ...large.reverse()].filter((d) => d >= minNs && d <= maxNs)
}

/** Combines utilisations and periods into integer `(C, T)` pairs: `C = round(u·T)` clamped to `[1, T]`. */
export const taskSet = (utilisations: readonly number[], periodsNs: readonly number[]): PeriodicTask[] => {
  if (utilisations.length !== periodsNs.length) throw new GeneratorError(`taskSet: ${utilisations.length} utilisations for ${periodsNs.length} periods`)
  return utilisations.map((u, i) => {
    const T = periodsNs[i]!
    const C = Math.min(T, Math.max(1, Math.floor(u * T + 0.5)))
    return { budgetNs: C, periodNs: T }
  })
}

const checkPeriodRange = (api: string, minNs: number, maxNs: number, g: number): void => {
  if (!Number.isSafeInteger(minNs) || !Number.isSafeInteger(maxNs) || minNs < 1 || maxNs < minNs || !Number.isSafeInteger(g) || g < 1 || g > maxNs) {
    throw new GeneratorError(`${api}(min=${minNs}, max=${maxNs}, granularity=${g}): need integers 1 ≤ min ≤ max and 1 ≤ granularity ≤ max`)
  }
}

const snap = (p: number, g: number, minNs: number): number => {
  if (g === 1) return p
  const s = Math.floor(p / g) * g
  return s >= Math.max(g, minNs) ? s : Math.ceil(minNs / g) * g
}
