/**
 * The `system` section of the scenario DSL: a Quest-V system in TypeScript (generator programs)
 * and in JSON (declarative jobs), errors by scenario path, D.12 options overridden from the
 * scenario, the run's seed, and the JSON Schema.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Program } from "@qvsim/sandbox-kernel"
import * as Check from "../src/Check.ts"
import * as Runner from "../src/Runner.ts"
import { jsonSchema, parseScenario, type ScenarioInput } from "../src/Scenario.ts"
import tsScenario from "./fixtures/mailbox-ping.ts"

const fixtures = join(import.meta.dirname, "fixtures")
const jsonScenario = JSON.parse(readFileSync(join(fixtures, "mailbox-ping.json"), "utf8")) as ScenarioInput

const threadOf = (metrics: Record<string, unknown>, sandbox: number, name: string) =>
  ((metrics["system"] as { sandboxes: Record<string, { threads: Record<string, { jobsCompleted: number; cpuNs: number }> }> }).sandboxes[`sandbox${sandbox}`]!.threads[name])!

describe("system scenarios", () => {
  it("a TypeScript system (generator program) and its JSON twin (jobs) run the same workload", () => {
    const ts = Runner.run(parseScenario(tsScenario, "ts"))
    const json = Runner.run(parseScenario(jsonScenario, "json"))
    expect(ts.simTimeNs).toBe(300_000_000)
    expect(threadOf(ts.metrics, 0, "writer").jobsCompleted).toBe(6)
    expect(threadOf(json.metrics, 0, "writer").jobsCompleted).toBe(6)
    expect(threadOf(json.metrics, 0, "writer").cpuNs).toBe(threadOf(ts.metrics, 0, "writer").cpuNs)
    expect(threadOf(json.metrics, 1, "reader").jobsCompleted).toBeGreaterThanOrEqual(29)
    const hosts = (ts.metrics["system"] as { hosts: Record<string, { received: number }> }).hosts
    expect(hosts["pinger0"]!.received).toBeGreaterThan(10)
  })

  it("the system uses the run's seed: same seed same fingerprint, another seed another", () => {
    const s = parseScenario(jsonScenario, "json")
    const a = Runner.run(s, { seed: 9 }), b = Runner.run(s, { seed: 9 }), c = Runner.run(s, { seed: 10 })
    expect(a.seed).toBe(9)
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(c.fingerprint).not.toBe(a.fingerprint)
  })

  it.each([
    [{ sandboxes: [{ threads: [{ name: "t", vcpu: 0, job: { steps: [{ compute: "1ms" }] } }, { name: "u", vcpu: 9, job: { steps: [{ compute: "1ms" }] } }] }, {}, {}, {}] },
      /system\.sandboxes\[0\]\.threads\[1\]\.vcpu: VCPU 9 does not exist/],
    [{ sandboxes: [{ threads: [{ name: "t", vcpu: 0 }] }, {}, {}, {}] }, /system\.sandboxes\[0\]\.threads\[0\]: give a program \(TypeScript\) or a job/],
    [{ sandboxes: [{ threads: [{ name: "t", vcpu: 0, job: { steps: [{ compute: "1.5ns" }] } }] }, {}, {}, {}] }, /system\.sandboxes\[0\]\.threads\[0\]\.job\.steps\[0\]/],
    [{ machine: { cpuHz: -1 } }, /system\.machine\.cpuHz: /],
    [{ seed: 3 }, /system: Unrecognized key: "seed"|seed/],
    [{ nic: { demux: "sideways" } }, /system\.nic\.demux: /],
    [{ sandboxes: [{}, {}] }, /system\.sandboxes: 2 entries for the machine's 4 sandboxes/],
  ])("refuses a bad system naming the field (%#)", (system, pattern) => {
    expect(() => parseScenario({ name: "bad", duration: "1s", system } as ScenarioInput, "test")).toThrow(pattern)
  })

  it("a scenario run keeps no mailbox observations unless its system asks (flat memory); the run is the same either way", () => {
    const s = parseScenario(jsonScenario, "json")
    const kept = parseScenario({ ...jsonScenario, system: { ...jsonScenario.system, recordObservations: true } }, "kept")
    const off = Runner.prepare(s), on = Runner.prepare(kept), asked = Runner.prepare(s, { recordObservations: true })
    const [a, b, c] = [off, on, asked].map((p) => Runner.execute(p))
    const observed = (p: Runner.Prepared) => p.system!.channels.list.reduce((n, ch) => n + ("observations" in ch ? ch.observations.length : 0), 0)
    expect(observed(off)).toBe(0)
    expect(observed(on)).toBeGreaterThan(0)
    expect(observed(asked)).toBe(observed(on))
    expect(b!.fingerprint).toBe(a!.fingerprint)
    expect(c!.fingerprint).toBe(a!.fingerprint)
  })

  it("refuses a system beside PCPUs or event sources", () => {
    expect(() => parseScenario({ name: "x", duration: "1s", system: {}, sources: [{ kind: "periodic", name: "p", period: "1ms" }] }, "t")).toThrow(/sources: a scenario with a system/)
  })

  it("D.12 options are overridden from the scenario (machine cpuHz, scheduler, nic mode, demux, typeBeforePayload)", () => {
    const base: ScenarioInput = {
      name: "d12", duration: "100ms",
      system: {
        machine: { cores: 1 },
        sandboxes: [{ threads: [{ name: "t", vcpu: 0, job: { every: "10ms", steps: [{ syscall: { cycles: 2_130_000 } }] } }] }],
      },
    }
    const cpu = (input: ScenarioInput) => threadOf(Runner.run(parseScenario(input, "t")).metrics, 0, "t").cpuNs
    const faster = { ...base, system: { ...base.system, machine: { cores: 1, cpuHz: 4.26e9 } } }
    // Kernel work given in cycles takes half the time at twice the clock.
    expect(cpu(faster)).toBeLessThan(cpu(base) * 0.6)
    const tuned = parseScenario({
      ...base,
      scheduler: { maxRepl: 8, ssPolicy: "posixNaive" },
      system: { ...base.system, nic: { mode: "ideal", demux: "early", rxInBottomHalf: true }, channelOptions: { typeBeforePayload: false } },
    }, "t")
    expect(tuned.system!.nic).toMatchObject({ mode: "ideal", demux: "early", rxInBottomHalf: true })
    const prepared = Runner.prepare(tuned)
    expect(prepared.system!.config.scheduler.maxRepl).toBe(8)
    expect(prepared.system!.config.scheduler.policy).toBe("posixNaive") // the deprecated ssPolicy, read as policy
    expect(prepared.system!.config.channelOptions.typeBeforePayload).toBe(false)
  })

  it("segments carry core, VCPU and thread names; check analyses each sandbox's core", () => {
    const s = parseScenario(tsScenario, "ts")
    const prepared = Runner.prepare(s, { recordSchedule: true })
    Runner.execute(prepared)
    const segs = prepared.segments()
    expect(segs.some((x) => x.pcpu === "core0" && x.vcpu === "main0" && x.thread === "writer")).toBe(true)
    expect(segs.some((x) => x.pcpu === "core1" && x.thread === "reader")).toBe(true)
    const checks = Check.check(s)
    expect(checks.map((c) => c.name)).toEqual(["sandbox0/core0", "sandbox1/core1"])
    expect(checks[0]!.vcpus).toHaveLength(7)
  })

  it("a program function is accepted in TS; JSON cannot carry one and says so", () => {
    const prog = Program.periodicCompute(1_000_000)
    expect(() => parseScenario({ name: "p", duration: "10ms", system: { machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "t", vcpu: 0, program: prog }] }] } }, "t")).not.toThrow()
    expect(() => parseScenario({ name: "p", duration: "10ms", system: { machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "t", vcpu: 0, program: "function*(){}" }] }] } }, "t"))
      .toThrow(/system\.sandboxes\[0\]\.threads\[0\]\.program: must be a generator function/)
  })

  it("the JSON Schema covers the system section (jobs; programs as any) and is JSON", () => {
    const schema = JSON.parse(JSON.stringify(jsonSchema())) as Record<string, any>
    expect(schema["$schema"]).toMatch(/2020-12/)
    const system = schema["properties"]["system"]
    expect(Object.keys(system.properties)).toEqual(expect.arrayContaining(["machine", "scheduler", "kernel", "monitor", "nic", "channelOptions", "recovery", "virtualization", "sandboxes", "hosts", "channels", "faults"]))
    const thread = system.properties.sandboxes.items.properties.threads.items
    expect(Object.keys(thread.properties)).toEqual(expect.arrayContaining(["name", "vcpu", "job", "program"]))
    expect(thread.properties.program).toEqual({})
    // The machine's own schema (hardware's MachineConfig), not an opaque record.
    expect(system.properties.machine.properties.ioapic.properties.deliverySkewNs.default).toBe(200)
    expect(system.properties.machine.properties.wire.properties.jitterNs.default).toBe(1_000)
    expect(system.properties.machine.properties.costs.properties.eptWalkExtra.default).toBe(150)
  })
})
