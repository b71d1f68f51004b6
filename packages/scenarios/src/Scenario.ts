/**
 * The scenario: what a researcher writes (a `.ts` file whose default export is
 * `defineScenario({...})`, or the same structure as `.json`), validated by zod.
 *
 * A scenario has a name, a default seed and duration, and model sections; each section present
 * adds its model to the run. Invalid input is reported by field path
 * (`sources[1].period: invalid duration "1.5ns": ...`).
 *
 * @module
 */
import { Issues } from "@qvsim/hardware"
import { Config } from "@qvsim/sandbox-kernel"
import { z } from "zod"
import { Duration, PositiveDuration } from "./Duration.ts"
import { PcpuDecl, SchedulerOptionsDecl } from "./Pcpus.ts"
import { crossCheck, jobChannelChecks, SystemDecl, threadChecks } from "./SystemDecl.ts"

/** A periodic event source: fires at `offset + k·period`, each firing delayed by U[0, jitter]. */
export const PeriodicSource = z.strictObject({
  kind: z.literal("periodic"),
  name: z.string().min(1),
  period: PositiveDuration,
  jitter: Duration.default(0),
  offset: Duration.default(0),
})

/** A Poisson event source: exponential inter-arrival times with the given mean. */
export const PoissonSource = z.strictObject({
  kind: z.literal("poisson"),
  name: z.string().min(1),
  mean: PositiveDuration,
})

export const Source = z.discriminatedUnion("kind", [PeriodicSource, PoissonSource])
export type Source = z.output<typeof Source>

export const ScenarioSchema = z.strictObject({
  /** The JSON Schema an editor checks a `.json` scenario against (`qvsim schema > scenario.schema.json`); ignored. */
  $schema: z.string().optional(),
  name: z.string().min(1).regex(/^[a-z0-9][a-z0-9-]*$/, "use lowercase letters, digits and dashes"),
  description: z.string().default(""),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1),
  duration: PositiveDuration,
  sources: z.array(Source).default([]),
  /** Scheduler options applied to every PCPU (each PCPU's own `options` win). */
  scheduler: SchedulerOptionsDecl.default({}),
  /** PCPUs run on the single-PCPU scheduling harness (VCPUs and threads with job releases). */
  pcpus: z.array(PcpuDecl).default([]),
  /**
   * One Quest-V system (sandbox-kernel's configuration, see `SystemDecl`), run with the run's
   * seed. The scenario-wide `scheduler` options apply to its cores under `system.scheduler`.
   */
  system: SystemDecl.optional(),
})
  .superRefine((s, ctx) => {
    const seen = new Set<string>()
    s.sources.forEach((src, i) => {
      if (seen.has(src.name)) ctx.issues.push({ code: "custom", input: src.name, path: ["sources", i, "name"], message: `duplicate source name "${src.name}"` })
      seen.add(src.name)
    })
    const pcpuNames = new Set<string>()
    s.pcpus.forEach((p, i) => {
      const name = p.name ?? `pcpu${i}`
      if (pcpuNames.has(name)) ctx.issues.push({ code: "custom", input: name, path: ["pcpus", i, "name"], message: `duplicate PCPU name "${name}"` })
      pcpuNames.add(name)
    })
    if (s.system !== undefined) {
      if (s.sources.length > 0) ctx.issues.push({ code: "custom", input: s.sources, path: ["sources"], message: "a scenario with a system runs no event sources (put them in the system as hosts or threads)" })
      if (s.pcpus.length > 0) ctx.issues.push({ code: "custom", input: s.pcpus, path: ["pcpus"], message: "a scenario runs either a system or PCPUs on the scheduling harness, not both" })
      const local = [...threadChecks(s.system), ...jobChannelChecks(s.system)]
      const issues = local.length > 0 ? local : crossCheck(s.system)
      for (const i of issues) ctx.issues.push({ code: "custom", input: undefined, path: ["system", ...i.path], message: i.message })
    }
  })

/** What a scenario file says (durations as strings or ns). */
export type ScenarioInput = z.input<typeof ScenarioSchema>
/** A validated scenario (durations in ns, defaults filled). */
export type Scenario = z.output<typeof ScenarioSchema>

/** Typed identity: gives a scenario file editor completion and checking. */
export const defineScenario = (input: ScenarioInput): ScenarioInput => input

/** Thrown for an invalid scenario: the message lists each bad field by path. */
export class ScenarioError extends Error {
  override readonly name = "ScenarioError"
}

/** Validates scenario input; throws a `ScenarioError` naming the first bad fields by path, with their values. */
export const parseScenario = (input: unknown, origin: string): Scenario => {
  const result = ScenarioSchema.safeParse(input, Issues.parseOptions)
  if (result.success) return result.data
  const all = Issues.flatten(result.error.issues)
  const issues = all.slice(0, 3).map((i) => `${Issues.formatPath(i.path) || "(root)"}: ${i.message}`)
  const more = all.length > 3 ? ` (and ${all.length - 3} more)` : ""
  throw new ScenarioError(`invalid scenario ${origin}: ${issues.join("; ")}${more}`)
}

/** The JSON Schema of scenario files, for editors. */
export const jsonSchema = (): unknown => z.toJSONSchema(ScenarioSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12", override: Config.policyEnumOverride })
