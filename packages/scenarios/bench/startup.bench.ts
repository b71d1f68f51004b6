/**
 * `npm run bench -- startup`: how fast a `qvsim` process starts, and how much memory it takes:
 * `qvsim --version`, `qvsim list` and a 1 ms `qvsim run timers`, each run as a fresh process
 * (`node packages/scenarios/src/cli/qvsim.mjs ...`, what `npx qvsim` runs less npx's own start)
 * `ROUNDS` times after one warm-up (which fills Node's compile cache). Prints the median and the
 * best wall time and the largest peak RSS (reported by the child itself at exit through a
 * `--import` hook: `process.resourceUsage().maxRSS`).
 *
 * Targets (issue 10): `--version` and `list` under 0.25 s wall on an idle machine, `list` under
 * 100 MiB peak RSS. The machine is shared: the load average is printed beside the figures.
 */
import { spawnSync } from "node:child_process"
import { loadavg } from "node:os"
import { join } from "node:path"

const ROUNDS = Number(process.env["ROUNDS"] ?? 10)
const cli = join(import.meta.dirname, "../src/cli/qvsim.mjs")
const hook = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\nmaxRSS="+process.resourceUsage().maxRSS+"\\n"))`

const cases: Array<[string, string[]]> = [
  ["qvsim --version", ["--version"]],
  ["qvsim list", ["list"]],
  ["qvsim run timers --until 1ms", ["run", "timers", "--until", "1ms"]],
]

const once = (args: string[]): { wallMs: number; rssKiB: number } => {
  const start = performance.now()
  const r = spawnSync(process.execPath, ["--import", hook, cli, ...args], { encoding: "utf8" })
  const wallMs = performance.now() - start
  if (r.status !== 0) throw new Error(`qvsim ${args.join(" ")} exited ${r.status}: ${r.stderr}`)
  const m = /maxRSS=(\d+)/.exec(r.stderr)
  return { wallMs, rssKiB: m === null ? NaN : Number(m[1]) }
}

console.log(`load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}; ${ROUNDS} rounds each after one warm-up`)
console.log(`${"command".padEnd(32)} ${"median s".padStart(9)} ${"best s".padStart(8)} ${"peak RSS MiB".padStart(13)}`)
for (const [name, args] of cases) {
  once(args)
  const runs = Array.from({ length: ROUNDS }, () => once(args))
  const walls = runs.map((r) => r.wallMs).sort((a, b) => a - b)
  const median = walls[Math.floor(walls.length / 2)]!
  const rss = Math.max(...runs.map((r) => r.rssKiB)) / 1024
  console.log(`${name.padEnd(32)} ${(median / 1000).toFixed(3).padStart(9)} ${(walls[0]! / 1000).toFixed(3).padStart(8)} ${rss.toFixed(1).padStart(13)}`)
}
