/**
 * `qvsim sweep FILE` and `qvsim merge DIR`: the CLI edge of sweeps (flags, the shard from flags or
 * the environment, the Slurm script, signals, printing). The work is in `sweep/`.
 *
 * @module
 */
import { existsSync, mkdirSync } from "node:fs"
import { availableParallelism } from "node:os"
import { basename, join, resolve } from "node:path"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { ScenarioError } from "../Scenario.ts"
import type * as Plan from "../sweep/Plan.ts"
import type * as SweepFile from "../sweep/SweepFile.ts"
import { badInput, fromUnknown } from "./Errors.ts"

/** The sweep modules, loaded when a sweep command runs (not for every qvsim command). */
const modules = () => Effect.promise(async () => ({
  Local: await import("../sweep/Local.ts"),
  Plan: await import("../sweep/Plan.ts"),
  Results: await import("../sweep/Results.ts"),
  RunOne: await import("../sweep/RunOne.ts"),
  Shards: await import("../sweep/Shards.ts"),
  Slurm: await import("../sweep/Slurm.ts"),
  Store: await import("../sweep/Store.ts"),
  SweepFile: await import("../sweep/SweepFile.ts"),
}))

const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })
const promise = <A>(f: (signal: AbortSignal) => Promise<A>) => Effect.tryPromise({ try: f, catch: fromUnknown })

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./=:,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
/** The command line as typed (provenance). */
const commandLine = (): string => ["qvsim", ...process.argv.slice(2)].map(shellQuote).join(" ")

const positive = (name: string, description: string) =>
  Flag.Int(name).pipe(
    Flag.withDescription(description),
    Flag.filter((n) => Number.isSafeInteger(n) && n >= 1, () => "Expected a positive integer"),
    Flag.optional,
  )

const reportFlag = Flag.String("report").pipe(
  Flag.withDescription("write an HTML report: acceptance ratio against utilisation per test, else a plot per metric with CI bands"),
  Flag.withMetavar("FILE"),
  Flag.filter((p) => /\.html?$/i.test(p) && basename(p).length > 5, () => "Expected a file name ending in .html or .htm"),
  Flag.optional,
)

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object on stdout; no progress on stderr"), Flag.withDefault(false))

type Modules = Effect.Success<ReturnType<typeof modules>>

const load = (m: Modules, file: string) => promise(() => m.SweepFile.load(file))

const plan = (m: Modules, loaded: SweepFile.LoadedSweep) => attempt(() => m.Plan.make(loaded))

const sizeText = (p: Plan.Plan): string =>
  `${p.points.length} point${p.points.length === 1 ? "" : "s"}${p.sets > 0 ? ` × ${p.sets} sets` : ""} × ${p.seeds.length} seed${p.seeds.length === 1 ? "" : "s"} = ${p.runs.length} runs`

export const sweep = Command.make(
  "sweep",
  {
    file: Argument.String("sweep-file").pipe(Argument.withDescription("a .json sweep, or a .ts file whose default export is defineSweep({...})")),
    jobs: positive("jobs", "workers on this machine, each running many runs (default: the number of cores)"),
    out: Flag.String("out").pipe(Flag.withDescription("the folder for runs.jsonl, summary.csv, summary.json (default out/<sweep>)"), Flag.withMetavar("DIR"), Flag.optional),
    resume: Flag.Boolean("resume").pipe(Flag.withDescription("continue DIR/runs.jsonl: skip the runs already there (refused if the sweep changed)"), Flag.withDefault(false)),
    shard: Flag.String("shard").pipe(Flag.withDescription("run only shard I of N (from 0) into DIR/shards/I/; default from SLURM_ARRAY_TASK_ID/COUNT or JOB_COMPLETION_INDEX"), Flag.withMetavar("I/N"), Flag.optional),
    shards: positive("shards", "the number of shards when the index comes from the environment (Kubernetes: JOB_COMPLETION_INDEX)"),
    slurm: positive("slurm", "write DIR/sweep.sbatch, a Slurm array job of N shards (one task each); run nothing here"),
    submit: Flag.Boolean("submit").pipe(Flag.withDescription("with --slurm: submit the script with sbatch"), Flag.withDefault(false)),
    only: Flag.String("only").pipe(Flag.withDescription("run the one run with this key in this process and print its record (replays a failed run)"), Flag.withMetavar("KEY"), Flag.optional),
    report: reportFlag,
    json: jsonFlag,
  },
  Effect.fn("sweep")(function* ({ file, jobs, out, resume, shard, shards, slurm, submit, only, report, json }) {
    const m = yield* modules()
    const { Local, RunOne, Shards, Slurm, Store } = m
    const loaded = yield* load(m, file)
    const p = yield* plan(m, loaded)
    if (p.runs.length === 0) return yield* badInput(`${file}: the sweep has no runs`)
    const outDir = Option.getOrElse(out, () => join("out", loaded.sweep.name))
    if (Option.isSome(only)) {
      const spec = p.runs.find((r) => r.key === only.value)
      if (spec === undefined) return yield* badInput(`--only ${only.value}: no run with this key in ${file} (${p.runs.length} runs, e.g. ${p.runs[0]!.key})`)
      const record = RunOne.execute(RunOne.context(loaded, p, file), spec, () => performance.now())
      return yield* Console.log(JSON.stringify(record, null, json ? undefined : 2))
    }
    if (submit && Option.isNone(slurm)) return yield* badInput("--submit applies to --slurm N")
    if (Option.isSome(slurm)) {
      if (Option.isSome(shard) || resume) return yield* badInput("--slurm writes an array job script; --shard and --resume apply to the tasks, which the script runs")
      if (Option.isSome(report)) return yield* badInput("--report with --slurm: the report comes with the merge, `qvsim merge DIR --report FILE` once every task is done")
      if (slurm.value > p.runs.length) return yield* badInput(`--slurm ${slurm.value}: more shards than runs (${p.runs.length})`)
      const outAbs = resolve(outDir)
      const path = join(outAbs, "sweep.sbatch")
      yield* attempt(() => {
        for (let i = 0; i < slurm.value; i++) mkdirSync(Shards.dirOf(outAbs, i), { recursive: true })
        Store.writeDurably(path, Slurm.script({
          name: loaded.sweep.name, hash: loaded.hash, node: process.execPath, cli: resolve(import.meta.dirname, "qvsim.mjs"),
          file: loaded.file, outDir: outAbs, workDir: process.cwd(), shards: slurm.value, cpusPerTask: Option.getOrElse(jobs, () => 1), command: commandLine(),
        }))
      })
      const jobId = submit ? yield* attempt(() => Slurm.submit(path)) : undefined
      if (json) return yield* Console.log(JSON.stringify({ sweep: loaded.sweep.name, hash: loaded.hash, script: path, shards: slurm.value, runs: p.runs.length, ...(jobId !== undefined ? { jobId } : {}) }))
      return yield* Console.log([
        `sweep        ${loaded.sweep.name} (hash ${loaded.hash}; ${sizeText(p)})`,
        `wrote        ${path} (${slurm.value} array tasks, one shard each, into ${join(outAbs, "shards")}/<i>/)`,
        jobId !== undefined ? `submitted    job ${jobId}` : `submit with  sbatch ${path}`,
        `then         qvsim merge ${outDir}`,
      ].join("\n"))
    }
    const fromFlag = Option.isSome(shard) ? yield* attempt(() => Shards.parse(shard.value)) : undefined
    const fromEnv = fromFlag === undefined ? yield* attempt(() => Shards.fromEnv(process.env, Option.getOrUndefined(shards))) : undefined
    if (fromFlag === undefined && fromEnv === undefined && Option.isSome(shards)) return yield* badInput("--shards N needs the shard index from the environment (SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), or use --shard I/N")
    const chosen = fromFlag ?? fromEnv
    if (chosen !== undefined && chosen.count > p.runs.length) return yield* badInput(`shard ${chosen.index}/${chosen.count}: more shards than runs (${p.runs.length})`)
    if (chosen !== undefined && Option.isSome(report)) return yield* badInput("--report applies to a whole sweep; a shard writes runs only: `qvsim merge DIR --report FILE` after the shards")
    if (fromEnv !== undefined && !json) yield* Console.error(`shard ${fromEnv.index}/${fromEnv.count} (from ${fromEnv.source})`)
    const workers = Option.getOrElse(jobs, () => availableParallelism())
    const outcome = yield* promise((signal) => {
      signal.addEventListener("abort", () => {
        process.stderr.write(`\nqvsim: interrupted; the finished runs are in ${join(chosen === undefined ? outDir : Shards.dirOf(outDir, chosen.index), "runs.jsonl")}: continue with --resume\n`)
      }, { once: true })
      return Local.run({
        loaded, plan: p, fileArg: file, jobs: workers, outDir, resume, command: commandLine(), progress: !json, signal, clock: () => performance.now(),
        ...(chosen !== undefined ? { shard: chosen } : {}),
        ...(Option.isSome(report) ? { reportPath: report.value } : {}),
      })
    })
    for (const w of outcome.warnings) yield* Console.error(`qvsim: warning: ${w}`)
    const rate = outcome.ran / (outcome.wallMs / 1000)
    if (json) {
      return yield* Console.log(JSON.stringify({
        sweep: loaded.sweep.name, hash: loaded.hash, dir: outcome.dir, ...(chosen !== undefined ? { shard: { index: chosen.index, count: chosen.count } } : {}),
        runs: outcome.total, skipped: outcome.skipped, ran: outcome.ran, failed: outcome.failed, wallMs: Math.round(outcome.wallMs), jobs: workers, files: outcome.files,
      }))
    }
    yield* Console.log([
      `sweep        ${loaded.sweep.name} (hash ${loaded.hash}; ${sizeText(p)})${chosen !== undefined ? `, shard ${chosen.index}/${chosen.count}: ${outcome.total} runs` : ""}`,
      `ran          ${outcome.ran} run${outcome.ran === 1 ? "" : "s"} in ${(outcome.wallMs / 1000).toFixed(1)} s (${Number.isFinite(rate) ? rate.toFixed(1) : "0"} runs/s, --jobs ${workers})${outcome.skipped > 0 ? `; ${outcome.skipped} already done` : ""}`,
      ...(outcome.failed > 0 ? [`failed       ${outcome.failed} run${outcome.failed === 1 ? "" : "s"}: each has its error and replay command line in ${join(outcome.dir, "runs.jsonl")}`] : []),
      `wrote        ${outcome.files.join(", ")}`,
      ...(chosen !== undefined ? [`then         qvsim merge ${outDir} (when every shard is done)`] : []),
    ].join("\n"))
  }),
).pipe(Command.withDescription("run a sweep: many runs of a scenario (grid × task sets × seeds) in parallel, one summary table"))

export const merge = Command.make(
  "merge",
  {
    dir: Argument.String("dir").pipe(Argument.withDescription("the sweep's --out folder, holding shards/<i>/runs.jsonl")),
    sweepFile: Flag.String("sweep").pipe(Flag.withDescription("the sweep file (default: the path recorded in the shards)"), Flag.withMetavar("FILE"), Flag.optional),
    report: reportFlag,
    json: jsonFlag,
  },
  Effect.fn("merge")(function* ({ dir, sweepFile, report, json }) {
    const m = yield* modules()
    const { Results, Shards, Store } = m
    const first = yield* attempt(() => {
      const root = join(dir, "shards")
      try {
        return Store.read(join(root, "0", "runs.jsonl")).header
      } catch (e) {
        if (Option.isSome(sweepFile)) return undefined
        throw new ScenarioError(`merge: ${(e as Error).message} (the first shard names the sweep file; or give it with --sweep FILE)`)
      }
    })
    const file = Option.getOrElse(sweepFile, () => first!.sweep.file)
    const loaded = yield* load(m, file)
    const p = yield* plan(m, loaded)
    const merged = yield* attempt(() => Shards.merge(dir, p, loaded.hash))
    const existing = join(dir, "runs.jsonl")
    if (existsSync(existing)) {
      const h = yield* attempt(() => Store.read(existing).header)
      if (h.merged === undefined) return yield* badInput(`merge: ${existing} holds the runs of a local sweep, not of a merge: move it away first (nothing was written)`)
    }
    const start = performance.now()
    const runsHeader = { ...Results.header(Results.provenance(loaded, p, commandLine()), null), merged: merged.shards }
    const written = yield* promise(() => Results.write(dir, loaded, p, merged.runs, runsHeader, { shards: merged.shards }, Option.getOrUndefined(report)))
    for (const w of written.warnings) yield* Console.error(`qvsim: warning: ${w}`)
    if (json) {
      return yield* Console.log(JSON.stringify({ sweep: loaded.sweep.name, hash: loaded.hash, dir, shards: merged.shards, runs: merged.runs.length, duplicates: merged.duplicates, failed: written.failed, files: written.files, wallMs: Math.round(performance.now() - start) }))
    }
    yield* Console.log([
      `sweep        ${loaded.sweep.name} (hash ${loaded.hash}; ${sizeText(p)})`,
      `merged       ${merged.shards} shards: ${merged.runs.length} runs${merged.duplicates > 0 ? ` (${merged.duplicates} found twice with the same fingerprint, kept once)` : ""}${written.failed > 0 ? `, ${written.failed} failed` : ""}`,
      `wrote        ${written.files.join(", ")}`,
    ].join("\n"))
  }),
).pipe(Command.withDescription("merge a sharded sweep's DIR/shards/*/runs.jsonl into DIR/runs.jsonl and its summary (checked: every run, once)"))
