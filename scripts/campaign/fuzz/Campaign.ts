/**
 * The fuzz campaign's engine: writes the base traces, runs every case in-process in a worker
 * process (restarted after a crash, killed after a hang), runs a sample through the real `qvsim`
 * executable (a fresh process with a memory limit, SIGTERM at the time limit, SIGKILL 10 s
 * later), classifies each outcome (`Classify`) and tallies them. Failures keep their case folder
 * (files and `argv.txt`) for review; other folders are removed.
 *
 * @module
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process"
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from "node:fs"
import { join, resolve } from "node:path"
import { caseOf, scenarioBases, type Bases } from "./Cases.ts"
import { classify, type Class, type Observed } from "./Classify.ts"
import { materialize, type Outcome, type Request } from "./Worker.ts"

const root = resolve(import.meta.dirname, "..", "..", "..")
const main = join(root, "packages", "scenarios", "src", "cli", "main.ts")
const workerFile = join(import.meta.dirname, "Worker.ts")

export interface Options {
  readonly seed: number
  readonly cases: number
  /** Run every n-th CLI-able case also through the real executable (0: none). */
  readonly cliEvery: number
  /** Wall time after which a case is stopped (as SIGTERM), ms. */
  readonly limitMs: number
  /** Heap limit of the worker and of each CLI process, MiB. */
  readonly memoryMb: number
  readonly workDir: string
  /** Only these case numbers (replaying a failure). */
  readonly only?: readonly number[]
  /** In-process worker processes running cases side by side (default 1). */
  readonly workers?: number
  readonly log?: (line: string) => void
}

export interface Finding {
  readonly index: number
  readonly mode: "in-process" | "cli"
  readonly kind: string
  readonly origin: string
  readonly cls: Class
  readonly reason?: string
  readonly argv: readonly string[]
  readonly message: string
}

export interface Report {
  readonly seed: number
  readonly cases: number
  readonly cliRuns: number
  /** mode → class → count */
  readonly tally: Record<string, Record<Class, number>>
  /** kind → class → count (in-process) */
  readonly byKind: Record<string, Record<Class, number>>
  /** kind → wall ms spent in-process */
  readonly msByKind: Record<string, number>
  readonly failures: Finding[]
  readonly invariants: Finding[]
  readonly wallMs: number
}

const emptyTally = (): Record<Class, number> => ({ refused: 0, ok: 0, stopped: 0, invariant: 0, failure: 0 })

/** Writes the valid traces the trace cases start from; returns the bases (also saved as bases.json). */
export const writeBases = (workDir: string): { bases: Bases; path: string } => {
  const dir = join(workDir, "bases")
  mkdirSync(dir, { recursive: true })
  const example = join(root, "packages", "scenarios", "test", "fixtures", "mailbox-ping.json")
  copyFileSync(example, join(dir, "mailbox-ping.json"))
  const traces: Array<Bases["traces"][number]> = []
  const make = (name: string, args: string[], scenario?: string) => {
    const r = spawnSync(process.execPath, [main, ...args, "--trace", join(dir, name)], { encoding: "utf8" })
    if (r.status !== 0) throw new Error(`cannot write the base trace ${name}: ${r.stderr}`)
    traces.push({ name, text: readFileSync(join(dir, name), "utf8"), ...(scenario !== undefined ? { scenario: { name: scenario, text: readFileSync(join(dir, scenario), "utf8") } } : {}) })
  }
  make("timers.jsonl", ["run", "timers", "--until", "20ms"])
  make("mailbox.jsonl", ["run", join(dir, "mailbox-ping.json"), "--until", "30ms"], "mailbox-ping.json")
  const examples = [
    { name: "mailbox-ping.json", value: JSON.parse(readFileSync(example, "utf8")) as unknown },
    { name: "small.json", value: JSON.parse(readFileSync(join(root, "packages", "scenarios", "test", "fixtures", "small.json"), "utf8")) as unknown },
    { name: "docs mailbox-ping.json", value: JSON.parse(readFileSync(join(root, "docs", "examples", "mailbox-ping.json"), "utf8")) as unknown },
  ]
  const bases: Bases = { traces, scenarios: scenarioBases(examples) }
  const path = join(dir, "bases.json")
  writeFileSync(path, JSON.stringify(bases))
  return { bases, path }
}

const firstError = (stderr: string): string => stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith(" ")).at(-1) ?? ""

/** Runs `argv` through the real executable in `cwd`; SIGTERM at `limitMs`, SIGKILL 10 s later. */
const runExecutable = (argv: readonly string[], cwd: string, o: Options): Promise<Observed> =>
  new Promise((res) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${o.memoryMb}`, main, ...argv], { cwd, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, npm_command: "" } })
    let stdout = "", stderr = "", stopped = false, hung = false
    child.stdout.on("data", (d) => { if (stdout.length < 100_000) stdout += d })
    child.stderr.on("data", (d) => { if (stderr.length < 100_000) stderr += d })
    // The executable's start-up (a second or more on a loaded machine) comes on top of the case's time.
    const stop = setTimeout(() => { stopped = true; child.kill("SIGTERM") }, o.limitMs + 5000)
    const kill = setTimeout(() => { hung = true; child.kill("SIGKILL") }, o.limitMs + 15_000)
    child.on("exit", (code, signal) => {
      clearTimeout(stop)
      clearTimeout(kill)
      res({ code, signal: hung ? null : signal, stdout, stderr, stopped, hung, command: argv[0] ?? "", strict: argv.includes("--strict") })
    })
  })

/** The in-process worker: one request at a time; restarted after a crash or a hang. */
class WorkerPool {
  private child: ChildProcess | undefined
  private readonly basesPath: string
  private readonly memoryMb: number
  constructor(basesPath: string, memoryMb: number) {
    this.basesPath = basesPath
    this.memoryMb = memoryMb
  }
  private ready: Promise<void> | undefined
  private start(): ChildProcess {
    const child = fork(workerFile, ["--worker", this.basesPath], { execArgv: [`--max-old-space-size=${this.memoryMb}`], stdio: ["ignore", "ignore", "pipe", "ipc"], env: { ...process.env, npm_command: "" } })
    child.stderr?.on("data", () => {})
    // Its start-up (module loading, seconds on a cold cache) is not the first case's time.
    this.ready = new Promise((res) => {
      const onReady = (m: unknown) => { if (m === "ready") { child.off("message", onReady); res() } }
      child.on("message", onReady)
      child.on("exit", () => res())
    })
    return child
  }
  async run(req: Request, hangMs: number): Promise<{ outcome?: Outcome; crashed?: string; hung?: boolean }> {
    const child = (this.child ??= this.start())
    await this.ready
    if (child.exitCode !== null || child.signalCode !== null) {
      this.child = undefined
      return { crashed: `the worker did not start (${child.signalCode ?? `exit ${child.exitCode}`})` }
    }
    return new Promise((res) => {
      let done = false
      const finish = (r: { outcome?: Outcome; crashed?: string; hung?: boolean }) => {
        if (done) return
        done = true
        clearTimeout(timer)
        child.off("message", onMessage)
        child.off("exit", onExit)
        res(r)
      }
      const onMessage = (o: Outcome) => { if (o.index === req.index) finish({ outcome: o }) }
      const onExit = (code: number | null, signal: string | null) => { this.child = undefined; finish({ crashed: signal ?? `exit ${code}` }) }
      const timer = setTimeout(() => { child.kill("SIGKILL"); this.child = undefined; finish({ hung: true }) }, hangMs)
      child.on("message", onMessage)
      child.on("exit", onExit)
      child.send(req)
    })
  }
  close(): void {
    this.child?.disconnect()
    this.child = undefined
  }
}

/** Runs the campaign. */
export const run = async (o: Options): Promise<Report> => {
  const started = performance.now()
  mkdirSync(o.workDir, { recursive: true })
  const { bases, path } = writeBases(o.workDir)
  const pools = Array.from({ length: Math.max(1, o.workers ?? 1) }, () => new WorkerPool(path, o.memoryMb))
  const tally: Report["tally"] = { "in-process": emptyTally(), cli: emptyTally() }
  const byKind: Report["byKind"] = {}
  const msByKind: Record<string, number> = {}
  const failures: Finding[] = [], invariants: Finding[] = []
  let cliRuns = 0
  let cliQueue = Promise.resolve()
  // Every outcome, one JSON line each, for review (outcomes.jsonl).
  const log = openSync(join(o.workDir, "outcomes.jsonl"), "w")
  const note = (f: Finding, keepDir: string | undefined) => {
    writeSync(log, `${JSON.stringify({ index: f.index, mode: f.mode, kind: f.kind, cls: f.cls, reason: f.reason, message: f.message.slice(0, 300) })}\n`)
    if (f.cls === "failure") failures.push(f)
    if (f.cls === "invariant") invariants.push(f)
    if (keepDir !== undefined && f.cls !== "failure" && f.cls !== "invariant") rmSync(keepDir, { recursive: true, force: true })
    else if (keepDir !== undefined) {
      mkdirSync(keepDir, { recursive: true })
      writeFileSync(join(keepDir, "argv.txt"), `${f.argv.join("\n")}\n`)
    }
  }
  const indices = o.only ?? Array.from({ length: o.cases }, (_, i) => i)
  let next = 0, finished = 0
  const one = async (pool: WorkerPool, index: number) => {
    const dir = join(o.workDir, "cases")
    const r = await pool.run({ seed: o.seed, index, dir, limitMs: o.limitMs }, o.limitMs + 15_000)
    const c = caseOf(o.seed, index, bases)
    const observed: Observed = r.outcome !== undefined
      ? { code: r.outcome.code, stdout: r.outcome.stdout, stderr: r.outcome.stderr, stopped: r.outcome.stopped, command: c.kind === "variant" ? "run" : (c.argv[0] ?? ""), strict: c.kind !== "variant" && c.argv.includes("--strict") }
      : { code: null, signal: r.crashed ?? null, stdout: "", stderr: "", stopped: false, hung: r.hung === true }
    const v = classify(observed)
    tally["in-process"]![v.cls]++
    ;(byKind[c.kind] ??= emptyTally())[v.cls]++
    msByKind[c.kind] = (msByKind[c.kind] ?? 0) + (r.outcome?.ms ?? 0)
    const caseDir = join(dir, `case-${index}`)
    note({ index, mode: "in-process", kind: c.kind, origin: c.origin, cls: v.cls, ...(v.reason !== undefined ? { reason: v.reason } : {}), argv: r.outcome?.argv ?? [], message: r.outcome !== undefined ? firstError(r.outcome.stderr) : v.reason ?? "" }, caseDir)
    // A spread sample (a multiplicative hash of the case number, so every kind gets its share).
    if (c.kind !== "variant" && o.cliEvery > 0 && Math.imul(index, 0x9e3779b1) >>> 0 < 2 ** 32 / o.cliEvery) {
      cliRuns++
      cliQueue = cliQueue.then(async () => {
        const cdir = join(o.workDir, "cli", `case-${index}`)
        const argv = materialize(c, cdir)
        const obs = await runExecutable(argv, cdir, o)
        const cv = classify(obs)
        tally["cli"]![cv.cls]++
        note({ index, mode: "cli", kind: c.kind, origin: c.origin, cls: cv.cls, ...(cv.reason !== undefined ? { reason: cv.reason } : {}), argv, message: firstError(obs.stderr) }, cdir)
      })
    }
    finished++
    if (o.log !== undefined && finished % 500 === 0) o.log(`  ${finished} of ${indices.length} cases (${failures.length} failures so far)`)
  }
  await Promise.all(pools.map(async (pool) => {
    while (next < indices.length) await one(pool, indices[next++]!)
  }))
  await cliQueue
  for (const pool of pools) pool.close()
  closeSync(log)
  return { seed: o.seed, cases: indices.length, cliRuns, tally, byKind, msByKind, failures, invariants, wallMs: Math.round(performance.now() - started) }
}

/** The report as text: the tallies, then each failure and invariant with its replay command. */
export const format = (r: Report): string => {
  const row = (name: string, t: Record<Class, number>) => `  ${name.padEnd(12)} ${(["refused", "ok", "stopped", "invariant", "failure"] as const).map((c) => `${c} ${String(t[c]).padStart(6)}`).join("  ")}`
  const replay = (f: Finding) => `npm run campaign -- fuzz --seed ${r.seed} --only ${f.index}`
  return [
    `fuzz campaign: seed ${r.seed}, ${r.cases} cases in-process, ${r.cliRuns} through the qvsim executable, ${(r.wallMs / 1000).toFixed(0)} s`,
    row("in-process", r.tally["in-process"]!),
    row("executable", r.tally["cli"]!),
    "by kind (in-process)",
    ...Object.entries(r.byKind).map(([k, t]) => `${row(k, t)}  (${((r.msByKind[k] ?? 0) / 1000).toFixed(1)} s)`),
    "",
    r.failures.length === 0 ? "failures: none (no crash, hang, stack trace or internal error)" : `failures: ${r.failures.length}`,
    ...r.failures.slice(0, 50).map((f) => `  #${f.index} ${f.mode} ${f.kind} (${f.origin}): ${f.reason ?? ""}: ${f.message}\n    argv: ${f.argv.join(" ")}\n    replay: ${replay(f)}`),
    r.invariants.length === 0 ? "invariants (exit 3, for review): none" : `invariants (exit 3, for review): ${r.invariants.length}`,
    ...r.invariants.slice(0, 50).map((f) => `  #${f.index} ${f.mode} ${f.kind} (${f.origin}): ${f.message}\n    replay: ${replay(f)}`),
  ].join("\n")
}
