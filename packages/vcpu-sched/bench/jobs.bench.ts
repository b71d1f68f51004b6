/**
 * Jobs completed per wall second simulating rate-monotonic periodic task sets of 5, 10 and 20
 * tasks at U = 0.7 (UUniFast; periods log-uniform in 10–1000 ms, integer ns; five sets per size,
 * from fixed seeds, so the figure does not hang on one draw's job count; one Main VCPU
 * `(C_i, T_i)` and one thread with jobs of demand `C_i` released every `T_i`), 100 s of simulated
 * time, trace and schedule recording off, Quest's 1 ms timer rule on (the default options); the
 * 10-task sets once more with trace records on (the run fingerprint computed, as the CLI runs it).
 * The fingerprint's cost is printed as traced ÷ untraced − 1 of the 10-task rows' medians, and
 * again measured with the two alternated (`INTERLEAVED_ROUNDS` pairs of an untraced and a traced run
 * of the five 10-task sets, the order swapped every pair, CPU medians, the first pair a warm-up):
 * tinybench runs its rows one after the other, untraced first, and their ratio swings with the
 * compiler's state (session 15, one evening, nothing else running: −27 %, −22 %, 18 %, 20 %, 24 %
 * by the rows). Alternated, the order no longer favours either, but a process's compiled state
 * still moves the figure: 15.5 % and 9.5 % in two runs of this bench (rows 17.9 % and 10.0 %). The
 * pairs' medians are also printed as jobs per CPU second, beside the rows' jobs per wall second.
 * Last, the measure that matches how the CLI runs, one mode per process: `PROCESS_PAIRS` pairs of
 * processes (jobsProcess.ts: warm-up rounds, then timed rounds of the five 10-task sets), one
 * untraced and one traced, the order swapped every pair; traced ÷ untraced − 1 of the medians
 * over processes (each process's median round, CPU). In one process both modes share compiled
 * code, so the two in-process measures swing (session 19, three runs each, back to back: rows
 * 29.8 / 15.6 / 15.7 %, pairs 10.5 / 16.0 / 16.6 %; an earlier run 13.3 % and 29.5 %).
 * Then heap in use (after a full GC) at 10 s, 100 s and 1000 s of simulated time of one run, to
 * show that memory does not grow with simulated time. Each row gives the mean wall time (tinybench)
 * and, less noisy on a shared machine, the median wall time and the median CPU time (user +
 * system) of the timed calls.
 *
 *   npx node packages/vcpu-sched/bench/jobs.bench.ts
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Bench } from "tinybench"
import { Harness } from "../src/Harness.ts"
import { periodicSpec } from "../src/Workload.ts"
import { runOnce, SETS, taskSetOf } from "./jobsSets.ts"

export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 2000, warmup: true, warmupTime: 500 })
const jobsOf = new Map<number, { jobs: number; invocations: number; events: number; missed: number }>()
/** CPU time (user + system, ms) of each timed call, per task name: the machine is shared, CPU time is less noisy than wall time. */
const cpuOf = new Map<string, number[]>()
/** `fn`, recording its CPU time under `name` (the workload is `fn`'s, unchanged). */
const timedCpu = (name: string, fn: () => void) => {
  const samples: number[] = []
  cpuOf.set(name, samples)
  return () => {
    const start = process.cpuUsage()
    fn()
    const used = process.cpuUsage(start)
    samples.push((used.user + used.system) / 1000)
  }
}
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}
for (const n of [5, 10, 20]) {
  const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(n, k))
  const total = { jobs: 0, invocations: 0, events: 0, missed: 0 }
  for (const tasks of sets) {
    const h = runOnce(tasks)
    total.jobs += h.jobsCompleted
    total.invocations += h.sched.invocations
    total.events += h.sim.events
    for (let i = 0; i < n; i++) total.missed += h.statsOf(i).missed
  }
  jobsOf.set(n, total)
  bench.add(`${n} tasks`, timedCpu(`${n} tasks`, () => { for (const tasks of sets) runOnce(tasks) }))
  // As the CLI runs a scheduling scenario: trace records emitted, so the run fingerprint is computed.
  if (n === 10) bench.add(`${n} tasks, fingerprint on`, timedCpu(`${n} tasks, fingerprint on`, () => { for (const tasks of sets) runOnce(tasks, true) }))
}
await bench.run()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  const n = Number(task.name.split(" ")[0])
  const j = jobsOf.get(n)!
  rows.push({
    "task set (U = 0.7)": task.name,
    "jobs (5 sets × 100 s)": j.jobs,
    "sched invocations": j.invocations,
    "events": j.events,
    "deadline misses": j.missed,
    "ms for 5 runs (mean)": +r.latency.mean.toFixed(2),
    "jobs/s (wall)": Math.round((j.jobs / r.latency.mean) * 1000),
    "ms (p50)": +r.latency.p50.toFixed(2),
    "jobs/s (wall, p50)": Math.round((j.jobs / r.latency.p50) * 1000),
    // the timed calls are the last ones (tinybench's warm-up calls come first)
    "CPU ms (p50)": +median(cpuOf.get(task.name)!.slice(-r.latency.samplesCount)).toFixed(2),
    "events/s (wall)": Math.round((j.events / r.latency.mean) * 1000),
  })
}

/** Heap in use after a full GC at several simulated times of one 10-task run. */
export const memoryRows: Array<Record<string, string | number>> = []
setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
{
  const h = new Harness(periodicSpec(taskSetOf(10)), { recordSchedule: false })
  for (const seconds of [10, 100, 1000]) {
    h.run(seconds * 1_000_000_000)
    gc()
    gc()
    memoryRows.push({ "simulated time": `${seconds} s`, "jobs completed": h.jobsCompleted, "heap used (KiB)": Math.round(process.memoryUsage().heapUsed / 1024) })
  }
}

/** The fingerprint's cost on the 10-task sets: traced ÷ untraced − 1, by the CPU medians (and by the wall medians). */
const costOf = (column: string): number => {
  const of = (name: string) => Number(rows.find((r) => r["task set (U = 0.7)"] === name)![column])
  return of("10 tasks, fingerprint on") / of("10 tasks") - 1
}
export const fingerprintCost = { cpu: costOf("CPU ms (p50)"), wall: costOf("ms (p50)") }

/** Pairs of an untraced and a traced run of the 10-task sets for the alternated measure (the first a warm-up). */
const INTERLEAVED_ROUNDS = 16
/** The fingerprint's cost with the untraced and traced runs alternated: traced ÷ untraced − 1 of their CPU medians, ms. */
export const interleavedCost = ((): { cost: number; untracedMs: number; tracedMs: number } => {
  const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(10, k))
  const run = (trace: boolean) => timedCpu(`10 tasks${trace ? ", fingerprint on" : ""}, alternated`, () => { for (const tasks of sets) runOnce(tasks, trace) })
  const untracedRun = run(false), tracedRun = run(true)
  for (let i = 0; i <= INTERLEAVED_ROUNDS; i++) {
    if (i % 2 === 1) { tracedRun(); untracedRun() } else { untracedRun(); tracedRun() }
  }
  // the first pair is the warm-up
  const untracedMs = median(cpuOf.get("10 tasks, alternated")!.slice(1)), tracedMs = median(cpuOf.get("10 tasks, fingerprint on, alternated")!.slice(1))
  return { cost: tracedMs / untracedMs - 1, untracedMs, tracedMs }
})()

/**
 * Jobs per CPU second of the five 10-task sets at `ms` CPU ms for all five: the alternated pairs'
 * reading of the rows' jobs/s (the "fingerprint on" row runs after the untraced rows, in the
 * compiled state they left, and read 31-37 % dearer than untraced where the pairs read 15-21 %, in
 * three runs of session 17).
 */
const jobsPerCpuSecond = (ms: number): string => `${((jobsOf.get(10)!.jobs / ms) * 1000 / 1e6).toFixed(3)} M`

/** Pairs of processes (one untraced, one traced) of the separate-process measure. */
const PROCESS_PAIRS = 8
/**
 * The fingerprint's cost with each mode in processes of its own (see the module comment): traced ÷
 * untraced − 1 of the medians over processes, CPU ms per round of the five 10-task sets. NOTE: last
 * of the timed measures: spawning a process invalidates a V8 protector in the process that spawns
 * (see scripts/bench.ts), which would cost the in-process measures after it.
 */
export const separateCost = ((): { cost: number; untracedMs: number; tracedMs: number; spreads: string } => {
  const file = join(import.meta.dirname, "jobsProcess.ts")
  const of = { untraced: [] as number[], traced: [] as number[] }
  for (let i = 0; i < PROCESS_PAIRS; i++) {
    for (const mode of i % 2 === 0 ? (["untraced", "traced"] as const) : (["traced", "untraced"] as const)) {
      const r = spawnSync(process.execPath, [file, mode], { encoding: "utf8" })
      const line = r.stdout?.split("\n").find((l) => l.startsWith("{"))
      if (r.status !== 0 || line === undefined) throw new Error(`jobs bench: jobsProcess.ts ${mode} failed (status ${r.status}): ${r.stderr}`)
      const out = JSON.parse(line) as { jobs: number; cpuMs: number[] }
      if (out.jobs !== jobsOf.get(10)!.jobs) throw new Error(`jobs bench: jobsProcess.ts ${mode} ran ${out.jobs} jobs per round, not ${jobsOf.get(10)!.jobs}`)
      of[mode].push(median(out.cpuMs))
    }
  }
  const range = (xs: number[]): string => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`
  const untracedMs = median(of.untraced), tracedMs = median(of.traced)
  return { cost: tracedMs / untracedMs - 1, untracedMs, tracedMs, spreads: `per process ${range(of.untraced)} and ${range(of.traced)} ms` }
})()

if (import.meta.main) {
  console.log(`vcpu-sched harness: rate-monotonic periodic sets, 100 s simulated, 1 ms timer rule on, trace off unless "fingerprint on"`)
  console.table(rows)
  console.log(`fingerprint cost, 10 tasks (traced ÷ untraced − 1): ${(fingerprintCost.cpu * 100).toFixed(1)} % by the CPU medians, ${(fingerprintCost.wall * 100).toFixed(1)} % by the wall medians`)
  console.log(`fingerprint cost, 10 tasks, untraced and traced runs alternated (${INTERLEAVED_ROUNDS} pairs, CPU medians): ${(interleavedCost.cost * 100).toFixed(1)} % (${interleavedCost.untracedMs.toFixed(1)} ms untraced, ${interleavedCost.tracedMs.toFixed(1)} ms traced: ${jobsPerCpuSecond(interleavedCost.untracedMs)} and ${jobsPerCpuSecond(interleavedCost.tracedMs)} jobs per CPU second)`)
  console.log(`fingerprint cost, 10 tasks, each mode in processes of its own (as the CLI runs; ${PROCESS_PAIRS} pairs alternated, CPU medians): ${(separateCost.cost * 100).toFixed(1)} % (${separateCost.untracedMs.toFixed(1)} ms untraced, ${separateCost.tracedMs.toFixed(1)} ms traced: ${jobsPerCpuSecond(separateCost.untracedMs)} and ${jobsPerCpuSecond(separateCost.tracedMs)} jobs per CPU second; ${separateCost.spreads})`)
  console.log("Heap after GC during one 10-task run (must not grow with simulated time):")
  console.table(memoryRows)
}
