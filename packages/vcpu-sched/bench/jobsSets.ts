/**
 * The jobs bench's workload (jobs.bench.ts), shared with its per-process runs (jobsProcess.ts):
 * rate-monotonic periodic sets at U = 0.7 (UUniFast; periods log-uniform in 10–1000 ms, integer
 * ns; `SETS` sets per size from fixed seeds), each run 100 s simulated with schedule recording off,
 * trace records on or off.
 */
import { Rng } from "@qvsim/sim-core"
import * as Generators from "../src/Generators.ts"
import { Harness } from "../src/Harness.ts"
import { periodicSpec, type PeriodicTask } from "../src/Workload.ts"

/** Simulated time of each run, ns (100 s). */
export const SIM_NS = 100_000_000_000
const SEED = 2026
/** Task sets per size. */
export const SETS = 5

/** Task set `k` of `n` tasks used by the benchmark (fixed seed). */
export const taskSetOf = (n: number, k = 0): PeriodicTask[] => {
  const rng = Rng.stream(SEED, `bench/jobs/${n}/${k}`)
  return Generators.taskSet(Generators.uunifast(rng, n, 0.7), Generators.periodsLogUniform(rng, n, 10_000_000, 1_000_000_000))
}

/** One run of `tasks` (trace records on: the run fingerprint is computed, as the CLI runs). */
export const runOnce = (tasks: readonly PeriodicTask[], trace = false): Harness => new Harness(periodicSpec(tasks), { recordSchedule: false, trace }).run(SIM_NS)
