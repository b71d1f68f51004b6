/**
 * `npm run bench -- sweep`: the sweep engine's throughput on the benchmark, a sweep of
 * 1,001 random rate-monotonic task sets (UUniFast, n = 10, U from 0.5 to 1.0 by 0.05: 11 points ×
 * 91 sets, log-uniform periods 10 ms–1 s, 10 s simulated each, RTA per set):
 *
 * 1. `qvsim sweep --jobs 1` and `--jobs 2` (worker threads), and `--jobs 2` with child processes:
 *    wall time, runs/s, user and system CPU (from /usr/bin/time: the process and its children);
 * 2. the per-run overhead in a warm worker: the same task sets run for 1 ms of simulated time
 *    through a warm one-worker pool, so nearly all that is left is the engine's own cost per run
 *    (dispatch, scenario building and validation, analysis, metrics, the record, the message);
 * 3. the same sweep as separate `qvsim run` processes, one per task set (a sample of `SAMPLE`,
 *    default 100, extrapolated to 1,001; `SAMPLE=1001` for all of them).
 *
 * The machine is shared: the load average is printed before and after. Run it idle for the figures.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import * as Plan from "../src/sweep/Plan.ts"
import * as Pool from "../src/sweep/Pool.ts"
import * as SweepFile from "../src/sweep/SweepFile.ts"

const cli = join(import.meta.dirname, "../src/cli/qvsim.mjs")
const dir = mkdtempSync(join(tmpdir(), "qvsim-bench-sweep-"))
const SAMPLE = Number(process.env["SAMPLE"] ?? 100)
const ONLY = process.argv.slice(2)
const want = (part: string): boolean => ONLY.length === 0 || ONLY.includes(part)

const sweep = (until: string) => ({
  name: "rm-1001",
  description: "1,001 random RM task sets: UUniFast, n = 10, U 0.5..1.0 by 0.05, 91 sets per point, RTA per set",
  until,
  tasksets: {
    generator: "uunifast", n: 10, utilisation: { from: 0.5, to: 1.0, step: 0.05 },
    periods: { distribution: "log-uniform", min: "10ms", max: "1s", granularity: "1ms" }, count: 91,
  },
  measure: { analyses: ["rta"], metrics: ["pcpus.*.invocations", "analysis.**"] },
})
writeFileSync(join(dir, "rm-1001.json"), JSON.stringify(sweep("10s")))
writeFileSync(join(dir, "rm-1001-1ms.json"), JSON.stringify(sweep("1ms")))

const load = (): string => loadavg().map((x) => x.toFixed(2)).join(" ")
const haveTime = existsSync("/usr/bin/time")

/** Runs qvsim with args; wall, user and system CPU of it and its children (GNU time), in s. */
const timed = (args: string[], env: Record<string, string> = {}): { wallS: number; userS: number; sysS: number; stdout: string } => {
  const cmd = haveTime ? "/usr/bin/time" : process.execPath
  const argv = haveTime ? ["-f", "TIME %e %U %S", process.execPath, cli, ...args] : [cli, ...args]
  const start = performance.now()
  const r = spawnSync(cmd, argv, { cwd: dir, encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 })
  const wallS = (performance.now() - start) / 1000
  if (r.status !== 0) throw new Error(`qvsim ${args.join(" ")}: exit ${r.status}: ${r.stderr}`)
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr)
  return { wallS, userS: m === null ? NaN : Number(m[2]), sysS: m === null ? NaN : Number(m[3]), stdout: r.stdout }
}

console.log(`load average before: ${load()} (2 cores; the machine is shared)`)
const rows: string[][] = []
/** `sweepS`: the sweep itself (workers' start, runs, summary), as `qvsim sweep` reports it; the wall column adds the CLI's start. */
const row = (name: string, runs: number, t: { wallS: number; userS: number; sysS: number }, sweepS?: number) =>
  rows.push([name, String(runs), t.wallS.toFixed(1), (runs / t.wallS).toFixed(1), sweepS === undefined ? "" : sweepS.toFixed(1), sweepS === undefined ? "" : (runs / sweepS).toFixed(1), t.userS.toFixed(1), t.sysS.toFixed(1)])

let jobs1: { wallS: number; sweepS: number } | undefined
if (want("jobs")) {
  for (const [name, jobs, runtime] of [["sweep --jobs 1 (threads)", 1, "worker_threads"], ["sweep --jobs 2 (threads)", 2, "worker_threads"], ["sweep --jobs 2 (processes)", 2, "child_process"]] as const) {
    const out = `out-${jobs}-${runtime}`
    rmSync(join(dir, out), { recursive: true, force: true })
    const t = timed(["sweep", "rm-1001.json", "--jobs", String(jobs), "--out", out, "--json"], { QVSIM_SWEEP_RUNTIME: runtime })
    const o = JSON.parse(t.stdout) as { ran: number; failed: number; wallMs: number }
    if (o.failed > 0) throw new Error(`${o.failed} runs failed`)
    const sweepS = o.wallMs / 1000
    row(name, o.ran, t, sweepS)
    if (jobs === 1) jobs1 = { wallS: t.wallS, sweepS }
    else if (jobs1 !== undefined) rows[rows.length - 1]!.push(`${(jobs1.wallS / t.wallS).toFixed(2)}× (sweep ${(jobs1.sweepS / sweepS).toFixed(2)}×)`)
  }
}

let overheadMs: number | undefined
if (want("overhead")) {
  // A warm one-worker pool; the 1 ms runs leave the engine's cost per run.
  const loaded = await SweepFile.load(join(dir, "rm-1001-1ms.json"))
  const plan = Plan.make(loaded)
  const pool = Pool.make(1)
  const task = (indices: number[]) => pool.run({ file: loaded.file, fileArg: "rm-1001-1ms.json", hash: loaded.hash, indices })
  await task([0, 1, 2, 3, 4, 5, 6, 7]) // loads the worker, builds its plan, warms the JIT
  for (let i = 0; i < 20; i++) await task(Array.from({ length: 8 }, (_, k) => (8 * i + k) % plan.runs.length))
  const n = 400
  const start = performance.now()
  for (let i = 0; i < n; i += 8) await task(Array.from({ length: 8 }, (_, k) => (i + k) % plan.runs.length))
  overheadMs = (performance.now() - start) / n
  await pool.destroy()
}

let perProcessS: number | undefined
if (want("processes")) {
  // The same task sets as scenario files, one `qvsim run` process each (the sample evenly spread).
  const loaded = await SweepFile.load(join(dir, "rm-1001.json"))
  const plan = Plan.make(loaded)
  mkdirSync(join(dir, "sets"), { recursive: true })
  const step = Math.max(1, Math.floor(plan.runs.length / SAMPLE))
  const picked = plan.runs.filter((_, i) => i % step === 0).slice(0, SAMPLE)
  const files = picked.map((r) => {
    const file = join("sets", `${r.index}.json`)
    writeFileSync(join(dir, file), JSON.stringify({ ...Plan.inputOf(loaded, plan, r.point, r.set, r.seed), name: `set-${r.index}` }))
    return file
  })
  timed(["run", files[0]!, "--json"]) // fills the compile cache
  let wall = 0, user = 0, sys = 0
  for (const f of files) {
    const t = timed(["run", f, "--json", "--until", "10s"])
    wall += t.wallS
    user += t.userS
    sys += t.sysS
  }
  perProcessS = wall / files.length
  const scale = plan.runs.length / files.length
  row(`${files.length} × qvsim run, ×${scale.toFixed(2)} → 1,001`, plan.runs.length, { wallS: wall * scale, userS: user * scale, sysS: sys * scale })
}

const header = ["what", "runs", "wall s", "runs/s", "sweep s", "runs/s", "user s", "sys s", "speed-up"]
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)))
console.log(header.map((h, i) => h.padEnd(widths[i]!)).join("  "))
for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "))
if (overheadMs !== undefined) console.log(`per-run overhead in a warm worker (1 ms simulated runs, batches of 8): ${overheadMs.toFixed(2)} ms/run (aim < 5 ms)`)
if (perProcessS !== undefined) console.log(`one qvsim run process per task set: ${(perProcessS * 1000).toFixed(0)} ms each`)
console.log(`load average after: ${load()}`)
rmSync(dir, { recursive: true, force: true })
