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
  timers: "33175b0596c249db",
  "rm-periodic": "e8556f78b2dba91b",
  "ss-amplification": "ec053cd1abd74d36",
  manycore: "7b87c41338e6dfb2",
}

/** Experiment variants at scale 0.01 and the experiment's default seed, run to `untilNs(0.01)`. */
const VARIANT_SCALE = 0.01
const variants: Record<string, string> = {
  "forkwait/quest-v": "29ddff0d2d01e1a8",
  // Renamed from "forkwait/quest" (same run): "quest" is SMP Quest now.
  "forkwait/quest-v-no-ept": "3afa86af39768f1f",
  "forkwait/quest": "87671faf0f59972a",
  "message-passing/hi": "828db4819a9be2b6",
  "message-passing/low": "6b9bc5d79b9085cd",
  "shared-driver/none-single": "f468d1edccb8c5ed",
  "shared-driver/questv-single": "d03077d7c59e56fc",
  "shared-driver/hypervisor-single": "9b6c8381a409e28e",
  "shared-driver/xen-single": "90468a2068287c96",
  "shared-driver/questv-two": "d35326b6d7a360fd",
  "shared-driver/hypervisor-two": "664bd4243a961a73",
  "shared-driver/xen-two": "3d223cf39d965ecd",
  "driver-recovery/local": "f4b65d65b4992bcd",
  "driver-recovery/remote": "0e961261c203ff9c",
  "driver-recovery/reboot": "6c63e318390a5ae9",
  "driver-recovery/smp": "da67a498cd28081d",
  "isolation/fault-free": "edf36e76dfb9d8b6",
  "isolation/faulty": "2676221ccd013bdf",
  "isolation/smp-fault-free": "693134fd93b6257d",
  "isolation/smp-faulty": "7f9adcf8b2bf9ff5",
  "isolation/faulty-no-vt": "a76e96a89f48df7c",
  // Renamed from "interrupts/quest-directed" (same run): "quest-directed" is SMP Quest now.
  "interrupts/questv-no-ept-directed": "53cc3ca530c421b4",
  "interrupts/quest-directed": "5df39b8027391ddc",
  "interrupts/questv-broadcast": "3cd2c25c3896145c",
  "interrupts/questv-broadcast-late": "59bc272319ef0364",
  "quest-linux/baseline": "26b7f761efb546de",
  "quest-linux/cpu-hog-low": "a3138d5900a06d07",
  "quest-linux/cpu-hog-high": "25e73ac62f98bb3d",
  "quest-linux/irq-flood-low": "bafd6d36f4f9ac6f",
  "quest-linux/irq-flood-high": "73059fd39788cf0c",
  "quest-linux/fork-storm-low": "2f898f7f546453b8",
  "quest-linux/fork-storm-high": "f40ae2bc2e378489",
  "quest-linux/wild-writes-low": "df38b7857056d357",
  "quest-linux/wild-writes-high": "f28f5fcca58eac52",
  "quest-linux/channel-flood-low": "2eaef02bf5eb3767",
  "quest-linux/channel-flood-high": "8f8c6d43cea5e262",
  "dma-isolation/ept-fault-free": "fde482c3e61f196b",
  "dma-isolation/vtd-fault-free": "99e916657f05adf3",
  "dma-isolation/ept-data-2-early": "564d949e05df2128",
  "dma-isolation/ept-data-2-late": "d0645b4923251c2e",
  "dma-isolation/ept-kernel-3-early": "fcebb5d7e36ccc67",
  "dma-isolation/ept-kernel-3-late": "e4712988e96bce97",
  "dma-isolation/ept-monitor-2-early": "fbe52cbfeb11b9e8",
  "dma-isolation/ept-monitor-2-late": "293b5bae0d6c3bea",
  "dma-isolation/vtd-data-2-early": "d8a6baa8f15035c3",
  "dma-isolation/vtd-data-2-late": "0f4e05a51925e4fe",
  "dma-isolation/vtd-kernel-3-early": "d34dd3a20f65376d",
  "dma-isolation/vtd-kernel-3-late": "c61c6b7ea53d8b19",
  "dma-isolation/vtd-monitor-2-early": "60a278ad9889db26",
  "dma-isolation/vtd-monitor-2-late": "2d201be898c9bd06",
  "dma-isolation/flood-ept": "c7e5523056e62418",
  "dma-isolation/flood-vtd": "af18a7f9f8c6dd7b",
  "dma-isolation/flood-vtd-200": "7ea4de0591ccc898",
  "dma-isolation/flood-vtd-1500": "25ea8b14a3a22bc6",
}

/** Experiments computed without systems, at scale 0.1 and their default seed: hash of tables and claims. */
const COMPUTED_SCALE = 0.1
const computed: Record<string, string> = {
  "ss-defects": "f16cd0a4e44f3c5b",
  "pibs-conformance": "baa511059714186f",
}

/** docs/examples at their own seed, over their first 200 ms. */
const examples: Record<string, string> = {
  "faults.json": "b986fe39e60738d0",
  "mailbox-ping.json": "b980a9b5f4ed8c35",
  "smp-wild-write.json": "36bcea289dcc9bb5",
  "mailbox-ping.ts": "fe33b39a2ce6cb3b",
  "periodic-tasks.ts": "84c3cd569aeecd97",
  "polling-server.ts": "acb763bfb31a45b0",
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
