/**
 * `qvsim sweep` and `qvsim merge` end to end, as a user meets them: results independent of
 * --jobs and of sharding (byte-identical summary.csv), resume after a crash or Ctrl-C, failed runs
 * recorded, shards from the environment, the Slurm script, and every bad input a one-line exit 2
 * that loses nothing already written.
 */
import { spawn, spawnSync } from "node:child_process"
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "../../src/cli/qvsim.mjs")

const qvsim = (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: "utf8", env: { ...process.env, ...env } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-sweep-"))

/** A small schedulability sweep: 3 utilisations × 4 task sets, 300 ms each. */
const SMALL = {
  name: "small",
  until: "300ms",
  tasksets: {
    generator: "uunifast", n: 5, utilisation: { from: 0.6, to: 1.0, step: 0.2 },
    periods: { distribution: "log-uniform", min: "5ms", max: "100ms", granularity: "1ms" }, count: 4,
  },
  measure: { metrics: ["pcpus.*.invocations", "pcpus.*.threads.*.maxResponseNs", "analysis.**"] },
}

const write = (dir: string, name: string, value: unknown): string => {
  writeFileSync(join(dir, name), JSON.stringify(value, null, 2))
  return name
}

const lines = (path: string): string[] => readFileSync(path, "utf8").split("\n").filter((l) => l !== "")

const oneLineExit2 = (r: { code: number | null; stderr: string }, pattern: RegExp): void => {
  expect(r.code, r.stderr).toBe(2)
  expect(r.stderr.trim().split("\n")).toHaveLength(1)
  expect(r.stderr.trim()).toMatch(pattern)
}

describe("qvsim sweep", { timeout: 180_000 }, () => {
  it("--jobs 1 and --jobs 2 give byte-identical summary.csv; shards merged give the same bytes", () => {
    const dir = fresh()
    write(dir, "small.json", SMALL)
    const one = qvsim(["sweep", "small.json", "--jobs", "1", "--out", "one"], dir)
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toMatch(/^sweep {8}small \(hash [0-9a-f]{16}; 3 points × 4 sets × 1 seed = 12 runs\)/)
    // Progress on stderr: done/total, runs/s, ETA.
    expect(one.stderr).toMatch(/12\/12 runs, [\d.]+ runs\/s, ETA/)
    const two = qvsim(["sweep", "small.json", "--jobs", "2", "--out", "two", "--json"], dir)
    expect(two.code, two.stderr).toBe(0)
    expect(two.stderr).toBe("")
    expect(JSON.parse(two.stdout)).toMatchObject({ sweep: "small", runs: 12, ran: 12, failed: 0, jobs: 2 })
    const csv1 = readFileSync(join(dir, "one", "summary.csv"))
    expect(readFileSync(join(dir, "two", "summary.csv")).equals(csv1)).toBe(true)
    // Tidy: numbers as numbers, missing as empty, never N/A; parameters in columns.
    const text = csv1.toString()
    expect(text.split("\n")[0]).toBe("tasksets.n,tasksets.utilisation,kind,name,runs,failed,count,mean,sd,min,max,ci95_low,ci95_high,accepted,acceptance_ratio,wilson95_low,wilson95_high")
    expect(text).not.toMatch(/N\/A|NaN|undefined|null/)
    expect(text).toMatch(/^5,0\.6,verdict,rta,4,0,4,,,,,,,\d,[\d.]+,[\d.]+,[\d.]+$/m)
    // Provenance in summary.json and in runs.jsonl's header.
    const summary = JSON.parse(readFileSync(join(dir, "two", "summary.json"), "utf8"))
    expect(summary.provenance).toMatchObject({ qvsim: expect.any(String), sweep: { name: "small", hash: expect.stringMatching(/^[0-9a-f]{16}$/) }, command: "qvsim sweep small.json --jobs 2 --out two --json", gridPoints: 3, runs: 12, seeds: [1], sets: 4 })
    const header = JSON.parse(lines(join(dir, "two", "runs.jsonl"))[0]!)
    expect(header).toMatchObject({ type: "header", sweep: { hash: summary.provenance.sweep.hash }, shard: null })

    for (let i = 0; i < 3; i++) expect(qvsim(["sweep", "small.json", "--shard", `${i}/3`, "--out", "sharded", "--json"], dir).code).toBe(0)
    expect(lines(join(dir, "sharded", "shards", "1", "runs.jsonl"))).toHaveLength(1 + 4)
    expect(existsSync(join(dir, "sharded", "summary.csv"))).toBe(false)
    const merged = qvsim(["merge", "sharded"], dir)
    expect(merged.code, merged.stderr).toBe(0)
    expect(merged.stdout).toMatch(/merged {7}3 shards: 12 runs/)
    expect(readFileSync(join(dir, "sharded", "summary.csv")).equals(csv1)).toBe(true)
  })

  it("--resume after a crash: a torn last line is cut, the runs already there are skipped, the result is the same", () => {
    const dir = fresh()
    write(dir, "small.json", SMALL)
    expect(qvsim(["sweep", "small.json", "--jobs", "2", "--out", "full", "--json"], dir).code).toBe(0)
    const all = lines(join(dir, "full", "runs.jsonl"))
    // What a crash leaves: the header, 5 runs, half of a sixth line.
    const crashed = join(dir, "crashed")
    spawnSync("mkdir", [crashed])
    writeFileSync(join(crashed, "runs.jsonl"), `${all.slice(0, 6).join("\n")}\n${all[6]!.slice(0, 40)}`)
    const again = qvsim(["sweep", "small.json", "--out", "crashed"], dir)
    oneLineExit2(again, /crashed\/runs\.jsonl already holds runs: continue it with --resume/)
    const resumed = qvsim(["sweep", "small.json", "--out", "crashed", "--resume", "--json"], dir)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ skipped: 5, ran: 7 })
    expect(readFileSync(join(crashed, "summary.csv")).equals(readFileSync(join(dir, "full", "summary.csv")))).toBe(true)
    for (const l of lines(join(crashed, "runs.jsonl"))) JSON.parse(l)
    // The sweep file changed: --resume refuses, naming both hashes, and writes nothing.
    const before = readFileSync(join(crashed, "runs.jsonl"))
    write(dir, "small.json", { ...SMALL, until: "200ms" })
    const changed = qvsim(["sweep", "small.json", "--out", "crashed", "--resume"], dir)
    oneLineExit2(changed, /--resume: crashed\/runs\.jsonl holds runs of another sweep \(hash [0-9a-f]{16}; .*small\.json is now [0-9a-f]{16}\)/)
    expect(readFileSync(join(crashed, "runs.jsonl")).equals(before)).toBe(true)
  })

  it("Ctrl-C: exit 130, every finished run written whole, --resume completes the same sweep", async () => {
    const dir = fresh()
    write(dir, "long.json", { ...SMALL, name: "long", until: "5s", tasksets: { ...SMALL.tasksets, count: 12 } })
    const child = spawn(process.execPath, [main, "sweep", "long.json", "--jobs", "1", "--out", "o"], { cwd: dir })
    let stderr = ""
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()))
    const runsFile = join(dir, "o", "runs.jsonl")
    const started = Date.now()
    while (!(existsSync(runsFile) && lines(runsFile).length >= 4) && Date.now() - started < 90_000) await new Promise((r) => setTimeout(r, 50))
    child.kill("SIGINT")
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    expect(code, stderr).toBe(130)
    expect(stderr).toMatch(/interrupted; the finished runs are in o\/runs\.jsonl: continue with --resume/)
    const kept = lines(runsFile)
    expect(kept.length).toBeGreaterThanOrEqual(4)
    expect(kept.length).toBeLessThan(1 + 36)
    for (const l of kept) JSON.parse(l)
    expect(readFileSync(runsFile, "utf8").endsWith("\n")).toBe(true)
    const resumed = qvsim(["sweep", "long.json", "--out", "o", "--resume", "--json"], dir)
    expect(resumed.code, resumed.stderr).toBe(0)
    expect(JSON.parse(resumed.stdout)).toMatchObject({ runs: 36, skipped: kept.length - 1, ran: 36 - (kept.length - 1) })
    expect(lines(runsFile)).toHaveLength(37)
  })

  it("failed runs are records with the error and a replay line; --only replays one", () => {
    const dir = fresh()
    write(dir, "thr.json", { name: "thr", base: join(import.meta.dirname, "../fixtures/throwing-system.ts"), seeds: { from: 1, count: 6 } })
    const r = qvsim(["sweep", "thr.json", "--jobs", "2"], dir)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/failed {7}\d runs: each has its error and replay command line in out\/thr\/runs\.jsonl/)
    const failed = lines(join(dir, "out", "thr", "runs.jsonl")).slice(1).map((l) => JSON.parse(l)).filter((x) => !x.ok)
    expect(failed.length).toBeGreaterThan(0)
    expect(failed[0].error).toMatch(/ProgramError: .*thread "flaky": its program threw: flaky thread gave up/)
    expect(failed[0].replay).toBe(`qvsim sweep thr.json --only seed=${failed[0].seed}`)
    const replay = qvsim(["sweep", "thr.json", "--only", `seed=${failed[0].seed}`, "--json"], dir)
    expect(replay.code).toBe(0)
    expect(JSON.parse(replay.stdout)).toMatchObject({ key: failed[0].key, ok: false, error: failed[0].error })
    const csv = readFileSync(join(dir, "out", "thr", "summary.csv"), "utf8")
    expect(csv).toMatch(new RegExp(`^metric,events,6,${failed.length},${6 - failed.length},`, "m"))
  })

  it("bad input: one line naming it, exit 2, nothing already written lost", () => {
    const dir = fresh()
    write(dir, "small.json", SMALL)
    expect(qvsim(["sweep", "small.json", "--out", "kept", "--json"], dir).code).toBe(0)
    const before = readdirSync(join(dir, "kept")).map((f) => [f, readFileSync(join(dir, "kept", f))] as const)
    const cases: Array<[unknown, RegExp]> = [
      [{ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[0].budgte": ["1ms"] } }, /^qvsim: grid pcpus\[0\]\.vcpus\[0\]\.budgte: pcpus\[0\]\.vcpus\[0\] has no field "budgte" \(did you mean "budget"\? fields: name, kind, budget, period, deadline, policy\)$/],
      [{ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[0].budget": [true] } }, /^qvsim: grid pcpus\[0\]\.vcpus\[0\]\.budget: invalid value true/],
      [{ name: "b", base: "rm-periodic", grid: { "scheduler.quantum": [] } }, /^qvsim: invalid sweep b\.json: grid\.scheduler\.quantum: an axis needs at least one value/],
      [{ name: "b", base: "rm-periodic", grid: { "scheduler.quantum": { from: "2ms", to: "1ms", step: "1ms" } } }, /^qvsim: grid\["scheduler\.quantum"\]: to "1ms" is below from "2ms"/],
    ]
    for (const [sweep, pattern] of cases) {
      write(dir, "b.json", sweep)
      oneLineExit2(qvsim(["sweep", "b.json", "--out", "kept"], dir), pattern)
    }
    oneLineExit2(qvsim(["sweep", "small.json", "--shard", "3/2", "--out", "kept"], dir), /^qvsim: --shard 3\/2: the index must be below the number of shards \(0 to 1\)$/)
    oneLineExit2(qvsim(["sweep", "small.json", "--shard", "x", "--out", "kept"], dir), /^qvsim: --shard x: expected I\/N/)
    oneLineExit2(qvsim(["sweep", "missing.json"], dir), /sweep file .*missing\.json does not exist/)
    for (const [f, bytes] of before) expect(readFileSync(join(dir, "kept", f)).equals(bytes)).toBe(true)
  })

  it("merge refuses a missing shard, a shard of another sweep, a run found twice with different results", () => {
    const dir = fresh()
    write(dir, "small.json", SMALL)
    for (let i = 0; i < 2; i++) expect(qvsim(["sweep", "small.json", "--shard", `${i}/2`, "--out", "s", "--json"], dir).code).toBe(0)
    const shard1 = join(dir, "s", "shards", "1", "runs.jsonl")
    const saved = readFileSync(shard1)
    // A shard of a different sweep file.
    write(dir, "other.json", { ...SMALL, until: "200ms" })
    expect(qvsim(["sweep", "other.json", "--shard", "1/2", "--out", "o", "--json"], dir).code).toBe(0)
    copyFileSync(join(dir, "o", "shards", "1", "runs.jsonl"), shard1)
    oneLineExit2(qvsim(["merge", "s"], dir), /^qvsim: merge: s\/shards\/1\/runs\.jsonl is from another sweep file \(hash [0-9a-f]{16}, .*other\.json; this sweep is [0-9a-f]{16}\)$/)
    // A missing shard.
    writeFileSync(shard1, saved)
    spawnSync("rm", [shard1])
    oneLineExit2(qvsim(["merge", "s"], dir), /^qvsim: merge: missing shard 1 of 2 \(no s\/shards\/1\/runs\.jsonl\)$/)
    // A run missing from a shard.
    const savedLines = saved.toString().split("\n").filter((l) => l !== "")
    writeFileSync(shard1, `${savedLines.slice(0, -1).join("\n")}\n`)
    const lost = JSON.parse(savedLines[savedLines.length - 1]!).key
    oneLineExit2(qvsim(["merge", "s"], dir), new RegExp(`^qvsim: merge: missing run: ${lost.replace(/[.[\]()*+?^$|\\]/g, "\\$&")} \\(shard 1\\)$`))
    // A run found twice: the same fingerprint is kept once; a different one is refused.
    const first0 = lines(join(dir, "s", "shards", "0", "runs.jsonl"))[1]!
    writeFileSync(shard1, `${saved}${first0}\n`)
    const ok = qvsim(["merge", "s"], dir)
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toMatch(/1 found twice with the same fingerprint, kept once/)
    const tampered = JSON.parse(first0)
    writeFileSync(shard1, `${saved}${JSON.stringify({ ...tampered, fingerprint: "0000000000000000" })}\n`)
    oneLineExit2(qvsim(["merge", "s"], dir), new RegExp(`^qvsim: merge: run ${tampered.key.replace(/[.[\]()*+?^$|\\]/g, "\\$&")} appears twice with different results \\(shard 0: fingerprint ${tampered.fingerprint}; shard 1: fingerprint 0000000000000000\\)$`))
  })

  it("the shard from Slurm's or Kubernetes' environment; --slurm writes an array script", () => {
    const dir = fresh()
    write(dir, "small.json", SMALL)
    const slurm = qvsim(["sweep", "small.json", "--out", "e", "--json"], dir, { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "3", SLURM_ARRAY_TASK_MIN: "0" })
    expect(slurm.code, slurm.stderr).toBe(0)
    expect(JSON.parse(slurm.stdout)).toMatchObject({ shard: { index: 1, count: 3 }, runs: 4 })
    const k8s = qvsim(["sweep", "small.json", "--out", "e", "--shards", "3", "--json"], dir, { JOB_COMPLETION_INDEX: "2" })
    expect(JSON.parse(k8s.stdout)).toMatchObject({ shard: { index: 2, count: 3 } })
    oneLineExit2(qvsim(["sweep", "small.json", "--out", "e"], dir, { JOB_COMPLETION_INDEX: "0" }), /JOB_COMPLETION_INDEX=0 is set: give the number of shards with --shards N/)
    const script = qvsim(["sweep", "small.json", "--slurm", "4", "--out", "cluster"], dir)
    expect(script.code, script.stderr).toBe(0)
    const text = readFileSync(join(dir, "cluster", "sweep.sbatch"), "utf8")
    expect(text).toMatch(/^#SBATCH --array=0-3$/m)
    expect(text).toMatch(/^#SBATCH --output=.*\/cluster\/shards\/%a\/slurm-%A_%a\.out$/m)
    expect(text).toMatch(/^exec '.*node.*' '.*qvsim\.mjs' sweep '.*small\.json' --out '.*cluster' --resume --jobs/m)
    for (let i = 0; i < 4; i++) expect(existsSync(join(dir, "cluster", "shards", String(i)))).toBe(true)
    oneLineExit2(qvsim(["sweep", "small.json", "--submit"], dir), /--submit applies to --slurm N/)
  })

  it("qvsim schema --sweep prints the sweep file's JSON Schema", () => {
    const r = qvsim(["schema", "--sweep"], fresh())
    expect(r.code).toBe(0)
    const schema = JSON.parse(r.stdout)
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["name", "base", "grid", "zip", "seeds", "tasksets", "measure", "until"]))
  })
})
