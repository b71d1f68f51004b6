/**
 * DMA remapping (model §H): without the unit a descriptor's DMA lands wherever it points; with it
 * only the pages a monitor mapped are reachable, a blocked DMA writes nothing, is counted, traced
 * and its fault event reaches the owner's core; the IOTLB caches, stalls on a miss and never
 * outlives an unmap. F11 for DMA as a property — no DMA ever writes a frame the device's table
 * does not map writable — shown to catch three broken units (one forgets the presence check, one
 * the permission check, one forgets to invalidate the IOTLB on unmap).
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { DmaRemapping, NIC_DEVICE } from "../src/DmaRemapping.ts"
import { Perm } from "../src/Ept.ts"
import { BUFFER_BYTES } from "../src/Nic.ts"
import * as Frame from "../src/Frame.ts"


const PAGE = 4096

/** A unit that forgets the presence check: an absent page passes through to the same frame. */
class PassThroughIommu extends DmaRemapping {
  protected override lookup(device: number, page: number): number {
    const e = super.lookup(device, page)
    return e !== 0 ? e : page * 8 + Perm.RW
  }
}

/** A unit that forgets the permission check: any present entry allows reads and writes. */
class IgnoresPermissions extends DmaRemapping {
  protected override lookup(device: number, page: number): number {
    const e = super.lookup(device, page)
    return e !== 0 ? e | Perm.RW : 0
  }
}

/** A unit that forgets to invalidate its IOTLB when a monitor unmaps a page. */
class StaleIotlb extends DmaRemapping {
  protected override invalidate(): void {}
}

type Unit = typeof DmaRemapping

/** A machine in root mode (no VM entry) with the unit enabled or not, its NIC's buffers mapped by core 0's monitor. */
const machine = (enabled: boolean, Impl: Unit = DmaRemapping, iommu: Record<string, unknown> = {}) => {
  const sim = new Simulation.Simulation(1)
  const m = new Machine(sim, { boot: { mode: "none" }, iommu: { enabled, ...iommu } }, { makeIommu: (...a) => new Impl(...a) })
  m.mapNicBuffers(0)
  const interrupts: { core: number; vector: number }[] = []
  m.setListener({ workDone: () => {}, interrupt: (core, vector) => interrupts.push({ core, vector }), vmExit: () => {} })
  const arrive = (seq = 1): void => {
    const slot = m.frames.alloc()
    const n = Frame.buildEchoRequest(m.frames.bytes, m.frames.offset(slot), 0x0200_0000_0001, m.nic.mac, 1, 2, 3, seq, 56)
    m.frames.setLength(slot, n)
    m.nic.receiveFrame(slot)
  }
  return { sim, m, arrive, interrupts }
}

describe("DMA without remapping (the paper's machine)", () => {
  it("a received frame lands in its descriptor's buffer, at the top of the shared pool", () => {
    const { m, arrive } = machine(false)
    const b = m.nicBufferFrames()
    expect(m.dmaBufferBase).toBe(m.layout.poolTop - b.count * PAGE)
    const before = m.memory.rangeDigest(b.first, b.count)
    arrive()
    expect(m.memory.rangeDigest(b.first, b.count)).not.toBe(before)
    expect(m.dmaWritesOutsideBuffers).toBe(0)
    expect(m.nic.rxOwnedByNic(0)).toBe(false)
  })

  it("a descriptor pointed at another sandbox's memory makes the device write there (EPT does not see devices)", () => {
    const { m, arrive } = machine(false)
    const victim = m.sliceDigest(2)
    m.nic.setRxAddress(0, m.layout.slices[2]!.base + (1 << 20))
    arrive()
    expect(m.sliceDigest(2)).not.toBe(victim)
    expect(m.dmaWritesOutsideBuffers).toBe(1)
    expect(m.nic.rxFrames).toBe(1)
  })
})

describe("DMA through VT-d", () => {
  it("the NIC's own buffers are reachable; elsewhere the DMA is blocked: nothing written, the descriptor stays the NIC's, the fault event reaches the owner's core", () => {
    const { sim, m, arrive, interrupts } = machine(true)
    arrive(1)
    expect(m.nic.rxFrames).toBe(0) // the first access missed the IOTLB: the descriptor completes after the stall
    sim.run({ untilNs: 10_000 })
    expect(m.nic.rxFrames).toBe(1)
    const digest = m.memory.digest()
    m.nic.setRxAddress(1, m.layout.eptAreaFirstFrame(2) * PAGE)
    arrive(2)
    expect(m.memory.digest()).toBe(digest)
    expect(m.dmaBlocked).toBe(1)
    expect(m.nic.rxDmaBlocked).toBe(1)
    expect(m.nic.rxOwnedByNic(1)).toBe(true)
    expect(m.nic.rxNext).toBe(1)
    expect(m.iommu.faultLog).toEqual([{ device: NIC_DEVICE, address: m.layout.eptAreaFirstFrame(2) * PAGE, access: Perm.W, ownerCore: 0, atNs: 10_000 }])
    expect(m.nic.rxArrivals).toBe(m.nic.rxFrames + m.nic.rxOverruns + m.nic.rxDroppedDown + m.nic.rxDroppedBad + m.nic.rxDmaBlocked)
    // The fault event waits in core 0's local APIC (root mode) and is delivered once it enters its guest.
    sim.run({ untilNs: 20_000 })
    expect(m.lapics[0]!.isPending(m.iommu.config.faultVector)).toBe(true)
    m.cores[0]!.loadEpt(m.epts[0]!)
    m.cores[0]!.vmEntry()
    sim.run({ untilNs: 30_000 })
    expect(interrupts).toEqual([{ core: 0, vector: m.iommu.config.faultVector }])
  })

  it("a chip reset points every descriptor at its own buffer again", () => {
    const { m } = machine(true)
    m.nic.setRxAddress(3, 0)
    m.nic.setTxAddress(2, 0)
    m.nic.reset()
    expect(m.nic.rxAddress(3)).toBe(m.nic.rxBufferAddress(3))
    expect(m.nic.txAddress(2)).toBe(m.nic.txBufferAddress(2))
    expect(m.nic.rxBufferAddress(1) - m.nic.rxBufferAddress(0)).toBe(BUFFER_BYTES)
  })

  it("only monitors program it: a mapping from a core in guest mode fails the simulation", () => {
    const { m } = machine(true)
    m.cores[1]!.loadEpt(m.epts[1]!)
    m.cores[1]!.vmEntry()
    expect(() => m.mapNicBuffers(1)).toThrow(Simulation.SimulationError)
  })

  it("IOTLB: a miss stalls by the miss cost and fills an entry; a hit does not stall; the least recently used entry is evicted", () => {
    const { m } = machine(true, DmaRemapping, { iotlbEntries: 2, iotlbMissCycles: 213 })
    const u = m.iommu
    const first = m.nicBufferFrames().first
    expect(u.missNs).toBe(100)
    expect(u.translate(NIC_DEVICE, first, Perm.W)).toBe(first)
    expect(u.lastStallNs).toBe(100)
    u.translate(NIC_DEVICE, first, Perm.W)
    expect(u.lastStallNs).toBe(0)
    u.translate(NIC_DEVICE, first + 1, Perm.R)
    u.translate(NIC_DEVICE, first, Perm.R) // first is now the most recent
    u.translate(NIC_DEVICE, first + 2, Perm.R) // evicts first + 1
    u.translate(NIC_DEVICE, first, Perm.R)
    expect(u.lastStallNs).toBe(0)
    u.translate(NIC_DEVICE, first + 1, Perm.R)
    expect(u.lastStallNs).toBe(100)
    expect([u.iotlbHits, u.iotlbMisses]).toEqual([3, 4])
  })

  it("an unmap takes effect at once: the cached translation goes with the entry", () => {
    const { m } = machine(true)
    const first = m.nicBufferFrames().first
    expect(m.iommu.translate(NIC_DEVICE, first, Perm.W)).toBe(first)
    m.iommu.unmap(m.cores[0]!, NIC_DEVICE, first, 1)
    expect(m.iommu.translate(NIC_DEVICE, first, Perm.W)).toBe(-1)
    expect(m.iommu.faults).toBe(1)
  })
})

/** Operations on a machine with VT-d: re-point a descriptor anywhere, a frame arrives, a monitor unmaps a buffer page. */
const op = fc.oneof(
  fc.record({ kind: fc.constant("point" as const), desc: fc.nat(255), page: fc.nat((1 << 20) - 1), half: fc.boolean() }),
  fc.record({ kind: fc.constant("arrive" as const) }),
  // A monitor unmaps a buffer page: any, or the one the device fills next.
  fc.record({ kind: fc.constant("unmap" as const), page: fc.oneof(fc.constant(-1), fc.nat(159)) }),
  // A monitor makes a buffer page read-only (the device may still read it, not write it): any, or the next one.
  fc.record({ kind: fc.constant("readOnly" as const), page: fc.oneof(fc.constant(-1), fc.nat(159)) }),
  fc.record({ kind: fc.constant("wait" as const), ns: fc.integer({ min: 1, max: 5_000 }) }),
)

/** F11 for DMA: every frame a DMA writes is mapped writable in the NIC's table at that moment. Returns the first breach, or null. */
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

const f11Dma = (ops: readonly Op[], Impl: Unit): string | null => {
  const { sim, m, arrive } = machine(true, Impl, { iotlbEntries: 8 })
  let breach: string | null = null
  m.dmaObserver = (frame, write) => {
    const e = m.iommu.entryOf(NIC_DEVICE, frame) // identity-mapped buffers: bus page = frame
    if (write && (breach === null) && ((e & Perm.W) === 0 || e >>> 3 !== frame)) breach = `DMA wrote frame ${frame} at ${sim.now} ns, not mapped writable`
  }
  const first = m.nicBufferFrames().first
  for (const o of ops) {
    if (o.kind === "point") m.nic.setRxAddress(o.desc, Math.min(o.page * PAGE + (o.half ? BUFFER_BYTES : 0), 2 ** 32 - BUFFER_BYTES))
    else if (o.kind === "arrive") {
      arrive()
      // Keep the ring moving: the host takes every completed descriptor back at once.
      for (let i = 0; i < m.nic.rxRingSize; i++) if (!m.nic.rxOwnedByNic(i)) m.nic.rxGiveBack(i)
    } else if (o.kind === "unmap") {
      const page = o.page === -1 ? Math.floor(m.nic.rxAddress(m.nic.rxNext) / PAGE) : first + o.page
      m.iommu.unmap(m.cores[0]!, NIC_DEVICE, page, 1)
    } else if (o.kind === "readOnly") {
      const page = o.page === -1 ? Math.floor(m.nic.rxAddress(m.nic.rxNext) / PAGE) : first + o.page
      if (page < m.memory.frames) m.iommu.map(m.cores[0]!, NIC_DEVICE, page, 1, page, Perm.R)
    } else sim.run({ untilNs: sim.now + o.ns })
    if (breach !== null) return breach
  }
  sim.run({ untilNs: sim.now + 1_000_000 })
  return breach
}

describe("F11 for DMA (property)", () => {
  const ops = fc.array(op, { minLength: 1, maxLength: 60 })

  it("with VT-d on, no DMA ever writes a frame outside the device's writable mappings", () => {
    fc.assert(fc.property(ops, (o) => f11Dma(o, DmaRemapping) === null), { numRuns: 40 })
  })

  it("catches a unit that forgets the presence check", () => {
    const r = fc.check(fc.property(ops, (o) => f11Dma(o, PassThroughIommu) === null), { numRuns: 300, endOnFailure: true })
    expect(r.failed).toBe(true)
  })

  it("catches a unit that forgets the permission check (writes to a read-only page)", () => {
    // About 16 % of the generated cases catch it (measured over 400): 300 runs miss it with p ≈ 1e-23.
    const r = fc.check(fc.property(ops, (o) => f11Dma(o, IgnoresPermissions) === null), { numRuns: 300, endOnFailure: true })
    expect(r.failed).toBe(true)
  })

  it("catches a unit that forgets to invalidate its IOTLB on unmap", () => {
    // About 9 % of the generated cases catch it (measured over 400): 600 runs miss it with p ≈ 1e-24.
    const r = fc.check(fc.property(ops, (o) => f11Dma(o, StaleIotlb) === null), { numRuns: 600, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})
