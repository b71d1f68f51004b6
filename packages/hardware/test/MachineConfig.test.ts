import { describe, expect, it } from "vitest"
import { Simulation } from "@qvsim/sim-core"
import * as MachineConfig from "../src/MachineConfig.ts"
import { ConfigError } from "../src/Errors.ts"
import { Machine } from "../src/Machine.ts"

const refused = (input: MachineConfig.MachineInput): string[] => {
  try {
    MachineConfig.parse(input)
  } catch (e) {
    if (e instanceof ConfigError) return e.lines
    throw e
  }
  return []
}

describe("MachineConfig", () => {
  it("defaults to the paper's machine: Xeon E5506 at 2.13 GHz, 4 cores, 2011 layout, r8169 rings", () => {
    const c = MachineConfig.parse()
    expect(c.cpuHz).toBe(2_130_000_000)
    expect(c.cores).toBe(4)
    expect(c.layout.kind).toBe("2011")
    expect([c.nic.rxRing, c.nic.txRing]).toEqual([256, 64])
    expect(c.lapic.timerVector).toBe(0x3e)
    expect(c.lapic.ipiPollLimit).toBe(1000)
    expect(c.costs.vmExit).toBe(707)
    expect(MachineConfig.sandboxCount(c)).toBe(4)
    expect(MachineConfig.logicalIdScheme(c)).toBe("2011")
    expect(MachineConfig.logicalIdScheme(MachineConfig.parse({ layout: { kind: "2015" } }))).toBe("2015")
  })

  it("refuses bad device configurations at construction, naming the field", () => {
    expect(refused({ nic: { rxRing: 0 } })).toEqual(["nic.rxRing: must be ≥ 1 (got 0)"])
    expect(refused({ cpuHz: -1 })).toEqual(["cpuHz: must be a positive integer number of Hz (got -1)"])
    expect(refused({ layout: { slices: [{ base: 0x100000, bytes: 0x4000000 }, { base: 0x2000000, bytes: 0x4000000 }] }, cores: 2 }))
      .toEqual(["layout.slices.1: slice 1 [0x2000000, 0x6000000) overlaps slice 0 [0x100000, 0x4100000)"])
    expect(refused({ cores: 65 })).toEqual(["cores: must be ≤ 64 (got 65)"])
    expect(refused({ nic: { rxRng: 3 } as never })).toEqual(['nic: unknown key "rxRng" (did you mean "rxRing"?)'])
    expect(refused({ clockOffsetNs: [0, 0, 0, 0, 0] })).toEqual(["clockOffsetNs: 5 entries for 4 cores"])
    expect(refused({ clockDriftPpm: [0.0001] })).toEqual(["clockDriftPpm.0: must be a multiple of 0.001 ppm (got 0.0001)"])
    expect(refused({ nic: { irqLine: 30 } })).toEqual(["nic.irqLine: line 30 does not exist on an I/O APIC with 24 lines"])
    expect(refused({ sandboxOfCore: [0, 0, 2, 2] })).toEqual(["sandboxOfCore: sandbox 1 has no core (sandbox ids must be 0..2)"])
    // An id out of range is reported once, by itself (found by the fuzz campaign: 2^31 made the
    // coverage check loop 2^31 times and exhaust the heap).
    expect(refused({ sandboxOfCore: [0, 1, 2 ** 31, 2] })).toEqual(["sandboxOfCore.2: must be ≤ 63 (got 2147483648)"])
  })

  it("reports every problem at once", () => {
    expect(refused({ cpuHz: 0, nic: { txRing: 0 }, ioapic: { lines: 0 } })).toEqual([
      "cpuHz: must be a positive integer number of Hz (got 0)",
      "ioapic.lines: must be ≥ 1 (got 0)",
      "nic.txRing: must be ≥ 1 (got 0)",
      "nic.irqLine: line 16 does not exist on an I/O APIC with 0 lines",
    ])
  })

  it("refuses through the Machine constructor too", () => {
    const sim = new Simulation.Simulation(1)
    expect(() => new Machine(sim, { nic: { rxRing: 0 } })).toThrow(ConfigError)
    expect(() => new Machine(sim, { nic: { rxRing: 0 } })).toThrow(/nic\.rxRing: must be ≥ 1/)
  })

  it("supports several cores per sandbox: EPT per sandbox, shared by its cores", () => {
    const sim = new Simulation.Simulation(1)
    const m = new Machine(sim, { sandboxOfCore: [0, 0, 1, 1] })
    expect(m.sandboxes).toBe(2)
    expect(m.coresOf(1)).toEqual([2, 3])
    expect(m.cores[3]!.ept).toBe(m.epts[1])
    expect(m.ioapic.entry(m.nic.irqLine).destination).toBe(0b1111)
  })

  it("publishes a JSON schema of its input", () => {
    const schema = MachineConfig.jsonSchema() as { properties: Record<string, unknown> }
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["cpuHz", "cores", "layout", "nic", "costs"]))
  })
})
