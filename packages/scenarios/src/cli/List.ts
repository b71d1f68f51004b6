/**
 * `qvsim list`: the built-in scenarios and the paper's experiments, one line each (and each
 * experiment's source and variants); `qvsim list --json`: the same as one JSON object (keys in
 * snake_case: `scenarios[]` with `name`, `description`; `experiments[]` with `name`,
 * `description`, `source`, `default_seed`, `variants[]` with `name`, `description`,
 * `duration_ns` at scale 1). Plain TypeScript, no Effect: `main.ts` runs it without
 * loading the Effect CLI, so `qvsim list` starts in a fraction of the time (see main.ts).
 *
 * @module
 */
import * as Builtins from "../Builtins.ts"
import * as Registry from "../paper/registry.ts"

/** The lines `qvsim list` prints. */
export const lines = (): string[] => {
  const out: string[] = []
  // A built-in's name and description as written (a built-in is validated by the tests; `list` need not parse it).
  for (const input of Builtins.builtins) out.push(`${input.name.padEnd(20)} ${input.description ?? ""}`)
  out.push("", "experiments (qvsim run <experiment>; one run: qvsim run <experiment>/<variant>)")
  for (const e of Registry.experiments) {
    out.push(`${e.name.padEnd(20)} ${e.description}`)
    out.push(`${"".padEnd(20)}   source: ${e.source}${e.variants.length > 0 ? `; variants: ${e.variants.map((v) => v.name).join(", ")}` : ""}`)
  }
  return out
}

/** What `qvsim list --json` prints (see the module header). */
export const json = (): Record<string, unknown> => ({
  scenarios: Builtins.builtins.map((input) => ({ name: input.name, description: input.description ?? "" })),
  experiments: Registry.experiments.map((e) => ({
    name: e.name,
    description: e.description,
    source: e.source,
    default_seed: e.seed,
    variants: e.variants.map((v) => ({ name: v.name, description: v.description, duration_ns: v.untilNs(1) })),
  })),
})
