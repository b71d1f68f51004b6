/**
 * The parts of the `Experiment` contract (paper/Experiment.ts) that state claims over a domain:
 *
 * - `domain` (robust/Domain.ts): seeds, choices, assumed constants; the variant builders take the
 *   domain point as a third argument (`system(seed, scale, params)`, read typed with `Domain.at`),
 *   so do `untilNs(scale, params)`, `analyse(runs, params)` and `compute(seed, scale, options, params)`;
 * - `inputs`: the values configured from the paper, with their source (shown, never claimed);
 * - per claim an `id` (stable across runs: results are keyed by it) and, where a threshold decides
 *   the verdict, the `threshold`: its name and value, whether it is ours, the measured value and
 *   whether the claim's other conditions hold, so the verdict can be recomputed at other thresholds;
 * - `metrics`: the headline numbers of a run (what sensitivity studies move);
 * - `pooled`: claims over the whole sample rather than per run (a rate and its interval).
 *
 * An experiment without a domain is treated as one over 30 seeds and nothing else.
 *
 * @module
 */
import type { Claim } from "../paper/Experiment.ts"
import type { Params } from "./Domain.ts"

/** How a measured value is compared with its threshold for the claim to hold. */
export type Comparison = "<" | "<=" | ">" | ">="

/** A threshold that decides a claim. */
export interface Threshold {
  /** What is compared (`Quest-V's mean-RTT overhead over Quest`). */
  readonly name: string
  readonly value: number
  readonly unit?: string
  /** The claim holds when `measured <holdsWhen> value` (and its other conditions hold). */
  readonly holdsWhen: Comparison
  /** True when we chose it (the paper gives none); false when it comes from the paper or spec. */
  readonly ours: boolean
  readonly measured: number
  /** Whether the claim's other conditions (besides this comparison) hold. */
  readonly otherConditionsHold: boolean
  /** Thresholds to show the verdict at besides `value` (e.g. 1 %, 3 %, 5 %, 10 %). */
  readonly alternatives?: readonly number[]
}

/** One finished sample, as pooled claims see it. */
export interface Sample {
  readonly seed: number
  readonly params: Params
  readonly metrics: Readonly<Record<string, number>>
  readonly verdicts: Readonly<Record<string, boolean>>
}

/** A claim over the whole sample (e.g. "misses occur": a pooled rate with its interval). */
export interface PooledClaim {
  readonly id: string
  readonly text: string
  readonly from: (samples: readonly Sample[]) => { readonly holds: boolean; readonly detail: string }
}

/** `Threshold`'s comparison. */
export const compare = (measured: number, how: Comparison, value: number): boolean =>
  how === "<" ? measured < value : how === "<=" ? measured <= value : how === ">" ? measured > value : measured >= value

/** The verdict of a thresholded claim at another threshold value. */
export const holdsAt = (t: Threshold, value: number): boolean => t.otherConditionsHold && compare(t.measured, t.holdsWhen, value)


/** The id of claim `i` of a result (its own, or `claim<i+1>`). */
export const claimId = (c: Claim, i: number): string => c.id ?? `claim${i + 1}`
