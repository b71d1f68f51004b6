/**
 * `npm run bench -- longrun` (issue 15): a long system run stays in flat memory.
 *
 * One system scenario — `manycore(4)`: 4 sandboxes, a periodic thread each, mailboxes in a ring,
 * the shared NIC with 3 ping hosts at 10 ms (100,000 requests each in 1,000 s: past the hosts'
 * 65,536-request window), a driver fault and its recovery — run for 10 s, 100 s and 1,000 s
 * simulated, each in a fresh child process, so each peak RSS (`process.resourceUsage().maxRSS`
 * at exit) is that run's own. Peak RSS of one and the same run varies by ±10 % from process to
 * process (V8's GC and compiler threads), more than the growth this bench looks for: each length
 * runs `RUNS` times (default 5, interleaved) and the table gives the median with the range. Also
 * printed: what the run retains (heap used plus array buffers after a full GC at exit, which does
 * not depend on timing), events and records (which do not depend on the load), and the 1000 s /
 * 10 s ratios (target: peak RSS ≤ 1.10). The load average is printed beside the figures.
 *
 *   RUNS=5 npx node packages/scenarios/bench/longrun.bench.ts [--seconds 10,100,1000] [--sandboxes 4]
 */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"
import { manycore } from "../src/builtins/manycore.ts"

const args = process.argv.slice(2)
const arg = (name: string, fallback: string): string => {
  const i = args.indexOf(name)
  return i >= 0 ? args[i + 1]! : fallback
}
const load = (): string => loadavg().map((l) => l.toFixed(2)).join(" ")

interface ChildResult {
  readonly wallMs: number
  readonly events: number
  readonly records: number
  readonly pings: number
  readonly maxRssKiB: number
  /** Heap used plus array buffers after a full GC at exit, bytes. */
  readonly retainedBytes: number
}

if (args[0] === "--child") {
  const seconds = Number(args[1])
  const scenario = parseScenario(manycore(Number(args[2])), "manycore")
  const start = performance.now()
  const prepared = Runner.prepare(scenario, { untilNs: seconds * 1_000_000_000 })
  const s = Runner.execute(prepared)
  const wallMs = performance.now() - start
  const pings = prepared.system!.hosts.reduce((a, h) => a + h.sent, 0)
  const maxRssKiB = process.resourceUsage().maxRSS
  ;(globalThis as { gc?: () => void }).gc?.()
  const m = process.memoryUsage()
  const out: ChildResult = { wallMs, events: s.events, records: s.records, pings, maxRssKiB, retainedBytes: m.heapUsed + m.arrayBuffers }
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

const seconds = arg("--seconds", "10,100,1000").split(",").map(Number)
const sandboxes = Number(arg("--sandboxes", "4"))
const RUNS = Number(process.env["RUNS"] ?? 5)
console.log(`manycore(${sandboxes}), fresh process per run, ${RUNS} runs per length (interleaved); load average before: ${load()}`)
const results = new Map<number, ChildResult[]>(seconds.map((s) => [s, []]))
for (let i = 0; i < RUNS; i++) {
  for (const s of seconds) {
    const r = spawnSync(process.execPath, ["--expose-gc", import.meta.filename, "--child", String(s), String(sandboxes)], { encoding: "utf8" })
    if (r.status !== 0) throw new Error(`longrun child (${s} s) exited ${r.status}: ${r.stderr}`)
    results.get(s)!.push(JSON.parse(r.stdout) as ChildResult)
  }
}
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y)
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2
}
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const peak = (s: number): number => median(results.get(s)!.map((o) => o.maxRssKiB * 1024))
const retained = (s: number): number => median(results.get(s)!.map((o) => o.retainedBytes))
console.table(seconds.map((s) => {
  const os = results.get(s)!
  const rss = os.map((o) => o.maxRssKiB * 1024)
  return {
    "simulated s": s, "wall s (median)": (median(os.map((o) => o.wallMs)) / 1000).toFixed(2), events: os[0]!.events, records: os[0]!.records, pings: os[0]!.pings,
    "peak RSS MiB (median)": mib(peak(s)), "peak RSS range": `${mib(Math.min(...rss))}–${mib(Math.max(...rss))}`, "retained MiB": mib(retained(s)),
  }
}))
const first = seconds[0]!, last = seconds[seconds.length - 1]!
console.log(`${last} s / ${first} s: peak RSS (medians) ${(peak(last) / peak(first)).toFixed(3)} (target ≤ 1.10), retained ${(retained(last) / retained(first)).toFixed(3)}; load average after: ${load()}`)
