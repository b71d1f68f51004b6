/**
 * One runner of the seed campaign: a child process (forked with an IPC channel by `seeds.ts`) that
 * keeps one vitest instance (vitest's Node API) for its whole life and runs the selected test files
 * once per seed it is handed, one worker at a time, so the parent's J runners use about J cores
 * and no runner waits for another.
 *
 * Per seed: `provide("fcSeed", seed)`, which `vitest.setup.ts` prefers over `FC_SEED`, then one
 * run. The first run (discovery) runs every test of the candidate files; `vitest.setup.ts` marks
 * the tests that read the fast-check seed, and every later run runs only those (vitest's
 * per-file `testNames`), so seed-independent examples run once per runner, not once per seed.
 * Vite's transform cache and the resolved config are reused across runs, and (unless `--isolate`)
 * one worker runs all the files of a run, keeping the modules they share. Each file's seed still
 * comes from its own set-up, so a failure replays with `FC_SEED=<seed> npx vitest run --project
 * <p> <file>` (a failure that needs another file's leftover module state would not: rerun the
 * campaign with --isolate to tell).
 *
 * Candidate files: test files that import fast-check, directly or through the relative imports
 * they make (test helpers, `src/Arbitraries.ts`), filtered by `--project`, `--filter`.
 *
 * Protocol: parent → {init}, then {seed} per seed, then {stop}; runner → {ready} after init,
 * {done} per seed, {error} if it cannot go on.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { Writable } from "node:stream"
import { createVitest, type TestSpecification, type Vitest } from "vitest/node"
import type { TestOutcome } from "./seedResults.ts"
import type { TestSelection } from "./selection.ts"

export interface RunnerInit extends TestSelection {
  readonly type: "init"
  /** Each test file in a fresh worker (npm test's way), or one worker for all files of a run. */
  readonly isolate: boolean
}
export type ToRunner = RunnerInit | { readonly type: "seed"; readonly seed: number } | { readonly type: "stop" }
export type FromRunner =
  | { readonly type: "ready"; readonly files: number }
  | { readonly type: "done"; readonly seed: number; readonly outcomes: readonly TestOutcome[]; readonly ms: number; readonly rssMiB: number }
  | { readonly type: "error"; readonly message: string }

const IMPORTS = /(?:from|import)\s*\(?\s*["']([^"']+)["']/g

/** True if `file` imports fast-check, itself or through its relative imports. */
export const importsFastCheck = (file: string, seen: Set<string> = new Set()): boolean => {
  if (seen.has(file) || !existsSync(file)) return false
  seen.add(file)
  const text = readFileSync(file, "utf8")
  for (const m of text.matchAll(IMPORTS)) {
    const spec = m[1]!
    if (spec === "fast-check" || spec.startsWith("@fast-check/")) return true
    if (spec.startsWith(".") && importsFastCheck(resolve(dirname(file), spec), seen)) return true
  }
  return false
}

const sink = new Writable({ write: (_chunk, _enc, done) => done() })

/** One error as text: message, then each cause's message (fast-check puts the property's own error there). */
const errorText = (e: { message?: string; cause?: unknown } | undefined): string => {
  const parts: string[] = []
  let cur: unknown = e
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    const c = cur as { message?: unknown; cause?: unknown }
    parts.push(`${depth === 0 ? "" : "Caused by: "}${typeof c.message === "string" ? c.message : String(cur)}`)
    cur = c.cause
  }
  return parts.join("\n")
}

class Runner {
  private vitest!: Vitest
  private specs: TestSpecification[] = []
  /** After discovery: the seed-reading tests of each file. */
  private properties: Map<string, string[]> | null = null

  private readonly init: RunnerInit

  constructor(init: RunnerInit) {
    this.init = init
  }

  async start(): Promise<number> {
    const i = this.init
    this.vitest = await createVitest(
      {
        root: i.root,
        config: i.config,
        watch: false,
        silent: true,
        reporters: [{}],
        maxWorkers: 1,
        // NOTE: for cost, by default one worker runs all the files of a run and keeps the modules
        // they share (about a quarter less CPU per seed than a fresh worker per file); --isolate
        // runs each file in a fresh worker, as npm test does.
        isolate: i.isolate,
        ...(i.projects.length > 0 ? { project: [...i.projects] } : {}),
        ...(i.testPattern !== null ? { testNamePattern: i.testPattern } : {}),
      },
      {},
      { stdout: sink, stderr: sink },
    )
    this.specs = (await this.vitest.globTestSpecifications()).filter((s) => {
      const rel = relative(i.root, s.moduleId)
      return !i.skipProjects.includes(s.project.name) && (i.filters.length === 0 || i.filters.some((f) => rel.includes(f))) && importsFastCheck(s.moduleId)
    })
    return this.specs.length
  }

  async run(seed: number): Promise<TestOutcome[]> {
    const root = this.init.root
    this.vitest.provide("fcSeed", seed)
    const specs = this.properties === null
      ? this.specs
      : this.specs.flatMap((s) => {
        const names = this.properties!.get(s.moduleId)
        return names === undefined ? [] : [s.project.createSpecification(s.moduleId, { testNames: names })]
      })
    const result = await this.vitest.runTestSpecifications(specs)
    const outcomes: TestOutcome[] = []
    const discovered = new Map<string, string[]>()
    // The result lists every module vitest's state holds, also those of earlier runs: keep this run's.
    const ran = new Set(specs.map((s) => s.moduleId))
    for (const m of result.testModules) {
      if (!ran.has(m.moduleId)) continue
      const file = relative(root, m.moduleId)
      const project = m.project.name
      for (const e of m.errors()) outcomes.push({ project, file, name: "(the file itself)", state: "failed", seeded: false, error: errorText(e) })
      for (const t of m.children.allTests()) {
        const r = t.result()
        const seeded = t.meta().fcSeed !== undefined
        if (seeded) discovered.set(m.moduleId, [...(discovered.get(m.moduleId) ?? []), t.fullName])
        const error = r.state === "failed" ? r.errors.map(errorText).join("\n") : undefined
        const ms = Math.round(t.diagnostic()?.duration ?? 0)
        outcomes.push({ project, file, name: t.fullName, state: r.state, seeded, ms, ...(error !== undefined ? { error } : {}) })
      }
    }
    for (const e of result.unhandledErrors) {
      outcomes.push({ project: "(none)", file: "(unhandled error)", name: "(outside any test)", state: "failed", seeded: false, error: errorText(e as Error) })
    }
    this.properties ??= discovered
    return outcomes
  }

  close(): Promise<void> {
    return this.vitest.close()
  }
}

const send = (msg: FromRunner): void => {
  process.send!(msg)
}

let runner: Runner | null = null
// Only as the forked runner: importing this module (its tests do) must not listen to the importer's IPC.
// The parent gone (crashed or killed), the runner goes too.
let stopping = false
if (import.meta.main) process.on("disconnect", () => stopping || process.exit(1))
if (import.meta.main) process.on("message", (msg: ToRunner) => {
  const handle = async (): Promise<void> => {
    if (msg.type === "init") {
      runner = new Runner(msg)
      send({ type: "ready", files: await runner.start() })
    } else if (msg.type === "seed") {
      const t0 = performance.now()
      const outcomes = await runner!.run(msg.seed)
      send({ type: "done", seed: msg.seed, outcomes, ms: performance.now() - t0, rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20) })
    } else {
      stopping = true
      await runner?.close()
      // vitest sets a failing exit code after a run with failures; those are reported, not crashes.
      process.exitCode = 0
      process.disconnect()
    }
  }
  handle().catch((e: unknown) => {
    send({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
    stopping = true
    process.exitCode = 1
    process.disconnect()
  })
})
