/**
 * The scheduler campaign: `npm run campaign -- scheduler --runs N [--master-seed M] [--jobs J]
 * [--chunk K] [--ties rotate|declaration|both] [--priority rm|edf|both] [--chunk-seed S]`.
 *
 * Runs the differential property of packages/vcpu-sched/test/Differential.test.ts at length: N
 * random specs on the single-PCPU harness (src/) and on the reference scheduler and simulator
 * (test/reference/), which must agree at every scheduler decision (decision, R, budgets,
 * replenishment lists, PIBS state, thread queues), then on segments and jobs; plus N random call
 * sequences on one VCPU (src policy = reference policy after every call). The runs are cut into
 * chunks of K, each checked by fast-check with a seed derived from the master seed (printed; drawn
 * when not given), on J worker threads (default: one per core) that take the next chunk when done.
 * A mismatch is shrunk by fast-check and printed with its case, the first differing decision and the
 * command that replays its chunk. At the end: runs, decisions compared, mismatches, wall time.
 *
 * Exit: 0 no mismatch, 1 a mismatch (or a worker crashed), 2 bad flags.
 * Share the machine: `nice -n 10 npm run campaign -- scheduler --runs 100000`.
 *
 * @module
 */
import { availableParallelism } from "node:os"
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads"
import { Rng } from "@qvsim/sim-core"
import fc from "fast-check"
import { caseJson, compareCase, diffCases, srcHasTies, type DiffCase } from "../../packages/vcpu-sched/test/differential.ts"
import { hookCases, hookDiffer } from "../../packages/vcpu-sched/test/hookDifferential.ts"
import type { Ties } from "../../packages/vcpu-sched/test/reference/Scheduler.ts"

export const summary = "harness vs the independent reference scheduler on N random specs (every decision), in parallel"

export const usage = `npm run campaign -- scheduler --runs N [flags]

Compares the single-PCPU harness with the reference scheduler (packages/vcpu-sched/test/reference/)
on N random specs, decision by decision, and N random call sequences on one VCPU. Prints the master
seed, every mismatch (shrunk) with the first differing decision and a replay command, then the
figures. Exit 1 on a mismatch. Share the machine: nice -n 10 npm run campaign -- scheduler --runs 100000

  --runs N          specs to compare (default 10000)
  --master-seed M   the seed every chunk's seed derives from (default: drawn and printed)
  --jobs J          worker threads (default: cores = ${availableParallelism()})
  --chunk K         specs per chunk, each one fast-check run (default 500)
  --ties T          rotate | declaration | both (default: both when src has the option, else rotate)
  --priority P      rm | edf | both: the PCPUs' priority rule (default both)
  --chunk-seed S    replay one chunk: its seed (with --runs = its size, --jobs 1)`

/** A bad flag: one line naming it. */
class FlagError extends Error {}

interface Flags {
  readonly runs: number
  readonly master: number
  readonly jobs: number
  readonly chunk: number
  readonly ties: "rotate" | "declaration" | "both"
  readonly priority: "rm" | "edf" | "both"
  readonly chunkSeed: number | null
}

const parse = (argv: readonly string[]): Flags => {
  const out: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (!["--runs", "--master-seed", "--jobs", "--chunk", "--ties", "--priority", "--chunk-seed"].includes(a)) throw new FlagError(`${a}: unknown flag (see --help)`)
    const v = argv[++i]
    if (v === undefined) throw new FlagError(`${a}: missing value`)
    out[a] = v
  }
  const int = (name: string, dflt: number, min: number, max: number): number => {
    const v = out[name]
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new FlagError(`${name} ${JSON.stringify(v)}: expected an integer in ${min}..${max}`)
    return n
  }
  const ties = out["--ties"] ?? (srcHasTies ? "both" : "rotate")
  if (ties !== "rotate" && ties !== "declaration" && ties !== "both") throw new FlagError(`--ties ${JSON.stringify(ties)}: expected rotate, declaration or both`)
  if (ties !== "rotate" && !srcHasTies) throw new FlagError(`--ties ${ties}: src has no 'ties' scheduler option yet`)
  const priority = out["--priority"] ?? "both"
  if (priority !== "rm" && priority !== "edf" && priority !== "both") throw new FlagError(`--priority ${JSON.stringify(priority)}: expected rm, edf or both`)
  return {
    runs: int("--runs", 10_000, 1, 100_000_000),
    master: int("--master-seed", Math.floor(Math.random() * 0x7fffffff), 0, 0x7fffffff),
    jobs: int("--jobs", availableParallelism(), 1, 256),
    chunk: int("--chunk", 500, 1, 1_000_000),
    ties,
    priority,
    chunkSeed: out["--chunk-seed"] === undefined ? null : int("--chunk-seed", 0, 0, 0x7fffffff),
  }
}

/** The seed of chunk `k`: a 31-bit draw from the master seed's named stream. */
const chunkSeed = (master: number, k: number): number => Rng.stream(master, `campaign/scheduler/chunk${k}`).nextU32() >>> 1

// ------------------------------------------------------------------ worker

interface Task {
  readonly k: number
  readonly seed: number
  readonly runs: number
}
interface Result {
  readonly k: number
  readonly seed: number
  readonly runs: number
  readonly decisions: number
  readonly mismatch: string | null
}

const runChunk = (t: Task, ties: Flags["ties"], priority: Flags["priority"]): Result => {
  const tiesArb = ties === "both" ? fc.constantFrom<Ties>("rotate", "declaration") : fc.constant<Ties>(ties)
  const priorityArb = priority === "both" ? fc.constantFrom<"rm" | "edf">("rm", "edf") : fc.constant(priority)
  let decisions = 0
  const whole = fc.check(fc.property(diffCases({ ties: tiesArb, priority: priorityArb }), (c: DiffCase) => {
    const r = compareCase(c)
    decisions += r.decisions
    return r.difference === null
  }), { seed: t.seed, numRuns: t.runs })
  if (whole.failed) {
    const c = whole.counterexample![0]
    return { ...t, decisions, mismatch: `harness ≠ reference (chunk ${t.k}, seed ${t.seed}, shrunk ${whole.numShrinks} times)\ncase: ${caseJson(c)}\n${compareCase(c).difference}` }
  }
  const hook = fc.check(fc.property(hookCases(), (c) => hookDiffer(c) === null), { seed: t.seed, numRuns: t.runs })
  if (hook.failed) {
    const c = hook.counterexample![0]
    return { ...t, decisions, mismatch: `src policy ≠ reference policy (chunk ${t.k}, seed ${t.seed}, shrunk ${hook.numShrinks} times)\ncase: ${JSON.stringify(c)}\n${hookDiffer(c)}` }
  }
  return { ...t, decisions, mismatch: null }
}

if (!isMainThread && (workerData as { campaign?: string } | null)?.campaign === "scheduler") {
  const { ties, priority } = workerData as { ties: Flags["ties"]; priority: Flags["priority"] }
  parentPort!.on("message", (t: Task | null) => {
    if (t === null) {
      parentPort!.close()
      return
    }
    parentPort!.postMessage(runChunk(t, ties, priority))
  })
}

// ------------------------------------------------------------------ main

export const main = async (argv: readonly string[]): Promise<number> => {
  let f: Flags
  try {
    f = parse(argv)
  } catch (e) {
    if (!(e instanceof FlagError)) throw e
    console.error(`campaign scheduler: ${e.message}`)
    return 2
  }
  const tasks: Task[] = []
  if (f.chunkSeed !== null) tasks.push({ k: 0, seed: f.chunkSeed, runs: f.runs })
  else for (let k = 0, left = f.runs; left > 0; k++, left -= f.chunk) tasks.push({ k, seed: chunkSeed(f.master, k), runs: Math.min(f.chunk, left) })
  const jobs = Math.min(f.jobs, tasks.length)
  console.log(`scheduler campaign: master seed ${f.master}, ${f.runs} specs + ${f.runs} call sequences in ${tasks.length} chunk(s), ties ${f.ties}, priority ${f.priority}, ${jobs} worker(s)`)
  console.log(`  rerun: npm run campaign -- scheduler --runs ${f.runs} --master-seed ${f.master} --chunk ${f.chunk} --ties ${f.ties} --priority ${f.priority}`)

  const started = performance.now()
  const results: Result[] = []
  let crashed: string | null = null
  let lastReport = started
  await new Promise<void>((resolve) => {
    let next = 0
    let live = jobs
    for (let j = 0; j < jobs; j++) {
      const w = new Worker(new URL(import.meta.url), { workerData: { campaign: "scheduler", ties: f.ties, priority: f.priority } })
      const feed = () => w.postMessage(next < tasks.length ? tasks[next++]! : null)
      w.on("message", (r: Result) => {
        results.push(r)
        if (r.mismatch !== null) {
          console.log(`\nMISMATCH ${r.mismatch}\n  replay: npm run campaign -- scheduler --chunk-seed ${r.seed} --runs ${r.runs} --jobs 1 --ties ${f.ties} --priority ${f.priority}\n`)
        }
        const now = performance.now()
        if (now - lastReport > 10_000) {
          lastReport = now
          const done = results.reduce((a, x) => a + x.runs, 0)
          console.log(`  ${done}/${f.runs} specs, ${((now - started) / 1000).toFixed(0)} s`)
        }
        feed()
      })
      w.on("error", (e) => {
        crashed = `worker ${j}: ${e instanceof Error ? e.stack : String(e)}`
      })
      w.on("exit", () => {
        if (--live === 0) resolve()
      })
      feed()
    }
  })
  const wallS = (performance.now() - started) / 1000
  const runs = results.reduce((a, r) => a + r.runs, 0)
  const decisions = results.reduce((a, r) => a + r.decisions, 0)
  const mismatches = results.filter((r) => r.mismatch !== null).length
  console.log(`\n${runs} specs (${decisions} scheduler decisions compared) and ${runs} call sequences; ${mismatches} chunk(s) with a mismatch`)
  console.log(`wall time ${wallS.toFixed(1)} s (${(runs / wallS).toFixed(0)} specs/s on ${jobs} worker(s)), master seed ${f.master}`)
  if (crashed !== null) console.error(`campaign scheduler: ${crashed}`)
  return mismatches > 0 || crashed !== null || runs < f.runs ? 1 : 0
}
