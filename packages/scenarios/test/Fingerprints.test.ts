/**
 * The regression net (OMNeT++-style fingerprint pins): every built-in scenario, every variant of
 * every paper experiment (at scale 0.01, the experiment's default seed), every computed
 * experiment's result (at scale 0.1, as a hash of its tables and claims) and every example of
 * docs/ is pinned here. Any change of model behaviour changes at least one of them: if the change
 * is intended, update the values in the same commit and say in its message why the behaviour
 * changed. A refactor must leave every pin as it is.
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

/** Built-ins at seed 1, over their first 200 ms. */
const builtins: Record<string, string> = {
  timers: "a358e9d12bf5a339",
  "rm-periodic": "c4c9339fb0daaf64",
  "ss-amplification": "d04b168f02816b26",
  manycore: "c0d16bfac7835cdc",
}

/** Experiment variants at scale 0.01 and the experiment's default seed, run to `untilNs(0.01)`. */
const VARIANT_SCALE = 0.01
const variants: Record<string, string> = {
  "forkwait/quest-v": "10f809cfee11b809",
  // Renamed from "forkwait/quest" (same run): "quest" is SMP Quest now.
  "forkwait/quest-v-no-ept": "b7fde80e76c160ad",
  "forkwait/quest": "8a9370ba15f91cb8",
  "message-passing/hi": "75949564e6b70ad9",
  "message-passing/low": "62cb1dee19ef22e9",
  "shared-driver/none-single": "c7520bb83f1fcf6c",
  "shared-driver/questv-single": "d3ca1dc17efda651",
  "shared-driver/hypervisor-single": "86752642c23a32cf",
  "shared-driver/xen-single": "bf19470f2849c92e",
  "shared-driver/questv-two": "dac5912ae5cb57b2",
  "shared-driver/hypervisor-two": "2e8282c973db89a8",
  "shared-driver/xen-two": "ac5000f2bc9b531f",
  "driver-recovery/local": "ecfb6beb7cdc7253",
  "driver-recovery/remote": "d85d579118f55c70",
  "driver-recovery/reboot": "1d36963f57c36d8d",
  "driver-recovery/smp": "3797b4a76d6c8a9e",
  "isolation/fault-free": "eae765032eb59e43",
  "isolation/faulty": "8913552e1a332509",
  "isolation/smp-fault-free": "cc9752472becfaa8",
  "isolation/smp-faulty": "769a7612bf3bec1a",
  // Renamed from "interrupts/quest-directed" (same run): "quest-directed" is SMP Quest now.
  "interrupts/questv-no-ept-directed": "d4366936494d97a4",
  "interrupts/quest-directed": "38368ddd5da94e14",
  "interrupts/questv-broadcast": "e0c55ccf80e469ee",
  "interrupts/questv-broadcast-late": "853b505c0c4f8c54",
  "quest-linux/baseline": "4a1290d181f64b4a",
  "quest-linux/cpu-hog-low": "4348e6c7947fe1fd",
  "quest-linux/cpu-hog-high": "9d8e6c27f520b8eb",
  "quest-linux/irq-flood-low": "f11f4fc383fd0389",
  "quest-linux/irq-flood-high": "450cb9a108588878",
  "quest-linux/fork-storm-low": "aef2d22c417d959e",
  "quest-linux/fork-storm-high": "0dc9fdef9838b4a1",
  "quest-linux/wild-writes-low": "3ab42bf4a839e33d",
  "quest-linux/wild-writes-high": "a57937c1ea3cc2e9",
  "quest-linux/channel-flood-low": "d8d98abc1b86ba1f",
  "quest-linux/channel-flood-high": "a8f9a115021805de",
  "isolation/faulty-no-vt": "5b21bc5930153682",
  "dma-isolation/ept-fault-free": "2121e323fc1ae5b2",
  "dma-isolation/vtd-fault-free": "8bd619624d9bddc8",
  "dma-isolation/ept-data-2-early": "0a3f2d8163568252",
  "dma-isolation/ept-data-2-late": "4b644a17d0ed9bd3",
  "dma-isolation/ept-kernel-3-early": "59482275f7db3347",
  "dma-isolation/ept-kernel-3-late": "2d2105a6b5559be2",
  "dma-isolation/ept-monitor-2-early": "62d8a880e1fb4823",
  "dma-isolation/ept-monitor-2-late": "013530e8fa18bba9",
  "dma-isolation/vtd-data-2-early": "37b1673479e0baf9",
  "dma-isolation/vtd-data-2-late": "e9a7cd3ea307d194",
  "dma-isolation/vtd-kernel-3-early": "fb49b171165f7e67",
  "dma-isolation/vtd-kernel-3-late": "112f7a84ea00e376",
  "dma-isolation/vtd-monitor-2-early": "a07f8042cccd9125",
  "dma-isolation/vtd-monitor-2-late": "4113e7c0e04b0efb",
  "dma-isolation/flood-ept": "0aa9d00025a2c155",
  "dma-isolation/flood-vtd": "17e39dbd092915a2",
  "dma-isolation/flood-vtd-200": "660c36e514ce5c6e",
  "dma-isolation/flood-vtd-1500": "f73827c11a6bea07",
}

/** Experiments computed without systems, at scale 0.1 and their default seed: hash of tables and claims. */
const COMPUTED_SCALE = 0.1
const computed: Record<string, string> = {
  "ss-defects": "f16cd0a4e44f3c5b",
  "pibs-conformance": "baa511059714186f",
}

/** docs/examples at their own seed, over their first 200 ms. */
const examples: Record<string, string> = {
  "faults.json": "8272452aadf4cc30",
  "mailbox-ping.json": "e9502b4d4e2fb528",
  "smp-wild-write.json": "42581fa402bafe37",
  "mailbox-ping.ts": "6ef34ac4d922464f",
  "periodic-tasks.ts": "e83d11148015e9f7",
  "polling-server.ts": "1685723c365ca3a7",
}

describe("regression net: pinned fingerprints", () => {
  it("every built-in, experiment variant, computed experiment and docs example is pinned", () => {
    expect(Object.keys(builtins).sort()).toEqual(Builtins.names().sort())
    const all = Registry.experiments.flatMap((e) => e.variants.map((v) => `${e.name}/${v.name}`))
    expect(Object.keys(variants).sort()).toEqual(all.sort())
    expect(Object.keys(computed).sort()).toEqual(Registry.experiments.filter((e) => e.compute !== undefined).map((e) => e.name).sort())
    expect(Object.keys(examples).sort()).toEqual(readdirSync(examplesDir).sort())
  })

  it.each(Object.keys(builtins))("built-in %s (seed 1, first 200 ms)", (name) => {
    const s = parseScenario(Builtins.find(name)!, name)
    const summary = Runner.run(s, { seed: 1, untilNs: Math.min(s.duration, 200_000_000) })
    expect(summary.fingerprint).toBe(builtins[name])
  })

  it.each(Object.keys(variants))(`variant %s (scale ${VARIANT_SCALE})`, (key) => {
    const [name, variant] = key.split("/") as [string, string]
    const e = Registry.find(name)!
    const v = Experiments.variantOf(e, variant)
    const { scenario } = Experiments.parseVariant(e, v, e.seed, VARIANT_SCALE)
    const summary = Runner.run(scenario, { seed: e.seed, untilNs: v.untilNs(VARIANT_SCALE) })
    expect(summary.fingerprint).toBe(variants[key])
  })

  it.each(Object.keys(computed))(`computed experiment %s (scale ${COMPUTED_SCALE})`, (name) => {
    const e = Registry.find(name)!
    const result = e.compute!(e.seed, COMPUTED_SCALE)
    // What a reader sees: the tables and each claim's text, verdict and detail (not the ids, thresholds and metrics robust studies read).
    // A table's `id` names its CSV file: it is not part of the computed result the pin guards.
    const tables = result.tables.map(({ id: _id, ...t }) => t)
    const claims = result.claims.map((c) => ({ text: c.text, holds: c.holds, detail: c.detail }))
    expect(hashOf({ tables, claims })).toBe(computed[name])
  })

  it.each(Object.keys(examples))("docs example %s (first 200 ms)", async (file) => {
    const path = join(examplesDir, file)
    const input = (file.endsWith(".json") ? JSON.parse(readFileSync(path, "utf8")) : (await import(path)).default) as ScenarioInput
    const summary = Runner.run(parseScenario(input, file), { untilNs: 200_000_000 })
    expect(summary.fingerprint).toBe(examples[file])
  })
})

const examplesDir = join(import.meta.dirname, "../../../docs/examples")
