/**
 * Resolving `<scenario>` on the command line: a built-in name, a `.ts` file whose default export
 * is a scenario, or a `.json` file. Validates with zod and computes the scenario's identity hash
 * (SHA-256 of its canonical JSON; functions by their source text). A file's deprecated spellings
 * (the old `system` keys) come back as warnings, for the CLI to print.
 *
 * @module
 */
import { hashOf } from "./Hash.ts"
import { existsSync } from "node:fs"
import { resolve } from "node:path"
import { Effect } from "effect"
import * as Builtins from "./Builtins.ts"
import * as Experiments from "./Experiments.ts"
import * as Input from "./Input.ts"
import * as Override from "./Override.ts"
import { deprecationWarnings, parseScenario, type Scenario, ScenarioError, upgrade } from "./Scenario.ts"
import { importModule } from "./UserModule.ts"

export interface Loaded {
  readonly scenario: Scenario
  /** How to load it again: a built-in name or an absolute file path. */
  readonly source: string
  /** SHA-256 (16 hex digits) of the scenario's canonical form. */
  readonly hash: string
  /** One line per kind of deprecated spelling in a scenario file (`Scenario.deprecationWarnings`). */
  readonly warnings: ReadonlyArray<string>
}

export { canonical, hashOf } from "./Hash.ts"

const fail = (message: string) => Effect.fail(new ScenarioError(message))

const importDefault = (path: string) =>
  Effect.tryPromise({
    try: () => importModule(path, "scenario file"),
    catch: (e) => (e instanceof ScenarioError ? e : new ScenarioError(`cannot load ${path}: ${String((e as Error)?.message ?? e).split("\n")[0]}`)),
  })

/** Refuses a value too deep or cyclic to hash and validate (see `Input.checkShape`). */
const checkShape = (input: unknown, origin: string) => {
  const problem = Input.checkShape(input)
  return problem === undefined ? Effect.void : fail(`invalid scenario ${origin}: ${problem}`)
}

export interface LoadOptions {
  /** For `<experiment>/<variant>`: the seed its system is built for (default the experiment's). */
  readonly seed?: number
  /** For `<experiment>/<variant>`: the experiment's scale (default 1). */
  readonly scale?: number
  /** Fields to change before validation (`--set path=value`); the hash is the changed input's. */
  readonly overrides?: ReadonlyArray<Override.Override>
}

/** One variant of an experiment as a scenario (`<experiment>/<variant>`; the experiment a name or a `.ts` file). */
const loadVariant = (experiment: string, variant: string, options: LoadOptions): Effect.Effect<Loaded, ScenarioError> =>
  Effect.gen(function* () {
    const found = yield* Effect.tryPromise({ try: () => Experiments.find(experiment), catch: (e) => e instanceof ScenarioError ? e : new ScenarioError(String(e)) })
    if (found === undefined) return yield* fail(`unknown experiment "${experiment}" (try \`qvsim list\`)`)
    const e = found.experiment
    return yield* Effect.try({
      try: () => {
        const v = Experiments.variantOf(e, variant)
        const input = Override.apply(Experiments.variantScenario(e, v, options.seed ?? e.seed, options.scale ?? 1), options.overrides ?? [])
        const problem = Input.checkShape(input)
        if (problem !== undefined) throw new ScenarioError(`invalid scenario ${experiment}/${variant}: ${problem}`)
        const scenario = parseScenario(input, `${e.name}/${v.name}`)
        const source = `${found.source}/${variant}`
        return { scenario, source, hash: hashOf(input), warnings: [] }
      },
      catch: (err) => (err instanceof ScenarioError ? err : new ScenarioError(`${experiment}/${variant}: ${(err as Error).message.split("\n")[0]}`)),
    })
  })

/** Loads and validates a scenario named on the command line (or one variant of an experiment). */
export const load = (spec: string, options: LoadOptions = {}): Effect.Effect<Loaded, ScenarioError> =>
  Effect.gen(function* () {
    const variant = Experiments.splitVariant(spec)
    if (variant !== undefined) return yield* loadVariant(variant.experiment, variant.variant, options)
    const builtin = Builtins.find(spec)
    if (builtin !== undefined) {
      const input = Override.apply(builtin, options.overrides ?? [])
      const scenario = yield* Effect.try({ try: () => parseScenario(input, `"${spec}"`), catch: (e) => e as ScenarioError })
      return { scenario, source: spec, hash: hashOf(input), warnings: [] }
    }
    if (!spec.endsWith(".ts") && !spec.endsWith(".json")) {
      return yield* fail(`unknown scenario "${spec}": not a built-in (try \`qvsim list\`) nor a .ts or .json file`)
    }
    const path = resolve(spec)
    if (!existsSync(path)) return yield* fail(`scenario file ${spec} does not exist`)
    let input: unknown
    if (path.endsWith(".json")) {
      const text = yield* Effect.try({
        try: () => Input.readText(path, "scenario file", Input.limits().scenarioBytes, "QVSIM_MAX_SCENARIO_BYTES", ScenarioError),
        catch: (e) => e as ScenarioError,
      })
      try {
        input = JSON.parse(text)
      } catch (e) {
        return yield* fail(`invalid scenario ${spec}: malformed JSON (${(e as Error).message.split("\n")[0]})`)
      }
    } else {
      const mod = yield* importDefault(path)
      if (mod.default === undefined) return yield* fail(`invalid scenario ${spec}: no default export`)
      input = mod.default
    }
    yield* checkShape(input, spec)
    const changed = yield* Effect.try({ try: () => Override.apply(input, options.overrides ?? []), catch: (e) => e as ScenarioError })
    const scenario = yield* Effect.try({ try: () => parseScenario(changed, spec), catch: (e) => e as ScenarioError })
    return { scenario, source: path, hash: hashOf(changed), warnings: deprecationWarnings(upgrade(input).deprecations) }
  })
