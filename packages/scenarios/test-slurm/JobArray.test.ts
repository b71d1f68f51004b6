/**
 * Smoke test of qvsim on a real Slurm cluster (started by scripts/test-slurm.sh): a 2-task job
 * array whose task N runs `qvsim run timers --json --seed N` from this checkout. Both tasks must
 * run under Slurm (each says its job, task and node), and print the fingerprint of the same run
 * made here without Slurm; the two seeds give two fingerprints.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const repo = join(import.meta.dirname, "../../..")
const main = join(repo, "packages/scenarios/src/cli/main.ts")
const cluster = process.env["QVSIM_SLURM_DIR"]!

/** What a run says in `--json`, less its wall time. */
const deterministic = (json: string) => {
  const { wallMs: _wallMs, ...rest } = JSON.parse(json) as Record<string, unknown>
  return rest
}

const localRun = (seed: number) => {
  const r = spawnSync(process.execPath, [main, "run", "timers", "--json", "--seed", String(seed)], { cwd: repo, encoding: "utf8" })
  expect(r.stderr).toBe("")
  expect(r.status).toBe(0)
  return deterministic(r.stdout)
}

describe("qvsim on Slurm", () => {
  it("a 2-task job array runs timers with seeds 1 and 2: the local run's fingerprints, two different ones", () => {
    const dir = mkdtempSync(join(cluster, "job-array-"))
    const script = join(dir, "timers.sh")
    writeFileSync(script, [
      "#!/bin/bash",
      `echo "task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $SLURMD_NODENAME" >&2`,
      `exec ${JSON.stringify(process.execPath)} ${JSON.stringify(main)} run timers --json --seed "$SLURM_ARRAY_TASK_ID"`,
      "",
    ].join("\n"))

    const submit = spawnSync("sbatch", [
      "--wait", "--parsable", "--array=1-2", "--job-name=qvsim-smoke", `--chdir=${repo}`,
      `--output=${dir}/task-%a.json`, `--error=${dir}/task-%a.err`, script,
    ], { encoding: "utf8", timeout: 240_000 })
    const errs = [1, 2].map((task) => { try { return readFileSync(join(dir, `task-${task}.err`), "utf8") } catch { return "(none)" } })
    expect(submit.status, `sbatch: ${submit.stderr}\ntask stderr: ${errs.join(" | ")}`).toBe(0)
    const jobId = submit.stdout.trim().split(";")[0]!
    expect(jobId).toMatch(/^\d+$/)

    const outputs = [1, 2].map((task) => {
      expect(errs[task - 1]!.trim()).toBe(`task ${task} of job ${jobId} on qvsim1`)
      return deterministic(readFileSync(join(dir, `task-${task}.json`), "utf8"))
    })
    expect(outputs[0]!["seed"]).toBe(1)
    expect(outputs[1]!["seed"]).toBe(2)
    expect(outputs[0]!["fingerprint"]).not.toBe(outputs[1]!["fingerprint"])
    expect(outputs[0]).toEqual(localRun(1))
    expect(outputs[1]).toEqual(localRun(2))
  })
})
