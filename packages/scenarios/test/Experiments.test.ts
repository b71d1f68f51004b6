/**
 * Experiments.ts in process: the Runner path (used with trace sinks) gives the same runs as
 * `Experiment.runAll`; CSV file names; aligned tables; the docs' examples still run.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Experiments from "../src/Experiments.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../src/Scenario.ts"
import tiny from "./fixtures/tiny-experiment.ts"

describe("Experiments", () => {
  it("with sinks (through the Runner) the variants run exactly as Experiment.runAll runs them", () => {
    const direct = Experiments.run(tiny, { seed: 5, scale: 0.5 })
    const viaRunner = Experiments.run(tiny, { seed: 5, scale: 0.5, sinks: () => [] })
    expect(viaRunner.runs.map((r) => r.system.sim.trace.fingerprint())).toEqual(direct.runs.map((r) => r.system.sim.trace.fingerprint()))
    expect(viaRunner.result).toEqual(direct.result)
    expect(viaRunner.events).toBe(direct.events)
  })

  it("a variant's scenario is a pure function of seed and scale", () => {
    const v = tiny.variants[0]!
    const a = Experiments.parseVariant(tiny, v, 2, 1), b = Experiments.parseVariant(tiny, v, 2, 1)
    expect(a.scenario.duration).toBe(200_000_000)
    expect(Experiments.parseVariant(tiny, v, 2, 0.5).scenario.duration).toBe(100_000_000)
    expect(Runner.run(a.scenario).fingerprint).toBe(Runner.run(b.scenario).fingerprint)
  })

  it("CSV names: results.csv for one table, else unique short slugs", () => {
    const t = (title: string) => ({ title, columns: ["a"], rows: [{ a: 1 }] })
    expect(Experiments.csvFiles({ tables: [t("x")], claims: [] }).map((f) => f.name)).toEqual(["results.csv"])
    expect(Experiments.csvFiles({ tables: [t("Round-trip times (ms), per guest"), t("Round-trip times (ms), per guest"), t("Results")], claims: [] }).map((f) => f.name))
      .toEqual(["round-trip-times-per-guest.csv", "round-trip-times-per-guest-2.csv", "results-3.csv"])
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
