/**
 * Experiments.ts in process: the Runner path (used with trace sinks) gives the same runs as
 * `Experiment.runAll`; CSV file names; aligned tables; the docs' examples still run.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Experiments from "../src/Experiments.ts"
import * as Tidy from "../src/report/Tidy.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../src/Scenario.ts"
import { runAll } from "../src/paper/Experiment.ts"
import * as RunPoint from "../src/robust/RunPoint.ts"
import ownSeed from "./fixtures/own-seed-experiment.ts"
import tiny from "./fixtures/tiny-experiment.ts"

describe("Experiments", () => {
  it("with sinks (through the Runner) the variants run exactly as Experiment.runAll runs them", () => {
    const direct = Experiments.run(tiny, { seed: 5, scale: 0.5 })
    const viaRunner = Experiments.run(tiny, { seed: 5, scale: 0.5, sinks: () => [] })
    expect(viaRunner.runs.map((r) => r.system.sim.trace.fingerprint())).toEqual(direct.runs.map((r) => r.system.sim.trace.fingerprint()))
    expect(viaRunner.result).toEqual(direct.result)
    expect(viaRunner.events).toBe(direct.events)
  })

  it("a variant's system runs on the run's seed on every path; a builder naming another seed is refused on every path", () => {
    // tiny passes the seed through: runAll, runPoint and the variant's scenario all run seed 5.
    const scenario = Experiments.parseVariant(tiny, tiny.variants[0]!, 5, 0.5).scenario
    expect(scenario.seed).toBe(5)
    const viaScenario = Runner.run(scenario).fingerprint
    expect(runAll(tiny, { seed: 5, scale: 0.5 }).runs[0]!.system.sim.trace.fingerprint()).toBe(viaScenario)
    expect(RunPoint.runPoint(tiny, { seed: 5, scale: 0.5 }).runs[0]!.system.sim.trace.fingerprint()).toBe(viaScenario)
    // own-seed's second variant returns seed + 1: refused, naming it, before anything runs.
    const refused = /own-seed\/other: system\.seed is 6, not the run's seed 5/
    expect(() => Experiments.checkVariants(ownSeed, 5, 1)).toThrow(refused)
    expect(() => runAll(ownSeed, { seed: 5 })).toThrow(refused)
    expect(() => RunPoint.runPoint(ownSeed, { seed: 5, scale: 1 })).toThrow(refused)
    expect(() => Experiments.run(ownSeed, { seed: 5, sinks: () => [] })).toThrow(refused)
    // Its first variant, seed + 0, is accepted.
    expect(Experiments.parseVariant(ownSeed, ownSeed.variants[0]!, 5, 1).scenario.seed).toBe(5)
  })

  it("a variant's scenario is a pure function of seed and scale", () => {
    const v = tiny.variants[0]!
    const a = Experiments.parseVariant(tiny, v, 2, 1), b = Experiments.parseVariant(tiny, v, 2, 1)
    expect(a.scenario.duration).toBe(200_000_000)
    expect(Experiments.parseVariant(tiny, v, 2, 0.5).scenario.duration).toBe(100_000_000)
    expect(Runner.run(a.scenario).fingerprint).toBe(Runner.run(b.scenario).fingerprint)
  })

  it("CSV names: the table's id, else its full title's slug (unique), each with its CSVW metadata", () => {
    const t = (title: string, id?: string) => ({ ...(id !== undefined ? { id } : {}), title, columns: ["a"], rows: [{ a: 1 }] })
    const prov = Tidy.provenance({ experiment: tiny, seed: 1, scale: 1, variants: [] })
    const names = (tables: ReturnType<typeof t>[]) => Experiments.csvFiles({ tables, claims: [] }, prov).map((f) => f.name).filter((n) => n.endsWith(".csv"))
    expect(names([t("x")])).toEqual(["x.csv"])
    expect(names([t("Round-trip times (ms), per guest with a long title past forty characters"), t("Round-trip times (ms), per guest with a long title past forty characters"), t("Ping flood (600 requests)", "ping_flood")]))
      .toEqual(["round_trip_times_per_guest_with_a_long_title_past_forty_characters.csv", "round_trip_times_per_guest_with_a_long_title_past_forty_characters_2.csv", "ping_flood.csv"])
    expect(Experiments.csvFiles({ tables: [t("x")], claims: [] }, prov).map((f) => f.name)).toEqual(["x.csv", "x.csv-metadata.json"])
  })

  it("tables print with aligned columns, numbers right-aligned", () => {
    const text = Experiments.formatTable({ title: "T", columns: ["name", "n"], rows: [{ name: "a", n: 1 }, { name: "long name", n: 12345 }] })
    expect(text.split("\n")).toEqual(["T", `${"name".padEnd(9)}  ${"n".padStart(6)}`, "─────────  ──────", `${"a".padEnd(9)}  ${"1".padStart(6)}`, "long name  12,345"])
  })

  it("the examples of docs/scenarios.md validate and run", async () => {
    const dir = join(import.meta.dirname, "../../../docs/examples")
    const inputs: ScenarioInput[] = [
      (await import(join(dir, "periodic-tasks.ts"))).default,
      (await import(join(dir, "mailbox-ping.ts"))).default,
      JSON.parse(readFileSync(join(dir, "mailbox-ping.json"), "utf8")),
    ]
    for (const input of inputs) {
      const summary = Runner.run(parseScenario(input, input.name), { untilNs: 200_000_000 })
      expect(summary.simTimeNs).toBe(200_000_000)
      expect(summary.events).toBeGreaterThan(100)
    }
  })
})
