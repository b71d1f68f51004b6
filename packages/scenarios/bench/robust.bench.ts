/**
 * `npm run bench -- robust`: the whole paper's robust study, every experiment of the registry with
 * `qvsim run <experiment> --robust --jobs 2` (its default domain, sample size and scale), one after
 * the other: per experiment the points, the wall time, the user and system CPU (of the CLI and its
 * workers, from /usr/bin/time), and the total; then each experiment's headline run (`qvsim run
 * <experiment>`, paper size) for comparison with the runs before the robust framework.
 *
 * The machine is shared: the load average is printed before and after. `ONLY=robust` or
 * `ONLY=headline` runs one part.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync } from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { join } from "node:path"
import { experiments } from "../src/paper/registry.ts"

const cli = join(import.meta.dirname, "../src/cli/qvsim.mjs")
const dir = mkdtempSync(join(tmpdir(), "qvsim-bench-robust-"))
const only = process.env["ONLY"]
const load = (): string => loadavg().map((x) => x.toFixed(2)).join(" ")
const haveTime = existsSync("/usr/bin/time")

const timed = (args: string[]): { wallS: number; userS: number; sysS: number; stdout: string } => {
  const cmd = haveTime ? "/usr/bin/time" : process.execPath
  const argv = haveTime ? ["-f", "TIME %e %U %S", process.execPath, cli, ...args] : [cli, ...args]
  const start = performance.now()
  const r = spawnSync(cmd, argv, { cwd: dir, encoding: "utf8", maxBuffer: 1 << 28 })
  const wallS = (performance.now() - start) / 1000
  if (r.status !== 0 && r.status !== 1) throw new Error(`qvsim ${args.join(" ")}: exit ${r.status}: ${r.stderr}`)
  const m = /TIME ([\d.]+) ([\d.]+) ([\d.]+)/.exec(r.stderr)
  return { wallS, userS: m === null ? NaN : Number(m[2]), sysS: m === null ? NaN : Number(m[3]), stdout: r.stdout }
}

const table = (head: string[], rows: string[][]): string => {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join("  ")
  return [line(head), line(w.map((n) => "─".repeat(n))), ...rows.map(line)].join("\n")
}

console.log(`load average before: ${load()} (2 cores; the machine is shared)`)
if (only === undefined || only === "robust") {
  const rows: string[][] = []
  let wall = 0, user = 0, sys = 0, points = 0
  for (const e of experiments) {
    const t = timed(["run", e.name, "--robust", "--jobs", "2", "--json", "--out", join(dir, e.name)])
    const o = JSON.parse(t.stdout) as { samples: number; scale: number; claims: Array<{ holds: boolean }>; pooled: Array<{ holds: boolean }> }
    const claims = [...o.claims, ...o.pooled]
    rows.push([e.name, String(o.samples), String(o.scale), t.wallS.toFixed(1), t.userS.toFixed(1), t.sysS.toFixed(1), `${claims.filter((c) => c.holds).length}/${claims.length}`])
    wall += t.wallS, user += t.userS, sys += t.sysS, points += o.samples
  }
  rows.push(["whole paper", String(points), "", wall.toFixed(1), user.toFixed(1), sys.toFixed(1), ""])
  console.log("\nqvsim run <experiment> --robust --jobs 2 (default domain)\n" + table(["experiment", "points", "scale", "wall s", "user s", "sys s", "claims holding everywhere"], rows))
}
if (only === undefined || only === "headline") {
  const rows = experiments.map((e) => {
    const t = timed(["run", e.name, "--json", "--force", "--out", join(dir, `${e.name}-headline`)])
    return [e.name, t.wallS.toFixed(2), t.userS.toFixed(2)]
  })
  console.log("\nqvsim run <experiment> (headline, paper size)\n" + table(["experiment", "wall s", "user s"], rows))
}
console.log(`\nload average after: ${load()}`)
