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
import { jsonSchema, parseScenario } from "../Scenario.ts"
import { load, type Loaded } from "../Load.ts"
import * as Outputs from "../report/Outputs.ts"
import * as Runner from "../Runner.ts"
import * as Summary from "../Summary.ts"
import { readHeader, readRecords } from "../TraceFile.ts"
import { VERSION } from "../Version.ts"
import { badInput, different, fromUnknown } from "./Errors.ts"
import * as Progress from "./Progress.ts"

/** Wraps a synchronous step, turning anything it throws into a one-line exit error. */
const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })

const loadScenario = (spec: string) => load(spec).pipe(Effect.mapError(fromUnknown))

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
  Flag.withDescription("write the executed segments [{pcpu, start, end, vcpu, thread}] (ns) to FILE as JSON"),
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

const reportFlag = fileFlag("report", "write a self-contained HTML report: summary, Gantt chart, the experiment's plot, analysis", [".html", ".htm"])

const jsonFlag = Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object on stdout"), Flag.withDefault(false))

const header = (loaded: Loaded, seed: number, untilNs: number): Trace.TraceHeader => ({
  type: "header",
  qvsim: VERSION,
  scenario: { name: loaded.scenario.name, hash: loaded.hash, source: loaded.source },
  seed,
  options: { untilNs },
})

/** Measures wall time around `f` (the CLI is the one place allowed to read the clock). */
const timed = <A>(f: () => A): [A, number] => {
  const start = performance.now()
  const value = f()
  return [value, performance.now() - start]
}

export const list = Command.make("list", {}, () =>
  Effect.forEach(Builtins.builtins, (input) => {
    const s = parseScenario(input, input.name)
    return Console.log(`${s.name.padEnd(20)} ${s.description}`)
  }, { discard: true }),
).pipe(Command.withDescription("list the built-in scenarios, one line each"))

export const run = Command.make(
  "run",
  {
    scenario: Argument.String("scenario").pipe(Argument.withDescription("a built-in name, a .ts file (default export) or a .json file")),
    seed: seedFlag,
    until: untilFlag,
    trace: traceFlag,
    perfetto: perfettoFlag,
    schedule: scheduleFlag,
    report: reportFlag,
    json: jsonFlag,
  },
  Effect.fn("run")(function* ({ scenario: spec, seed, until, trace, perfetto, schedule, report, json }) {
    const paths = {
      trace: Option.getOrUndefined(trace),
      perfetto: Option.getOrUndefined(perfetto),
      schedule: Option.getOrUndefined(schedule),
      report: Option.getOrUndefined(report),
    }
    const clash = Outputs.sameFile(paths)
    if (clash !== undefined) return yield* badInput(clash)
    const loaded = yield* loadScenario(spec)
    const runSeed = Option.getOrElse(seed, () => loaded.scenario.seed)
    const untilNs = Option.getOrElse(until, () => loaded.scenario.duration)
    // Every output is written under a temporary name and renamed into place only if the whole run succeeds.
    const summary = yield* Effect.acquireUseRelease(
      attempt(() => Outputs.RunOutputs.open({ ...paths, scenario: loaded.scenario, header: header(loaded, runSeed, untilNs) })),
      (outputs) =>
        Effect.gen(function* () {
          const s = yield* attempt(() => {
            const prepared = Runner.prepare(loaded.scenario, { seed: runSeed, untilNs, sinks: outputs.sinks, recordSchedule: outputs.recordSchedule })
            outputs.bind(prepared)
            const progress = Progress.make(!json)
            const [s, wallMs] = timed(() => Runner.execute(prepared, progress.onSlice))
            progress.done()
            return { ...s, wallMs: Math.round(wallMs * 1000) / 1000 }
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
      if (paths.report !== undefined) yield* Console.log(`report       ${paths.report}`)
    }
  }),
).pipe(Command.withDescription("run a scenario and print its summary and fingerprint"))

export const replay = Command.make(
  "replay",
  { trace: Argument.String("trace.jsonl").pipe(Argument.withDescription("a trace written by `qvsim run --trace`")) },
  Effect.fn("replay")(function* ({ trace }) {
    const head = yield* attempt(() => readHeader(trace))
    const source = head.scenario.source
    if (source === undefined) return yield* badInput(`${trace}: the header names no scenario source to replay`)
    const loaded = yield* loadScenario(source)
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
  }),
).pipe(Command.withDescription("per-PCPU schedulability analysis: utilisation, LL, hyperbolic, Main+I/O, RTA"))

export const schema = Command.make("schema", {}, () => Console.log(JSON.stringify(jsonSchema(), null, 2))).pipe(
  Command.withDescription("print the JSON Schema of scenario files (for editors)"),
)

export const root = Command.make("qvsim").pipe(
  Command.withDescription("qvsim: a deterministic discrete-event simulator of the Quest-V multikernel"),
  Command.withSubcommands([list, run, check, replay, diff, schema]),
)
