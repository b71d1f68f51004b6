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
import { Config, Legacy, LegacySchema } from "@qvsim/sandbox-kernel"
import { z } from "zod"
import { Duration, PositiveDuration } from "./Duration.ts"
import { PcpuDecl, SchedulerOptionsDecl } from "./Pcpus.ts"
import { crossCheck, SystemDecl } from "./SystemDecl.ts"

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
      for (const i of crossCheck(s.system)) ctx.issues.push({ code: "custom", input: undefined, path: ["system", ...i.path], message: i.message })
    }
  })

/** What a scenario file says (durations as strings or ns). */
export type ScenarioInput = Omit<z.input<typeof ScenarioSchema>, "system"> & {
  /** One Quest-V system: sandbox-kernel's configuration less its `seed` (old spellings allowed, deprecated). */
  readonly system?: Omit<Config.SystemInput, "seed">
}
/** A validated scenario (durations in ns, defaults filled). */
export type Scenario = z.output<typeof ScenarioSchema>

/** Typed identity: gives a scenario file editor completion and checking. */
export const defineScenario = (input: ScenarioInput): ScenarioInput => input

/** Thrown for an invalid scenario: the message lists each bad field by path. */
export class ScenarioError extends Error {
  override readonly name = "ScenarioError"
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x)

/**
 * A scenario input with its `system` section's old spellings rewritten into the vocabulary
 * (sandbox-kernel's `Legacy.upgrade`): the deprecations found, the fields moved and the problems
 * found, all at their paths in the scenario. Input in the vocabulary comes back unchanged.
 */
export const upgrade = (input: unknown): Legacy.Upgraded => {
  if (!isRecord(input) || !isRecord(input["system"])) return { input, deprecations: [], renames: [], issues: [] }
  const up = Legacy.upgrade(input["system"])
  const under = <A extends { readonly path: ReadonlyArray<PropertyKey> }>(a: A): A => ({ ...a, path: ["system", ...a.path] })
  return {
    input: up.input === input["system"] ? input : { ...input, system: up.input },
    deprecations: up.deprecations.map(under),
    renames: up.renames.map((r) => ({ from: ["system", ...r.from], to: ["system", ...r.to] })),
    issues: up.issues.map(under),
  }
}

/**
 * The deprecated spellings found, as warnings: one line per kind of old spelling, naming the first
 * place it was found and what to write instead, and how many more of that kind there are
 * (`system.sandboxes[0].vcpus[0].budgetNs is deprecated: write budget: "20ms" ... (and 6 more like it)`).
 */
export const deprecationWarnings = (deprecations: ReadonlyArray<Legacy.Deprecation>): string[] => {
  const byKind = new Map<string, { first: Legacy.Deprecation; more: number }>()
  for (const d of deprecations) {
    const kind = byKind.get(d.key)
    if (kind === undefined) byKind.set(d.key, { first: d, more: 0 })
    else kind.more++
  }
  return [...byKind.values()].map(({ first, more }) =>
    `${Issues.formatPath(first.path)} is deprecated: ${first.message}${more > 0 ? ` (and ${more} more like it)` : ""}`)
}

/**
 * Validates scenario input already upgraded (`prior`: what {@link upgrade} found); throws a
 * `ScenarioError` naming the first bad fields by path — the path the user wrote — with their values.
 */
export const parseUpgraded = (input: unknown, origin: string, prior: Pick<Legacy.Upgraded, "renames" | "issues">): Scenario => {
  const result = ScenarioSchema.safeParse(input, Issues.parseOptions)
  if (result.success && prior.issues.length === 0) return result.data
  const all = Legacy.original(Legacy.combine(prior.issues, result.success ? [] : Issues.flatten(result.error.issues)), prior.renames)
  const issues = all.slice(0, 3).map((i) => `${Issues.formatPath(i.path) || "(root)"}: ${i.message}`)
  const more = all.length > 3 ? ` (and ${all.length - 3} more)` : ""
  throw new ScenarioError(`invalid scenario ${origin}: ${issues.join("; ")}${more}`)
}

/**
 * Validates scenario input (old spellings of the `system` section accepted, see {@link upgrade});
 * throws a `ScenarioError` naming the first bad fields by path, with their values.
 */
export const parseScenario = (input: unknown, origin: string): Scenario => {
  const up = upgrade(input)
  return parseUpgraded(up.input, origin, up)
}

/**
 * The JSON Schema of scenario files, for editors: the registered policies' names as the enum of
 * every `policy`, the old spellings of `system` listed and marked deprecated (`LegacySchema`).
 */
export const jsonSchema = (): unknown => {
  const schema = z.toJSONSchema(ScenarioSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12", override: Config.policyEnumOverride })
  LegacySchema.withOldSpellings((schema.properties as Record<string, unknown> | undefined)?.["system"])
  return schema
}
