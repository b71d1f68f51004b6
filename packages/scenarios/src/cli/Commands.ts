/**
 * The `qvsim` commands: list, run, replay, diff. Effect at the edge: loading and validating
 * scenarios, files and their cleanup, timing, exit codes. The simulation itself runs in plain
 * TypeScript (`Runner`).
 */
import { basename } from "node:path"
import { Diff, Replay, Time, type Trace } from "@qvsim/sim-core"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Builtins from "../Builtins.ts"
import * as Check from "../Check.ts"
import { jsonSchema, parseScenario, ScenarioError } from "../Scenario.ts"
import * as Experiments from "../Experiments.ts"
import { load, type Loaded, type LoadOptions } from "../Load.ts"
import * as Jobs from "../Jobs.ts"
import * as Override from "../Override.ts"
import * as Outputs from "../report/Outputs.ts"
import * as Perfetto from "../report/Perfetto.ts"
import * as Runner from "../Runner.ts"
import * as Summary from "../Summary.ts"
import { readHeader, readRecords, recordPlace } from "../TraceFile.ts"
import { headerScenario, resolveForReplay } from "../TraceSource.ts"
import { VERSION } from "../Version.ts"
import { badInput, different, fromUnknown } from "./Errors.ts"
import { runExperiment } from "./ExperimentRun.ts"
import { runRobust, sensitivity } from "./RobustRun.ts"
import * as Domain from "../robust/Domain.ts"
import { domainOf } from "../robust/RunPoint.ts"
import * as List from "./List.ts"
import * as Progress from "./Progress.ts"
import * as Signals from "./Signals.ts"
import { strictVerdict } from "./Strict.ts"
import { merge, sweep } from "./SweepCommands.ts"
import { exportTrace } from "./Export.ts"

/** Wraps a synchronous step, turning anything it throws into a one-line exit error. */
const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })

/** Loads a scenario; its deprecated spellings are printed as warnings on stderr (one line per kind). */
const loadScenario = (spec: string, options: LoadOptions = {}) =>
  load(spec, options).pipe(
    Effect.mapError(fromUnknown),
    Effect.tap((loaded) => Effect.forEach(loaded.warnings, (w) => Console.error(`qvsim: warning: ${w}`), { discard: true })),
  )

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
  Flag.withDescription("write every trace record to FILE: binary for a .qvt name (compact, fast; `qvsim export` turns it into JSONL or Perfetto), else JSONL (header first)"),
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

const perfettoFlag = fileFlag("perfetto", "write a Chrome/Perfetto trace-event JSON file (open it at ui.perfetto.dev)", [".json"])

const JOBS_FILE = [".csv", ".json"]

// A file for one run (its jobs), or with --robust the number of workers: checked where it is used.
const jobsFlag = Flag.String("jobs").pipe(
  Flag.withDescription("write one row per job (thread, job, release, firstStart, finish, response, deadline, missed, preemptions; ns) to FILE: CSV, or JSON for .json; with --robust: the number of workers (default: the cores)"),
  Flag.withMetavar("FILE|N"),
  Flag.optional,
)

const isJobsFile = (path: string): boolean => JOBS_FILE.some((ext) => basename(path).toLowerCase().endsWith(ext) && basename(path).length > ext.length)

const robustFlag = Flag.Boolean("robust").pipe(
  Flag.withDescription("experiments: every claim over the experiment's domain (seeds, choices, assumed constants), sampled on a worker pool: holds in k of n, a 95 % interval, the first counterexample"),
  Flag.withDefault(false),
)

const samplesFlag = Flag.Int("samples").pipe(
  Flag.withDescription("with --robust: the points of the Latin hypercube (default: the domain's, its number of seeds)"),
  Flag.filter((n) => Number.isSafeInteger(n) && n >= 1, () => "Expected a positive integer"),
  Flag.optional,
)

const paramFlag = Flag.String("param").pipe(
  Flag.withDescription("experiments: set a domain parameter for this run (repeatable): --param pinged=3 --param interruptEntryCycles=800 (names and ranges: qvsim run <experiment> --robust lists them)"),
  Flag.withMetavar("NAME=VALUE"),
  Flag.atLeast(0),
)

const resumeFlag = Flag.Boolean("resume").pipe(
  Flag.withDescription("with --robust: continue <out>/runs.jsonl, skipping the points already there"),
  Flag.withDefault(false),
)

const categoriesFlag = (name: string, what: string) => Flag.String(name).pipe(
  Flag.withDescription(`--perfetto: ${what} these event categories (comma-separated: ${Perfetto.CATEGORIES.join(", ")})`),
  Flag.withMetavar("CATEGORIES"),
  Flag.optional,
)
const perfettoIncludeFlag = categoriesFlag("perfetto-include", "write only")
const perfettoExcludeFlag = categoriesFlag("perfetto-exclude", "leave out")

/** A `--perfetto-include`/`--perfetto-exclude` list, each name a known category (else exit 2 naming the flag and the value). */
const parseCategories = (flag: string, given: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isNone(given)) return [] as string[]
    const names = given.value.split(",").map((x) => x.trim()).filter((x) => x !== "")
    for (const n of names) {
      if (!(Perfetto.CATEGORIES as ReadonlyArray<string>).includes(n)) return yield* badInput(`${flag}: unknown category "${n}" (categories: ${Perfetto.CATEGORIES.join(", ")})`)
    }
    if (names.length === 0) return yield* badInput(`${flag}: give at least one category (${Perfetto.CATEGORIES.join(", ")})`)
    return names
  })

const progressFlag = Flag.Literals("progress", Progress.MODES).pipe(
  Flag.withDescription("the progress line on stderr: auto (on a terminal only), always (off a terminal: one line per 5 s at most), never"),
  Flag.withDefault("auto" as Progress.Mode),
)


const checkInvariantsFlag = Flag.Boolean("check-invariants").pipe(
  Flag.withDescription("check every scheduler at every decision (spec F1–F3, F7, F9, F10); a violation stops the run with exit 3"),
  Flag.withDefault(false),
)

const strictFlag = Flag.Boolean("strict").pipe(
  Flag.withDescription("exit 1 when a claim of the experiment does not hold or a deadline is missed (for CI)"),
  Flag.withDefault(false),
)

const reportFlag = fileFlag("report", "write a self-contained HTML report: summary, Gantt chart, the experiment's plot, analysis", [".html", ".htm"])

const scaleFlag = Flag.Finite("scale").pipe(
  Flag.withDescription("experiments: shrink request counts or durations by this factor for a quick look (default 1, the paper's size)"),
  Flag.filter((x) => Number.isFinite(x) && x > 0 && x <= 1, () => "Expected a number in (0, 1]"),
  Flag.optional,
)

const outFlag = Flag.String("out").pipe(
  Flag.withDescription("experiments: the folder for <table>.csv, results.json (and --traces); default out/<experiment>"),
  Flag.withMetavar("DIR"),
  Flag.optional,
)

const tracesFlag = Flag.String("traces").pipe(
  Flag.withDescription("experiments: write the traces of these variants (comma-separated, or all) to <out>/<variant>.trace.jsonl, or .trace.qvt with --trace-format qvt (replayable)"),
  Flag.withMetavar("VARIANTS"),
  Flag.optional,
)

// Checked where it is used (one line naming the flag, exit 2), like --jobs.
const traceFormatFlag = Flag.String("trace-format").pipe(
  Flag.withDescription("experiments: the format of the --traces files: jsonl (default; text, a header line then one record per line) or qvt (binary: compact, fast; `qvsim export` turns it into JSONL or Perfetto). One run's --trace FILE takes its format from the name"),
  Flag.withMetavar("jsonl|qvt"),
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

const forceFlag = Flag.Boolean("force").pipe(
  Flag.withDescription("write through a symbolic link at an output path; experiments: replace another run's results in --out"),
  Flag.withDefault(false),
)

const trustFlag = Flag.Boolean("trust").pipe(
  Flag.withDescription("replay a trace whose .ts scenario lies outside the trace's folder and the qvsim checkout (replay imports, i.e. runs, it)"),
  Flag.withDefault(false),
)

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object on stdout"), Flag.withDefault(false))

/** `--trace-format` checked: `jsonl` (the default) or `qvt`, and only beside `--traces`. */
const traceFormatOf = (format: Option.Option<string>, traces: Option.Option<string>) =>
  Effect.gen(function* () {
    if (Option.isNone(format)) return "jsonl" as const
    const f = format.value
    if (f !== "jsonl" && f !== "qvt") return yield* badInput(`--trace-format ${JSON.stringify(f)}: expected jsonl or qvt`)
    if (Option.isNone(traces)) return yield* badInput("--trace-format applies to --traces VARIANTS|all, which is not given")
    return f
  })

/** The trace header of a run whose trace goes to `tracePath` (the scenario's file named relative to it). */
const header = (loaded: Loaded, tracePath: string, seed: number, untilNs: number, scale?: number, set: ReadonlyArray<string> = []): Trace.TraceHeader => ({
  type: "header",
  qvsim: VERSION,
  scenario: headerScenario(loaded.scenario.name, loaded.hash, loaded.source, tracePath),
  seed,
  options: { untilNs, ...(scale === undefined ? {} : { scale }), ...(set.length === 0 ? {} : { set: [...set] }) },
})


export const list = Command.make("list", { json: jsonFlag }, ({ json }) => Console.log(json ? JSON.stringify(List.json()) : List.lines().join("\n"))).pipe(Command.withDescription("list the built-in scenarios and the paper's experiments (--json: one JSON object)"))

export const run = Command.make(
  "run",
  {
    scenario: Argument.String("scenario").pipe(Argument.withDescription("a built-in name, a .ts file (default export) or a .json file")),
    seed: seedFlag,
    until: untilFlag,
    trace: traceFlag,
    perfetto: perfettoFlag,
    perfettoInclude: perfettoIncludeFlag,
    perfettoExclude: perfettoExcludeFlag,
    progress: progressFlag,
    schedule: scheduleFlag,
    jobs: jobsFlag,
    report: reportFlag,
    json: jsonFlag,
    scale: scaleFlag,
    out: outFlag,
    traces: tracesFlag,
    traceFormat: traceFormatFlag,
    force: forceFlag,
    checkInvariants: checkInvariantsFlag,
    strict: strictFlag,
    set: setFlag,
    robust: robustFlag,
    samples: samplesFlag,
    param: paramFlag,
    resume: resumeFlag,
  },
  Effect.fn("run")(function* ({ scenario: spec, seed, until, trace, perfetto, perfettoInclude, perfettoExclude, progress: progressMode, schedule, jobs, report, json, scale, out, traces, traceFormat, force, checkInvariants, strict, set, robust, samples, param, resume }) {
    const include = yield* parseCategories("--perfetto-include", perfettoInclude)
    const exclude = yield* parseCategories("--perfetto-exclude", perfettoExclude)
    if ((include.length > 0 || exclude.length > 0) && Option.isNone(perfetto)) return yield* badInput(`${include.length > 0 ? "--perfetto-include" : "--perfetto-exclude"} applies to --perfetto FILE, which is not given`)
    const found = yield* findExperiment(spec)
    if (found !== undefined) {
      if (set.length > 0) return yield* badInput(`--set applies to one run: use \`qvsim run ${spec}/<variant> --set ...\` (or --param NAME=VALUE for the experiment's domain parameters)`)
      for (const [flag, given] of [["--trace", Option.isSome(trace)], ["--perfetto", Option.isSome(perfetto)], ["--schedule", Option.isSome(schedule)], ["--until", Option.isSome(until)]] as const) {
        if (given) return yield* badInput(`${flag} applies to one run: use \`qvsim run ${spec}/<variant> ${flag} ...\` (or --traces VARIANTS|all for variants' traces)`)
      }
      if (robust) {
        for (const [flag, given] of [["--seed", Option.isSome(seed)], ["--param", param.length > 0], ["--traces", Option.isSome(traces)], ["--trace-format", Option.isSome(traceFormat)], ["--check-invariants", checkInvariants], ["--force", force]] as const) {
          if (given) return yield* badInput(`${flag} applies to one run; --robust samples the experiment's domain (its seeds and parameters)`)
        }
        return yield* runRobust(found, { scale, samples, jobs: Option.getOrUndefined(jobs), out, report: Option.getOrUndefined(report), json, strict, resume })
      }
      if (Option.isSome(jobs)) return yield* badInput(`--jobs applies to one run: use \`qvsim run ${spec}/<variant> --jobs FILE\` (with --robust, --jobs N is the number of workers)`)
      for (const [flag, given] of [["--samples", Option.isSome(samples)], ["--resume", resume]] as const) {
        if (given) return yield* badInput(`${flag} applies to --robust`)
      }
      const params = yield* attempt(() => Domain.parseAssignments(domainOf(found.experiment), param))
      const format = yield* traceFormatOf(traceFormat, traces)
      return yield* runExperiment(found, { seed, scale, out, traces, traceFormat: format, report: Option.getOrUndefined(report), json, force, checkInvariants, strict, params, paramTexts: param, progress: progressMode })
    }
    for (const [flag, given] of [["--robust", robust], ["--samples", Option.isSome(samples)], ["--resume", resume], ["--param", param.length > 0]] as const) {
      if (given) return yield* badInput(`${flag} applies to experiments; ${spec} is a scenario (use --set PATH=VALUE to change its fields)`)
    }
    if (Option.isSome(jobs) && !isJobsFile(jobs.value)) return yield* badInput(`--jobs ${jobs.value}: Expected a file name ending in .csv or .json`)
    if (Option.isSome(out)) return yield* badInput(`--out applies to experiments; ${spec} is a scenario (use --trace, --report, ... with file names)`)
    if (Option.isSome(traces)) return yield* badInput(`--traces applies to experiments; ${spec} is a scenario (use --trace FILE)`)
    if (Option.isSome(traceFormat)) return yield* badInput(`--trace-format applies to experiments' --traces; ${spec} is a scenario: --trace FILE takes its format from the name (.qvt binary, else JSONL)`)
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
    // The files this run reads, which no output may overwrite.
    const inputs = loaded.source.startsWith("/") ? [loaded.source.replace(/(\.ts)\/[a-z0-9][a-z0-9-]*$/, "$1")] : []
    // From here on, Ctrl-C / SIGTERM stop the run and remove its temporaries (before, they end the process at once).
    Signals.install()
    // Every output is written under a temporary name and renamed into place only if the whole run succeeds.
    const summary = yield* Effect.acquireUseRelease(
      attempt(() => Outputs.RunOutputs.open({ ...paths, perfettoInclude: include, perfettoExclude: exclude, inputs, force, scenario: loaded.scenario, header: header(loaded, paths.trace ?? paths.perfetto ?? ".", runSeed, untilNs, scaleV, set) })),
      (outputs) =>
        Effect.gen(function* () {
          const progress = Progress.make({ mode: progressMode, json })
          const started = performance.now()
          const ran = yield* Effect.tryPromise({
            try: () => {
              const prepared = Runner.prepare(loaded.scenario, {
                seed: runSeed, untilNs, sinks: outputs.sinks, recordSchedule: outputs.recordSchedule,
                recordJobs: outputs.recordJobs || strict, checkInvariants,
              })
              outputs.bind(prepared)
              return Runner.executeAsync(prepared, Signals.control(), progress.onSlice).then((s) => ({ ...s, misses: strict ? Jobs.misses(prepared.jobs()) : undefined }))
            },
            catch: fromUnknown,
          }).pipe(Effect.ensuring(Effect.sync(() => progress.done())))
          const s = { ...ran, wallMs: Math.round((performance.now() - started) * 1000) / 1000 }
          yield* Effect.tryPromise({
            try: async () => {
              await outputs.finish(s, { hash: loaded.hash, source: loaded.source }, () => Signals.check(() => `after the run (${Time.show(s.simTimeNs)} simulated), while writing its outputs`))
            },
            catch: fromUnknown,
          })
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
  {
    trace: Argument.String("trace").pipe(Argument.withDescription("a trace written by `qvsim run --trace` (.jsonl or .qvt)")),
    trust: trustFlag,
  },
  Effect.fn("replay")(function* ({ trace, trust }) {
    const head = yield* attempt(() => readHeader(trace))
    // Version, file, content hash and trust are checked before anything is imported.
    const where = yield* attempt(() => resolveForReplay(trace, head, trust))
    if (where.changed !== undefined) return yield* different(where.changed)
    const scale = head.options.scale
    const overrides = yield* parseSets(head.options.set ?? [])
    const loaded = yield* loadScenario(where.spec, { seed: head.seed, ...(scale !== undefined ? { scale } : {}), overrides })
    if (loaded.hash !== head.scenario.hash) {
      return yield* different(`${trace}: scenario ${head.scenario.source} changed since the trace was written (hash ${loaded.hash}, trace says ${head.scenario.hash})`)
    }
    const untilNs = head.options.untilNs ?? loaded.scenario.duration
    Signals.install()
    const result = yield* Effect.tryPromise({
      try: async () => {
        // The replay sink listens from the first record, like the trace's sink did (a system emits while it is built).
        let prepared: Runner.Prepared | undefined
        const sink = new Replay.ReplaySink(readRecords(trace), () => prepared?.sim.stop())
        prepared = Runner.prepare(loaded.scenario, { seed: head.seed, untilNs, sinks: [sink] })
        await Runner.executeAsync(prepared, Signals.control())
        return { difference: sink.finish(), compared: sink.compared }
      },
      catch: fromUnknown,
    })
    if (result.difference !== null) {
      return yield* different(`${recordPlace(trace, result.difference.index)}: ${Diff.describe(result.difference)}`)
    }
    yield* Console.log(`identical: ${result.compared.toLocaleString("en-US")} records of ${head.scenario.name} (seed ${head.seed}) replayed`)
  }),
).pipe(Command.withDescription("re-run the scenario of a trace and compare record by record"))

export const diff = Command.make(
  "diff",
  { a: Argument.String("a"), b: Argument.String("b") },
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
).pipe(Command.withDescription("per-PCPU schedulability analysis under the PCPU's priority rule, each VCPU through its policy's analysis: utilisation, LL, hyperbolic, Main+I/O, RTA (rm); EDF utilisation and processor demand (edf); 'no analysis for policy X' where a policy has none; exit 1 when a PCPU is unschedulable (U > 1, or an exact test fails)"))

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
  Command.withSubcommands([list, run, check, replay, diff, exportTrace, schema, sweep, merge, sensitivity]),
)
