/**
 * The Perfetto export, pinned byte for byte: the SHA-256 of the trace-event JSON of a PCPU run,
 * the timers model and system runs that exercise every rule kind (dispatch, instants, counters,
 * complete slices, flows, categories). A refactor of `report/Perfetto*.ts` must keep every pin
 * (the proof that splitting the module changed no byte); a change of the output on purpose
 * updates the pin in the same commit and says why.
 */
import { createHash } from "node:crypto"
import { describe, expect, it } from "vitest"
import * as Experiments from "../../src/Experiments.ts"
import * as Registry from "../../src/paper/registry.ts"
import * as Labels from "../../src/report/Labels.ts"
import { PerfettoSink } from "../../src/report/Perfetto.ts"
import * as Runner from "../../src/Runner.ts"
import type { Scenario } from "../../src/Scenario.ts"
import { builtin, ChunkWriter } from "./support.ts"

/** The Perfetto file of a run, labelled as `qvsim run --perfetto` labels it, and its SHA-256 (first 16 hex digits). */
const exportOf = (scenario: Scenario, untilNs: number, seed: number): string => {
  const writer = new ChunkWriter()
  let prepared: Runner.Prepared | undefined
  const sink = new PerfettoSink(writer, {
    labels: scenario.system !== undefined ? Labels.fromSystem(() => prepared?.system) : Labels.fromScenario(scenario),
    clock: { get now() { return prepared?.sim.now ?? 0 } },
    metadata: { scenario: scenario.name, seed },
  })
  prepared = Runner.prepare(scenario, { seed, untilNs, sinks: [sink] })
  Runner.execute(prepared)
  sink.close()
  return createHash("sha256").update(writer.text).digest("hex").slice(0, 16)
}

const variant = (experiment: string, name: string, scale: number): { scenario: Scenario; untilNs: number; seed: number } => {
  const e = Registry.find(experiment)!
  const v = e.variants.find((x) => x.name === name)!
  return { scenario: Experiments.parseVariant(e, v, e.seed, scale).scenario, untilNs: v.untilNs(scale), seed: e.seed }
}

describe("Perfetto export pins", { timeout: 120_000 }, () => {
  it.each([
    ["rm-periodic", () => ({ scenario: builtin("rm-periodic"), untilNs: 1_000_000_000, seed: 1 }), "f7200a6e4c68b737"],
    ["timers", () => ({ scenario: builtin("timers"), untilNs: 1_000_000_000, seed: 1 }), "53f6c3aa84456b08"],
    ["isolation/faulty", () => variant("isolation", "faulty", 0.1), "7f9a34dbc21e10bd"],
    ["driver-recovery/local", () => variant("driver-recovery", "local", 0.05), "b522b3bbced4da63"],
    ["quest-linux/channel-flood-high", () => variant("quest-linux", "channel-flood-high", 0.1), "a65a1d338efdfe16"],
  ] as const)("%s", (_name, make, pin) => {
    const { scenario, untilNs, seed } = make()
    expect(exportOf(scenario, untilNs, seed)).toBe(pin)
  })
})
