/**
 * x2APIC cluster addressing (issue 15): machines of 9–64 cores get 32-bit logical IDs (cluster of
 * 16 and one bit), a multicast over several clusters is one destination handle, delivery reaches
 * exactly its cores — each once — and touches no other core (the cost of a broadcast is its
 * targets, checked with cores that throw if a delivery reaches them). Refusals name the field.
 */
import { describe, expect, it } from "vitest"
import { MachineConfig } from "../src/index.ts"
import { ConfigError } from "../src/Errors.ts"
import { CLUSTER_CORES, logicalId, type LocalApic } from "../src/LocalApic.ts"
import { Trigger } from "../src/IoApic.ts"
import { machineWith } from "./support.ts"

const refused = (input: MachineConfig.MachineInput): string[] => {
  try {
    MachineConfig.parse(input)
    return []
  } catch (e) {
    if (e instanceof ConfigError) return e.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
    throw e
  }
}

/** Makes every core outside `targets` throw if anything reaches its local APIC. */
const fence = (lapics: readonly LocalApic[], targets: readonly number[]): void => {
  for (let i = 0; i < lapics.length; i++) {
    if (targets.includes(i)) continue
    Object.defineProperty(lapics, i, { get: () => { throw new Error(`core ${i} is not a target but was visited`) } })
  }
}

describe("x2APIC cluster addressing", () => {
  it("gives cores of machines above 8 cores x2APIC logical IDs (cluster << 16 | bit)", () => {
    expect([0, 15, 16, 33, 63].map((i) => logicalId(i, "x2apic"))).toEqual([0x1, 0x8000, 0x1_0001, 0x2_0002, 0x3_8000])
    const { machine } = machineWith({ cores: 64 })
    expect(machine.apicBus.scheme).toBe("x2apic")
    expect(machine.lapics).toHaveLength(64)
    expect(machine.lapics[17]!.logicalId).toBe(0x1_0002)
    expect(CLUSTER_CORES).toBe(16)
    // A paper-sized machine keeps Quest's flat model.
    expect(machineWith({ cores: 8 }).machine.apicBus.scheme).toBe("2011")
  })

  it("one destination spans clusters: one x2APIC logical destination per cluster it reaches", () => {
    const { machine } = machineWith({ cores: 64 })
    const bus = machine.apicBus
    const d = bus.maskOf([40, 3, 17, 3])
    expect(bus.coresIn(d)).toEqual([3, 17, 40])
    expect(bus.clusterDestinations(d)).toEqual([0x0_0008, 0x1_0002, 0x2_0100])
    expect(bus.maskOf([3, 17, 40])).toBe(d)
    expect(bus.coresIn(bus.union(d, bus.maskOf([63])))).toEqual([3, 17, 40, 63])
    expect(bus.coresIn(machine.lapics[5]!.destination)).toEqual([5])
    expect(bus.coresIn(0)).toEqual([])
    expect(bus.isDestination(d)).toBe(true)
    expect(bus.isDestination(100_000)).toBe(false)
  })

  it("an IPI multicast reaches exactly its cores, once each, and visits no other core", () => {
    const { sim, machine, recorder } = machineWith({ cores: 64 })
    const targets = [0, 15, 16, 47, 63]
    const d = machine.apicBus.maskOf(targets)
    const lapic1 = machine.lapics[1]!
    fence(machine.lapics, [...targets, 1])
    lapic1.sendIpi(d, 0x70)
    sim.run()
    expect(recorder.interrupts.map((i) => i.core)).toEqual(targets)
    expect(recorder.interrupts.every((i) => i.vector === 0x70 && i.t === recorder.interrupts[0]!.t)).toBe(true)
  })

  it("the fence catches a delivery that scans every core (the flat model's loop)", () => {
    const { machine } = machineWith({ cores: 64 })
    const targets = [2, 50]
    fence(machine.lapics, targets)
    const scanAll = (): void => {
      for (let i = 0; i < machine.lapics.length; i++) void machine.lapics[i]
    }
    expect(scanAll).toThrow(/core 0 is not a target/)
  })

  it("the shared NIC's line multicasts to sharers in four clusters, with the drawn skew, each once", () => {
    const { sim, machine, recorder } = machineWith({ cores: 64, boot: { nicSharers: 0 } })
    const sharers = [1, 20, 37, 62]
    const d = machine.apicBus.maskOf(sharers)
    machine.ioapic.program(3, { vector: 0x51, trigger: Trigger.Edge, destination: d })
    expect(machine.ioapic.entry(3).destination).toBe(d)
    expect(machine.ioapic.destinationMask(3)).toBe(d)
    fence(machine.lapics, sharers)
    machine.ioapic.raise(3)
    sim.run()
    expect(recorder.interrupts.map((i) => i.core).sort((a, b) => a - b)).toEqual(sharers)
    expect(new Set(recorder.interrupts.map((i) => i.t)).size).toBeGreaterThan(1) // 200 ns default skew
  })

  it("boots a 64-core machine whose NIC line reaches every sandbox by default", () => {
    const { machine } = machineWith({ cores: 64 })
    expect(machine.apicBus.coresIn(machine.ioapic.destinationMask(machine.nic.irqLine))).toEqual(Array.from({ length: 64 }, (_, i) => i))
    expect(machine.sandboxes).toBe(64)
    expect(machine.layout.slices[63]!.base + machine.layout.slices[63]!.bytes).toBeLessThanOrEqual(machine.layout.highBase)
  })

  it("refuses more cores than supported, and a flat scheme above 8 cores, naming the field", () => {
    expect(refused({ cores: 65 })).toEqual(["cores: must be ≤ 64 (got 65)"])
    expect(refused({ cores: 16, lapic: { logicalIds: "2011" } })).toEqual([
      "lapic.logicalIds: the flat logical model ('2011') addresses 8 cores, not 16: use 'x2apic' (the default above 8 cores)",
    ])
    expect(refused({ cores: 16, layout: { kind: "2015" } })).toEqual([
      "layout.kind: 16 sandboxes; the 2015 layout holds 1..8 (SHM_MAX_SANDBOX: its private-channel pages and info-page arrays are sized for 8); use '2011'",
    ])
    expect(refused({ cores: 16 })).toEqual([])
  })
})
