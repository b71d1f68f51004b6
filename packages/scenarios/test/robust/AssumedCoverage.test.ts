/**
 * Every assumed constant of the model (sandbox-kernel's `Assumptions.table`) that changes one of
 * an experiment's runs is in that experiment's domain: for each row the domain does not declare,
 * every variant runs with the row at both ends of its range and must keep the fingerprint it has at
 * the row's default. A row the experiment leaves out is then one its runs do not depend on, measured
 * rather than guessed. The declared rows come from `robust/Assumed.ts` (one source for the ranges
 * and reasons). Computed experiments (no system) depend on none.
 *
 * Can fail: the last test drops one declared row from interrupts' domain and shows the check
 * finds it.
 */
import { Assumptions } from "@qvsim/sandbox-kernel"
import { describe, expect, it } from "vitest"
import * as Experiments from "../../src/Experiments.ts"
import type { Experiment } from "../../src/paper/Experiment.ts"
import { experiments, find } from "../../src/paper/registry.ts"
import * as Assumed from "../../src/robust/Assumed.ts"
import { domainOf } from "../../src/robust/RunPoint.ts"
import * as Runner from "../../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../../src/Scenario.ts"

/** Scales where the runs reach what the rows act on (the recoveries need their domain's scale). */
const SCALE: Record<string, number> = { "driver-recovery": 0.2, isolation: 0.6 }
const scaleOf = (e: Experiment): number => SCALE[e.name] ?? 0.01

/** The rows whose path `e`'s domain writes. */
const declared = (e: Experiment): Set<string> =>
  new Set(domainOf(e).params.flatMap((p) => (p.paths ?? []).map((x) => x.replace(/^system\./, ""))))

/** Rows of the table that change one of `e`'s variants at an end of their range, among `rows`. */
const changing = (e: Experiment, rows: readonly Assumptions.Assumption[]): string[] => {
  const scale = scaleOf(e)
  const out = new Set<string>()
  for (const v of e.variants) {
    const base = Experiments.variantScenario(e, v, e.seed, scale)
    const fp = (input: ScenarioInput): string => Runner.run(parseScenario(input, `${e.name}/${v.name}`), { seed: e.seed, untilNs: input.duration as number }).fingerprint
    const at = fp(base)
    for (const a of rows) {
      if (out.has(a.path)) continue
      for (const x of a.range) {
        const input = { ...base, system: Assumptions.setPath(base.system as never, a.path, x) } as ScenarioInput
        if (fp(input) !== at) out.add(a.path)
      }
    }
  }
  return [...out]
}

describe("the model's assumed constants are in the domains of the experiments that depend on them", () => {
  it("Assumed.ts names every row of Assumptions.table", () => {
    expect(Object.values(Assumed.NAMES).sort()).toEqual(Assumptions.table.map((a) => a.path).sort())
    for (const n of Assumed.ALL) {
      const p = Assumed.param(n), row = Assumptions.find(Assumed.NAMES[n])!
      expect([p.min, p.max, p.default], n).toEqual([row.range[0], row.range[1], row.default])
      expect(p.reason, n).toContain(row.reason)
    }
  })

  it.each(experiments.filter((e) => e.variants.length > 0).map((e) => e.name))("%s: every row its runs depend on is declared", (name) => {
    const e = find(name)!
    const missing = changing(e, Assumptions.table.filter((a) => !declared(e).has(a.path)))
    expect(missing, `rows that change ${name}'s runs but are not in its domain`).toEqual([])
  }, 120_000)

  it("can fail: interrupts without its RX-lock row is caught", () => {
    const e = find("interrupts")!
    const rows = Assumptions.table.filter((a) => a.path === "nic.rxLockCycles")
    expect(changing(e, rows)).toEqual(["nic.rxLockCycles"])
  })
})
