/**
 * One swept catch: what the catch campaign's vitest set-up (`sweep.setup.ts`) writes, one JSON line
 * per fast-check call that failed at the file's seed, and the geometric fit of its miss probability.
 *
 * @module
 */

/** One fast-check call (the `call`-th fc.check/fc.assert of a test) re-run at seeds 1..seeds. */
export interface CatchRecord {
  /** Test file, relative to the vitest root. */
  readonly file: string
  readonly project: string
  /** The test's full name. */
  readonly test: string
  /** 1 for the test's first fc.check/fc.assert, 2 for its second, ... */
  readonly call: number
  readonly kind: "check" | "assert"
  /** The runs the test gives this call (its numRuns, else the global one, else fast-check's 100). */
  readonly numRuns: number
  readonly seeds: number
  readonly mult: number
  /** Per seed 1..seeds: the 1-based run at which the property first failed (runs numRuns x mult, stopping at the first failure), or -1 if it never failed. */
  readonly firstFailure: readonly number[]
  /** The run at which it failed at the file's own seed. */
  readonly firstAtFileSeed: number
  /** Wall time of the sweep, ms. */
  readonly ms: number
}

/** A record with what the table shows. */
export interface CatchRow extends CatchRecord {
  /** Seeds at which the call finds no failure within its configured runs (a CI run that would miss). */
  readonly misses: number
  /** The latest first failure over the seeds that failed (0 if none did). */
  readonly latest: number
  /** Fitted failure probability per run (geometric, censored at numRuns x mult). */
  readonly perRun: number
  /** Fitted probability that one CI run (numRuns runs) misses: (1 - perRun)^numRuns. */
  readonly missPerCi: number
}

/**
 * Geometric fit: every run of a seed up to its first failure is one Bernoulli trial; a seed that
 * never failed contributes numRuns x mult passing trials (censored). The maximum-likelihood
 * per-run failure probability is failures / trials.
 */
export const fit = (r: CatchRecord): CatchRow => {
  const budget = r.numRuns * r.mult
  let failures = 0
  let trials = 0
  let misses = 0
  let latest = 0
  for (const i of r.firstFailure) {
    if (i < 0 || i > r.numRuns) misses++
    if (i > 0) {
      failures++
      trials += i
      latest = Math.max(latest, i)
    } else {
      trials += budget
    }
  }
  const perRun = trials === 0 ? 0 : failures / trials
  const missPerCi = perRun >= 1 ? 0 : Math.exp(r.numRuns * Math.log1p(-perRun))
  return { ...r, misses, latest, perRun, missPerCi }
}

/** Parses the set-up's JSON lines (blank lines ignored). */
export const parseRecords = (text: string): CatchRecord[] =>
  text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as CatchRecord)
