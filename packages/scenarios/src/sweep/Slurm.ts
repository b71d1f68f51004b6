/**
 * Running a sweep on a Slurm cluster: an `sbatch` array script with one array task per shard
 * (`--array=0-(N-1)`), each task running `qvsim sweep FILE --out DIR` on its node, which takes its
 * shard from `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT` and writes `DIR/shards/<i>/`; then
 * `qvsim merge DIR`. No scheduler of our own: Slurm queues, places and requeues the tasks.
 *
 * Invariants: the script names absolute paths only (node, the CLI, the sweep file, DIR; the
 * submitting directory as the working directory), so it runs the same from any node that shares
 * the file system; each task runs with `--resume`, so a requeued task continues its shard instead
 * of refusing its own earlier runs.
 *
 * @module
 */
import { spawnSync } from "node:child_process"
import { ScenarioError } from "../Scenario.ts"

export interface ScriptOptions {
  readonly name: string
  readonly hash: string
  /** Absolute paths. */
  readonly node: string
  readonly cli: string
  readonly file: string
  readonly outDir: string
  readonly workDir: string
  readonly shards: number
  /** CPUs (and workers) per array task. */
  readonly cpusPerTask: number
  /** The command that wrote the script (a comment). */
  readonly command: string
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`

/** The `sbatch` script text. */
export const script = (o: ScriptOptions): string => [
  "#!/bin/bash",
  `# qvsim sweep ${o.name} (hash ${o.hash}): ${o.shards} shards, one Slurm array task each.`,
  `# Written by: ${o.command.replace(/\n/g, " ")}`,
  `# Submit: sbatch ${o.outDir}/sweep.sbatch   then, when every task is done: qvsim merge ${o.outDir}`,
  `#SBATCH --job-name=qvsim-${o.name}`,
  `#SBATCH --array=0-${o.shards - 1}`,
  `#SBATCH --ntasks=1`,
  `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
  `#SBATCH --chdir=${o.workDir}`,
  `#SBATCH --output=${o.outDir}/shards/%a/slurm-%A_%a.out`,
  "set -euo pipefail",
  `# The shard comes from SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT; runs go to ${o.outDir}/shards/$SLURM_ARRAY_TASK_ID/.`,
  `exec ${q(o.node)} ${q(o.cli)} sweep ${q(o.file)} --out ${q(o.outDir)} --resume --jobs "\${SLURM_CPUS_PER_TASK:-${o.cpusPerTask}}"`,
  "",
].join("\n")

/** Submits `scriptPath` with `sbatch --parsable`; returns the job id (errors: exit 2 with sbatch's message). */
export const submit = (scriptPath: string, env: NodeJS.ProcessEnv = process.env): string => {
  const r = spawnSync("sbatch", ["--parsable", scriptPath], { encoding: "utf8", env })
  if (r.error !== undefined) {
    const code = (r.error as NodeJS.ErrnoException).code
    throw new ScenarioError(`--submit: cannot run sbatch (${code === "ENOENT" ? "not found on PATH: is this a Slurm login node?" : r.error.message}); the script is ${scriptPath}`)
  }
  if (r.status !== 0) throw new ScenarioError(`--submit: sbatch failed (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n")[0]}`)
  const id = r.stdout.trim().split(";")[0]!
  if (!/^\d+$/.test(id)) throw new ScenarioError(`--submit: sbatch printed no job id (${JSON.stringify(r.stdout.trim())})`)
  return id
}
