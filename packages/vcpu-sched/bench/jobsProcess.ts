/**
 * The jobs bench's five 10-task sets in one mode, in a process of its own: how the CLI runs a
 * scheduling scenario (one run, trace records on or off, nothing else compiled into the process).
 * jobs.bench.ts starts this file alternately per mode for its separate-process measure of the
 * fingerprint's cost. `WARMUP` untimed rounds, then `ROUNDS` timed rounds (a round runs the five
 * sets once); prints one JSON line: the mode, the jobs of a round and each timed round's CPU ms
 * (user + system).
 *
 *   node packages/vcpu-sched/bench/jobsProcess.ts traced|untraced
 */
import { runOnce, SETS, taskSetOf } from "./jobsSets.ts"

const WARMUP = 3
const ROUNDS = 7
const mode = process.argv[2]
if (mode !== "traced" && mode !== "untraced") {
  console.error("usage: node packages/vcpu-sched/bench/jobsProcess.ts traced|untraced")
  process.exit(2)
}
const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(10, k))
const round = (): number => {
  let jobs = 0
  for (const tasks of sets) jobs += runOnce(tasks, mode === "traced").jobsCompleted
  return jobs
}
for (let i = 0; i < WARMUP; i++) round()
const cpuMs: number[] = []
let jobs = 0
for (let i = 0; i < ROUNDS; i++) {
  const c0 = process.cpuUsage()
  jobs = round()
  const c = process.cpuUsage(c0)
  cpuMs.push((c.user + c.system) / 1000)
}
console.log(JSON.stringify({ mode, jobs, cpuMs }))
