/**
 * The fuzz campaign's in-process runner: a child process (so a crash, an out-of-memory or a hang
 * costs one case, not the campaign) that takes case numbers over IPC, builds each case
 * (`Cases.caseOf`) in its own folder and runs it IN-PROCESS through the same Effect pipeline as
 * the `qvsim` executable (`cli/Pipeline.ts`) or, for an `api` case, through the loader's checks
 * and the Runner; it answers with the exit code and what was printed.
 *
 * A case still running after its time limit is stopped as SIGTERM would stop it (the CLI's own
 * signal handling: it must end with exit 143 and "interrupted"); one that does not stop is killed
 * by the parent and counted as a hang.
 *
 * @module
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs"
import { spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { Cause, Effect, Exit } from "effect"
import { Runner, Scenario } from "@qvsim/scenarios"
import { cli } from "../../../packages/scenarios/src/cli/Pipeline.ts"
import { fromUnknown } from "../../../packages/scenarios/src/cli/Errors.ts"
import * as Signals from "../../../packages/scenarios/src/cli/Signals.ts"
import { checkShape } from "../../../packages/scenarios/src/Input.ts"
import { caseOf, type Bases, type Case } from "./Cases.ts"

export interface Request { readonly seed: number; readonly index: number; readonly dir: string; readonly limitMs: number }
export interface Outcome { readonly index: number; readonly kind: string; readonly origin: string; readonly argv: readonly string[]; readonly code: number; readonly stdout: string; readonly stderr: string; readonly ms: number; readonly stopped: boolean }

/** Creates a `cli` case's files in `dir`; returns its arguments with `@/` resolved. */
export const materialize = (c: Extract<Case, { files: unknown }>, dir: string): string[] => {
  mkdirSync(dir, { recursive: true })
  for (const [name, text] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true })
    writeFileSync(join(dir, name), text)
  }
  for (const [name, to] of Object.entries(c.links ?? {})) symlinkSync(to, join(dir, name))
  for (const name of c.fifos ?? []) spawnSync("mkfifo", [join(dir, name)])
  return c.argv.map((a) => a.replace(/^@\//, `${dir}/`))
}

const cut = (s: string): string => (s.length > 4000 ? `${s.slice(0, 2000)}\n…\n${s.slice(-2000)}` : s)

/** Runs `f` with stdout and stderr captured. */
const captured = async (f: () => Promise<number>): Promise<{ code: number; stdout: string; stderr: string }> => {
  let stdout = "", stderr = ""
  const out = process.stdout.write.bind(process.stdout), err = process.stderr.write.bind(process.stderr)
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true }) as typeof process.stdout.write
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true }) as typeof process.stderr.write
  try {
    const code = await f()
    return { code, stdout, stderr }
  } finally {
    process.stdout.write = out
    process.stderr.write = err
  }
}

const exitCode = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit)) return 0
  const e = Cause.squash(exit.cause) as { code?: unknown } | undefined
  return typeof e?.code === "number" ? e.code : 70
}

const runCli = async (argv: readonly string[]): Promise<number> => exitCode(await Effect.runPromiseExit(cli(argv) as Effect.Effect<void, unknown, never>))

const runApi = async (input: unknown, origin: string): Promise<number> => {
  try {
    const problem = checkShape(input)
    if (problem !== undefined) throw new Scenario.ScenarioError(`invalid scenario ${origin}: ${problem}`)
    const scenario = Scenario.parseScenario(input, origin)
    Signals.install()
    await Runner.executeAsync(Runner.prepare(scenario), Signals.control())
    return 0
  } catch (e) {
    const exit = fromUnknown(e)
    process.stderr.write(`qvsim: ${exit.message}\n`)
    return exit.code
  }
}

/** Runs case `index`; stops it (as SIGTERM) after `limitMs`. */
export const runCase = async (req: Request, bases: Bases): Promise<Outcome> => {
  const c = caseOf(req.seed, req.index, bases)
  const dir = join(req.dir, `case-${req.index}`)
  const argv = c.kind === "variant" ? [] : materialize(c, dir)
  const cwd = process.cwd()
  mkdirSync(dir, { recursive: true })
  process.chdir(dir)
  Signals.reset()
  let stopped = false
  const timer = setTimeout(() => {
    stopped = true
    // As if SIGTERM arrived: the run must end within its next slice.
    process.emit("SIGTERM" as never)
  }, req.limitMs)
  const start = performance.now()
  try {
    const r = await captured(() => (c.kind === "variant" ? runApi(c.input, c.origin) : runCli(argv)))
    return { index: req.index, kind: c.kind, origin: c.origin, argv, code: r.code, stdout: cut(r.stdout), stderr: cut(r.stderr), ms: Math.round(performance.now() - start), stopped }
  } finally {
    clearTimeout(timer)
    process.chdir(cwd)
  }
}

// As a child process: answer requests until the parent disconnects.
if (process.send !== undefined && process.argv[2] === "--worker") {
  const bases = JSON.parse(readFileSync(process.argv[3]!, "utf8")) as Bases
  process.on("message", (req: Request) => {
    void runCase(req, bases).then((o) => process.send!(o), (e: unknown) => process.send!({ index: req.index, kind: "?", origin: "?", argv: [], code: -1, stdout: "", stderr: `worker: ${(e as Error)?.stack ?? String(e)}`, ms: 0, stopped: false }))
  })
  process.on("disconnect", () => process.exit(0))
  process.send("ready")
}
