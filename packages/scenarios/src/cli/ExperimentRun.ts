/**
 * `qvsim run <experiment>`: every variant, the tables and claims, and the run's folder of results
 * (`RunDirectory`: CSV, results.json, the traces asked for, the report if it is written there, the
 * manifest), all or nothing: every file is written under a temporary name and renamed into place
 * only when the whole run succeeded; then the previous run's files that this one did not write are
 * removed. Ctrl-C / SIGTERM stop it within 100 ms (`Signals`): nothing is written.
 *
 * @module
 */
import { join } from "node:path"
import { Qvt, Trace } from "@qvsim/sim-core"
import { Console, Effect, Option } from "effect"
import * as Experiments from "../Experiments.ts"
import { hashOf } from "../Load.ts"
import type * as ExperimentReport from "../report/ExperimentReport.ts"
import * as Outputs from "../report/Outputs.ts"
import * as Tidy from "../report/Tidy.ts"
import { headerScenario } from "../TraceSource.ts"
import { VERSION } from "../Version.ts"
import * as Jobs from "../Jobs.ts"
import { badInput, different, fromUnknown } from "./Errors.ts"
import * as Progress from "./Progress.ts"
import * as RunDirectory from "./RunDirectory.ts"
import * as Signals from "./Signals.ts"
import { strictVerdict } from "./Strict.ts"
import * as Domain from "../robust/Domain.ts"
import type { Params } from "../robust/Domain.ts"
import * as RunPoint from "../robust/RunPoint.ts"
import * as Verdicts from "../robust/Verdicts.ts"

export interface ExperimentFlags {
  readonly seed: Option.Option<number>
  readonly scale: Option.Option<number>
  readonly out: Option.Option<string>
  readonly traces: Option.Option<string>
  /** The format of the `--traces` files (`--trace-format`; default JSONL). */
  readonly traceFormat?: "jsonl" | "qvt"
  readonly report: string | undefined
  readonly json: boolean
  readonly force: boolean
  readonly checkInvariants: boolean
  readonly strict: boolean
  /** The domain point (`--param`, checked); the defaults when none was given. */
  readonly params?: Params
  /** `--param` as given (the folder's name and the manifest carry them). */
  readonly paramTexts?: readonly string[]
  /** `--progress`. */
  readonly progress: Progress.Mode
}

const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })

export const runExperiment = (found: Experiments.Found, flags: ExperimentFlags) =>
  Effect.gen(function* () {
    const e = found.experiment
    const seed = Option.getOrElse(flags.seed, () => e.seed)
    const scale = Option.getOrElse(flags.scale, () => 1)
    const params = flags.params ?? RunPoint.defaultsOf(e)
    const domain = RunPoint.domainOf(e)
    const atDefaults = Domain.isDefault(domain, params)
    const id = { experiment: e.name, seed, scale, ...(atDefaults ? {} : { params }) }
    const outDir = Option.getOrElse(flags.out, () => RunDirectory.defaultFolder(id))
    const traced = new Set<string>()
    if (Option.isSome(flags.traces)) {
      const names = flags.traces.value === "all" ? e.variants.map((v) => v.name) : flags.traces.value.split(",").map((x) => x.trim()).filter((x) => x !== "")
      for (const n of names) {
        if (!e.variants.some((v) => v.name === n)) return yield* badInput(`--traces: experiment ${e.name} has no variant "${n}" (variants: ${e.variants.map((v) => v.name).join(", ") || "none"})`)
        traced.add(n)
      }
    }
    // Every variant's input is checked before the folder is touched (a bad one: exit 2, nothing written).
    yield* attempt(() => Experiments.checkVariants(e, seed, scale, params))
    const inputs = found.source.endsWith(".ts") ? [found.source] : []
    const previous = yield* attempt(() => RunDirectory.prepare(outDir, id, flags.force))
    Signals.install()
    const pending: Outputs.PendingFile[] = []
    const open = (path: string, flag: string): Outputs.PendingFile => {
      const f = new Outputs.PendingFile(path, flag, { inputs, force: flags.force })
      pending.push(f)
      return f
    }
    const abort = () => { for (const f of pending) f.abort() }
    const done = yield* Effect.gen(function* () {
      const sinks = traced.size > 0
        ? (v: { readonly name: string }, scenario: { readonly name: string; readonly duration: number }, input: unknown): Trace.TraceSink[] | undefined => {
          if (!traced.has(v.name)) return undefined
          const path = join(outDir, `${v.name}.trace.${flags.traceFormat ?? "jsonl"}`)
          const file = open(path, "--traces")
          const h: Trace.TraceHeader = {
            type: "header",
            qvsim: VERSION,
            scenario: headerScenario(scenario.name, hashOf(input), `${found.source}/${v.name}`, path),
            seed,
            options: { untilNs: scenario.duration, scale },
          }
          return [flags.traceFormat === "qvt" ? new Qvt.QvtSink(file, h) : new Trace.JsonlSink(file, h)]
        }
        : undefined
      // Progress on stderr (--progress; runs longer than a second): the variant and its place, then its simulated time against its end, events/s, ETA.
      const started = performance.now()
      let progress: Progress.Progress | undefined
      const onSlice = (v: { readonly name: string }) => {
        progress?.done()
        const place = e.variants.findIndex((x) => x.name === v.name) + 1
        progress = Progress.make({ mode: flags.progress, json: flags.json, prefix: `${v.name} (${place} of ${e.variants.length}): ` })
        return progress.onSlice
      }
      let variantsDone = 0
      // Each variant's end, where its progress line was shown (`--progress`: always, or auto on a terminal).
      const showing = flags.progress === "always" || (flags.progress === "auto" && process.stderr.isTTY === true && !flags.json)
      const onVariant = (v: { readonly name: string; readonly untilNs: (scale: number) => number }, events: number) => {
        variantsDone++
        progress?.done()
        progress = undefined
        if (showing && performance.now() - started > 1000) process.stderr.write(`  ${v.name}: done, ran to ${Progress.simTime(v.untilNs(scale))} (${events.toLocaleString("en-US")} events)\n`)
      }
      const ran = yield* Effect.tryPromise({
        try: () => e.compute !== undefined
          // A computed experiment is one synchronous computation: the signals keep their default action meanwhile (no file is open yet).
          ? Signals.withDefaultAction(() => Experiments.run(e, { seed, scale, params, checkInvariants: flags.checkInvariants, recordJobs: flags.strict }))
          : Experiments.runAsync(e, {
            seed, scale, params, onVariant, checkInvariants: flags.checkInvariants, recordJobs: flags.strict,
            ...(sinks !== undefined ? { sinks } : {}), ...(onSlice !== undefined ? { onSlice } : {}),
            control: (v) => Signals.control(`in variant ${v.name} (${variantsDone} of ${e.variants.length} done) `),
          }),
        catch: fromUnknown,
      })
      const wallMs = performance.now() - started
      const { result } = ran
      const provenance = Tidy.provenance({
        experiment: e, seed, scale, commandLine: process.argv.slice(2),
        variants: ran.runs.map((r) => ({
          name: r.variant,
          scenario_hash: hashOf(Experiments.variantScenario(e, Experiments.variantOf(e, r.variant), seed, scale, params)),
          fingerprint: r.system.sim.trace.fingerprint(),
          sim_time_ns: r.system.sim.now,
          events: r.system.sim.events,
        })),
      })
      const files = [
        ...Experiments.csvFiles(result, provenance).map((f) => ({ path: join(outDir, f.name), text: f.text })),
        { path: join(outDir, "results.json"), text: `${JSON.stringify(Experiments.resultsJson(e, seed, result, atDefaults ? undefined : params, provenance), null, 2)}\n` },
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
      const inFolder = pending.flatMap((f) => RunDirectory.nameIn(outDir, f.path) ?? [])
      yield* attempt(() => open(join(outDir, RunDirectory.MANIFEST), "--out").write(RunDirectory.manifestText({ ...id, source: found.source }, inFolder)))
      yield* attempt(() => {
        Signals.check(() => "after the runs, while writing the results")
        for (const f of pending) f.commit()
        RunDirectory.removeLeftovers(outDir, previous, inFolder)
      })
      return { ran, provenance, wallMs: Math.round(wallMs * 1000) / 1000, files: pending.map((f) => f.given), notices: pending.flatMap((f) => f.notice ?? []) }
    }).pipe(Effect.onError(() => Effect.sync(abort)))
    for (const n of done.notices) yield* Console.error(`qvsim: warning: ${n}`)
    const { result } = done.ran
    const verdict = flags.strict
      ? strictVerdict(result.claims, done.ran.runs.map((r) => ({ where: r.variant, misses: Jobs.misses(Jobs.fromSystem(r.system)) })))
      : undefined
    if (flags.json) {
      yield* Console.log(JSON.stringify({ experiment: e.name, seed, scale, ...(atDefaults ? {} : { params }), wallMs: done.wallMs, out: outDir, inputs: e.inputs ?? [], tables: Tidy.tidyTables(result), claims: result.claims, metrics: result.metrics ?? {} }))
      if (verdict !== undefined) return yield* different(verdict)
      return
    }
    const rate = done.wallMs > 0 ? Math.round(done.ran.events / (done.wallMs / 1000)) : 0
    const lines = [
      `experiment   ${e.name} (seed ${seed}${scale !== 1 ? `, scale ${scale}` : ""})`,
      `             ${e.description}`,
      `source       ${e.source}`,
      ...(atDefaults ? [] : [`parameters   ${domain.params.filter((p) => params[p.name] !== p.default).map((p) => `${p.name}=${Domain.show(params[p.name]!)}`).join(" ")} (the others at their defaults)`]),
      `ran          ${done.ran.runs.length > 0 ? `${done.ran.runs.length} variant(s)` : "computed"} in ${done.wallMs.toFixed(0)} ms wall${done.ran.events > 0 ? ` (${done.ran.events.toLocaleString("en-US")} events, ${rate.toLocaleString("en-US")} events/s)` : ""}`,
      ...((e.inputs ?? []).length > 0 ? ["", "inputs (configured from the paper, not claims)", ...Verdicts.formatInputs(e.inputs!)] : []),
      ...result.tables.flatMap((t) => ["", Experiments.formatTable(t)]),
      "",
      Experiments.formatClaims(result.claims),
      "",
      `wrote        ${done.files.join(", ")}`,
    ]
    yield* Console.log(lines.join("\n"))
    if (verdict !== undefined) return yield* different(verdict)
  })
