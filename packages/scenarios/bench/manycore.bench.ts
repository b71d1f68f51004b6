/**
 * `npm run bench -- manycore` (issue 15): how big machines cost.
 *
 * 1. System start: `Runner.prepare` of `manycore(n)` (machine, EPTs, boot, kernels, channels,
 *    hosts; the scenario parsed beforehand) for n = 4, 8, 16 and 64 sandboxes, with tinybench
 *    (before issue 15 the model stopped at 8: run this file on an older tree with `--sizes 4,8`).
 *    Target: 64 sandboxes under 100 ms. A last row adds the scenario's validation (what
 *    `qvsim run manycore` does before its first event).
 * 2. The 64-sandbox `manycore` built-in for its 10 simulated seconds, run in a child process of
 *    its own (so its peak RSS is its own): wall time, events/s and peak RSS
 *    (`process.resourceUsage().maxRSS`), `RUNS` times (default 2).
 *
 * The machine is shared: the load average is printed beside the figures.
 *
 *   npx node packages/scenarios/bench/manycore.bench.ts [--sizes 4,8,16,64] [--no-run]
 */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import { Bench } from "tinybench"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"
import { manycore } from "../src/builtins/manycore.ts"

const args = process.argv.slice(2)
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(" ")

if (args[0] === "--child") {
  const scenario = parseScenario(manycore(64), "manycore")
  const start = performance.now()
  const s = Runner.run(scenario)
  const wallMs = performance.now() - start
  process.stdout.write(JSON.stringify({ wallMs, events: s.events, fingerprint: s.fingerprint, maxRssKiB: process.resourceUsage().maxRSS }))
  process.exit(0)
}

const sizesArg = args.indexOf("--sizes")
const sizes = sizesArg >= 0 ? args[sizesArg + 1]!.split(",").map(Number) : [4, 8, 16, 64]
const scenarios = new Map(sizes.map((n) => [n, parseScenario(manycore(n), `manycore-${n}`)]))

console.log(`load average before: ${load()}`)
const bench = new Bench({ time: 2_000, warmupTime: 500 })
for (const n of sizes) bench.add(`System start, ${n} sandboxes`, () => {
  Runner.prepare(scenarios.get(n)!, { seed: 1 })
})
// What `qvsim run manycore` does before its first event: validate the scenario, then start.
const largest = Math.max(...sizes)
bench.add(`parse + System start, ${largest} sandboxes`, () => {
  Runner.prepare(parseScenario(manycore(largest), "manycore"), { seed: 1 })
})
await bench.run()
console.table(bench.tasks.map((t) => {
  const r = t.result
  if (r.state !== "completed") throw new Error(`${t.name}: ${r.state}`)
  return { task: t.name, "mean ms": r.latency.mean.toFixed(2), "p50 ms": r.latency.p50.toFixed(2), "p99 ms": r.latency.p99.toFixed(2), samples: r.latency.samplesCount }
}))
console.log(`load average after start bench: ${load()}`)

if (!args.includes("--no-run")) {
  const RUNS = Number(process.env["RUNS"] ?? 2)
  const rows = []
  for (let i = 0; i < RUNS; i++) {
    const r = spawnSync(process.execPath, [import.meta.filename, "--child"], { encoding: "utf8" })
    if (r.status !== 0) throw new Error(`manycore child exited ${r.status}: ${r.stderr}`)
    const o = JSON.parse(r.stdout) as { wallMs: number; events: number; fingerprint: string; maxRssKiB: number }
    rows.push({ run: "manycore 64 sandboxes, 10 s simulated", "wall s": (o.wallMs / 1000).toFixed(2), events: o.events, "events/s": Math.round(o.events / (o.wallMs / 1000)), "peak RSS MiB": (o.maxRssKiB / 1024).toFixed(0), fingerprint: o.fingerprint, load: load() })
  }
  console.table(rows)
}
