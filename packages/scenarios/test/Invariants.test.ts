/**
 * Scheduler checking where the experiments run: every variant of every paper experiment (scale
 * 0.01, the experiment's seed), every computed experiment (scale 0.1), every built-in and docs
 * example (first 200 ms) runs with the invariants checked at every decision of every scheduler
 * (`--check-invariants`: F1–F3, F7, F9, F10, W1); a violation fails the test with its time, sandbox,
 * core, VCPU and seed. Checking must not change a run: same fingerprint, same result.
 */
import { readFileSync, readdirSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Builtins from "../src/Builtins.ts"
import * as Experiments from "../src/Experiments.ts"
import { hashOf } from "../src/Load.ts"
import * as Registry from "../src/paper/registry.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../src/Scenario.ts"

const VARIANT_SCALE = 0.01
const COMPUTED_SCALE = 0.1
const variants = Registry.experiments.flatMap((e) => e.variants.map((v) => `${e.name}/${v.name}`))
const computed = Registry.experiments.filter((e) => e.compute !== undefined).map((e) => e.name)
const examplesDir = join(import.meta.dirname, "../../../docs/examples")

describe("invariants checked in every experiment, built-in and example", () => {
  it.each(variants)(`variant %s (scale ${VARIANT_SCALE})`, (key) => {
    const [name, variant] = key.split("/") as [string, string]
    const e = Registry.find(name)!
    const v = Experiments.variantOf(e, variant)
    const { scenario } = Experiments.parseVariant(e, v, e.seed, VARIANT_SCALE)
    const options = { seed: e.seed, untilNs: v.untilNs(VARIANT_SCALE) }
    const checked = Runner.run(scenario, { ...options, checkInvariants: true })
    expect(checked.fingerprint).toBe(Runner.run(scenario, options).fingerprint)
  })

  it.each(computed)(`computed experiment %s (scale ${COMPUTED_SCALE})`, (name) => {
    const e = Registry.find(name)!
    const hash = (r: ReturnType<NonNullable<typeof e.compute>>) => hashOf({ tables: r.tables, claims: r.claims })
    expect(hash(e.compute!(e.seed, COMPUTED_SCALE, { checkInvariants: true }))).toBe(hash(e.compute!(e.seed, COMPUTED_SCALE)))
  })

  it.each(Builtins.names())("built-in %s (first 200 ms)", (name) => {
    const s = parseScenario(Builtins.find(name)!, name)
    const untilNs = Math.min(s.duration, 200_000_000)
    expect(Runner.run(s, { untilNs, checkInvariants: true }).fingerprint).toBe(Runner.run(s, { untilNs }).fingerprint)
  })

  it.each(readdirSync(examplesDir).filter((f) => f.endsWith(".ts") || f.endsWith(".json")))("docs example %s (first 200 ms)", async (file) => {
    const path = join(examplesDir, file)
    const input = (file.endsWith(".json") ? JSON.parse(readFileSync(path, "utf8")) : (await import(path)).default) as ScenarioInput
    const s = parseScenario(input, file)
    expect(Runner.run(s, { untilNs: 200_000_000, checkInvariants: true }).fingerprint).toBe(Runner.run(s, { untilNs: 200_000_000 }).fingerprint)
  })
})
