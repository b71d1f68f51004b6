/**
 * Cost per event as the number of tasks on one PCPU grows (issue 15: "tasks per PCPU 5 → 200: cost
 * per event within 1.2×"). Rate-monotonic periodic sets of 5, 20, 50, 100 and 200 tasks at
 * U = 0.7 (UUniFast; periods log-uniform in 10–1000 ms, integer ns; one Main VCPU `(C_i, T_i)` and
 * one thread per task, jobs of demand `C_i` released every `T_i`; three sets per size from fixed
 * seeds), 20 s of simulated time, Quest's 1 ms timer rule on, trace and schedule recording off:
 * wall ns per sim-core event and per scheduler invocation, and the 200/5 ratio of ns per event.
 * The event and invocation counts do not depend on the machine's load.
 *
 *   npx node packages/vcpu-sched/bench/scale.bench.ts
 */
import { Rng } from "@qvsim/sim-core"
import { Bench } from "tinybench"
import * as Generators from "../src/Generators.ts"
import { Harness } from "../src/Harness.ts"
import { periodicSpec, type PeriodicTask } from "../src/Workload.ts"

const SIM_NS = 20_000_000_000 // 20 s
const SEED = 2026
const SETS = 3
const SIZES = [5, 20, 50, 100, 200]

/** Task set `k` of `n` tasks (fixed seed). */
const taskSetOf = (n: number, k: number): PeriodicTask[] => {
  const rng = Rng.stream(SEED, `bench/scale/${n}/${k}`)
  return Generators.taskSet(Generators.uunifast(rng, n, 0.7), Generators.periodsLogUniform(rng, n, 10_000_000, 1_000_000_000))
}

const runOnce = (tasks: readonly PeriodicTask[]): Harness => new Harness(periodicSpec(tasks), { recordSchedule: false }).run(SIM_NS)

export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 })
const counts = new Map<number, { jobs: number; events: number; invocations: number; missed: number }>()
for (const n of SIZES) {
  const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(n, k))
  const total = { jobs: 0, events: 0, invocations: 0, missed: 0 }
  for (const tasks of sets) {
    const h = runOnce(tasks)
    total.jobs += h.jobsCompleted
    total.events += h.sim.events
    total.invocations += h.sched.invocations
    for (let i = 0; i < n; i++) total.missed += h.statsOf(i).missed
  }
  counts.set(n, total)
  bench.add(`${n} tasks`, () => { for (const tasks of sets) runOnce(tasks) })
}
await bench.run()
const nsPerEvent = new Map<number, number>()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  const n = Number(task.name.split(" ")[0])
  const c = counts.get(n)!
  const ns = (r.latency.mean * 1e6) / c.events
  nsPerEvent.set(n, ns)
  rows.push({
    "tasks on one PCPU (U = 0.7)": n,
    [`jobs (${SETS} sets × 20 s)`]: c.jobs,
    "events": c.events,
    "sched invocations": c.invocations,
    "deadline misses": c.missed,
    [`ms for ${SETS} runs (mean)`]: +r.latency.mean.toFixed(2),
    "ns per event": +ns.toFixed(1),
    "ns per invocation": +((r.latency.mean * 1e6) / c.invocations).toFixed(1),
  })
}
export const ratio = nsPerEvent.get(SIZES[SIZES.length - 1]!)! / nsPerEvent.get(SIZES[0]!)!

if (import.meta.main) {
  console.log(`vcpu-sched harness, cost per event by tasks per PCPU: rate-monotonic periodic sets, 20 s simulated, 1 ms timer rule on, trace off`)
  console.table(rows)
  console.log(`ns per event, ${SIZES[SIZES.length - 1]} tasks / ${SIZES[0]} tasks: ${ratio.toFixed(3)}×`)
}
