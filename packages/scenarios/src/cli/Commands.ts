/**
 * The `qvsim` commands: list, run, replay, diff. Effect at the edge: loading and validating
 * scenarios, files and their cleanup, timing, exit codes. The simulation itself runs in plain
 * TypeScript (`Runner`).
 */
import { mkdirSync } from "node:fs"
import { basename, join } from "node:path"
import { Diff, Replay, Time, Trace } from "@qvsim/sim-core"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Builtins from "../Builtins.ts"
import * as Check from "../Check.ts"
import { jsonSchema, parseScenario, ScenarioError } from "../Scenario.ts"
import * as Experiments from "../Experiments.ts"
import * as Jobs from "../Jobs.ts"
import * as Override from "../Override.ts"
import { hashOf, load, type Loaded, type LoadOptions } from "../Load.ts"
import type * as ExperimentReport from "../report/ExperimentReport.ts"
import * as Outputs from "../report/Outputs.ts"
import * as Runner from "../Runner.ts"
import * as Summary from "../Summary.ts"
import { readHeader, readRecords } from "../TraceFile.ts"
import { VERSION } from "../Version.ts"
import { badInput, different, fromUnknown } from "./Errors.ts"
import * as List from "./List.ts"
import * as Progress from "./Progress.ts"
import { strictVerdict } from "./Strict.ts"
import { merge, sweep } from "./SweepCommands.ts"

/** Wraps a synchronous step, turning anything it throws into a one-line exit error. */
const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })

const loadScenario = (spec: string, options: LoadOptions = {}) => load(spec, options).pipe(Effect.mapError(fromUnknown))

const findExperiment = (spec: string) => Effect.tryPromise({ try: () => Experiments.find(spec), catch: fromUnknown })

const seedFlag = Flag.Int("seed").pipe(
  Flag.withDescription("run seed (a non-negative integer; default: the scenario's)"),
  Flag.filter((n) => Number.isSafeInteger(n) && n >= 0, () => "Expected a non-negative integer"),
  Flag.optional,
)

const untilFlag = Flag.String("until").pipe(
  Flag.withDescription("simulated time to stop at, e.g. 10ms, 2.5s (default: the scenario's duration)"),
  Flag.withMetavar("DURATION"),
  Flag.mapTryCatch(
    (text) => {
      const t = Time.parseDuration(text)
      if (t <= 0) throw new Error("must be greater than 0")
      return t
    },
    (e) => `Expected a duration that is a positive integer number of ns, e.g. 10ms or 2.5s (${(e as Error).message})`,
  ),
  Flag.optional,
)

const traceFlag = Flag.String("trace").pipe(
  Flag.withDescription("write every trace record to FILE (JSONL, header first)"),
  Flag.withMetavar("FILE"),
  Flag.optional,
)

const scheduleFlag = Flag.String("schedule").pipe(
  Flag.withDescription("write the executed segments [{pcpu, start, end, vcpu, thread, job}] (ns) to FILE as JSON"),
  Flag.withMetavar("FILE"),
  Flag.optional,
)

/** An output file flag whose name must end with one of `extensions`. */
const fileFlag = (name: string, description: string, extensions: ReadonlyArray<string>) =>
  Flag.String(name).pipe(
    Flag.withDescription(description),
    Flag.withMetavar("FILE"),
    Flag.filter(
      (path) => extensions.some((ext) => basename(path).toLowerCase().endsWith(ext) && basename(path).length > ext.length),
      () => `Expected a file name ending in ${extensions.join(" or ")}`,
    ),
    Flag.optional,
  )

const jobsFlag = fileFlag("jobs", "write one row per job (thread, job, release, firstStart, finish, response, deadline, missed, preemptions; ns) to FILE: CSV, or JSON for .json", [".csv", ".json"])

const checkInvariantsFlag = Flag.Boolean("check-invariants").pipe(
  Flag.withDescription("check every scheduler at every decision (spec F1–F3, F7, F9, F10); a violation stops the run with exit 3"),
  Flag.withDefault(false),
)

const strictFlag = Flag.Boolean("strict").pipe(
  Flag.withDescription("exit 1 when a claim of the experiment does not hold or a deadline is missed (for CI)"),
  Flag.withDefault(false),
)

const perfettoFlag = fileFlag("perfetto", "write a Chrome/Perfetto trace-event JSON file (open it at ui.perfetto.dev)", [".json"])

const reportFlag = fileFlag("report", "write a self-contained HTML report: summary, Gantt chart, the experiment's plot, analysis", [".html", ".htm"])

const scaleFlag = Flag.Finite("scale").pipe(
  Flag.withDescription("experiments: shrink request counts or durations by this factor for a quick look (default 1, the paper's size)"),
  Flag.filter((x) => Number.isFinite(x) && x > 0 && x <= 1, () => "Expected a number in (0, 1]"),
  Flag.optional,
)

const outFlag = Flag.String("out").pipe(
  Flag.withDescription("experiments: the folder for results.csv, results.json (and --traces); default out/<experiment>"),
  Flag.withMetavar("DIR"),
  Flag.optional,
)

const tracesFlag = Flag.String("traces").pipe(
  Flag.withDescription("experiments: write the traces of these variants (comma-separated, or all) to <out>/<variant>.trace.jsonl (replayable)"),
  Flag.withMetavar("VARIANTS"),
  Flag.optional,
)

const setFlag = Flag.String("set").pipe(
  Flag.withDescription("change a scenario field before the run, by path (repeatable): --set scheduler.quantum=1ms --set pcpus[0].vcpus[1].budget=2ms"),
  Flag.withMetavar("PATH=VALUE"),
  Flag.atLeast(0),
)

/** `--set` assignments, checked against the scenario schema (errors name the flag and the path). */
const parseSets = (sets: ReadonlyArray<string>) =>
  attempt(() => sets.map((text) => {
    try {
      return { ...Override.parseAssignment(text), origin: "--set" }
    } catch (e) {
      throw new ScenarioError(`--set ${(e as Error).message}`)
    }
  }))

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object on stdout"), Flag.withDefault(false))

const header = (loaded: Loaded, seed: number, untilNs: number, scale?: number, set: ReadonlyArray<string> = []): Trace.TraceHeader => ({
  type: "header",
  qvsim: VERSION,
  scenario: { name: loaded.scenario.name, hash: loaded.hash, source: loaded.source },
  seed,
  options: { untilNs, ...(scale === undefined ? {} : { scale }), ...(set.length === 0 ? {} : { set: [...set] }) },
})

/** Measures wall time around `f` (the CLI is the one place allowed to read the clock). */
const timed = <A>(f: () => A): [A, number] => {
  const start = performance.now()
  const value = f()
  return [value, performance.now() - start]
}

export const list = Command.make("list", {}, () => Console.log(List.lines().join("\n"))).pipe(Command.withDescription("list the built-in scenarios and the paper's experiments"))

interface ExperimentFlags {
  readonly seed: Option.Option<number>
  readonly scale: Option.Option<number>
  readonly out: Option.Option<string>
  readonly traces: Option.Option<string>
  readonly report: string | undefined
  readonly json: boolean
  readonly checkInvariants: boolean
  readonly strict: boolean
}

/** `qvsim run <experiment>`: every variant, the tables and claims, results.csv/json (all or nothing). */
const runExperiment = (found: Experiments.Found, flags: ExperimentFlags) =>
  Effect.gen(function* () {
    const e = found.experiment
    const seed = Option.getOrElse(flags.seed, () => e.seed)
    const scale = Option.getOrElse(flags.scale, () => 1)
    const outDir = Option.getOrElse(flags.out, () => join("out", e.name))
    const traced = new Set<string>()
    if (Option.isSome(flags.traces)) {
      const names = flags.traces.value === "all" ? e.variants.map((v) => v.name) : flags.traces.value.split(",").map((x) => x.trim()).filter((x) => x !== "")
      for (const n of names) {
        if (!e.variants.some((v) => v.name === n)) return yield* badInput(`--traces: experiment ${e.name} has no variant "${n}" (variants: ${e.variants.map((v) => v.name).join(", ") || "none"})`)
        traced.add(n)
      }
    }
    yield* attempt(() => mkdirSync(outDir, { recursive: true }))
    const pending: Outputs.PendingFile[] = []
    const open = (path: string, flag: string): Outputs.PendingFile => {
      const f = new Outputs.PendingFile(path, flag)
      pending.push(f)
      return f
    }
    const abort = () => { for (const f of pending) f.abort() }
    const done = yield* Effect.gen(function* () {
      const sinks = traced.size > 0
        ? (v: { readonly name: string; readonly untilNs: (scale: number) => number }, scenario: { readonly name: string }, input: unknown): Trace.TraceSink[] | undefined => {
          if (!traced.has(v.name)) return undefined
          const file = open(join(outDir, `${v.name}.trace.jsonl`), "--traces")
          const h: Trace.TraceHeader = {
            type: "header",
            qvsim: VERSION,
            scenario: { name: scenario.name, hash: hashOf(input), source: `${found.source}/${v.name}` },
            seed,
            options: { untilNs: v.untilNs(scale), scale },
          }
          return [new Trace.JsonlSink(file, h)]
        }
        : undefined
      // Progress on stderr (runs longer than a second; silent with --json): the variant, then its simulated time and events/s.
      const started = performance.now()
      let progress: Progress.Progress | undefined
      const onSlice = flags.json ? undefined : (v: { readonly name: string }) => {
        progress?.done()
        progress = Progress.make(true, `${v.name}: `)
        return progress.onSlice
      }
      const onVariant = flags.json ? undefined : (v: { readonly name: string }, events: number) => {
        progress?.done()
        progress = undefined
        if (performance.now() - started > 1000) process.stderr.write(`  ${v.name}: done (${events.toLocaleString("en-US")} events)\n`)
      }
      const [ran, wallMs] = yield* attempt(() => timed(() => Experiments.run(e, {
        seed, scale, ...(sinks !== undefined ? { sinks } : {}), ...(onSlice !== undefined ? { onSlice } : {}), ...(onVariant !== undefined ? { onVariant } : {}),
        checkInvariants: flags.checkInvariants, recordJobs: flags.strict,
      })))
      const { result } = ran
      const files = [
        ...Experiments.csvFiles(result).map((f) => ({ path: join(outDir, f.name), text: f.text })),
        { path: join(outDir, "results.json"), text: `${JSON.stringify(Experiments.resultsJson(e, seed, result), null, 2)}\n` },
      ]
      for (const f of files) yield* attempt(() => open(f.path, "--out").write(f.text))
      if (flags.report !== undefined) {
        const html = yield* Effect.tryPromise({
          // Loaded only for a report: the charts' modules (vega) take about a second to load.
          try: async () => ((await import("../report/ExperimentReport.ts")) as typeof ExperimentReport).build({
            experiment: e, seed, scale, result, wallMs,
            variants: ran.runs.map((r) => ({
              name: r.variant,
              description: e.variants.find((v) => v.name === r.variant)?.description ?? "",
              simTimeNs: r.system.sim.now,
              events: r.system.sim.events,
              fingerprint: r.system.sim.trace.fingerprint(),
            })),
          }),
          catch: fromUnknown,
        })
        yield* attempt(() => open(flags.report!, "--report").write(html))
      }
      yield* attempt(() => {
        const renamed: Outputs.PendingFile[] = []
        for (const f of pending) { f.commit(); renamed.push(f) }
      })
      return { ran, wallMs: Math.round(wallMs * 1000) / 1000, files: pending.map((f) => f.path) }
    }).pipe(Effect.onError(() => Effect.sync(abort)))
    const { result } = done.ran
    const verdict = flags.strict
      ? strictVerdict(result.claims, done.ran.runs.map((r) => ({ where: r.variant, misses: Jobs.misses(Jobs.fromSystem(r.system)) })))
      : undefined
    if (flags.json) {
      yield* Console.log(JSON.stringify({ experiment: e.name, seed, wallMs: done.wallMs, tables: result.tables, claims: result.claims }))
      if (verdict !== undefined) return yield* different(verdict)
      return
    }
    const rate = done.wallMs > 0 ? Math.round(done.ran.events / (done.wallMs / 1000)) : 0
    const lines = [
      `experiment   ${e.name} (seed ${seed}${scale !== 1 ? `, scale ${scale}` : ""})`,
      `             ${e.description}`,
      `source       ${e.source}`,
      `ran          ${done.ran.runs.length > 0 ? `${done.ran.runs.length} variant(s)` : "computed"} in ${done.wallMs.toFixed(0)} ms wall${done.ran.events > 0 ? ` (${done.ran.events.toLocaleString("en-US")} events, ${rate.toLocaleString("en-US")} events/s)` : ""}`,
      ...result.tables.flatMap((t) => ["", Experiments.formatTable(t)]),
      "",
      Experiments.formatClaims(result.claims),
      "",
      `wrote        ${done.files.join(", ")}`,
    ]
    yield* Console.log(lines.join("\n"))
    if (verdict !== undefined) return yield* different(verdict)
  })

export const run = Command.make(
  "run",
  {
    scenario: Argument.String("scenario").pipe(Argument.withDescription("a built-in name, a .ts file (default export) or a .json file")),
    seed: seedFlag,
    until: untilFlag,
    trace: traceFlag,
    perfetto: perfettoFlag,
    schedule: scheduleFlag,
    jobs: jobsFlag,
    report: reportFlag,
    json: jsonFlag,
    scale: scaleFlag,
    out: outFlag,
    traces: tracesFlag,
    checkInvariants: checkInvariantsFlag,
    strict: strictFlag,
    set: setFlag,
  },
  Effect.fn("run")(function* ({ scenario: spec, seed, until, trace, perfetto, schedule, jobs, report, json, scale, out, traces, checkInvariants, strict, set }) {
    const found = yield* findExperiment(spec)
    if (found !== undefined) {
      if (set.length > 0) return yield* badInput(`--set applies to one run: use \`qvsim run ${spec}/<variant> --set ...\``)
      for (const [flag, given] of [["--trace", Option.isSome(trace)], ["--perfetto", Option.isSome(perfetto)], ["--schedule", Option.isSome(schedule)], ["--jobs", Option.isSome(jobs)], ["--until", Option.isSome(until)]] as const) {
        if (given) return yield* badInput(`${flag} applies to one run: use \`qvsim run ${spec}/<variant> ${flag} ...\` (or --traces VARIANTS|all for variants' traces)`)
      }
      return yield* runExperiment(found, { seed, scale, out, traces, report: Option.getOrUndefined(report), json, checkInvariants, strict })
    }
    if (Option.isSome(out)) return yield* badInput(`--out applies to experiments; ${spec} is a scenario (use --trace, --report, ... with file names)`)
    if (Option.isSome(traces)) return yield* badInput(`--traces applies to experiments; ${spec} is a scenario (use --trace FILE)`)
    const paths = {
      trace: Option.getOrUndefined(trace),
      perfetto: Option.getOrUndefined(perfetto),
      schedule: Option.getOrUndefined(schedule),
      jobs: Option.getOrUndefined(jobs),
      report: Option.getOrUndefined(report),
    }
    const clash = Outputs.sameFile(paths)
    if (clash !== undefined) return yield* badInput(clash)
    const scaleV = Option.getOrUndefined(scale)
    const overrides = yield* parseSets(set)
    const loaded = yield* loadScenario(spec, { ...(Option.isSome(seed) ? { seed: seed.value } : {}), ...(scaleV !== undefined ? { scale: scaleV } : {}), overrides })
    const runSeed = Option.getOrElse(seed, () => loaded.scenario.seed)
    const untilNs = Option.getOrElse(until, () => loaded.scenario.duration)
    // Every output is written under a temporary name and renamed into place only if the whole run succeeds.
    const summary = yield* Effect.acquireUseRelease(
      attempt(() => Outputs.RunOutputs.open({ ...paths, scenario: loaded.scenario, header: header(loaded, runSeed, untilNs, scaleV, set) })),
      (outputs) =>
        Effect.gen(function* () {
          const s = yield* attempt(() => {
            const prepared = Runner.prepare(loaded.scenario, {
              seed: runSeed, untilNs, sinks: outputs.sinks, recordSchedule: outputs.recordSchedule,
              recordJobs: outputs.recordJobs || strict, checkInvariants,
            })
            outputs.bind(prepared)
            const progress = Progress.make(!json)
            const [s, wallMs] = timed(() => Runner.execute(prepared, progress.onSlice))
            progress.done()
            const misses = strict ? Jobs.misses(prepared.jobs()) : undefined
            return { ...s, wallMs: Math.round(wallMs * 1000) / 1000, misses }
          })
          yield* Effect.tryPromise({ try: () => outputs.finish(s, { hash: loaded.hash, source: loaded.source }), catch: fromUnknown })
          for (const w of outputs.warnings) yield* Console.error(`qvsim: warning: ${w}`)
          return s
        }),
      (outputs, exit) => Effect.sync(() => { if (exit._tag === "Failure") outputs.abort() }),
    )
    if (json) {
      const { scenario, seed: s, simTimeNs, events, wallMs, fingerprint, metrics, stopReason, records } = summary
      yield* Console.log(JSON.stringify({ scenario, seed: s, simTimeNs, events, wallMs, fingerprint, metrics, stopReason, records }))
    } else {
      yield* Console.log(Summary.format(summary))
      if (paths.trace !== undefined) yield* Console.log(`trace        ${paths.trace} (${summary.records.toLocaleString("en-US")} records)`)
      if (paths.perfetto !== undefined) yield* Console.log(`perfetto     ${paths.perfetto} (open it at ui.perfetto.dev)`)
      if (paths.schedule !== undefined) yield* Console.log(`schedule     ${paths.schedule}`)
      if (paths.jobs !== undefined) yield* Console.log(`jobs         ${paths.jobs}`)
      if (paths.report !== undefined) yield* Console.log(`report       ${paths.report}`)
    }
    if (summary.misses !== undefined) {
      const verdict = strictVerdict([], [{ where: "", misses: summary.misses }])
      if (verdict !== undefined) return yield* different(verdict)
    }
  }),
).pipe(Command.withDescription("run a scenario (or an experiment: every variant, its tables and claims) and print its summary"))

export const replay = Command.make(
  "replay",
  { trace: Argument.String("trace.jsonl").pipe(Argument.withDescription("a trace written by `qvsim run --trace`")) },
  Effect.fn("replay")(function* ({ trace }) {
    const head = yield* attempt(() => readHeader(trace))
    const source = head.scenario.source
    if (source === undefined) return yield* badInput(`${trace}: the header names no scenario source to replay`)
    const scaleOpt = head.options["scale"]
    const scale = typeof scaleOpt === "number" ? scaleOpt : undefined
    const setOpt = head.options["set"]
    const overrides = yield* parseSets(Array.isArray(setOpt) ? setOpt.map(String) : [])
    const loaded = yield* loadScenario(source, { seed: head.seed, ...(scale !== undefined ? { scale } : {}), overrides })
    if (loaded.hash !== head.scenario.hash) {
      return yield* different(`${trace}: scenario ${source} changed since the trace was written (hash ${loaded.hash}, trace says ${head.scenario.hash})`)
    }
    const untilNs = typeof head.options["untilNs"] === "number" ? head.options["untilNs"] : loaded.scenario.duration
    const result = yield* attempt(() => {
      // The replay sink listens from the start, like the trace's sink did (a system emits when it starts).
      let prepared: Runner.Prepared | undefined
      const sink = new Replay.ReplaySink(readRecords(trace), () => prepared?.sim.stop())
      prepared = Runner.prepare(loaded.scenario, { seed: head.seed, untilNs, sinks: [sink] })
      Runner.execute(prepared)
      return { difference: sink.finish(), compared: sink.compared }
    })
    if (result.difference !== null) {
      return yield* different(`${trace}:${result.difference.index + 2}: ${Diff.describe(result.difference)}`)
    }
    yield* Console.log(`identical: ${result.compared.toLocaleString("en-US")} records of ${head.scenario.name} (seed ${head.seed}) replayed`)
  }),
).pipe(Command.withDescription("re-run the scenario of a trace and compare record by record"))

export const diff = Command.make(
  "diff",
  { a: Argument.String("a.jsonl"), b: Argument.String("b.jsonl") },
  Effect.fn("diff")(function* ({ a, b }) {
    const [ha, hb] = yield* attempt(() => [readHeader(a), readHeader(b)] as const)
    const d = yield* attempt(() => Diff.firstDifference(readRecords(a), readRecords(b)))
    if (d !== null) {
      const context = ha.seed !== hb.seed || ha.scenario.hash !== hb.scenario.hash
        ? ` (headers differ: ${ha.scenario.name}/seed ${ha.seed} vs ${hb.scenario.name}/seed ${hb.seed})`
        : ""
      return yield* different(`${Diff.describe(d)}${context}`)
    }
    yield* Console.log(`identical: ${a} and ${b}`)
  }),
).pipe(Command.withDescription("compare two traces and report the first differing record"))

export const check = Command.make(
  "check",
  {
    scenario: Argument.String("scenario").pipe(Argument.withDescription("a built-in name, a .ts file or a .json file")),
    json: jsonFlag,
  },
  Effect.fn("check")(function* ({ scenario: spec, json }) {
    const loaded = yield* loadScenario(spec)
    const checks = yield* attempt(() => Check.check(loaded.scenario))
    if (checks.length === 0) return yield* badInput(`scenario ${loaded.scenario.name} declares no PCPUs with VCPUs to analyse`)
    yield* Console.log(json ? JSON.stringify(Check.toJson(loaded.scenario.name, checks)) : Check.format(loaded.scenario.name, checks))
    const bad = Check.unschedulable(checks)
    if (bad.length > 0) return yield* different(`unschedulable: ${bad.join("; ")}`)
  }),
).pipe(Command.withDescription("per-PCPU schedulability analysis: utilisation, LL, hyperbolic, Main+I/O, RTA; exit 1 when a PCPU is unschedulable (U > 1 or an RTA response beyond its period)"))

export const schema = Command.make(
  "schema",
  { sweep: Flag.Boolean("sweep").pipe(Flag.withDescription("the schema of sweep files instead"), Flag.withDefault(false)) },
  ({ sweep }) => Effect.gen(function* () {
    const schemaOf = sweep ? (yield* Effect.promise(() => import("../sweep/Sweep.ts"))).jsonSchema : jsonSchema
    yield* Console.log(JSON.stringify(schemaOf(), null, 2))
  }),
).pipe(
  Command.withDescription("print the JSON Schema of scenario files (with --sweep: of sweep files), for editors"),
)

export const root = Command.make("qvsim").pipe(
  Command.withDescription("qvsim: a deterministic discrete-event simulator of the Quest-V multikernel"),
  Command.withSubcommands([list, run, check, replay, diff, schema, sweep, merge]),
)
