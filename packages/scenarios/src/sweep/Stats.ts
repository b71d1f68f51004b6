/**
 * The statistics of a sweep's summary: count, mean, sample standard deviation, min, max, a 95 %
 * confidence interval of the mean (Student t, two-sided: `mean ± t(0.975, n−1)·sd/√n`), and for
 * verdicts the acceptance ratio with a 95 % Wilson score interval.
 *
 * Student t quantiles: no well-kept, dependency-free library gives them (jstat is unmaintained
 * since 2022; stdlib's quantile pulls a tree of packages), so they are computed here: the t CDF
 * from the regularized incomplete beta function (Lentz's continued fraction, as in Numerical
 * Recipes, section 6.4, with a Lanczos log-gamma), inverted by bisection to 1e-12. The tests pin them to
 * the printed tables.
 *
 * Invariant: every statistic is a pure function of the values in the order given (sums in that
 * order), so the same sorted runs give the same bytes.
 *
 * @module
 */

/** The 97.5 % quantile of the standard normal distribution. */
export const Z_975 = 1.959963984540054

const LANCZOS = [76.18009172947146, -86.50532032941677, 24.01409824083091, -1.231739572450155, 0.1208650973866179e-2, -0.5395239384953e-5]

/** ln Γ(x), x > 0 (Lanczos, |error| < 2e-10). */
export const logGamma = (x: number): number => {
  let y = x
  const tmp = x + 5.5 - (x + 0.5) * Math.log(x + 5.5)
  let ser = 1.000000000190015
  for (const c of LANCZOS) ser += c / ++y
  return -tmp + Math.log((2.5066282746310005 * ser) / x)
}

/** The continued fraction of the incomplete beta function (modified Lentz). */
const betaContinuedFraction = (a: number, b: number, x: number): number => {
  const tiny = 1e-300
  let c = 1
  let d = 1 - ((a + b) * x) / (a + 1)
  if (Math.abs(d) < tiny) d = tiny
  d = 1 / d
  let h = d
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    h *= d * c
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1))
    d = 1 + aa * d
    if (Math.abs(d) < tiny) d = tiny
    c = 1 + aa / c
    if (Math.abs(c) < tiny) c = tiny
    d = 1 / d
    const del = d * c
    h *= del
    if (Math.abs(del - 1) < 1e-15) break
  }
  return h
}

/** The regularized incomplete beta function I_x(a, b). */
export const incompleteBeta = (x: number, a: number, b: number): number => {
  if (x <= 0) return 0
  if (x >= 1) return 1
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x))
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export const tCdf = (t: number, df: number): number => {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5)
  return t >= 0 ? 1 - tail : tail
}

const quantileCache = new Map<string, number>()

/** The `p` quantile (0.5 < p < 1) of Student's t with `df` ≥ 1 degrees of freedom. */
export const tQuantile = (p: number, df: number): number => {
  const key = `${p}/${df}`
  const cached = quantileCache.get(key)
  if (cached !== undefined) return cached
  let lo = 0
  let hi = 1
  while (tCdf(hi, df) < p) hi *= 2
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2
    if (tCdf(mid, df) < p) lo = mid
    else hi = mid
  }
  const q = (lo + hi) / 2
  quantileCache.set(key, q)
  return q
}

/** Summary statistics of numbers (sd, CI undefined below 2 values). */
export interface Describe {
  readonly count: number
  readonly mean: number | undefined
  readonly sd: number | undefined
  readonly min: number | undefined
  readonly max: number | undefined
  readonly ci95Low: number | undefined
  readonly ci95High: number | undefined
}

export const describe = (values: ReadonlyArray<number>): Describe => {
  const n = values.length
  if (n === 0) return { count: 0, mean: undefined, sd: undefined, min: undefined, max: undefined, ci95Low: undefined, ci95High: undefined }
  let sum = 0
  let min = Infinity
  let max = -Infinity
  for (const v of values) {
    sum += v
    if (v < min) min = v
    if (v > max) max = v
  }
  const mean = sum / n
  if (n === 1) return { count: 1, mean, sd: undefined, min, max, ci95Low: undefined, ci95High: undefined }
  let ss = 0
  for (const v of values) ss += (v - mean) * (v - mean)
  const sd = Math.sqrt(ss / (n - 1))
  const half = (tQuantile(0.975, n - 1) * sd) / Math.sqrt(n)
  return { count: n, mean, sd, min, max, ci95Low: mean - half, ci95High: mean + half }
}

/** The 95 % Wilson score interval of `k` successes in `n` trials (n ≥ 1). */
export const wilson = (k: number, n: number, z = Z_975): { low: number; high: number } => {
  const p = k / n
  const z2 = z * z
  const denom = 1 + z2 / n
  const centre = (p + z2 / (2 * n)) / denom
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))
  // The ends are exact at k = 0 and k = n (no 0.9999999999999999).
  return { low: k === 0 ? 0 : Math.max(0, centre - half), high: k === n ? 1 : Math.min(1, centre + half) }
}
