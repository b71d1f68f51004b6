/**
 * A sweep: many runs of one scenario, one table. What a researcher writes (a `.ts` file whose
 * default export is `defineSweep({...})`, or the same structure as `.json`), validated by zod:
 *
 * - `base`: the scenario to vary: a built-in name, a scenario file (relative to the sweep file),
 *   `<experiment>/<variant>`, or `{ scenario: {...} }` inline; optional with `tasksets`;
 * - `grid`: parameters by path into the scenario (`Override`'s syntax), each a list, a range with a
 *   step, or a seeded random distribution; the cartesian product, or zipped (`zip`);
 * - `seeds`: a list or `{from, count}` (default: the base scenario's seed);
 * - `tasksets`: random task sets instead of a fixed one (`Tasksets`), `count` per point;
 * - `measure`: which metrics to keep and which analyses to run per run;
 * - `until`: the simulated time of every run (default the scenario's duration).
 *
 * Invariant: a sweep is data (no functions), so its canonical JSON hashes it: `--resume` and
 * `merge` refuse runs of a different sweep by that hash.
 *
 * @module
 */
import { z } from "zod"
import { PositiveDuration } from "../Duration.ts"
import { ScenarioError } from "../Scenario.ts"
import { format } from "../Override.ts"

const Int = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
/** A number, or a duration with a unit (`"10ms"`, integer ns once parsed). */
const Scalar = z.union([z.number(), z.string()])

/** A list of values (any JSON each, checked against the field they land on). */
const ListAxis = z.array(z.unknown()).min(1, "an axis needs at least one value (an empty grid runs nothing)")

/** `from` to `to` inclusive by `step` (numbers, or durations with units: then integer ns). */
const RangeAxis = z.strictObject({ from: Scalar, to: Scalar, step: Scalar })

/** `count` values drawn from a seeded stream named after the path (the same on every machine). */
const DistributionAxis = z.strictObject({
  distribution: z.enum(["uniform", "log-uniform", "int-uniform"]),
  min: Scalar,
  max: Scalar,
  count: z.number().int().min(1),
  /** The stream's seed (default 1). */
  seed: Int.optional(),
})

export const Axis = z.union([ListAxis, z.strictObject({ values: ListAxis }), RangeAxis, DistributionAxis])
export type Axis = z.output<typeof Axis>

/** Task sets generated per point (vcpu-sched's Generators); each set is one PCPU. */
export const TasksetsDecl = z.strictObject({
  generator: z.enum(["uunifast", "uunifast-discard", "randfixedsum"]),
  /** Tasks per set: a number or an axis of numbers. */
  n: z.union([z.number().int().min(1), Axis]),
  /** Total utilisation of a set: a number or an axis of numbers (each task's at most 1). */
  utilisation: z.union([z.number().positive(), Axis]),
  periods: z.union([
    z.strictObject({
      distribution: z.enum(["log-uniform", "uniform"]),
      min: PositiveDuration,
      max: PositiveDuration,
      /** Periods are multiples of this (default 1 ns). */
      granularity: PositiveDuration.optional(),
    }),
    z.strictObject({ choices: z.array(PositiveDuration).min(1) }),
  ]),
  /** Sets per point. */
  count: z.number().int().min(1),
  /** The generator's seed (default 1): the same sets for every run seed. */
  seed: Int.optional(),
})
export type TasksetsDecl = z.output<typeof TasksetsDecl>

export const ANALYSES = ["liu-layland", "hyperbolic", "rta", "main+io"] as const
export type AnalysisName = (typeof ANALYSES)[number]

export const Base = z.union([
  z.string().min(1),
  z.strictObject({ scenario: z.record(z.string(), z.unknown()) }),
  z.strictObject({ experiment: z.string().min(1), variant: z.string().min(1), scale: z.number().positive().max(1).optional() }),
])

export const SweepSchema = z.strictObject({
  /** The JSON Schema an editor checks a `.json` sweep against (`qvsim schema --sweep`); ignored. */
  $schema: z.string().optional(),
  name: z.string().min(1).regex(/^[a-z0-9][a-z0-9-]*$/, "use lowercase letters, digits and dashes"),
  description: z.string().default(""),
  base: Base.optional(),
  /** Parameters to vary: path → axis. */
  grid: z.record(z.string(), Axis).default({}),
  /** `true`: every axis (same length) zipped; or groups of paths zipped together, the groups crossed. */
  zip: z.union([z.boolean(), z.array(z.array(z.string()).min(2))]).default(false),
  seeds: z.union([z.array(Int).min(1, "seeds: give at least one"), z.strictObject({ from: Int, count: z.number().int().min(1) })]).optional(),
  tasksets: TasksetsDecl.optional(),
  measure: z.strictObject({
    /** Metric names to keep (dotted, as `qvsim run` prints them; `*` matches one part, `**` any); default all. */
    metrics: z.array(z.string().min(1)).optional(),
    /** Schedulability tests per run (default: all four with `tasksets`, else none). */
    analyses: z.array(z.enum(ANALYSES)).optional(),
  }).default({}),
  /** Simulated time of every run (default: the scenario's duration). */
  until: PositiveDuration.optional(),
}).superRefine((s, ctx) => {
  if (s.base === undefined && s.tasksets === undefined) ctx.issues.push({ code: "custom", input: undefined, path: ["base"], message: "a sweep needs a base scenario or tasksets" })
  if (s.base === undefined && s.until === undefined) ctx.issues.push({ code: "custom", input: undefined, path: ["until"], message: "a sweep of generated task sets with no base needs until (its simulated time)" })
})

/** What a sweep file says. */
export type SweepInput = z.input<typeof SweepSchema>
/** A validated sweep. */
export type Sweep = z.output<typeof SweepSchema>

/** Typed identity: gives a sweep file editor completion and checking. */
export const defineSweep = (input: SweepInput): SweepInput => input

/** Validates sweep input; throws a `ScenarioError` naming the first bad fields by path. */
export const parseSweep = (input: unknown, origin: string): Sweep => {
  const result = SweepSchema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.slice(0, 3).map((i) => `${format(i.path) || "(root)"}: ${i.message}`)
  const more = result.error.issues.length > 3 ? ` (and ${result.error.issues.length - 3} more)` : ""
  throw new ScenarioError(`invalid sweep ${origin}: ${issues.join("; ")}${more}`)
}

/** The JSON Schema of sweep files, for editors. */
export const jsonSchema = (): unknown => z.toJSONSchema(SweepSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" })

/** The seeds of a sweep (`undefined`: the base scenario's own seed). */
export const seedsOf = (s: Sweep): number[] | undefined => {
  if (s.seeds === undefined) return undefined
  if (Array.isArray(s.seeds)) return [...s.seeds]
  const { from, count } = s.seeds
  return Array.from({ length: count }, (_, i) => from + i)
}
