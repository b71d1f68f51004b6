/**
 * The seed campaign: `npm run campaign -- seeds --count N [--master-seed M] [--jobs J]
 * [--project P] [--filter S] [--test REGEX] [--out results.json]`, or `--seed S1,S2` to rerun given seeds.
 *
 * Runs every property test (every test that reads the fast-check seed, see `vitest.setup.ts`) of
 * every package under N distinct seeds derived from one master seed (printed; drawn when not
 * given, so a campaign is replayed with `--master-seed`), on J runners in parallel (default: one
 * per core), and prints each failing property with its seed, fast-check's shrunk counterexample,
 * the property's reason and the command that replays it, then a table (property, seeds run,
 * failures) and the cost (wall time, seeds per hour).
 *
 * Cost design: only test files that import fast-check are loaded; each runner keeps one vitest
 * instance for all its seeds (config and transforms reused) and, unless `--isolate`, runs all the
 * files of a seed in one worker; after its first seed a runner runs only the seed-reading tests;
 * runners take the next seed as soon as they finish one (no barrier).
 *
 * Exit: 0 nothing failed, 1 something failed (or a runner crashed), 2 bad flags.
 *
 * @module
 */
import { fork, type ChildProcess } from "node:child_process"
import { renameSync, writeFileSync } from "node:fs"
import { availableParallelism } from "node:os"
import { join, resolve } from "node:path"
import { flagHelp, parseFlags, UsageError } from "./lib/cli.ts"
import { checkConfigAndTest } from "./lib/selection.ts"
import type { FromRunner, ToRunner } from "./lib/seedRunner.ts"
import { deriveSeeds, formatFailures, formatTable, SEED_LIMIT, Tally } from "./lib/seedResults.ts"

const root = resolve(import.meta.dirname, "..", "..")

/**
 * Projects left out unless named by --project: `scripts`, the campaigns' own tests. The seed
 * campaign's read seeds only to predict what a nested campaign reports; the fuzz campaign's
 * sample in npm test is seeded too, but its seeds are explored by its own campaign
 * (`npm run campaign -- fuzz`), at a cost (hundreds of CLI runs per seed) this one should not pay.
 */
const SKIPPED_UNLESS_NAMED = ["scripts"]

const NO_FILES = "no test file that imports fast-check"

const flags = {
  count: { kind: "int", min: 1, max: 1_000_000, help: "number of seeds (required unless --seed), e.g. 200" },
  seed: { kind: "strings", help: "run these seeds instead (e.g. a campaign's failing ones: --seed 123,456)" },
  "master-seed": { kind: "int", min: 0, max: SEED_LIMIT, help: "the seed the N seeds derive from (default: drawn and printed)" },
  jobs: { kind: "int", min: 1, max: 256, help: `runners in parallel (default: cores = ${availableParallelism()})` },
  project: { kind: "strings", help: `vitest project(s) to run, e.g. sandbox-kernel (repeatable or comma-separated; default all but ${SKIPPED_UNLESS_NAMED.join(", ")})` },
  filter: { kind: "strings", help: "keep test files whose path contains this (repeatable; default all)" },
  test: { kind: "string", help: "keep tests whose full name matches this regular expression" },
  config: { kind: "string", help: "vitest config file (default vitest.config.ts)" },
  out: { kind: "string", help: "also write every result (each failure in full) to this JSON file" },
  "seed-timeout": { kind: "int", min: 1, max: 86_400, help: "seconds after which a seed's run counts as hung (default 1800): recorded as a failure, runner restarted" },
  isolate: { kind: "bool", help: "run each test file in a fresh worker, as npm test does (default: one worker per run, ~25% cheaper)" },
} as const

export const summary = "every property test under N seeds from one master seed, in parallel; failures with seed and counterexample"

export const usage = `npm run campaign -- seeds --count N [flags]

Runs every property test under N seeds derived from one master seed and lists each failing
property with its seed and shrunk counterexample, then a table. Exit 1 when anything fails.
Share the machine: nice -n 10 npm run campaign -- seeds --count 200

${flagHelp(flags)}`

interface RunnerState {
  readonly child: ChildProcess
  readonly id: number
  /** The seed under way. */
  busy: number | null
  timer: NodeJS.Timeout | undefined
  /** Killed for a hung seed: start another in its place. */
  restart: boolean
}

export const main = async (argv: readonly string[]): Promise<number> => {
  const f = parseFlags(flags, argv)
  if (f.count === undefined && f.seed.length === 0) throw new UsageError("--count: required (the number of seeds, e.g. --count 200)")
  if (f.count !== undefined && f.seed.length > 0) throw new UsageError(`--seed ${f.seed.join(",")}: give either --count (derived seeds) or --seed (these seeds)`)
  const given = f.seed.map((text) => {
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < 0 || n > SEED_LIMIT) throw new UsageError(`--seed ${JSON.stringify(text)}: expected an integer in [0, ${SEED_LIMIT}]`)
    return n
  })
  const { config, testPattern } = checkConfigAndTest(root, f.config, f.test)
  const master = f.count === undefined ? null : (f["master-seed"] ?? Math.floor(Math.random() * SEED_LIMIT))
  const seeds = master === null ? given : deriveSeeds(master, f.count!)
  const jobs = Math.min(f.jobs ?? availableParallelism(), seeds.length)
  if (master === null) {
    console.log(`seed campaign: ${seeds.length} given seed(s), ${jobs} runner(s)`)
  } else {
    console.log(`seed campaign: master seed ${master}, ${seeds.length} seeds, ${jobs} runner(s)`)
    console.log(`  rerun: npm run campaign -- seeds --count ${f.count} --master-seed ${master}${argv.filter((a, i) => !/^--(count|master-seed)/.test(a) && !/^--(count|master-seed)$/.test(argv[i - 1] ?? "")).map((a) => ` ${a}`).join("")}`)
  }

  const tally = new Tally()
  const startedMs = performance.now()
  const queue = [...seeds]
  const runners: RunnerState[] = []
  const seedTimeoutS = f["seed-timeout"] ?? 1800
  let crashed: string | null = null
  let interrupted = false
  let files = -1

  const finished = new Promise<void>((resolveAll) => {
    let live = 0
    const next = (r: RunnerState): void => {
      const seed = interrupted || crashed !== null ? undefined : queue.shift()
      if (seed === undefined) {
        r.busy = null
        r.child.send({ type: "stop" } satisfies ToRunner)
        return
      }
      r.busy = seed
      r.timer = setTimeout(() => hung(r), seedTimeoutS * 1000)
      r.child.send({ type: "seed", seed } satisfies ToRunner)
    }
    /** A seed that never finishes (a test looping forever): record it, kill the runner and its worker, start another. */
    const hung = (r: RunnerState): void => {
      tally.add(r.busy!, [{ project: "*", file: "(every file)", name: "(the seed's run)", state: "failed", seeded: true, error: `no result after ${seedTimeoutS} s: a test hangs (or the machine is overloaded)` }])
      console.log(`[${tally.seedsDone}/${seeds.length}] seed ${r.busy} TIMED OUT after ${seedTimeoutS} s (runner ${r.id} restarted)`)
      r.busy = null
      r.restart = true
      process.kill(-r.child.pid!, "SIGKILL")
    }
    const spawnRunner = (id: number): void => {
      // detached: the runner leads a process group, so a hung run is killed with its vitest worker.
      const child = fork(join(import.meta.dirname, "lib", "seedRunner.ts"), [], { cwd: root, detached: true, stdio: ["ignore", "inherit", "inherit", "ipc"] })
      const r: RunnerState = { child, id, busy: null, timer: undefined, restart: false }
      runners[id] = r
      live++
      child.on("message", (msg: FromRunner) => {
        if (msg.type === "ready") {
          files = msg.files
          if (msg.files === 0) crashed ??= NO_FILES
          next(r)
        } else if (msg.type === "done") {
          clearTimeout(r.timer)
          tally.add(msg.seed, msg.outcomes)
          const failed = msg.outcomes.filter((o) => o.state === "failed")
          const run = msg.outcomes.filter((o) => o.state === "passed" || o.state === "failed").length
          const h = (performance.now() - startedMs) / 3.6e6
          console.log(`[${String(tally.seedsDone).padStart(String(seeds.length).length)}/${seeds.length}] seed ${String(msg.seed).padStart(10)}  ${run} tests  ${failed.length === 0 ? "ok" : `${failed.length} FAILED`}  ${(msg.ms / 1000).toFixed(1)} s  (runner ${r.id}, ${msg.rssMiB} MiB; ${(tally.seedsDone / h).toFixed(0)} seeds/h)`)
          for (const o of failed) console.log(`      ✗ ${o.project}  ${o.file} > ${o.name}`)
          next(r)
        } else {
          crashed ??= `runner ${r.id}: ${msg.message}`
        }
      })
      child.on("exit", (code) => {
        clearTimeout(r.timer)
        live--
        if (r.restart && !interrupted && crashed === null && queue.length > 0) spawnRunner(id)
        else if (!r.restart && (r.busy !== null || code !== 0)) crashed ??= `runner ${r.id} exited with code ${code} while running seed ${r.busy}`
        if (live === 0) resolveAll()
      })
      child.send({ type: "init", root, config, projects: f.project, skipProjects: f.project.length > 0 ? [] : SKIPPED_UNLESS_NAMED, filters: f.filter, testPattern, isolate: f.isolate } satisfies ToRunner)
    }
    for (let id = 0; id < jobs; id++) spawnRunner(id)
  })
  const onSigint = (): void => {
    if (interrupted) return
    interrupted = true
    console.log("\ninterrupted: finishing the seeds under way, then reporting (Ctrl-C again to abort)")
    process.once("SIGINT", () => {
      for (const r of runners) if (r.child.exitCode === null) process.kill(-r.child.pid!, "SIGKILL")
      process.exit(130)
    })
  }
  process.once("SIGINT", onSigint)
  await finished
  process.removeListener("SIGINT", onSigint)

  if (crashed === NO_FILES) throw new UsageError(`--project ${f.project.join(",") || "(all)"} --filter ${f.filter.join(",") || "(all)"}: ${NO_FILES}`)
  const wallS = (performance.now() - startedMs) / 1000
  const rows = tally.report()
  const listing = formatFailures(rows)
  if (listing !== "") console.log(`\nfailures:\n${listing}`)
  console.log(`\n${formatTable(rows)}`)
  const perHour = tally.seedsDone / (wallS / 3600)
  console.log(`\n${tally.seedsDone} of ${seeds.length} seeds in ${wallS.toFixed(0)} s wall on ${jobs} runner(s) (${files} test files): ${perHour.toFixed(0)} seeds/h; ${rows.filter((r) => r.seeded).length} properties, ${tally.failureCount} failure(s)${master === null ? "" : `; master seed ${master}`}`)
  if (f.out !== undefined) {
    const out = resolve(f.out)
    const tmp = `${out}.${process.pid}.tmp`
    writeFileSync(tmp, `${JSON.stringify({ masterSeed: master, seeds: seeds.slice(0, tally.seedsDone), jobs, wallS, seedsPerHour: perHour, rows }, null, 2)}\n`)
    renameSync(tmp, out)
    console.log(`results: ${out}`)
  }
  if (crashed !== null) console.error(`campaign incomplete: ${crashed}`)
  return crashed !== null || interrupted || tally.failureCount > 0 ? 1 : 0
}
