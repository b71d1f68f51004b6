/**
 * A Linux sandbox is no more expensive per event than a Quest sandbox (issue 16): the same
 * workload on one 2-core sandbox, once as a Quest-V sandbox (each thread on its own Main VCPU,
 * budgets that never bind) and once as a Linux sandbox (each thread at a nice value, the fair
 * scheduler). The workload: two CPU-bound threads in 5 ms chunks, two interactive threads
 * (0.2 ms of work, 2 ms asleep) and an I/O thread (0.1 ms of service per request, 1 ms device
 * delay); then the same plus a fork loop (a 50 µs child, waited for). Printed: wall ns per
 * simulated event, and the events of each run (the two schedulers make different decisions —
 * shares by weight or by budget — so the counts and the mix of events differ a little).
 *
 *   npm run bench -- linux        (or: npx node packages/sandbox-kernel/bench/linux.bench.ts)
 */
import { Bench } from "tinybench"
import { Program, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"

const US = 1_000
const MS = 1_000_000
const SIM_S = 5

const forever = (...reqs: Program.Request[]): Program.Program =>
  function* () {
    for (;;) for (const r of reqs) yield r
  }
const forker: Program.Program = function* () {
  const child = Program.fork(function* () { yield Program.compute(50 * US) }, { pages: 8 })
  for (;;) yield Program.waitpid((yield child) as number)
}
type Work = ReadonlyArray<{ name: string; cpu: number; nice: number; program: Program.Program }>
const MIXED: Work = [
  { name: "hog0", cpu: 0, nice: 0, program: forever(Program.compute(5 * MS)) },
  { name: "hog1", cpu: 1, nice: 5, program: forever(Program.compute(5 * MS)) },
  { name: "int0", cpu: 0, nice: -5, program: forever(Program.compute(200 * US), Program.sleep(2 * MS)) },
  { name: "int1", cpu: 1, nice: 0, program: forever(Program.compute(200 * US), Program.sleep(2 * MS)) },
  { name: "io", cpu: 1, nice: 0, program: forever(Program.io({ device: "ata", workNs: 100 * US, delayNs: 1 * MS }), Program.compute(100 * US)) },
]
const FORKS: Work = [...MIXED, { name: "fork", cpu: 0, nice: 0, program: forker }]

const machine = { cores: 2, sandboxOfCore: [0, 0] }

/** The workload as a Quest-V sandbox: one Main VCPU per thread (C = T/2), I/O VCPUs on both cores. */
export const quest = (work: Work): Config.SystemInput => ({
  seed: 7,
  machine,
  nic: { sharers: [] },
  sandboxes: [{
    vcpus: [
      ...work.map((w) => ({ budgetNs: 5 * MS, periodNs: 10 * MS, core: w.cpu })),
      { kind: "io" as const, budgetNs: 1 * MS, periodNs: 10 * MS, device: "ata" as const, core: 1 },
    ],
    threads: work.map((w, i) => ({ name: w.name, vcpu: i, program: w.program })),
  }],
})

/** The same workload as a Linux sandbox. */
export const linux = (work: Work): Config.SystemInput => ({
  seed: 7,
  machine,
  nic: { sharers: [] },
  sandboxes: [{ kind: "linux", threads: work.map((w) => ({ name: w.name, cpu: w.cpu, nice: w.nice, program: w.program })) }],
})

const events: Record<string, number> = {}
const bench = new Bench({ time: 4000, warmup: true, warmupTime: 1000, iterations: 3 })
for (const [label, work] of [["mixed", MIXED], ["mixed + fork loop", FORKS]] as const) {
  bench.add(`${label}: Quest-V sandbox (VCPU scheduler)`, () => { events[`${label}: Quest-V sandbox (VCPU scheduler)`] = new System.System(quest(work)).run(SIM_S * 1e9).sim.events })
  bench.add(`${label}: Linux sandbox (fair scheduler)`, () => { events[`${label}: Linux sandbox (fair scheduler)`] = new System.System(linux(work)).run(SIM_S * 1e9).sim.events })
}
await bench.run()

const rows = bench.tasks.map((task) => {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  const n = events[task.name]!
  return { run: task.name, "simulated s": SIM_S, events: n, "wall ms (mean)": Math.round(r.latency.mean), "wall ns / event": Math.round((r.latency.mean * 1e6) / n) }
})
console.table(rows)
