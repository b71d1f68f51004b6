/**
 * `npm run bench -- builtins`: wall time of every built-in scenario (its full duration) and every
 * experiment of the registry (all variants, at the paper's size: scale 1), with events per wall
 * second, in one table, and the total. Beside the wall time, the process's CPU time over the row
 * (`process.cpuUsage`, user + system, the collector's helper threads included): on a shared
 * machine it moves less with the load than the wall time does. Each is run once, in this process, one after the other
 * (a run of seconds needs no repetition to be measured; a warm-up run of the first built-in pays
 * the module loading). Aim (issue 15): the whole paper under 12 s.
 *
 * Filter by substring: `node packages/scenarios/bench/builtins.bench.ts forkwait`.
 */
import { Time } from "@qvsim/sim-core"
import * as Builtins from "../src/Builtins.ts"
import * as Experiments from "../src/Experiments.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"

interface Row { name: string; kind: string; simulated: string; events: number; wallMs: number; cpuMs: number }

const filter = process.argv.slice(2)
const wanted = (name: string): boolean => filter.length === 0 || filter.some((f) => name.includes(f))
const rows: Row[] = []
/** The process's CPU time so far (user + system), ms. */
const cpuMs = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

// Warm-up (JIT, lazy imports): a short run of the first built-in, not counted.
Runner.run(parseScenario(Builtins.builtins[0]!, "warm-up"), { untilNs: 100_000_000 })

// `manycore` (64 sandboxes, issue 15) is not the paper's: bench/manycore.bench.ts measures it.
const NOT_PAPER = new Set(["manycore"])

for (const input of Builtins.builtins) {
  if (!wanted(input.name) || NOT_PAPER.has(input.name)) continue
  const scenario = parseScenario(input, input.name)
  const start = performance.now(), cpu0 = cpuMs()
  const s = Runner.run(scenario)
  rows.push({ name: scenario.name, kind: "scenario", simulated: Time.show(s.simTimeNs), events: s.events, wallMs: performance.now() - start, cpuMs: cpuMs() - cpu0 })
}

for (const e of Experiments.registered()) {
  if (!wanted(e.name)) continue
  const start = performance.now(), cpu0 = cpuMs()
  const ran = Experiments.run(e, { scale: 1 })
  const wallMs = performance.now() - start, cpu = cpuMs() - cpu0
  const simNs = ran.runs.reduce((a, r) => a + r.system.sim.now, 0)
  const failed = ran.result.claims.filter((c) => !c.holds).length
  rows.push({
    name: e.name,
    kind: `experiment, ${ran.runs.length > 0 ? `${ran.runs.length} variants` : "computed"}${failed > 0 ? `, ${failed} claim(s) ✗` : ""}`,
    simulated: ran.runs.length > 0 ? Time.show(simNs) : "—",
    events: ran.events,
    wallMs,
    cpuMs: cpu,
  })
}

const total: Row = {
  name: "total",
  kind: "",
  simulated: "",
  events: rows.reduce((a, r) => a + r.events, 0),
  wallMs: rows.reduce((a, r) => a + r.wallMs, 0),
  cpuMs: rows.reduce((a, r) => a + r.cpuMs, 0),
}
const fmt = (r: Row): string[] => [
  r.name,
  r.kind,
  r.simulated,
  r.events.toLocaleString("en-US"),
  (r.wallMs / 1000).toFixed(2),
  (r.cpuMs / 1000).toFixed(2),
  r.wallMs > 0 ? Math.round(r.events / (r.wallMs / 1000)).toLocaleString("en-US") : "—",
]
const header = ["name", "kind", "simulated", "events", "wall s", "cpu s", "events/s"]
const table = [header, ...rows.map(fmt), fmt(total)]
const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
const right = [false, false, true, true, true, true, true]
const line = (r: string[]) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")
console.log(line(header))
console.log(widths.map((w) => "─".repeat(w)).join("  "))
for (const r of rows) console.log(line(fmt(r)))
console.log(widths.map((w) => "─".repeat(w)).join("  "))
console.log(line(fmt(total)))
console.log(`\nthe whole paper (every built-in and experiment): ${(total.wallMs / 1000).toFixed(1)} s wall, ${(total.cpuMs / 1000).toFixed(1)} s CPU; aim < 12 s (issue 15)`)
