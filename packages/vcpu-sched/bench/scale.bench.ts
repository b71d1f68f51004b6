/**
 * Cost per event as the number of tasks on one PCPU grows (issue 15: "tasks per PCPU 5 → 200: cost
 * per event within 1.2×"). Rate-monotonic periodic sets of 5, 20, 50, 100 and 200 tasks at
 * U = 0.7 (UUniFast; one Main VCPU `(C_i, T_i)` and one thread per task, jobs of demand `C_i`
 * released every `T_i` from 0; three sets per size from fixed seeds), 20 s of simulated time,
 * Quest's 1 ms timer rule on, trace and schedule recording off, two period choices:
 * - `log-uniform`: periods log-uniform in 10–1000 ms (integer ns): releases rarely coincide, so the
 *   runnable list `R` holds 0–2 VCPUs at a typical invocation whatever the number of tasks;
 * - `harmonic`: periods from {10, 20, 40, 80, 160, 320} ms: every task is released at each multiple
 *   of 320 ms, so `R` holds up to all of them (the case a linear walk of `R` pays for).
 * Printed: wall ns per sim-core event and per scheduler invocation, the mean length of `R` at an
 * invocation, and the 200/5 ratio of ns per event. Counts do not depend on the machine's load.
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

const MS = 1_000_000
const HARMONIC = [10, 20, 40, 80, 160, 320].map((p) => p * MS)
type Periods = "log-uniform" | "harmonic"

/** Task set `k` of `n` tasks (fixed seed). */
const taskSetOf = (periods: Periods, n: number, k: number): PeriodicTask[] => {
  const rng = Rng.stream(SEED, `bench/scale/${periods}/${n}/${k}`)
  const u = Generators.uunifast(rng, n, 0.7)
  return Generators.taskSet(u, periods === "harmonic" ? Generators.periodsFromSet(rng, n, HARMONIC) : Generators.periodsLogUniform(rng, n, 10 * MS, 1000 * MS))
}

const runOnce = (tasks: readonly PeriodicTask[], onInvoke?: (h: Harness) => void): Harness =>
  new Harness(periodicSpec(tasks), { recordSchedule: false, ...(onInvoke === undefined ? {} : { onInvoke }) }).run(SIM_NS)

export const rows: Array<Record<string, string | number>> = []
export const ratios = new Map<Periods, number>()
for (const periods of ["log-uniform", "harmonic"] as const) {
  const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 })
  const counts = new Map<number, { jobs: number; events: number; invocations: number; missed: number; rSum: number }>()
  for (const n of SIZES) {
    const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(periods, n, k))
    const total = { jobs: 0, events: 0, invocations: 0, missed: 0, rSum: 0 }
    for (const tasks of sets) {
      // R's length seen after each invocation (the chosen VCPU has left it), summed.
      const h = runOnce(tasks, (x) => { total.rSum += x.sched.runnableCount })
      total.jobs += h.jobsCompleted
      total.events += h.sim.events
      total.invocations += h.sched.invocations
      for (let i = 0; i < n; i++) total.missed += h.statsOf(i).missed
    }
    counts.set(n, total)
    bench.add(`${n}`, () => { for (const tasks of sets) runOnce(tasks) })
  }
  await bench.run()
  const nsPerEvent = new Map<number, number>()
  for (const task of bench.tasks) {
    const r = task.result
    if (r.state !== "completed") throw new Error(`${periods} ${task.name}: ${r.state}`)
    const n = Number(task.name)
    const c = counts.get(n)!
    const ns = (r.latency.mean * 1e6) / c.events
    nsPerEvent.set(n, ns)
    rows.push({
      "periods": periods,
      "tasks on one PCPU (U = 0.7)": n,
      [`jobs (${SETS} sets × 20 s)`]: c.jobs,
      "events": c.events,
      "sched invocations": c.invocations,
      "mean |R| after an invocation": +(c.rSum / c.invocations).toFixed(2),
      "deadline misses": c.missed,
      [`ms for ${SETS} runs (mean)`]: +r.latency.mean.toFixed(2),
      "ns per event": +ns.toFixed(1),
      "ns per invocation": +((r.latency.mean * 1e6) / c.invocations).toFixed(1),
    })
  }
  ratios.set(periods, nsPerEvent.get(SIZES[SIZES.length - 1]!)! / nsPerEvent.get(SIZES[0]!)!)
}

if (import.meta.main) {
  console.log(`vcpu-sched harness, cost per event by tasks per PCPU: rate-monotonic periodic sets, 20 s simulated, 1 ms timer rule on, trace off`)
  console.table(rows)
  for (const [periods, ratio] of ratios) console.log(`${periods}: ns per event, ${SIZES[SIZES.length - 1]} tasks / ${SIZES[0]} tasks: ${ratio.toFixed(3)}×`)
}
