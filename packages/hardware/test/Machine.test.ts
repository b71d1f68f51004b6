import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation, Time } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { PhysicalMemory } from "../src/PhysicalMemory.ts"
import { Access, Ept, Perm, qualificationAccess, qualificationAddress } from "../src/Ept.ts"
import { VmExitReason } from "../src/Core.ts"
import { Mmio, Register, RegisterBlacklist } from "../src/IoApic.ts"
import type { LayoutKind } from "../src/MemoryLayout.ts"
import { Recorder } from "./support.ts"

const MiB = 1 << 20
const PAGE = 4096

/**
 * The permissions spec §D.3 gives sandbox s for guest page gpn under the default sizes, written
 * independently of MemoryLayout: `[frame, perms]`, or null when unmapped.
 */
const specMapping = (kind: LayoutKind, s: number, gpn: number): readonly [number, number] | null => {
  const slicePages = (kind === "2011" ? 128 : 256) * 256
  const first = 256 + s * slicePages
  if (gpn < 256) return [gpn, Perm.RWX]
  if (gpn >= first && gpn < first + slicePages - 2560) {
    const k = gpn - first
    if (k < 128) return [gpn, Perm.RX] // kernel text + rodata (512 KiB)
    if (k < 130 && s !== 0) return [256 + k, Perm.RWX] // shared driver .data/.bss → sandbox 0's copy
    return [gpn, Perm.RWX]
  }
  if (gpn < 0x80000) return null
  if (kind === "2011") return [gpn, Perm.RWX]
  const screens = 0x9fff7
  if (gpn >= 0x9f800 && gpn < screens - 28) return null // unallocated shared pool
  if (gpn >= screens - 28 && gpn < screens) {
    const index = screens - gpn
    for (let a = 0; a < 8; a++) {
      const c = index - (13 * a - a * a) / 2
      if (c > a && c < 8) return s === a || s === c ? [gpn, Perm.RW] : null
    }
  }
  if (gpn === 0xfec00) return [gpn, Perm.R]
  return [gpn, Perm.RWX]
}

const regionArb = fc.constantFrom("firstMiB", "own", "text", "driver", "other", "gap", "high", "shm", "ioapic")
const accessArb = fc.record({
  core: fc.nat(),
  region: regionArb,
  page: fc.nat(),
  offset: fc.integer({ min: 0, max: 1023 }).map((w) => w * 4),
  kind: fc.constantFrom(Access.Read, Access.Write, Access.Write, Access.Execute),
  value: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
})
const runArb = fc.record({
  kind: fc.constantFrom<LayoutKind>("2011", "2015"),
  cores: fc.integer({ min: 1, max: 4 }),
  accesses: fc.array(accessArb, { minLength: 1, maxLength: 50 }),
})

const pageIn = (kind: LayoutKind, n: number, s: number, region: string, r: number): number => {
  const slicePages = (kind === "2011" ? 128 : 256) * 256
  const first = 256 + s * slicePages
  switch (region) {
    case "firstMiB": return r % 256
    case "own": return first + (r % slicePages)
    case "text": return first + (r % 128)
    case "driver": return first + 128 + (r % 2)
    case "other": return 256 + ((s + 1 + (r % Math.max(1, n - 1))) % n) * slicePages + (r % slicePages)
    case "gap": return 256 + n * slicePages + (r % (0x80000 - 256 - n * slicePages))
    case "high": return 0x80000 + (r % 0x80000)
    case "shm": return (kind === "2011" ? 0x9fc00 : 0x9f800) + (r % (kind === "2011" ? 1024 : 2048))
    default: return 0xfec00
  }
}

/** Boots `machine` with EPTs of class `Impl` (the real one or a broken one). */
const bootWith = (machine: Machine, Impl: typeof Ept): void => {
  machine.boot(Array.from({ length: machine.sandboxes }, (_, s) => new Impl(machine.sim, s, machine.memory.frames, machine.layout)))
}

/** The boot contents of memory, rebuilt independently (images, backed pages). */
const referenceMemory = (machine: Machine): PhysicalMemory => {
  const ref = new PhysicalMemory()
  machine.layout.loadImages(ref)
  return ref
}

/**
 * F11: an access with no entry or without the needed permission changes no machine page and
 * yields exactly one EPT-violation exit on the accessing core; an allowed write changes exactly
 * its frame (memory digest equals a reference memory receiving only the allowed writes).
 */
const f11 = (Impl: typeof Ept) =>
  fc.property(runArb, ({ kind, cores, accesses }) => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim, { cores, layout: { kind }, boot: { mode: "none" } })
    const rec = new Recorder(sim)
    machine.setListener(rec)
    bootWith(machine, Impl)
    const ref = referenceMemory(machine)
    const expectedExits: string[] = []
    for (const a of accesses) {
      const c = a.core % cores
      const gpn = pageIn(kind, cores, c, a.region, a.page)
      const gpa = gpn * PAGE + a.offset
      const want = specMapping(kind, c, gpn)
      const allowed = want !== null && (want[1] & a.kind) === a.kind
      const exitsBefore = machine.cores[c]!.vmExits
      const performed = a.kind === Access.Write ? machine.write(c, gpa, 4, a.value) : machine.access(c, gpa, a.kind) >= 0
      expect(performed).toBe(allowed)
      if (allowed && a.kind === Access.Write && gpn !== 0xfec00) ref.write(want[0], a.offset, 4, a.value)
      expect(machine.memory.digest()).toBe(ref.digest())
      expect(machine.cores[c]!.vmExits - exitsBefore).toBe(allowed ? 0 : 1)
      if (!allowed) {
        expectedExits.push(`${c} ${gpa} ${a.kind}`)
        machine.cores[c]!.vmEntry() // the monitor resumes the guest
      }
    }
    sim.run()
    expect(rec.exits.map((e) => {
      expect(e.reason).toBe(VmExitReason.EptViolation)
      return `${e.core} ${qualificationAddress(e.qualification)} ${qualificationAccess(e.qualification)}`
    })).toEqual(expectedExits)
  })

class ForgetsWriteBit extends Ept {
  override translate(gpn: number, need: number): number {
    return super.translate(gpn, need === Access.Write ? Access.Read : need)
  }
}
class IdentityForUnmapped extends Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    return f < 0 && this.permsOf(gpn) === 0 ? gpn : f
  }
}

describe("F11 — EPT isolation", () => {
  it("refused accesses change nothing and exit exactly once on the accessing core; allowed writes change only their frame", () => {
    fc.assert(f11(Ept), { numRuns: 60 })
  })

  it("catches an EPT that forgets the write bit", () => {
    expect(fc.check(f11(ForgetsWriteBit), { numRuns: 180, endOnFailure: true }).failed).toBe(true)
  })

  it("catches an EPT that lets unmapped pages through (identity)", () => {
    expect(fc.check(f11(IdentityForUnmapped), { numRuns: 180, endOnFailure: true }).failed).toBe(true)
  })

  it("keeps other sandboxes' slices unchanged when a sandbox writes wildly", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim)
    const before = [1, 2, 3].map((s) => machine.sliceDigest(s))
    for (let i = 0; i < 100; i++) {
      const target = machine.layout.slices[1 + (i % 3)]!
      expect(machine.write(0, target.base + i * 40_000, 4, 0xbad)).toBe(false)
      machine.cores[0]!.vmEntry()
    }
    expect([1, 2, 3].map((s) => machine.sliceDigest(s))).toEqual(before)
    expect(machine.cores[0]!.eptViolations).toBe(100)
  })
})

// ------------------------------------------------------------------ F12

/** F12 (a): writes to kernel text/rodata always exit and write nothing, in both layouts. */
const f12Text = (Impl: typeof Ept) =>
  fc.property(fc.constantFrom<LayoutKind>("2011", "2015"), fc.array(fc.record({ core: fc.nat(3), page: fc.nat(127), offset: fc.nat(1023), value: fc.nat() }), { minLength: 1, maxLength: 20 }), (kind, writes) => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim, { layout: { kind }, boot: { mode: "none" } })
    bootWith(machine, Impl)
    const digest = machine.memory.digest()
    for (const w of writes) {
      const gpa = machine.layout.slices[w.core]!.base + w.page * PAGE + w.offset * 4
      expect(machine.write(w.core, gpa, 4, w.value)).toBe(false)
      machine.cores[w.core]!.vmEntry()
      expect(machine.access(w.core, gpa, Access.Execute)).toBeGreaterThanOrEqual(0)
    }
    expect(machine.memory.digest()).toBe(digest)
    expect(machine.cores.reduce((n, c) => n + c.vmExits, 0)).toBe(writes.length)
  })

// Each write selects a register (IOREGSEL) then writes it (IOWIN): two guest writes, two exits.
const REGS = { min: Register.RedirectionBase, max: Register.RedirectionBase + 3 }
const ioapicWriteArb = fc.array(fc.record({ sandbox: fc.nat(3), register: fc.integer(REGS), value: fc.nat() }), { minLength: 1, maxLength: 20 })
const blacklistArb = fc.uniqueArray(fc.record({ sandbox: fc.nat(3), register: fc.integer(REGS) }), { maxLength: 8, selector: (d) => `${d.sandbox}/${d.register}` })

/**
 * F12 (b), 2015 layout: every guest write to the I/O APIC page exits; the monitor's emulation
 * performs it only if the (register, sandbox) pair is not blacklisted.
 */
const f12Ioapic = (Blacklist: typeof RegisterBlacklist) =>
  fc.property(ioapicWriteArb, blacklistArb, (writes, denied) => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim, { layout: { kind: "2015" }, boot: { nicSharers: 0 } })
    const blacklist = new Blacklist()
    for (const d of denied) blacklist.deny(d.sandbox, d.register)
    const model = new Map<number, number>()
    for (let r = REGS.min; r <= REGS.max; r++) model.set(r, machine.ioapic.readRegister(r))
    const guestWrite = (sandbox: number, offset: number, value: number): void => {
      expect(machine.write(sandbox, machine.layout.ioapicBase + offset, 4, value)).toBe(false) // always exits
      blacklist.emulateWrite(machine.ioapic, sandbox, offset, value) // the monitor's check
      machine.cores[sandbox]!.vmEntry()
    }
    for (const w of writes) {
      guestWrite(w.sandbox, Mmio.RegisterSelect, w.register)
      guestWrite(w.sandbox, Mmio.Window, w.value)
      if (!denied.some((d) => d.sandbox === w.sandbox && d.register === w.register)) {
        model.set(w.register, (w.register & 1) === 0 ? (w.value & 0x1afff) >>> 0 : (w.value & 0xff00_0000) >>> 0)
      }
    }
    for (const [r, v] of model) expect(machine.ioapic.readRegister(r)).toBe(v)
    expect(machine.cores.reduce((n, c) => n + c.eptViolations, 0)).toBe(2 * writes.length)
  })

class IgnoresBlacklist extends RegisterBlacklist {
  override allows(): boolean {
    return true
  }
}

describe("F12 — read-only enforcement", () => {
  it("writes to kernel text/rodata always exit and write nothing (execute stays allowed)", () => {
    fc.assert(f12Text(Ept), { numRuns: 30 })
  })

  it("catches an EPT that forgets the write bit", () => {
    expect(fc.check(f12Text(ForgetsWriteBit), { numRuns: 90, endOnFailure: true }).failed).toBe(true)
  })

  it("2015: I/O APIC writes always exit and take effect only for non-blacklisted (register, sandbox) pairs", () => {
    fc.assert(f12Ioapic(RegisterBlacklist), { numRuns: 180, endOnFailure: true })
  })

  it("catches a monitor that ignores the blacklist", () => {
    expect(fc.check(f12Ioapic(IgnoresBlacklist), { numRuns: 180, endOnFailure: true }).failed).toBe(true)
  })

  it("2011: the I/O APIC page is plain RWX, so guest writes reach the registers without an exit", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim, { ioapic: { deliverySkewNs: 0 } }) // exact times
    const rec = new Recorder(sim)
    machine.setListener(rec)
    const base = machine.layout.ioapicBase
    machine.write(2, base + Mmio.RegisterSelect, 4, Register.RedirectionBase + 2 * 5 + 1)
    machine.write(2, base + Mmio.Window, 4, 0x0800_0000)
    machine.write(2, base + Mmio.RegisterSelect, 4, Register.RedirectionBase + 2 * 5)
    machine.write(2, base + Mmio.Window, 4, 0x0000_0861)
    expect(machine.read(1, base + Mmio.Window, 4)).toBe(0x861)
    machine.ioapic.raise(5)
    sim.run()
    expect(rec.log).toEqual(["irq 3 97 @0"])
    expect(machine.cores.map((c) => c.vmExits)).toEqual([0, 0, 0, 0])
  })
})

describe("Machine", () => {
  it("boots to the post-boot state: guest mode, EPTs loaded, NIC line programmed to the four sharers", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim)
    expect(machine.cores.every((c) => !c.inVmxRoot && c.ept === machine.epts[c.index])).toBe(true)
    expect(machine.ioapic.entry(machine.nic.irqLine)).toMatchObject({ vector: 0x50, destination: 0b1111, masked: false })
    expect(machine.config.cpuHz).toBe(2_130_000_000)
    // Every slice holds the same kernel image: equal page hashes across slices.
    expect(machine.memory.frameHash(machine.layout.sliceFirstFrame(3) + 5)).toBe(machine.memory.frameHash(machine.layout.sliceFirstFrame(0) + 5))
  })

  it("shares the driver's data pages through sandbox 0's copy until a driver switch re-points them", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim)
    const l = machine.layout
    const gpa = l.driverDataFrame(2) * PAGE + 16
    const s0copy = l.driverDataFrame(0)
    const own = l.driverDataFrame(2)
    const h0 = machine.memory.frameHash(s0copy)
    expect(machine.write(2, gpa, 4, 1)).toBe(true)
    expect(machine.memory.frameHash(s0copy)).not.toBe(h0)
    const hOwn = machine.memory.frameHash(own)
    // Driver switch: sandbox 2's monitor re-points its EPT at sandbox 2's own copy.
    machine.cores[2]!.vmExit(VmExitReason.Vmcall)
    expect(() => machine.driverSwitch(1, 2, 2)).toThrow(/monitor operation, but core1 is in guest mode/)
    machine.driverSwitch(2, 2, 2)
    machine.cores[2]!.vmEntry()
    const h0b = machine.memory.frameHash(s0copy)
    expect(machine.write(2, gpa, 4, 2)).toBe(true)
    expect(machine.memory.frameHash(s0copy)).toBe(h0b)
    expect(machine.memory.frameHash(own)).not.toBe(hOwn)
    expect(machine.epts[2]!.permsOf(own)).toBe(Perm.RWX)
  })

  it("reads and writes real bytes of backed pages through the EPT (a 64-byte mailbox with its sequence byte)", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim, { layout: { kind: "2015" } })
    const page = machine.layout.channelPage(1, 2)
    expect(machine.write(1, page + 63, 1, 7)).toBe(true)
    expect(machine.read(2, page + 60, 4)).toBe(7 << 24)
    expect(machine.read(3, page + 63, 1)).toBe(-1)
    expect(machine.cores[3]!.eptViolations).toBe(1)
    const src = Uint8Array.from({ length: 6000 }, (_, i) => i & 255)
    const info = machine.layout.infoPage
    expect(machine.writeBytes(0, info - 100, src, 0, 200)).toBe(true)
    expect(machine.read(0, info, 1)).toBe(100)
    // A copy that would cross into a refused page writes nothing at all.
    const digest = machine.memory.digest()
    expect(machine.writeBytes(0, page - 50, src, 0, 100)).toBe(false)
    expect(machine.memory.digest()).toBe(digest)
  })

  it("writes two words side by side (writeWords) as two 4-byte writes through the EPT, and nothing where the page is refused", () => {
    const machines = [0, 1].map(() => new Machine(new Simulation.Simulation(1), { layout: { kind: "2015" } }))
    const [pair, single] = machines as [Machine, Machine]
    const page = pair.layout.channelPage(1, 2)
    expect(pair.writeWords(1, page + 8, 1, 0xffff_fffe)).toBe(true)
    expect(single.write(1, page + 8, 4, 1) && single.write(1, page + 12, 4, 0xffff_fffe)).toBe(true)
    expect([pair.read(2, page + 8, 4), pair.read(2, page + 12, 4)]).toEqual([1, 0xffff_fffe])
    expect(pair.memory.digest()).toBe(single.memory.digest())
    const digest = pair.memory.digest()
    expect(pair.writeWords(3, page + 8, 5, 6)).toBe(false) // sandbox 3 is not a party: one exit, nothing written
    expect(pair.cores[3]!.eptViolations).toBe(1)
    expect(pair.memory.digest()).toBe(digest)
    expect(() => pair.writeWords(1, page + 4092, 5, 6)).toThrow(/cross a page boundary/)
  })

  it("refuses guest accesses from a core in root mode and addresses beyond 4 GiB", () => {
    const sim = new Simulation.Simulation(1)
    const machine = new Machine(sim)
    expect(() => machine.access(0, 2 ** 32, Access.Read)).toThrow(/outside the 32-bit guest-physical space/)
    machine.cores[1]!.vmExit(VmExitReason.Cpuid)
    expect(() => machine.write(1, MiB, 4, 0)).toThrow(/a guest access, but core1 is in VMX root mode/)
  })

  it("is deterministic: same configuration and seed, same trace fingerprint", () => {
    const run = (irqLatencyNs: number): string => {
      const sim = new Simulation.Simulation(7)
      const machine = new Machine(sim, { ioapic: { irqLatencyNs } })
      machine.lapics[1]!.armTimer(Time.us(3))
      machine.ioapic.raise(machine.nic.irqLine)
      machine.lapics[0]!.sendIpi(0xe, 240)
      machine.write(0, machine.layout.slices[1]!.base, 4, 1)
      sim.run()
      return sim.trace.fingerprint()
    }
    expect(run(100)).toBe(run(100))
    expect(run(100)).not.toBe(run(200))
  })
})
