/**
 * The CLI edge of robust studies: `qvsim run <experiment> --robust [--samples N] [--jobs J]
 * [--scale s]` (every claim over the experiment's domain: "holds in k of n") and `qvsim
 * sensitivity <experiment>` (how each metric and claim depends on each parameter). The points run
 * on the sweep engine's pool (`robust/Campaign.ts`), stream into `<out>/runs.jsonl`, and a
 * Ctrl-C keeps the finished ones for `--resume`. The work is in `robust/`.
 *
 * Outputs (`--out`, default `out/<experiment>/robust-scale<s>-n<N>/` or
 * `out/<experiment>/sensitivity-scale<s>/`): `runs.jsonl`, `results.json` (per claim `holds`,
 * `samples`, `holdsIn`, `interval`, `counterexample`), `claims.csv`, `metrics.csv` (robust) or
 * `sensitivity.json`, `sensitivity.csv`; each written whole under a temporary name. None holds a
 * wall time, so they do not depend on `--jobs`.
 *
 * @module
 */
import { availableParallelism } from "node:os"
import { join } from "node:path"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import * as Experiments from "../Experiments.ts"
import type * as Campaign from "../robust/Campaign.ts"
import type { Domain } from "../robust/Domain.ts"
import { domainOf } from "../robust/RunPoint.ts"
import type * as Verdicts from "../robust/Verdicts.ts"
import { ScenarioError } from "../Scenario.ts"
import { badInput, different, ExitError, EXIT_INVARIANT, fromUnknown } from "./Errors.ts"

/** The study modules, loaded when a study runs (not for every qvsim command: the pool loads tinypool). */
const modules = () => Effect.promise(async () => ({
  Campaign: await import("../robust/Campaign.ts"),
  Design: await import("../robust/Design.ts"),
  Sensitivity: await import("../robust/Sensitivity.ts"),
  Verdicts: await import("../robust/Verdicts.ts"),
  Store: await import("../sweep/Store.ts"),
}))

const attempt = <A>(f: () => A) => Effect.try({ try: f, catch: fromUnknown })

const shellQuote = (s: string): string => (/^[A-Za-z0-9_./=:,@+%-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`)
const commandLine = (): string => ["qvsim", ...process.argv.slice(2)].map(shellQuote).join(" ")

/** `--jobs` of a study: a positive integer (default: the cores). */
export const jobsOf = (text: string | undefined): number => {
  if (text === undefined) return availableParallelism()
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) throw new ScenarioError(`--jobs ${text}: with --robust, the number of workers (a positive integer)`)
  return n
}

const dimensions = (d: Domain): string => {
  const choices = d.params.filter((p) => p.role === "choice")
  const assumed = d.params.filter((p) => p.role === "assumed")
  return [
    `seeds ${d.seeds.length === 1 ? d.seeds[0] : `${d.seeds[0]}..${d.seeds.at(-1)} (${d.seeds.length})`}`,
    ...(choices.length > 0 ? [`${choices.length} choice${choices.length === 1 ? "" : "s"}`] : []),
    ...(assumed.length > 0 ? [`${assumed.length} assumed constant${assumed.length === 1 ? "" : "s"}`] : []),
  ].join(", ")
}

const csvCell = (v: unknown): string => {
  const s = v === undefined || v === null ? "" : String(v)
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
const csv = (cols: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string => [cols.join(","), ...rows.map((r) => r.map(csvCell).join(","))].join("\n") + "\n"

export interface RobustFlags {
  readonly scale: Option.Option<number>
  readonly samples: Option.Option<number>
  readonly jobs: string | undefined
  readonly out: Option.Option<string>
  readonly report: string | undefined
  readonly json: boolean
  readonly strict: boolean
  readonly resume: boolean
}

/** The CLI edge's wall clock (ms): the study's progress and timings. */
const wallClock = (): number => performance.now()

const campaign = (C: typeof Campaign, o: Omit<Campaign.Options, "signal" | "clock">) =>
  Effect.tryPromise({
    try: (signal) => {
      signal.addEventListener("abort", () => {
        process.stderr.write(`\nqvsim: interrupted; the finished points are in ${join(o.dir, "runs.jsonl")}: continue with --resume\n`)
      }, { once: true })
      return C.run({ ...o, signal, clock: wallClock })
    },
    catch: fromUnknown,
  })

const failures = (failed: Verdicts.Summary["failed"]) =>
  failed.length === 0 ? Effect.void : Effect.fail(new ExitError({ code: EXIT_INVARIANT, message: `${failed.length} point(s) failed; the first: ${failed[0]!.error} (replay: ${failed[0]!.command})` }))

/** `qvsim run <experiment> --robust`. */
export const runRobust = (found: Experiments.Found, flags: RobustFlags) =>
  Effect.gen(function* () {
    const { Campaign, Design, Verdicts, Store } = yield* modules()
    const writeDurably = Store.writeDurably
    const e = found.experiment
    const d = domainOf(e)
    const parts = e
    const samples = Option.getOrElse(flags.samples, () => d.samples)
    const scale = Option.getOrElse(flags.scale, () => d.scale)
    const jobs = yield* attempt(() => jobsOf(flags.jobs))
    const dir = Option.getOrElse(flags.out, () => join("out", e.name, `robust-scale${scale}-n${samples}`))
    const points = yield* attempt(() => Design.robustSample(d, samples))
    // The variants' inputs at the first point, checked before any worker starts (a bad one: exit 2).
    if (points.length > 0) yield* attempt(() => Experiments.checkVariants(e, points[0]!.seed, scale, points[0]!.params))
    const ran = yield* campaign(Campaign, { source: found.source, experiment: e.name, study: "robust", scale, points, jobs, dir, resume: flags.resume, command: commandLine(), progress: !flags.json })
    const summary = Verdicts.summarise(ran.records, parts.pooled ?? [])
    const results = {
      experiment: e.name, source: e.source, study: "robust", scale, samples,
      design: `Latin hypercube of ${samples} points over ${dimensions(d)} (design seed ${Design.DESIGN_SEED}); continuous ranges in ${samples} strata, discrete dimensions stratified`,
      domain: { seeds: d.seeds, seedsReason: d.seedsReason, params: d.params },
      inputs: parts.inputs ?? [],
      claims: summary.claims, pooled: summary.pooled, metrics: summary.metrics, failed: summary.failed,
    }
    const files = [
      { path: join(dir, "results.json"), text: `${JSON.stringify(results, null, 2)}\n` },
      { path: join(dir, "claims.csv"), text: csv(["id", "holds", "samples", "holds_in", "interval_low", "interval_high", "text", "counterexample"], summary.claims.map((c) => [c.id, c.holds, c.samples, c.holdsIn, c.interval[0], c.interval[1], c.text, c.counterexample?.command ?? ""])) },
      { path: join(dir, "metrics.csv"), text: csv(["metric", "count", "mean", "ci95_low", "ci95_high", "sd", "min", "median", "max"], summary.metrics.map((m) => [m.name, m.count, m.mean, m.ci95?.[0], m.ci95?.[1], m.sd, m.min, m.median, m.max])) },
    ]
    yield* attempt(() => { for (const f of files) writeDurably(f.path, f.text) })
    if (flags.report !== undefined) {
      const html = yield* Effect.tryPromise({
        try: async () => (await import("../report/RobustReport.ts")).robust({ experiment: e, scale, samples, design: results.design, domain: d, inputs: parts.inputs ?? [], summary, records: ran.records }),
        catch: fromUnknown,
      })
      yield* attempt(() => writeDurably(flags.report!, html))
    }
    const written = [...files.map((f) => f.path), ran.runsPath, ...(flags.report !== undefined ? [flags.report] : [])]
    if (flags.json) {
      yield* Console.log(JSON.stringify({ ...results, wallMs: Math.round(ran.wallMs), jobs, out: dir, files: written }))
    } else {
      yield* Console.log([
        `experiment   ${e.name} --robust`,
        `             ${e.description}`,
        `source       ${e.source}`,
        `design       ${results.design}; scale ${scale}${d.scaleReason !== "" && Option.isNone(flags.scale) ? ` (${d.scaleReason})` : ""}`,
        `ran          ${ran.ran} point${ran.ran === 1 ? "" : "s"} in ${(ran.wallMs / 1000).toFixed(1)} s wall (--jobs ${jobs})${ran.skipped > 0 ? `; ${ran.skipped} already done` : ""}`,
        ...((parts.inputs ?? []).length > 0 ? ["", "inputs (configured from the paper, not claims)", ...Verdicts.formatInputs(parts.inputs!)] : []),
        "", "domain", ...Verdicts.formatDomain(d),
        "", ...Verdicts.formatClaims(summary),
        ...(summary.metrics.length > 0 ? ["", ...Verdicts.formatMetrics(summary)] : []),
        ...(summary.failed.length > 0 ? ["", `failed       ${summary.failed.length} point(s), e.g. ${summary.failed[0]!.command}: ${summary.failed[0]!.error}`] : []),
        "", `wrote        ${written.join(", ")}`,
      ].join("\n"))
    }
    yield* failures(summary.failed)
    const bad = summary.claims.filter((c) => !c.holds).length + summary.pooled.filter((p) => !p.holds).length
    if (flags.strict && bad > 0) return yield* different(`--strict: ${bad} claim(s) do not hold over the whole sample`)
  })

const positive = (name: string, description: string) =>
  Flag.Int(name).pipe(Flag.withDescription(description), Flag.filter((n) => Number.isSafeInteger(n) && n >= 1, () => "Expected a positive integer"), Flag.optional)

/** `qvsim sensitivity <experiment>`. */
export const sensitivity = Command.make(
  "sensitivity",
  {
    experiment: Argument.String("experiment").pipe(Argument.withDescription("a paper experiment (qvsim list) or a .ts file whose default export is an experiment")),
    jobs: positive("jobs", "workers on this machine (default: the number of cores)"),
    scale: Flag.Finite("scale").pipe(Flag.withDescription("shrink the experiment (default: the domain's robust scale)"), Flag.filter((x) => x > 0 && x <= 1, () => "Expected a number in (0, 1]"), Flag.optional),
    levels: positive("levels", "one-at-a-time levels of a range (default 5, plus its default)"),
    trajectories: positive("trajectories", "Morris trajectories over the assumed constants (default 10; each is k + 1 runs)"),
    seeds: positive("seeds", "seeds of the one-at-a-time runs: the domain's first N (default 1)"),
    out: Flag.String("out").pipe(Flag.withDescription("the folder for runs.jsonl, sensitivity.json and .csv (default out/<experiment>/sensitivity-scale<s>)"), Flag.withMetavar("DIR"), Flag.optional),
    report: Flag.String("report").pipe(Flag.withDescription("write an HTML report with a tornado chart per metric"), Flag.withMetavar("FILE"), Flag.filter((p) => /\.html?$/i.test(p), () => "Expected a file name ending in .html or .htm"), Flag.optional),
    resume: Flag.Boolean("resume").pipe(Flag.withDescription("continue <out>/runs.jsonl: skip the points already there"), Flag.withDefault(false)),
    json: Flag.Boolean("json").pipe(Flag.withDescription("print one JSON object on stdout; no progress on stderr"), Flag.withDefault(false)),
  },
  Effect.fn("sensitivity")(function* ({ experiment: spec, jobs, scale: scaleFlag, levels: levelsFlag, trajectories, seeds, out, report, resume, json }) {
    const { Campaign, Design, Sensitivity, Verdicts, Store } = yield* modules()
    const writeDurably = Store.writeDurably
    const found = yield* Effect.tryPromise({ try: () => Experiments.find(spec), catch: fromUnknown })
    if (found === undefined) return yield* badInput(`sensitivity: ${spec} is not an experiment (qvsim list shows them)`)
    const e = found.experiment
    const d = domainOf(e)
    if (d.params.length === 0) return yield* badInput(`sensitivity: experiment ${e.name} declares no choices and no assumed constants (only seeds): nothing to vary`)
    const scale = Option.getOrElse(scaleFlag, () => d.scale)
    const levels = Option.getOrElse(levelsFlag, () => 5)
    const r = Option.getOrElse(trajectories, () => 10)
    const nSeeds = Option.getOrElse(seeds, () => 1)
    if (nSeeds > d.seeds.length) return yield* badInput(`--seeds ${nSeeds}: the domain has ${d.seeds.length} seeds`)
    const oatSeeds = d.seeds.slice(0, nSeeds)
    const assumed = d.params.filter((p) => p.role === "assumed").map((p) => p.name)
    const oat = Design.oneAtATime(d, d.params.map((p) => p.name), levels, oatSeeds)
    const traj = assumed.length === 0 ? [] : Design.morris(d, assumed, r, d.seeds)
    const seen = new Set(oat.map((p) => p.key))
    const points = [...oat] as Array<(typeof oat)[number] | (typeof traj)[number]["points"][number]>
    for (const t of traj) for (const p of t.points) if (!seen.has(p.key)) { seen.add(p.key); points.push(p) }
    const workers = Option.getOrElse(jobs, () => availableParallelism())
    const dir = Option.getOrElse(out, () => join("out", e.name, `sensitivity-scale${scale}`))
    const ran = yield* campaign(Campaign, { source: found.source, experiment: e.name, study: `sensitivity-l${levels}-r${r}-s${nSeeds}`, scale, points, jobs: workers, dir, resume, command: commandLine(), progress: !json })
    const result = Sensitivity.analyse(d, oat, traj, ran.records, levels)
    const design = `one at a time: ${d.params.length} parameter(s), ranges at ${levels} levels plus the default, seed${nSeeds === 1 ? "" : "s"} ${oatSeeds.join(", ")}; Morris: ${traj.length} trajectories over ${assumed.length} assumed constant(s), ${Design.MORRIS_LEVELS} levels, Δ = ${Number(Design.MORRIS_DELTA.toFixed(4))}, design seed ${Design.DESIGN_SEED}`
    const body = { experiment: e.name, study: "sensitivity", scale, design, domain: { seeds: d.seeds, params: d.params }, points: points.length, ...result }
    const files = [
      { path: join(dir, "sensitivity.json"), text: `${JSON.stringify(body, null, 2)}\n` },
      { path: join(dir, "sensitivity.csv"), text: Sensitivity.csv(result) },
    ]
    yield* attempt(() => { for (const f of files) writeDurably(f.path, f.text) })
    if (Option.isSome(report)) {
      const html = yield* Effect.tryPromise({
        try: async () => (await import("../report/RobustReport.ts")).sensitivity({ experiment: e, scale, design, domain: d, result }),
        catch: fromUnknown,
      })
      yield* attempt(() => writeDurably(report.value, html))
    }
    const written = [...files.map((f) => f.path), ran.runsPath, ...(Option.isSome(report) ? [report.value] : [])]
    if (json) {
      yield* Console.log(JSON.stringify({ ...body, wallMs: Math.round(ran.wallMs), jobs: workers, out: dir, files: written }))
    } else {
      yield* Console.log([
        `experiment   ${e.name} sensitivity`,
        `source       ${e.source}`,
        `design       ${design}; scale ${scale}`,
        `ran          ${ran.ran} point${ran.ran === 1 ? "" : "s"} (${points.length} in the design) in ${(ran.wallMs / 1000).toFixed(1)} s wall (--jobs ${workers})`,
        "", "domain", ...Verdicts.formatDomain(d),
        ...Sensitivity.format(result),
        "", `wrote        ${written.join(", ")}`,
      ].join("\n"))
    }
    const failed = ran.records.filter((x) => !x.ok).map((x) => ({ key: x.key, error: x.error ?? "", command: x.replay }))
    yield* failures(failed)
  }),
).pipe(Command.withDescription("how each headline metric and claim of an experiment depends on each assumed constant and choice: one at a time and Morris elementary effects; a tornado chart with --report"))
