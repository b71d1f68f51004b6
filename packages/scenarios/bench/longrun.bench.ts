/**
 * `npm run bench -- longrun` (issue 15): a long system run stays in flat memory.
 *
 * One system scenario — `manycore(4)`: 4 sandboxes, a periodic thread each, mailboxes in a ring,
 * the shared NIC with 3 ping hosts at 10 ms (100,000 requests each in 1,000 s: past the hosts'
 * 65,536-request window), a driver fault and its recovery — run for 10 s, 100 s and 1,000 s
 * simulated, each in a fresh child process, so each peak RSS (`process.resourceUsage().maxRSS`
 * at exit) is that run's own. Each length runs `RUNS` times (default 7, interleaved) and the table
 * gives the median with the range. Also printed: what the run retains (heap used plus array
 * buffers after two full GCs at exit, which does not depend on timing), events and records (which do
 * not depend on the load), and the 1000 s / 10 s ratios (target: peak RSS ≤ 1.10). The load
 * average is printed beside the figures.
 *
 * What the figures are made of (session 11, measured with `/proc/self/smaps`, `--trace-gc`,
 * `--trace-zone-stats`): loading the modules (Node's type stripping included) takes the process
 * to ~116 MiB and building the system to ~121 MiB ("RSS at start"), before the first event. With
 * Node's compile cache warm (as the CLI runs: nothing is stripped) the start is ~100 MiB and a
 * 10 s run's peak ~124 MiB, so the same growth in MiB reads as a larger ratio (base 1.106 and
 * 1.111, this tree 1.071 and 1.055 in two alternating pairs, session 11).
 * - Noise, not growth: the peak of one and the same run varies by up to ~30 MiB from process to
 *   process, upwards only. At the run's start many functions get hot at once and V8 queues ~100
 *   concurrent Maglev compile jobs; their zones (5–19 MiB at once) live in the compiler thread's
 *   malloc arena, which glibc keeps resident. How many pile up depends on the compiler threads'
 *   timing against the main thread, which the host's load moves either way (at load 1-3 most of
 *   a set's runs piled up, 161-177 MiB medians; at load 4-6 one or two of seven). With `--no-concurrent-recompilation` (or `--no-maglev`)
 *   twelve 10 s runs read 136–141 MiB. The lowest peak (in the range) is no steadier: a 10 s run
 *   also reads ~3 MiB low when its second scavenge falls after its end.
 * - So a second, smaller set of runs (`STEADY_RUNS`, default 3 per length) runs the same children
 *   with `--no-concurrent-recompilation` (V8 compiles on the main thread, one job at a time: no
 *   queue of zones) and gives its medians and their ratio beside the headline. It measures the
 *   simulator's own growth without the compile queue's noise; it is not how the CLI runs, so the
 *   headline (target ≤ 1.10) stays the default runs' medians.
 * - Growth that stops: (1) the young generation — its two 16 MiB semi-spaces are committed
 *   during loading, but a 10 s run makes ~1 scavenge and touches only one of them; from ~20 s on
 *   both are touched (+6.5 MiB). (2) The ping hosts' request window (`PingHost`: 65,536
 *   requests, 8 B each in interval mode, 16 B before session 11) fills at 655 s: 3 × 0.5 MiB
 *   (before: 3 × 1 MiB, +~1 MiB of malloc fragmentation from its doubling). Heap used after a
 *   full GC is 23.0–23.3 MiB at 10, 100, 1,000 and 3,000 s.
 *
 *   RUNS=7 STEADY_RUNS=3 npx node packages/scenarios/bench/longrun.bench.ts [--seconds 10,100,1000] [--sandboxes 4]
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
  /** RSS after the system is built, before its first event, bytes. */
  readonly startRssBytes: number
  /** Heap used plus array buffers after two full GCs at exit, bytes. */
  readonly retainedBytes: number
}

if (args[0] === "--child") {
  const seconds = Number(args[1])
  const scenario = parseScenario(manycore(Number(args[2])), "manycore")
  const start = performance.now()
  const prepared = Runner.prepare(scenario, { untilNs: seconds * 1_000_000_000 })
  const startRssBytes = process.memoryUsage.rss()
  const s = Runner.execute(prepared)
  const wallMs = performance.now() - start
  const pings = prepared.system!.hosts.reduce((a, h) => a + h.sent, 0)
  const maxRssKiB = process.resourceUsage().maxRSS
  // Two full GCs: array buffers are swept concurrently, so after one GC `arrayBuffers` still
  // counts the dead ones in some processes (session 11: 1.5 MiB of the ping hosts' grown-out
  // rings in 2 of 4 runs), which made "retained" depend on timing.
  const gc = (globalThis as { gc?: () => void }).gc
  gc?.()
  gc?.()
  const m = process.memoryUsage()
  const out: ChildResult = { wallMs, events: s.events, records: s.records, pings, maxRssKiB, startRssBytes, retainedBytes: m.heapUsed + m.arrayBuffers }
  process.stdout.write(JSON.stringify(out))
  process.exit(0)
}

const seconds = arg("--seconds", "10,100,1000").split(",").map(Number)
const sandboxes = Number(arg("--sandboxes", "4"))
const RUNS = Number(process.env["RUNS"] ?? 7)
const STEADY_RUNS = Number(process.env["STEADY_RUNS"] ?? 3)
console.log(`manycore(${sandboxes}), fresh process per run, ${RUNS} runs per length (interleaved), then ${STEADY_RUNS} with --no-concurrent-recompilation; load average before: ${load()}`)
/** `runs` children per length, interleaved, with `flags` before the others. */
const runAll = (runs: number, flags: string[]): Map<number, ChildResult[]> => {
  const out = new Map<number, ChildResult[]>(seconds.map((s) => [s, []]))
  for (let i = 0; i < runs; i++) {
    for (const s of seconds) {
      const r = spawnSync(process.execPath, [...flags, "--expose-gc", import.meta.filename, "--child", String(s), String(sandboxes)], { encoding: "utf8" })
      if (r.status !== 0) throw new Error(`longrun child (${s} s) exited ${r.status}: ${r.stderr}`)
      out.get(s)!.push(JSON.parse(r.stdout) as ChildResult)
    }
  }
  return out
}
const results = runAll(RUNS, [])
const steady = runAll(STEADY_RUNS, ["--no-concurrent-recompilation"])
const median = (xs: number[]): number => {
  const a = [...xs].sort((x, y) => x - y)
  return a.length % 2 === 1 ? a[(a.length - 1) / 2]! : (a[a.length / 2 - 1]! + a[a.length / 2]!) / 2
}
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
const peak = (s: number): number => median(results.get(s)!.map((o) => o.maxRssKiB * 1024))
const steadyPeak = (s: number): number => median(steady.get(s)!.map((o) => o.maxRssKiB * 1024))
const retained = (s: number): number => median(results.get(s)!.map((o) => o.retainedBytes))
console.table(seconds.map((s) => {
  const os = results.get(s)!
  const rss = os.map((o) => o.maxRssKiB * 1024)
  return {
    "simulated s": s, "wall s (median)": (median(os.map((o) => o.wallMs)) / 1000).toFixed(2), events: os[0]!.events, records: os[0]!.records, pings: os[0]!.pings,
    "peak RSS MiB (median)": mib(peak(s)), "peak RSS range": `${mib(Math.min(...rss))}–${mib(Math.max(...rss))}`, "RSS at start MiB": mib(median(os.map((o) => o.startRssBytes))), "retained MiB": mib(retained(s)),
    ...(STEADY_RUNS > 0 ? { "peak RSS MiB, main-thread compiles (median)": mib(steadyPeak(s)) } : {}),
  }
}))
const first = seconds[0]!, last = seconds[seconds.length - 1]!
console.log(`${last} s / ${first} s: peak RSS (medians) ${(peak(last) / peak(first)).toFixed(3)} (target ≤ 1.10)${STEADY_RUNS > 0 ? `, with compiles on the main thread ${(steadyPeak(last) / steadyPeak(first)).toFixed(3)}` : ""}, retained ${(retained(last) / retained(first)).toFixed(3)}; load average after: ${load()}`)
