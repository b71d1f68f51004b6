/**
 * A sweep on a real Slurm cluster (started by scripts/test-slurm.sh, `npm run test:slurm`):
 * `qvsim sweep FILE --slurm 4 --submit` writes and submits a 4-task array job, each task runs its
 * shard on the cluster's node (its shard from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT), then
 * `qvsim merge DIR` checks and merges the shards: the merged summary.csv is byte-identical to the
 * same sweep run here with `--jobs 2`. On failure the assertion carries the tasks' Slurm logs.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const repo = join(import.meta.dirname, "../../..")
const cli = join(repo, "packages/scenarios/src/cli/qvsim.mjs")
const cluster = process.env["QVSIM_SLURM_DIR"]!

const qvsim = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [cli, ...args], { cwd, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Every task's Slurm output, for failure messages. */
const logs = (out: string): string => {
  const shards = join(out, "shards")
  if (!existsSync(shards)) return "(no shards folder)"
  return readdirSync(shards).sort().map((i) => {
    const dir = join(shards, i)
    const files = readdirSync(dir).filter((f) => f.startsWith("slurm-"))
    return `shard ${i}: ${files.map((f) => `${f}:\n${readFileSync(join(dir, f), "utf8")}`).join("\n") || "(no Slurm output)"}`
  }).join("\n")
}

const SWEEP = {
  name: "slurm-small",
  description: "3 utilisations × 4 task sets × 2 seeds, 300 ms each",
  until: "300ms",
  seeds: [1, 2],
  tasksets: {
    generator: "uunifast", n: 5, utilisation: { from: 0.6, to: 1.0, step: 0.2 },
    periods: { distribution: "log-uniform", min: "5ms", max: "100ms", granularity: "1ms" }, count: 4,
  },
  measure: { metrics: ["pcpus.*.invocations", "analysis.**"] },
}

describe("qvsim sweep on Slurm", () => {
  it("--slurm 4 --submit, wait, merge: the same summary.csv as a local --jobs 2 run", async () => {
    const dir = mkdtempSync(join(cluster, "sweep-"))
    writeFileSync(join(dir, "sweep.json"), JSON.stringify(SWEEP))

    const local = qvsim(["sweep", "sweep.json", "--jobs", "2", "--out", "local", "--json"], dir)
    expect(local.code, local.stderr).toBe(0)

    const submitted = qvsim(["sweep", "sweep.json", "--slurm", "4", "--submit", "--out", "cluster", "--json"], dir)
    expect(submitted.code, submitted.stderr).toBe(0)
    const { jobId, shards, script } = JSON.parse(submitted.stdout) as { jobId: string; shards: number; script: string }
    expect(jobId).toMatch(/^\d+$/)
    expect(shards).toBe(4)
    expect(readFileSync(script, "utf8")).toMatch(/^#SBATCH --array=0-3$/m)

    // Wait until no task of the job is queued or running (no accounting on this cluster: squeue).
    const deadline = Date.now() + 240_000
    for (;;) {
      const q = spawnSync("squeue", ["-h", "-j", jobId, "-o", "%i %T"], { encoding: "utf8" })
      expect(q.status, `squeue: ${q.stderr}`).toBe(0)
      if (q.stdout.trim() === "") break
      expect(Date.now() < deadline, `job ${jobId} still queued after 240 s:\n${q.stdout}\n${logs(join(dir, "cluster"))}`).toBe(true)
      await new Promise((r) => setTimeout(r, 500))
    }

    const out = join(dir, "cluster")
    for (let i = 0; i < 4; i++) {
      const runs = join(out, "shards", String(i), "runs.jsonl")
      expect(existsSync(runs), `shard ${i} wrote no runs.jsonl\n${logs(out)}`).toBe(true)
      // Each task found its shard in Slurm's environment and ran it on the cluster's node.
      expect(logs(out)).toContain(`shard ${i}/4 (from SLURM_ARRAY_TASK_ID=${i} (from 0), SLURM_ARRAY_TASK_COUNT=4)`)
    }
    const merged = qvsim(["merge", "cluster", "--json"], dir)
    expect(merged.code, `${merged.stderr}\n${logs(out)}`).toBe(0)
    expect(JSON.parse(merged.stdout)).toMatchObject({ shards: 4, runs: 24, duplicates: 0, failed: 0 })
    const a = readFileSync(join(dir, "local", "summary.csv"))
    const b = readFileSync(join(out, "summary.csv"))
    expect(b.equals(a), `merged:\n${b}\nlocal:\n${a}`).toBe(true)
  })
})
