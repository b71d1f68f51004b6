/**
 * Shards: a deterministic split of a sweep's keyed runs into N parts (run i of the plan goes to
 * shard i mod N, so every shard gets every region of the grid), which shard this process is
 * (`--shard I/N`, else Slurm's `SLURM_ARRAY_TASK_ID`/`SLURM_ARRAY_TASK_COUNT`, else a Kubernetes
 * Indexed Job's `JOB_COMPLETION_INDEX` with `--shards N`), and merging the shards' `runs.jsonl`
 * back into one, checked.
 *
 * Invariants of a merge: every shard 0..N−1 is present, each from the same sweep (hash) and the
 * same N; every run of the plan is there; a run found twice has the same fingerprint both times
 * (then it is kept once), else the merge is refused naming it; the merged runs are in plan order,
 * so their summary is byte-identical to a local run's.
 *
 * @module
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { ScenarioError } from "../Scenario.ts"
import type { Plan, RunSpec } from "./Plan.ts"
import type { RunRecord } from "./RunOne.ts"
import * as Store from "./Store.ts"

export interface Shard {
  readonly index: number
  readonly count: number
}

/** `I/N` (0 ≤ I < N); errors name the flag and the value. */
export const parse = (text: string, flag = "--shard"): Shard => {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim())
  if (m === null) throw new ScenarioError(`${flag} ${text}: expected I/N, the shard's index from 0 and the number of shards (e.g. 0/4)`)
  const index = Number(m[1])
  const count = Number(m[2])
  if (count < 1) throw new ScenarioError(`${flag} ${text}: the number of shards must be at least 1`)
  if (index >= count) throw new ScenarioError(`${flag} ${text}: the index must be below the number of shards (0 to ${count - 1})`)
  return { index, count }
}

/**
 * The shard of this process from the environment: a Slurm array task (its index counted from
 * `SLURM_ARRAY_TASK_MIN`), or a Kubernetes Indexed Job's completion index with `shards` given.
 * Undefined when neither is present.
 */
export const fromEnv = (env: NodeJS.ProcessEnv, shards?: number): (Shard & { readonly source: string }) | undefined => {
  const id = env["SLURM_ARRAY_TASK_ID"]
  if (id !== undefined && id !== "") {
    const count = shards ?? Number(env["SLURM_ARRAY_TASK_COUNT"])
    const min = Number(env["SLURM_ARRAY_TASK_MIN"] ?? 0)
    const source = `SLURM_ARRAY_TASK_ID=${id}${env["SLURM_ARRAY_TASK_MIN"] !== undefined ? ` (from ${min})` : ""}, ${shards !== undefined ? `--shards ${shards}` : `SLURM_ARRAY_TASK_COUNT=${env["SLURM_ARRAY_TASK_COUNT"]}`}`
    if (!Number.isSafeInteger(count) || count < 1) throw new ScenarioError(`SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not a positive integer: pass --shard I/N`)
    return { ...parse(`${Number(id) - min}/${count}`, source), source }
  }
  const k8s = env["JOB_COMPLETION_INDEX"]
  if (k8s !== undefined && k8s !== "") {
    if (shards === undefined) throw new ScenarioError(`JOB_COMPLETION_INDEX=${k8s} is set: give the number of shards with --shards N (the Job's completions), or --shard I/N`)
    const source = `JOB_COMPLETION_INDEX=${k8s}, --shards ${shards}`
    return { ...parse(`${k8s}/${shards}`, source), source }
  }
  return undefined
}

/** The runs of the plan in `shard`. */
export const select = (plan: Plan, shard: Shard | undefined): RunSpec[] =>
  shard === undefined ? [...plan.runs] : plan.runs.filter((r) => r.index % shard.count === shard.index)

/** `DIR/shards/<i>`. */
export const dirOf = (outDir: string, index: number): string => join(outDir, "shards", String(index))

export interface Merged {
  readonly shards: number
  readonly runs: RunRecord[]
  /** Runs found twice with the same fingerprint (kept once). */
  readonly duplicates: number
}

const sample = (keys: string[]): string => `${keys.slice(0, 3).join("; ")}${keys.length > 3 ? `; ... (${keys.length} in all)` : ""}`

/** Reads and checks `DIR/shards/*\/runs.jsonl` against the plan of the sweep with `hash`. */
export const merge = (outDir: string, plan: Plan, hash: string): Merged => {
  const root = join(outDir, "shards")
  if (!existsSync(root)) throw new ScenarioError(`merge: ${root} does not exist (no shards to merge)`)
  const dirs = readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(a) - Number(b))
  if (dirs.length === 0) throw new ScenarioError(`merge: ${root} holds no shard folders`)
  const found = new Map<number, Store.Contents>()
  let count: number | undefined
  for (const d of dirs) {
    const path = join(root, d, "runs.jsonl")
    if (!existsSync(path)) continue
    const c = Store.read(path)
    if (c.header.sweep.hash !== hash) throw new ScenarioError(`merge: ${path} is from another sweep file (hash ${c.header.sweep.hash}, ${c.header.sweep.file}; this sweep is ${hash})`)
    if (c.header.shard === null) throw new ScenarioError(`merge: ${path} is not a shard's runs (its header names no shard)`)
    if (c.header.shard.index !== Number(d)) throw new ScenarioError(`merge: ${path} holds shard ${c.header.shard.index}, not ${d}`)
    if (count === undefined) count = c.header.shard.count
    else if (c.header.shard.count !== count) throw new ScenarioError(`merge: ${path} is shard ${c.header.shard.index}/${c.header.shard.count}, the others are of ${count} shards`)
    found.set(c.header.shard.index, c)
  }
  if (count === undefined) throw new ScenarioError(`merge: no shard in ${root} has a runs.jsonl`)
  const missingShards = Array.from({ length: count }, (_, i) => i).filter((i) => !found.has(i))
  if (missingShards.length > 0) throw new ScenarioError(`merge: missing shard${missingShards.length > 1 ? "s" : ""} ${missingShards.join(", ")} of ${count} (no ${join(root, String(missingShards[0]), "runs.jsonl")})`)
  const byKey = new Map<string, { record: RunRecord; shard: number }>()
  let duplicates = 0
  for (const [shard, c] of [...found].sort((a, b) => a[0] - b[0])) {
    for (const r of c.runs) {
      const seen = byKey.get(r.key)
      if (seen === undefined) {
        byKey.set(r.key, { record: r, shard })
        continue
      }
      const a = seen.record, b = r
      if (a.ok && b.ok && a.fingerprint === b.fingerprint) {
        duplicates++
        continue
      }
      throw new ScenarioError(`merge: run ${r.key} appears twice with different results (shard ${seen.shard}: ${a.ok ? `fingerprint ${a.fingerprint}` : "failed"}; shard ${shard}: ${b.ok ? `fingerprint ${b.fingerprint}` : "failed"})`)
    }
  }
  const planned = new Set(plan.runs.map((r) => r.key))
  const extra = [...byKey.keys()].filter((k) => !planned.has(k))
  if (extra.length > 0) throw new ScenarioError(`merge: runs not in the sweep's plan: ${sample(extra)}`)
  const missing = plan.runs.filter((r) => !byKey.has(r.key)).map((r) => `${r.key} (shard ${r.index % count!})`)
  if (missing.length > 0) throw new ScenarioError(`merge: missing run${missing.length > 1 ? "s" : ""}: ${sample(missing)}`)
  return { shards: count, runs: [...byKey.values()].map((v) => v.record), duplicates }
}
