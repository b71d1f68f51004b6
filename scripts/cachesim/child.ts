/**
 * scripts/cachesim.ts's workload, run under callgrind: the scale bench's fixed-demand sets of one
 * size (packages/vcpu-sched/bench/fixedDemand.ts, `SETS_PER_SIZE` sets, each run for `simNs`), `warmup`
 * rounds, then `rounds` measured rounds (a round runs each set once, a fresh harness each). It calls
 * `process.resourceUsage()` (node's C++ `node::ResourceUsage`, called nowhere else in the run) right
 * before the first measured round and after each, so that callgrind's
 * `--dump-before='node::ResourceUsage*'` writes one dump per measured round (dump k+1 is round k;
 * dump 1 is start-up and warm-up). Prints one JSON line: the events of each measured round and its
 * CPU ns per event (under valgrind: ~100-300× native, for orientation only), and whether Node's
 * type stripping ran in it. With `trace` last, each harness runs with trace records on and its run
 * fingerprint is read at the end (the CLI's way: the fingerprint is always on there).
 *
 *   node scripts/cachesim/child.ts <n> <warmup> <rounds> <simNs> <log-uniform|harmonic> [trace]
 */
import { fixedDemandSetOf, type Periods, SETS_PER_SIZE } from "../../packages/vcpu-sched/bench/fixedDemand.ts"
import { Harness } from "../../packages/vcpu-sched/src/Harness.ts"
import { periodicSpec, type PeriodicTask } from "../../packages/vcpu-sched/src/Workload.ts"

const [n, warmup, rounds, simNs] = process.argv.slice(2, 6).map(Number) as [number, number, number, number]
const periods = (process.argv[6] ?? "log-uniform") as Periods
const trace = process.argv[7] === "trace"
if (![n, warmup, rounds, simNs].every(Number.isFinite) || (periods !== "log-uniform" && periods !== "harmonic") || (process.argv[7] !== undefined && !trace)) {
  console.error("usage: node scripts/cachesim/child.ts <n> <warmup> <rounds> <simNs> <log-uniform|harmonic> [trace]")
  process.exit(2)
}
const sets = Array.from({ length: SETS_PER_SIZE }, (_, k) => fixedDemandSetOf(periods, n, k))
/** The fingerprints read (traced runs): kept so the read is not dead code. */
const prints = new Set<string>()
const runOnce = (tasks: readonly PeriodicTask[]): number => {
  const h = new Harness(periodicSpec(tasks), { recordSchedule: false, trace }).run(simNs)
  if (trace) prints.add(h.sim.trace.fingerprint())
  return h.sim.events
}
const round = (): number => {
  let e = 0
  for (const t of sets) e += runOnce(t)
  return e
}
for (let w = 0; w < warmup; w++) round()
const events: number[] = []
const nsPerEvent: number[] = []
process.resourceUsage()
for (let i = 0; i < rounds; i++) {
  const c0 = process.cpuUsage()
  events.push(round())
  const c = process.cpuUsage(c0)
  nsPerEvent.push(+(((c.user + c.system) * 1000) / events[i]!).toFixed(1))
  process.resourceUsage()
}
// Whether Node's type stripping (amaro) ran in this process: see scripts/bench-process.cjs.
const stripped = (process as unknown as { moduleLoadList: string[] }).moduleLoadList.includes("NativeModule internal/deps/amaro/dist/index")
console.log(JSON.stringify({ n, warmup, rounds, simNs, periods, trace, prints: prints.size, events, nsPerEvent, stripped }))
