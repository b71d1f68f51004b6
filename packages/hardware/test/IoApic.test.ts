import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation } from "@qvsim/sim-core"
import { Core } from "../src/Core.ts"
import { Tsc } from "../src/Tsc.ts"
import { ApicBus, type LogicalIdScheme } from "../src/LocalApic.ts"
import { Ept } from "../src/Ept.ts"
import { IoApic, Mmio, Register, Trigger, DestinationMode } from "../src/IoApic.ts"
import { Recorder } from "./support.ts"

/** n cores in guest mode, their APIC bus and an I/O APIC of class `Impl`. */
const fabric = (n: number, scheme: LogicalIdScheme, irqLatencyNs: number, Impl: typeof IoApic = IoApic) => {
  const sim = new Simulation.Simulation(1)
  const bus = new ApicBus(sim, {}, { ipiOneWayNs: 303, ipiPollBoundNs: 10_000 }, scheme)
  const rec = new Recorder(sim)
  const cores = Array.from({ length: n }, (_, i) => {
    const core = new Core(sim, i, new Tsc(2_130_000_000))
    bus.attach(core)
    core.listener = rec
    core.loadEpt(new Ept(sim, i, 1 << 20))
    core.vmEntry()
    return core
  })
  const ioapic = new Impl(sim, bus, { irqLatencyNs, lines: 8, deliverySkewNs: 0 }) // exact times: no per-core skew (IoApicSkew.test.ts)
  return { sim, bus, rec, cores, ioapic }
}

/** The spec's flat logical IDs (§D.6), written independently of the model. */
const specLogicalId = (i: number, scheme: LogicalIdScheme): number => (scheme === "2011" ? 2 ** i : i === 7 ? 1 : 2 ** (i + 1))

type Op =
  | { readonly op: "program"; readonly line: number; readonly vector: number; readonly mask: number; readonly masked: boolean }
  | { readonly op: "retarget"; readonly line: number; readonly mask: number }
  | { readonly op: "raise"; readonly line: number }
  | { readonly op: "wait"; readonly ns: number }

const line = fc.integer({ min: 0, max: 3 })
const mask = fc.integer({ min: 0, max: 255 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("program" as const), line, vector: fc.integer({ min: 16, max: 255 }), mask, masked: fc.boolean() }),
  fc.record({ op: fc.constant("retarget" as const), line, mask }),
  fc.record({ op: fc.constant("raise" as const), line }),
  fc.record({ op: fc.constant("raise" as const), line }),
  fc.record({ op: fc.constant("wait" as const), ns: fc.integer({ min: 0, max: 5_000 }) }),
)
const scenario = fc.record({
  cores: fc.integer({ min: 1, max: 8 }),
  scheme: fc.constantFrom<LogicalIdScheme>("2011", "2015"),
  latency: fc.integer({ min: 0, max: 2_000 }),
  ops: fc.array(opArb, { maxLength: 40 }),
})

/**
 * F15: every raise on an unmasked edge entry with mask D yields exactly one delivery of its
 * vector, latency later, on every core in D and none elsewhere; no VM exit.
 */
const f15 = (Impl: typeof IoApic) =>
  fc.property(scenario, ({ cores, scheme, latency, ops }) => {
    const { sim, rec, cores: cs, ioapic } = fabric(cores, scheme, latency, Impl)
    const model = Array.from({ length: 4 }, () => ({ vector: 16, mask: 0, masked: true }))
    const expected: string[] = []
    for (const o of ops) {
      if (o.op === "program") {
        ioapic.program(o.line, { vector: o.vector, destination: o.mask, masked: o.masked, trigger: Trigger.Edge })
        model[o.line] = { vector: o.vector, mask: o.mask, masked: o.masked }
      } else if (o.op === "retarget") {
        ioapic.setDestination(o.line, o.mask)
        model[o.line]!.mask = o.mask
      } else if (o.op === "raise") {
        ioapic.raise(o.line)
        const e = model[o.line]!
        if (!e.masked) {
          for (let c = 0; c < cores; c++) if ((specLogicalId(c, scheme) & e.mask) !== 0) expected.push(`irq ${c} ${e.vector} @${sim.now + latency}`)
        }
      } else {
        sim.run({ untilNs: sim.now + o.ns })
      }
    }
    sim.run()
    expect([...rec.log].sort()).toEqual(expected.sort())
    expect(cs.every((c) => c.vmExits === 0)).toBe(true)
  })

class FirstCoreOnly extends IoApic {
  protected override deliver(l: number, vector: number, m: number): void {
    super.deliver(l, vector, m & -m)
  }
}
class Twice extends IoApic {
  protected override deliver(l: number, vector: number, m: number): void {
    super.deliver(l, vector, m)
    super.deliver(l, vector, m)
  }
}

describe("IoApic — F15 interrupt multicast", () => {
  it("delivers exactly one interrupt to every core in the mask and none elsewhere", () => {
    fc.assert(f15(IoApic), { numRuns: 200 })
  })

  it("catches an I/O APIC that delivers to the first core of the mask only", () => {
    expect(fc.check(f15(FirstCoreOnly), { numRuns: 600, endOnFailure: true }).failed).toBe(true)
  })

  it("catches an I/O APIC that delivers twice", () => {
    expect(fc.check(f15(Twice), { numRuns: 600, endOnFailure: true }).failed).toBe(true)
  })
})

describe("IoApic", () => {
  it("re-targets an entry at run time (remote recovery re-routes the NIC)", () => {
    const { sim, rec, ioapic } = fabric(4, "2011", 100)
    ioapic.program(2, { vector: 0x50, destination: 0b0001 })
    ioapic.raise(2)
    sim.run()
    ioapic.setDestination(2, 0b0100)
    ioapic.raise(2)
    sim.run()
    expect(rec.log).toEqual(["irq 0 80 @100", "irq 2 80 @200"])
    expect(ioapic.entry(2)).toMatchObject({ vector: 0x50, destination: 4, trigger: Trigger.Edge, masked: false })
  })

  it("loses (and counts) an edge interrupt on a masked entry; entries start masked", () => {
    const { sim, rec, ioapic } = fabric(2, "2011", 0)
    ioapic.raise(5)
    ioapic.program(1, { vector: 0x60, destination: 3, masked: true })
    ioapic.raise(1)
    ioapic.setMasked(1, false)
    ioapic.raise(1)
    sim.run()
    expect(rec.log).toEqual(["irq 0 96 @0", "irq 1 96 @0"])
    expect(ioapic.maskedDrops).toBe(2)
  })

  it("fires an edge entry on the line's rising edge only", () => {
    const { sim, rec, ioapic } = fabric(1, "2011", 0)
    ioapic.program(0, { vector: 0x50, destination: 1 })
    ioapic.setLine(0, true)
    ioapic.setLine(0, true)
    ioapic.setLine(0, false)
    ioapic.setLine(0, true)
    sim.run()
    expect(rec.interrupts).toHaveLength(2)
  })

  it("level mode: remote IRR blocks re-delivery until an EOI, which re-delivers while the line is asserted", () => {
    const { sim, rec, ioapic } = fabric(2, "2011", 0)
    ioapic.program(3, { vector: 0x70, destination: 3, trigger: Trigger.Level })
    ioapic.setLine(3, true)
    sim.run()
    expect(rec.interrupts).toHaveLength(2)
    ioapic.raise(3)
    expect(ioapic.levelCoalesced).toBe(1)
    ioapic.eoi(0x70) // the first core's EOI: the line is still asserted → both cores again
    sim.run()
    expect(rec.interrupts).toHaveLength(4)
    ioapic.setLine(3, false)
    ioapic.eoi(0x70)
    sim.run()
    expect(rec.interrupts).toHaveLength(4)
    expect(ioapic.entry(3).remoteIrr).toBe(false)
  })

  it("physical destination mode reaches the core with that APIC ID", () => {
    const { sim, rec, ioapic } = fabric(4, "2015", 0)
    ioapic.program(0, { vector: 0x44, destination: 2, destinationMode: DestinationMode.Physical })
    ioapic.raise(0)
    sim.run()
    expect(rec.log).toEqual(["irq 2 68 @0"])
  })

  it("exposes the 82093AA register file through IOREGSEL/IOWIN", () => {
    const { sim, rec, ioapic } = fabric(4, "2011", 0)
    ioapic.mmioWrite(Mmio.RegisterSelect, Register.Version)
    expect(ioapic.mmioRead(Mmio.Window)).toBe((7 << 16) | 0x11)
    ioapic.mmioWrite(Mmio.RegisterSelect, Register.RedirectionBase + 2 * 4 + 1)
    ioapic.mmioWrite(Mmio.Window, 0x0c00_0000)
    ioapic.mmioWrite(Mmio.RegisterSelect, Register.RedirectionBase + 2 * 4)
    ioapic.mmioWrite(Mmio.Window, 0x0000_0852) // vector 0x52, logical, edge, unmasked
    expect(ioapic.entry(4)).toMatchObject({ vector: 0x52, destination: 0x0c, destinationMode: DestinationMode.Logical, masked: false })
    ioapic.raise(4)
    sim.run()
    expect(rec.log).toEqual(["irq 2 82 @0", "irq 3 82 @0"])
    // Remote IRR and delivery status are read-only.
    ioapic.writeRegister(Register.RedirectionBase + 8, 0x0001_5052)
    expect(ioapic.readRegister(Register.RedirectionBase + 8) & (1 << 14)).toBe(0)
  })

  it("refuses a bad configuration and bad entries, naming them", () => {
    expect(() => fabric(1, "2011", -1)).toThrow(/ioapic\.irqLatencyNs: must be ≥ 0/)
    const { ioapic } = fabric(1, "2011", 0)
    expect(() => ioapic.raise(8)).toThrow(/line 8 is not 0\.\.7/)
    expect(() => ioapic.program(0, { vector: 3, destination: 1 })).toThrow(/vector 3 must be 16\.\.255/)
  })
})
