/**
 * Rogue DMA (model §H) at the system level: a faulty driver's TX descriptors pointed at another
 * sandbox's memory make the NIC read it (a leak) without DMA remapping; with it the reads are
 * blocked, the descriptors complete with an error and the remapping faults reach the NIC master's
 * monitor (only it) through its fault-event handler's VMCALL. Without the unit nothing is
 * registered and nothing exits. The configuration refuses rogue DMA faults that make no sense.
 */
import { describe, expect, it } from "vitest"
import { Errors, Issues, PhysicalMemory } from "@qvsim/hardware"
import { Config, Monitor, System } from "../src/index.ts"

const MS = 1_000_000

const flood = (iommu: boolean, ring: "rx" | "tx") => {
  const sys = new System.System({
    machine: { iommu: { enabled: iommu } },
    nic: { sharers: ["sandbox0", "sandbox1"], demux: "early" },
    hosts: [{ kind: "ping", name: "p", target: "sandbox1", mode: "flood", count: 400 }],
    faults: [{ kind: "rogueDma", sandbox: "sandbox1", at: "1ms", ring, descriptors: 4, into: { sandbox: "sandbox2", offset: 1 << 20 } }],
  })
  const slice2 = sys.machine.layout.slices[2]!
  const reads: number[] = []
  sys.machine.dmaObserver = (frame, write) => {
    if (!write && frame * PhysicalMemory.PAGE_BYTES >= slice2.base && frame * PhysicalMemory.PAGE_BYTES < slice2.base + slice2.bytes) reads.push(frame)
  }
  sys.run(100 * MS)
  return { sys, reads }
}

describe("rogue TX descriptors", () => {
  it("without DMA remapping the NIC reads another sandbox's memory and sends it; nobody is told", () => {
    const { sys, reads } = flood(false, "tx")
    expect(reads.length).toBeGreaterThan(0)
    expect(sys.machine.nic.txDmaBlocked).toBe(0)
    expect(sys.dmaFaults).toBeNull()
    expect(sys.sandboxes.every((sb) => sb.monitor.exitsByReason.size === 0)).toBe(true)
    expect(sys.faultRecords()[0]!.dmaAddresses).toEqual([0, 1, 2, 3].map((j) => sys.machine.layout.slices[2]!.base + (1 << 20) + j * 2048))
  })

  it("with VT-d the reads are blocked, the descriptors complete with an error, the master's monitor records the faults", () => {
    const { sys, reads } = flood(true, "tx")
    expect(reads).toEqual([])
    expect(sys.machine.nic.txDmaBlocked).toBeGreaterThan(0)
    const recs = sys.dmaFaults!.records
    expect(recs.length).toBeGreaterThan(0)
    expect(recs.every((r) => r.sandbox === 0 && r.access === 1)).toBe(true)
    expect(sys.sandboxes[0]!.monitor.exitsByReason.get(18)).toBeGreaterThan(0) // VMCALL
    expect(sys.sandboxes.slice(1).every((sb) => sb.monitor.exitsByReason.size === 0)).toBe(true)
    expect(Monitor.Hypercall.DmaFault).toBe(8)
  })

  it("a fault-free flood through VT-d takes no VM exit (F17) and answers every request", () => {
    const sys = new System.System({ machine: { iommu: { enabled: true } }, nic: { sharers: ["sandbox0"] }, hosts: [{ kind: "ping", name: "p", target: "sandbox0", mode: "flood", count: 300 }] })
    sys.run(100 * MS)
    expect(sys.sandboxes.every((sb) => sb.monitor.exitsByReason.size === 0)).toBe(true)
    expect(sys.metrics().hosts[0]!.received).toBe(300)
    expect(sys.machine.iommu.iotlbMisses).toBeGreaterThan(0)
  })
})

describe("rogue DMA configuration", () => {
  const refuse = (fault: Record<string, unknown>, nic: Record<string, unknown> = {}): string => {
    try {
      Config.parse({ nic, faults: [{ kind: "rogueDma", sandbox: "sandbox1", at: 0, into: { sandbox: "sandbox2" }, ...fault }] as Config.SystemInput["faults"] })
    } catch (e) {
      if (e instanceof Errors.ConfigError) return Issues.lines(e.issues).join("\n")
      throw e
    }
    return ""
  }

  it("names the field of each refusal", () => {
    expect(refuse({ recovery: "remote" })).toMatch(/^faults\.0\.recovery: a rogue DMA is recovered by the device owner's monitor/m)
    expect(refuse({}, { sharers: ["sandbox0"] })).toMatch(/^faults\.0\.sandbox: sandbox sandbox1 does not run the NIC driver/m)
    expect(refuse({ into: { monitor: "sandbox6" } })).toMatch(/^faults\.0\.into\.monitor: no sandbox named "sandbox6"/m)
    // The old spelling (an index) still resolves, deprecated.
    expect(refuse({ into: { monitor: 2 } })).toBe("")
    expect(refuse({ descriptors: 0 })).toMatch(/^faults\.0\.descriptors: must be ≥ 1/m)
    expect(refuse({})).toBe("")
  })
})
