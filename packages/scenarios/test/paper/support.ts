/**
 * Helpers shared by the paper experiments' tests: running an experiment's variants with a changed
 * configuration (a deliberately broken variant) and finding a claim by the start of its text.
 */
import { System, type Config } from "@qvsim/sandbox-kernel"
import type { Claim, Experiment, Run } from "../../src/paper/Experiment.ts"

/** Runs every variant of `e` at `scale`, each configuration passed through `change`, with `hooks`. */
export const runWith = (
  e: Experiment,
  scale: number,
  change: (variant: string, input: Config.SystemInput) => Config.SystemInput,
  hooks: System.SystemHooks = {},
): Run[] =>
  e.variants.map((v) => {
    const system = new System.System(change(v.name, v.system(e.seed, scale)), hooks)
    system.run(v.untilNs(scale))
    return { variant: v.name, system }
  })

/** The claim whose text starts with `start` (throws when there is none). */
export const claim = (claims: readonly Claim[], start: string): Claim => {
  const c = claims.find((x) => x.text.startsWith(start))
  if (c === undefined) throw new Error(`no claim starting "${start}"`)
  return c
}
