/**
 * Loading a sweep file (`.json`, or `.ts` whose default export is `defineSweep({...})`) and
 * resolving its base scenario: a built-in name, a scenario file (relative to the sweep file),
 * `<experiment>/<variant>`, or an inline scenario. Plain async TypeScript (no Effect), so the
 * workers load a sweep the same way as the CLI.
 *
 * Invariants: the sweep's hash is SHA-256 (16 hex digits) of the canonical JSON of the sweep and
 * its base scenario's input (so editing a base scenario file changes it too); the same file gives
 * the same hash in every process. An experiment variant's system depends on the run seed, so its
 * base input is built per seed.
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, isAbsolute, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as Builtins from "../Builtins.ts"
import * as Experiments from "../Experiments.ts"
import { hashOf } from "../Hash.ts"
import { ScenarioError, type ScenarioInput } from "../Scenario.ts"
import { parseSweep, type Sweep } from "./Sweep.ts"

export interface LoadedSweep {
  readonly sweep: Sweep
  /** The sweep file, absolute. */
  readonly file: string
  /** SHA-256 (16 hex digits) of the sweep and its base scenario. */
  readonly hash: string
  /** How the base was given, for replay lines (`rm-periodic`, a path, `isolation/faulty`, `inline`, `none`). */
  readonly baseSpec: string
  /** The base scenario's input for a run seed (before the grid's overrides). */
  readonly baseInput: (seed: number) => ScenarioInput
  /** The base scenario's own seed (the default seed list). */
  readonly baseSeed: number
}

const readInput = async (path: string, what: string): Promise<unknown> => {
  if (!existsSync(path)) throw new ScenarioError(`${what} ${path} does not exist`)
  if (path.endsWith(".json")) {
    try {
      return JSON.parse(readFileSync(path, "utf8")) as unknown
    } catch (e) {
      throw new ScenarioError(`invalid ${what} ${path}: malformed JSON (${(e as Error).message.split("\n")[0]})`)
    }
  }
  if (!path.endsWith(".ts")) throw new ScenarioError(`${what} ${path}: expected a .json or .ts file`)
  let mod: { default?: unknown }
  try {
    mod = (await import(pathToFileURL(path).href)) as { default?: unknown }
  } catch (e) {
    throw new ScenarioError(`cannot load ${what} ${path}: ${(e as Error).message.split("\n")[0]}`)
  }
  if (mod.default === undefined) throw new ScenarioError(`invalid ${what} ${path}: no default export`)
  return mod.default
}

/** A scenario with a generated PCPU and nothing else (tasksets with no base). */
const emptyBase = (sweep: Sweep): ScenarioInput => ({ name: sweep.name, description: sweep.description, duration: sweep.until! })

const resolveBase = async (sweep: Sweep, dir: string): Promise<Omit<LoadedSweep, "sweep" | "file" | "hash">> => {
  const base = sweep.base
  if (base === undefined) {
    const input = emptyBase(sweep)
    return { baseSpec: "none", baseInput: () => input, baseSeed: 1 }
  }
  if (typeof base === "object" && "scenario" in base) {
    const input = base.scenario as unknown as ScenarioInput
    return { baseSpec: "inline", baseInput: () => input, baseSeed: typeof input.seed === "number" ? input.seed : 1 }
  }
  const variant = typeof base === "object"
    ? { experiment: base.experiment, variant: base.variant }
    : Experiments.splitVariant(base)
  if (variant !== undefined) {
    const scale = typeof base === "object" && "scale" in base && base.scale !== undefined ? base.scale : 1
    const spec = variant.experiment.endsWith(".ts") && !isAbsolute(variant.experiment) ? resolve(dir, variant.experiment) : variant.experiment
    const found = await Experiments.find(spec)
    if (found === undefined) throw new ScenarioError(`base: unknown experiment "${variant.experiment}" (try \`qvsim list\`)`)
    const v = Experiments.variantOf(found.experiment, variant.variant)
    const cache = new Map<number, ScenarioInput>()
    return {
      baseSpec: `${variant.experiment}/${variant.variant}`,
      baseInput: (seed) => {
        let input = cache.get(seed)
        if (input === undefined) {
          input = Experiments.variantScenario(found.experiment, v, seed, scale)
          cache.set(seed, input)
        }
        return input
      },
      baseSeed: found.experiment.seed,
    }
  }
  const builtin = Builtins.find(base as string)
  if (builtin !== undefined) return { baseSpec: base as string, baseInput: () => builtin, baseSeed: typeof builtin.seed === "number" ? builtin.seed : 1 }
  const name = base as string
  if (!name.endsWith(".ts") && !name.endsWith(".json")) throw new ScenarioError(`base: unknown scenario "${name}": not a built-in (try \`qvsim list\`), an <experiment>/<variant>, nor a .ts or .json file`)
  const path = resolve(dir, name)
  const input = (await readInput(path, "base scenario")) as ScenarioInput
  return { baseSpec: path, baseInput: () => input, baseSeed: typeof input.seed === "number" ? input.seed : 1 }
}

/** Loads, validates and hashes the sweep file at `file`. */
export const load = async (file: string): Promise<LoadedSweep> => {
  const path = resolve(file)
  const input = await readInput(path, "sweep file")
  const sweep = parseSweep(input, file)
  const resolved = await resolveBase(sweep, dirname(path))
  const baseHash = hashOf(resolved.baseInput(resolved.baseSeed))
  return { sweep, file: path, hash: hashOf({ sweep: input, base: baseHash }), ...resolved }
}
