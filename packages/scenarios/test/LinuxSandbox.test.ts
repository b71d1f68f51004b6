/**
 * A Linux sandbox declared in a scenario (Quest-Linux, issue 16): `kind: "linux"`, threads with
 * `nice` and `cpu` instead of a VCPU, `linux` options (CFS tunables, its own device). Declared in
 * JSON it runs through the same loading as any system; its options are in the JSON schema; every
 * mistake is refused at load time with one line naming the field path and the value (exit 2).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Check from "../src/Check.ts"
import * as Runner from "../src/Runner.ts"
import { jsonSchema, parseScenario } from "../src/Scenario.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")

const refusal = (input: unknown): string => {
  try {
    parseScenario(input, "x.json")
  } catch (e) {
    return (e as Error).message
  }
  throw new Error(`accepted: ${JSON.stringify(input).slice(0, 200)}`)
}

const hog = (name: string, more: Record<string, unknown> = {}) => ({ name, job: [{ compute: "5ms" }], repeat: true, ...more })
/** Sandboxes 0 and 1 Quest, sandbox 2 Linux on cores 2 and 3. */
const scenario = (linux: Record<string, unknown>, quest: Record<string, unknown> = {}) => ({
  name: "ql",
  duration: "200ms",
  system: {
    machine: { sandboxOfCore: [0, 1, 2, 2] },
    nic: { sharers: ["sandbox0"] },
    sandboxes: [
      { vcpus: [{ budget: "2ms", period: "10ms" }], threads: [{ name: "rt", vcpu: "main0", job: [{ compute: "1ms" }], arrivals: { kind: "periodic", period: "10ms" } }], ...quest },
      {},
      { kind: "linux", ...linux },
    ],
  },
})

describe("a Linux sandbox in a scenario", () => {
  it("runs from JSON: weights share its cores by nice, its device interrupts only its own core, the Quest thread keeps its deadlines", () => {
    const s = parseScenario(scenario({ threads: [hog("a"), hog("b", { nice: 5 }), hog("c", { cpu: 1 })], linux: { device: { interval: "100us" } } }), "ql.json")
    const r = Runner.run(s, { seed: 3 })
    type Sb = { interrupts: number; threads: Record<string, { cpuNs: number; jobsMissed: number }> }
    const m = (r.metrics as { system: { sandboxes: Record<string, Sb>; linuxDevices: Record<string, { raised: number; handled: number }> } }).system
    const cpu = (n: string) => m.sandboxes["sandbox2"]!.threads[n]!.cpuNs
    expect(cpu("a") / cpu("b")).toBeCloseTo(1024 / 335, 1)
    expect(cpu("c")).toBeGreaterThan(cpu("a")) // alone on its core, no device interrupts there
    expect(m.sandboxes["sandbox2"]!.interrupts).toBeGreaterThan(1000)
    expect(m.linuxDevices["sandbox2"]!.handled).toBe(m.sandboxes["sandbox2"]!.interrupts)
    expect(m.sandboxes["sandbox0"]!.interrupts + m.sandboxes["sandbox1"]!.interrupts).toBe(0)
    expect(m.sandboxes["sandbox0"]!.threads["rt"]!.jobsMissed).toBe(0)
  })

  it("qvsim check analyses the Quest sandboxes' cores only (a Linux sandbox has no VCPUs)", () => {
    const checks = Check.check(parseScenario(scenario({ threads: [hog("a")] }), "ql.json"))
    expect(checks.map((c) => c.name)).toEqual(["sandbox0/core0", "sandbox1/core1"])
    expect(Check.unschedulable(checks).filter((u) => u.startsWith("sandbox2"))).toEqual([])
  })

  it("its kind, threads' nice/cpu and linux options are in the JSON schema", () => {
    const text = JSON.stringify(jsonSchema())
    for (const key of ['"linux"', '"schedLatency"', '"minGranularity"', '"wakeupGranularity"', '"serviceNice"', '"interval"', '"nice"', '"cpu"']) expect(text).toContain(key)
  })

  it.each([
    ["a Linux thread with a VCPU", scenario({ threads: [hog("a", { vcpu: "main0" })] }), "system.sandboxes[2].threads[0].vcpu: a Linux thread has no VCPU (give nice and cpu)"],
    ["a nice beyond 19", scenario({ threads: [hog("a", { nice: 20 })] }), "system.sandboxes[2].threads[0].nice: must be ≤ 19 (got 20)"],
    ["a cpu the sandbox does not have", scenario({ threads: [hog("a", { cpu: 2 })] }), "system.sandboxes[2].threads[0].cpu: core 2 of a sandbox with 2 core(s)"],
    ["VCPUs in a Linux sandbox", scenario({ vcpus: [{ budget: "1ns", period: "10ns" }] }), "system.sandboxes[2].vcpus: a Linux sandbox has no VCPUs (its threads give nice and cpu)"],
    ["a device on the NIC's line", scenario({ linux: { device: { interval: "1us", line: 16 } } }), "system.sandboxes[2].linux.device.line: line 16 is the NIC's"],
    ["a device on a line the I/O APIC lacks", scenario({ linux: { device: { interval: "1us", line: 30 } } }), "system.sandboxes[2].linux.device.line: line 30 does not exist on an I/O APIC with 24 lines"],
    ["a device on the LAPIC timer's vector", scenario({ linux: { device: { interval: "1us", vector: 0x3e } } }), "system.sandboxes[2].linux.device.vector: vector 62 is the LAPIC timer's"],
    ["a device on the recovery IPI's vector", scenario({ linux: { device: { interval: "1us", vector: 242 } } }), "system.sandboxes[2].linux.device.vector: vector 242 is the recovery IPI's"],
    ["a device interval of 0", scenario({ linux: { device: { interval: 0 } } }), "system.sandboxes[2].linux.device.interval: must be greater than 0 (got 0)"],
    ["a misspelt Linux option", scenario({ linux: { schedLatencyNs: 5 } }), 'system.sandboxes[2].linux: unknown key "schedLatencyNs"'],
    ["min granularity above the latency", scenario({ linux: { schedLatency: "1us", minGranularity: "2us" } }), "system.sandboxes[2].linux.minGranularity: must not exceed schedLatency (1000 ns)"],
    ["linux options on a Quest sandbox", scenario({}, { linux: {} }), 'system.sandboxes[0].linux: only a sandbox of kind "linux" has linux options'],
    ["nice on a Quest thread", scenario({}, { threads: [{ name: "rt", vcpu: "main0", nice: 1, job: [{ compute: "1ms" }] }] }), 'system.sandboxes[0].threads[0].nice: only threads of a Linux sandbox (kind "linux") have nice'],
    ["a Quest thread without a VCPU", scenario({}, { threads: [{ name: "rt", job: [{ compute: "1ms" }] }] }), "system.sandboxes[0].threads[0].vcpu: required (the name of the Main VCPU the thread runs on; VCPUs: main0)"],
    ["a Linux sandbox in an SMP system", { name: "ql", duration: "1s", system: { kind: "smp", sandboxes: [{ kind: "linux" }] } }, 'system.sandboxes[0].kind: "linux": an SMP system is one Quest kernel'],
    ["an unknown sandbox kind", scenario({ kind: "windows" }), "system.sandboxes[2].kind"],
  ])("refuses %s", (_what, input, expected) => {
    const m = refusal(input)
    expect(m).toContain(expected)
    expect(m.split("\n").filter((l) => l.includes(expected.split(":")[0]!)).length).toBeGreaterThan(0)
  })

  it("the CLI refuses a bad Linux sandbox with exit 2 and the field path", () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-linux-"))
    const file = join(dir, "bad.json")
    writeFileSync(file, JSON.stringify(scenario({ threads: [hog("a", { nice: -21 })] })))
    const r = spawnSync(process.execPath, [main, "run", file], { encoding: "utf8", timeout: 60_000 })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain("system.sandboxes[2].threads[0].nice: must be ≥ -20 (got -21)")
  })
})
