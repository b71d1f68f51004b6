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
  timers: "806d456551b65682",
  "rm-periodic": "997af1bcbdcf71d9",
  "ss-amplification": "787e33c4a31ad310",
  manycore: "87145bb8c9364f96",
}

/** Experiment variants at scale 0.01 and the experiment's default seed, run to `untilNs(0.01)`. */
const VARIANT_SCALE = 0.01
const variants: Record<string, string> = {
  "forkwait/quest-v": "959ce7f40555770e",
  // Renamed from "forkwait/quest" (same run): "quest" is SMP Quest now.
  "forkwait/quest-v-no-ept": "3bbf5e59df83c268",
  "forkwait/quest": "b7027a299be31084",
  "message-passing/hi": "d83ba1c1ca69459d",
  "message-passing/low": "6a1c673ac5345c77",
  "shared-driver/none-single": "361a6129c4ce896e",
  "shared-driver/questv-single": "7676b012b1072201",
  "shared-driver/hypervisor-single": "044ea512e49b04c1",
  "shared-driver/xen-single": "9419ef53ae4c8ded",
  "shared-driver/questv-two": "b45bf230daff8220",
  "shared-driver/hypervisor-two": "9ffb6d03daa56db7",
  "shared-driver/xen-two": "93bc158311e19278",
  "driver-recovery/local": "181bd61f78b31c43",
  "driver-recovery/remote": "b8024d889af4264b",
  "driver-recovery/reboot": "1c2400decc452e84",
  "driver-recovery/smp": "3b8881eb56fb1f6f",
  "isolation/fault-free": "4e0076c01b2024b0",
  "isolation/faulty": "bd90087193f7b618",
  "isolation/smp-fault-free": "7ed0135aaa180348",
  "isolation/smp-faulty": "9ddb4cfe2b5797ff",
  // Renamed from "interrupts/quest-directed" (same run): "quest-directed" is SMP Quest now.
  "interrupts/questv-no-ept-directed": "a0849b54da6a4c77",
  "interrupts/quest-directed": "aa416902ab301d6d",
  "interrupts/questv-broadcast": "4511bc17e74ab63d",
  "interrupts/questv-broadcast-late": "3cfaf8efdead06ce",
  "quest-linux/baseline": "29ea279c54b4cb36",
  "quest-linux/cpu-hog-low": "5532075765ca8946",
  "quest-linux/cpu-hog-high": "6e0a88a44e7cd7f9",
  "quest-linux/irq-flood-low": "110abe872ef0b382",
  "quest-linux/irq-flood-high": "cacd1d1681ce1b99",
  "quest-linux/fork-storm-low": "9d5ed6f534ecaa4b",
  "quest-linux/fork-storm-high": "0d8b7e4684ba26e4",
  "quest-linux/wild-writes-low": "52e96ec17cc121a8",
  "quest-linux/wild-writes-high": "b802211d2bca886d",
  "quest-linux/channel-flood-low": "d5650ac002724dad",
  "quest-linux/channel-flood-high": "e6ab94137c032fdd",
  "isolation/faulty-no-vt": "a8b7b12cb90e9177",
  "dma-isolation/ept-fault-free": "8832246efc9bf038",
  "dma-isolation/vtd-fault-free": "4155ec8fc9c32f9e",
  "dma-isolation/ept-data-2-early": "5c482846db36316f",
  "dma-isolation/ept-data-2-late": "f6e39aea461b67ef",
  "dma-isolation/ept-kernel-3-early": "a53bbc02123a1984",
  "dma-isolation/ept-kernel-3-late": "8af839b1ad63584a",
  "dma-isolation/ept-monitor-2-early": "93eed2236ce53ffe",
  "dma-isolation/ept-monitor-2-late": "4eafd11f612fa720",
  "dma-isolation/vtd-data-2-early": "31b793c001ddb469",
  "dma-isolation/vtd-data-2-late": "9628dacc19e1f1d1",
  "dma-isolation/vtd-kernel-3-early": "e3c6ea5c7b010d2a",
  "dma-isolation/vtd-kernel-3-late": "a5a226fd801af5ae",
  "dma-isolation/vtd-monitor-2-early": "ded21296f5f91d95",
  "dma-isolation/vtd-monitor-2-late": "3f75a5a5accaf7c1",
  "dma-isolation/flood-ept": "abe8fecbef70917a",
  "dma-isolation/flood-vtd": "d6525836e93b7253",
  "dma-isolation/flood-vtd-200": "29ed838e0e295f88",
  "dma-isolation/flood-vtd-1500": "0172cd106922ad91",
}

/** Experiments computed without systems, at scale 0.1 and their default seed: hash of tables and claims. */
const COMPUTED_SCALE = 0.1
const computed: Record<string, string> = {
  "ss-defects": "f16cd0a4e44f3c5b",
  "pibs-conformance": "baa511059714186f",
}

/** docs/examples at their own seed, over their first 200 ms. */
const examples: Record<string, string> = {
  "faults.json": "e994110d31b0aee2",
  "mailbox-ping.json": "3613070caad9ecc1",
  "smp-wild-write.json": "28ba7cd97a357be2",
  "mailbox-ping.ts": "56b06396afadddee",
  "periodic-tasks.ts": "7b4c7b7737cf666a",
  "polling-server.ts": "0d913583de0ca27c",
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
