/**
 * The scale bench's fixed-demand task sets (scale.bench.ts's last sections), shared with the
 * cache-simulation tool (scripts/cachesim.ts), which measures the same sets under valgrind: every
 * job demands `FIXED_DEMAND_NS` (2 ms) at every size, and the periods grow with the number of tasks
 * so that U ≈ 0.7 still (`T_i = base·r_i` with `base = C·Σ 1/r_j / 0.7`; `r_i` log-uniform in 1–100,
 * or from {1, 2, 4, 8, 16, 32} for the harmonic kind, whose base is rounded to whole ns so the
 * periods stay harmonic). Fixed seeds: set `k` of `n` tasks is the same in every run.
 */
import { Rng } from "@qvsim/sim-core"
import type { PeriodicTask } from "../src/Workload.ts"

export type Periods = "log-uniform" | "harmonic"

const MS = 1_000_000
/** The scale bench's seed (its rows' sets and the fixed-demand sets). */
export const SCALE_SEED = 2026
/** Each job's demand in the fixed-demand sets, ns. */
export const FIXED_DEMAND_NS = 2 * MS
/**
 * The fixed-demand section's simulated time: 100 s (its sets run ~35,000 events per 20 s whatever
 * the size, so building a 200-task harness, ~0.3–0.65 ms since `PendingReleases` (~0.5–1 ms
 * before), would be several per cent of a 20 s run's CPU, and the start, when every task is
 * released at 0, a large part of it; the "run only" section prints the build's share at 100 s).
 */
export const FIXED_SIM_NS = 100_000_000_000
/** Task sets per size: the scale bench's (both its sections) and scripts/cachesim.ts's. */
export const SETS_PER_SIZE = 3
const HARMONIC_RATIOS = [1, 2, 4, 8, 16, 32]

/** Fixed-demand task set `k` of `n` tasks (fixed seed): every `C = FIXED_DEMAND_NS`, periods scaled to U ≈ 0.7. */
export const fixedDemandSetOf = (periods: Periods, n: number, k: number): PeriodicTask[] => {
  const rng = Rng.stream(SCALE_SEED, `bench/scale/fixed-demand/${periods}/${n}/${k}`)
  const r = Array.from({ length: n }, () => (periods === "harmonic" ? rng.pick(HARMONIC_RATIOS) : Math.exp(Math.log(100) * rng.float())))
  let inv = 0
  for (const x of r) inv += 1 / x
  const base = (FIXED_DEMAND_NS * inv) / 0.7
  return r.map((x) => ({ budgetNs: FIXED_DEMAND_NS, periodNs: periods === "harmonic" ? Math.round(base) * x : Math.max(FIXED_DEMAND_NS, Math.round(base * x)) }))
}
