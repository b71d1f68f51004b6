/**
 * `npm run bench -- builtins`: wall time of every built-in scenario (its full duration) and every
 * experiment of the registry (all variants, at the paper's size: scale 1), with events per wall
 * second, in one table, and the total. Beside the wall time, the process's CPU time over the row
 * (`process.cpuUsage`, user + system, the collector's helper threads included): on a shared
 * machine it moves less with the load than the wall time does. A warm-up run of the first built-in
 * pays the module loading. Aim (issue 15): the whole paper under 12 s.
 *
 * Repetition: by default each row runs once, one after the other, in this process (the figure is
 * that one run). With `BENCH_REPEAT=N` (`BENCH_REPEAT=5 npm run bench -- builtins`) or `--repeat N`
 * (direct run), the whole list runs N times in this process, in alternating order (forward, then
 * backward, ...: a row's neighbours, and so the collector's and the JIT's state it meets, change
 * from round to round), and each row gives the MEDIAN of its N wall times and the median of its N
 * CPU times; the total is the sum of the rows' medians, and each round's own total is printed
 * below the table. The workload of a round is the same as the single run's (every row, each once).
 * The first round still pays most of the JIT's warm-up (it runs about twice as long in a short
 * filtered list), which the medians leave out from N = 3 on.
 * A difference of a few per cent between two trees shows only in such medians on a shared host.
 * The 1-minute load average at the start and at the end is printed with the figures.
 *
 * Filter by substring: `node packages/scenarios/bench/builtins.bench.ts forkwait`.
 */
import { loadavg } from "node:os"
import { Time } from "@qvsim/sim-core"
import * as Builtins from "../src/Builtins.ts"
import * as Experiments from "../src/Experiments.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"

interface Row { name: string; kind: string; simulated: string; events: number; wallMs: number; cpuMs: number }
/** One row of the list: runs it once and gives its row (wall and CPU of that run). */
interface Job { name: string; run: () => Row }

const args = process.argv.slice(2)
const repeatAt = args.indexOf("--repeat")
const repeatText = repeatAt >= 0 ? args[repeatAt + 1] : process.env["BENCH_REPEAT"]
const repeat = repeatText === undefined || repeatText === "" ? 1 : Number(repeatText)
if (!Number.isInteger(repeat) || repeat < 1 || repeat > 1000) {
  console.error(`${repeatAt >= 0 ? "--repeat" : "BENCH_REPEAT"}: ${JSON.stringify(repeatText)} is not an integer from 1 to 1000`)
  process.exit(2)
}
const filter = repeatAt >= 0 ? args.filter((_, i) => i !== repeatAt && i !== repeatAt + 1) : args
const wanted = (name: string): boolean => filter.length === 0 || filter.some((f) => name.includes(f))
/** The process's CPU time so far (user + system), ms. */
const cpuMs = (): number => {
  const c = process.cpuUsage()
  return (c.user + c.system) / 1000
}

// Warm-up (JIT, lazy imports): a short run of the first built-in, not counted.
Runner.run(parseScenario(Builtins.builtins[0]!, "warm-up"), { untilNs: 100_000_000 })

// `manycore` (64 sandboxes, issue 15) is not the paper's: bench/manycore.bench.ts measures it.
const NOT_PAPER = new Set(["manycore"])

const jobs: Job[] = []
for (const input of Builtins.builtins) {
  if (!wanted(input.name) || NOT_PAPER.has(input.name)) continue
  jobs.push({
    name: input.name,
    run: () => {
      const scenario = parseScenario(input, input.name)
      const start = performance.now(), cpu0 = cpuMs()
      const s = Runner.run(scenario)
      return { name: scenario.name, kind: "scenario", simulated: Time.show(s.simTimeNs), events: s.events, wallMs: performance.now() - start, cpuMs: cpuMs() - cpu0 }
    },
  })
}
for (const e of Experiments.registered()) {
  if (!wanted(e.name)) continue
  jobs.push({
    name: e.name,
    run: () => {
      const start = performance.now(), cpu0 = cpuMs()
      const ran = Experiments.run(e, { scale: 1 })
      const wallMs = performance.now() - start, cpu = cpuMs() - cpu0
      const simNs = ran.runs.reduce((a, r) => a + r.system.sim.now, 0)
      const failed = ran.result.claims.filter((c) => !c.holds).length
      return {
        name: e.name,
        kind: `experiment, ${ran.runs.length > 0 ? `${ran.runs.length} variants` : "computed"}${failed > 0 ? `, ${failed} claim(s) ✗` : ""}`,
        simulated: ran.runs.length > 0 ? Time.show(simNs) : "—",
        events: ran.events,
        wallMs,
        cpuMs: cpu,
      }
    },
  })
}

const loadAtStart = loadavg()[0]!
/** Each job's runs, in job order. */
const runs: Row[][] = jobs.map(() => [])
const rounds: { wallMs: number; cpuMs: number }[] = []
for (let r = 0; r < repeat; r++) {
  let wall = 0, cpu = 0
  for (let k = 0; k < jobs.length; k++) {
    const j = r % 2 === 0 ? k : jobs.length - 1 - k
    const row = jobs[j]!.run()
    runs[j]!.push(row)
    wall += row.wallMs
    cpu += row.cpuMs
  }
  rounds.push({ wallMs: wall, cpuMs: cpu })
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  return n % 2 === 1 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2
}
// A row's figures: the medians of its runs (the run itself when it ran once). The events are
// the same in every run (a deterministic simulation); the first run's are shown.
const rows: Row[] = runs.map((rs) => ({ ...rs[0]!, wallMs: median(rs.map((x) => x.wallMs)), cpuMs: median(rs.map((x) => x.cpuMs)) }))

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
const what = repeat === 1 ? "one run of each row" : `median of ${repeat} runs of each row (alternating order); the total is the sum of the medians`
console.log(`${what}; wall and CPU (user + system) in s; load average ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end`)
const header = repeat === 1
  ? ["name", "kind", "simulated", "events", "wall s", "cpu s", "events/s"]
  : ["name", "kind", "simulated", "events", "median wall s", "median cpu s", "events/s"]
const table = [header, ...rows.map(fmt), fmt(total)]
const widths = header.map((_, i) => Math.max(...table.map((r) => r[i]!.length)))
const right = [false, false, true, true, true, true, true]
const line = (r: string[]) => r.map((c, i) => (right[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")
console.log(line(header))
console.log(widths.map((w) => "─".repeat(w)).join("  "))
for (const r of rows) console.log(line(fmt(r)))
console.log(widths.map((w) => "─".repeat(w)).join("  "))
console.log(line(fmt(total)))
// A filtered run measures only its rows: it says so instead of naming the whole paper.
const measured = filter.length === 0 ? "the whole paper (every built-in and experiment)" : `the rows matching ${filter.map((f) => JSON.stringify(f)).join(" or ")} (not the whole paper)`
if (repeat > 1) {
  console.log(`\neach round's total (wall s / CPU s): ${rounds.map((r) => `${(r.wallMs / 1000).toFixed(2)} / ${(r.cpuMs / 1000).toFixed(2)}`).join(", ")}`)
  console.log(`${measured}, sum of the rows' medians of ${repeat} runs: ${(total.wallMs / 1000).toFixed(1)} s wall, ${(total.cpuMs / 1000).toFixed(1)} s CPU${filter.length === 0 ? "; aim < 12 s (issue 15)" : ""}`)
} else {
  console.log(`\n${measured}: ${(total.wallMs / 1000).toFixed(1)} s wall, ${(total.cpuMs / 1000).toFixed(1)} s CPU${filter.length === 0 ? "; aim < 12 s (issue 15)" : ""}`)
}
