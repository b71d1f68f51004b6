import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation } from "@qvsim/sim-core"
import { Core } from "../src/Core.ts"
import { Tsc } from "../src/Tsc.ts"
import { Access, Ept, Perm, type FrameGuard } from "../src/Ept.ts"
import { machineWith } from "./support.ts"

const FRAMES = 1 << 20
const rootCore = (sim: Simulation.Simulation) => new Core(sim, 0, new Tsc(2_130_000_000))

type Op =
  | { readonly op: "map"; readonly gpn: number; readonly count: number; readonly frame: number; readonly perms: number }
  | { readonly op: "unmap"; readonly gpn: number; readonly count: number }
  | { readonly op: "protect"; readonly gpn: number; readonly count: number; readonly perms: number }
  | { readonly op: "redirect"; readonly gpn: number; readonly count: number; readonly frame: number }

// Pages cluster around two 4 MiB chunks so runs collide, split compact runs and cross chunks.
const gpnArb = fc.oneof(fc.integer({ min: 1020, max: 2100 }), fc.integer({ min: 0x80000, max: 0x80000 + 2100 }))
const countArb = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.constant(1024), fc.integer({ min: 1000, max: 1100 }))
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("map" as const), gpn: gpnArb, count: countArb, frame: fc.oneof(gpnArb, fc.integer({ min: 0, max: 5000 })), perms: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("unmap" as const), gpn: gpnArb, count: countArb }),
  fc.record({ op: fc.constant("protect" as const), gpn: gpnArb, count: countArb, perms: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant("redirect" as const), gpn: gpnArb, count: fc.integer({ min: 1, max: 4 }), frame: fc.integer({ min: 0, max: 5000 }) }),
)

/** The EPT against a Map model: same frame and permissions for every probed page and access kind. */
const matchesModel = (Impl: typeof Ept) =>
  fc.property(fc.array(opArb, { maxLength: 25 }), fc.array(gpnArb, { minLength: 20, maxLength: 60 }), (ops, probes) => {
    const sim = new Simulation.Simulation(1)
    const core = rootCore(sim)
    const ept = new Impl(sim, 0, FRAMES)
    const model = new Map<number, { frame: number; perms: number }>()
    for (const o of ops) {
      if (o.op === "map") {
        ept.map(core, o.gpn, o.count, o.frame, o.perms)
        for (let i = 0; i < o.count; i++) {
          if (o.perms === 0) model.delete(o.gpn + i)
          else model.set(o.gpn + i, { frame: o.frame + i, perms: o.perms })
        }
      } else if (o.op === "unmap") {
        ept.unmap(core, o.gpn, o.count)
        for (let i = 0; i < o.count; i++) model.delete(o.gpn + i)
      } else if (o.op === "protect") {
        ept.protect(core, o.gpn, o.count, o.perms)
        for (let i = 0; i < o.count; i++) {
          const e = model.get(o.gpn + i)
          if (e === undefined) continue
          if (o.perms === 0) model.delete(o.gpn + i)
          else e.perms = o.perms
        }
      } else {
        let present = true
        for (let i = 0; i < o.count; i++) present &&= model.has(o.gpn + i)
        if (!present) continue // redirect of an absent page is refused (tested below)
        ept.redirect(core, o.gpn, o.count, o.frame)
        for (let i = 0; i < o.count; i++) model.get(o.gpn + i)!.frame = o.frame + i
      }
    }
    for (const gpn of [...probes, ...[...model.keys()].slice(0, 30)]) {
      const e = model.get(gpn)
      for (const need of [Access.Read, Access.Write, Access.Execute]) {
        const want = e !== undefined && (e.perms & need) === need ? e.frame : -1
        expect(ept.translate(gpn, need)).toBe(want)
      }
      expect(ept.frameOf(gpn)).toBe(e?.frame ?? -1)
      expect(ept.permsOf(gpn)).toBe(e?.perms ?? 0)
    }
  })

/** Broken: forgets the write bit (a write is allowed wherever a read is). */
class ForgetsWriteBit extends Ept {
  override translate(gpn: number, need: number): number {
    return super.translate(gpn, need === Access.Write ? Access.Read : need)
  }
}

describe("Ept", () => {
  it("translates exactly as a page-by-page map of frames and permissions (model-based)", () => {
    fc.assert(matchesModel(Ept), { numRuns: 150 })
  })

  it("catches an EPT that forgets the write bit", () => {
    expect(fc.check(matchesModel(ForgetsWriteBit), { numRuns: 450, endOnFailure: true }).failed).toBe(true)
  })

  it("decides per 4 KiB page inside a large identity mapping", () => {
    const sim = new Simulation.Simulation(1)
    const core = rootCore(sim)
    const ept = new Ept(sim, 0, FRAMES)
    ept.map(core, 0x80000, 0x80000, 0x80000, Perm.RWX)
    expect(ept.presentPages()).toBe(0x80000)
    ept.protect(core, 0xfec00, 1, Perm.R)
    expect(ept.translate(0xfec00, Access.Write)).toBe(-1)
    expect(ept.translate(0xfec00, Access.Read)).toBe(0xfec00)
    expect(ept.translate(0xfec01, Access.Write)).toBe(0xfec01)
    expect(ept.translate(0xfebff, Access.Execute)).toBe(0xfebff)
    expect(ept.presentPages()).toBe(0x80000)
    expect(ept.translate(1 << 20, Access.Read)).toBe(-1)
    expect(ept.translate(-1, Access.Read)).toBe(-1)
  })

  it("is changed by monitors only: every mutation needs a core in VMX root mode", () => {
    const sim = new Simulation.Simulation(1)
    const core = rootCore(sim)
    const ept = new Ept(sim, 0, FRAMES)
    core.loadEpt(ept)
    core.lapic = { kick: () => {} } as never
    core.vmEntry()
    expect(() => ept.map(core, 0, 1, 0, Perm.RWX)).toThrow(/a monitor operation, but core0 is in guest mode/)
    expect(() => ept.protect(core, 0, 1, Perm.R)).toThrow(/monitor operation/)
    expect(() => ept.redirect(core, 0, 1, 5)).toThrow(/monitor operation/)
    expect(() => ept.unmap(core, 0, 1)).toThrow(/monitor operation/)
    expect(() => core.loadEpt(ept)).toThrow(/monitor operation/)
  })

  it("refuses to map or redirect onto guarded frames (the EPT structures), changing nothing", () => {
    const sim = new Simulation.Simulation(1)
    const core = rootCore(sim)
    const guard: FrameGuard = { overlaps: (first, count) => first < 120 && 100 < first + count }
    const ept = new Ept(sim, 0, FRAMES, guard)
    ept.map(core, 0, 50, 0, Perm.RW)
    expect(() => ept.map(core, 200, 30, 95, Perm.R)).toThrow(/include EPT-structure frames/)
    expect(() => ept.redirect(core, 10, 5, 118)).toThrow(/include EPT-structure frames/)
    const marks = new Uint8Array(FRAMES).fill(1, 100, 120)
    expect(ept.findPageMapping(marks)).toBe(-1)
    ept.map(core, 300, 1, 99, Perm.R)
    expect(ept.findPageMapping(new Uint8Array(FRAMES).fill(1, 99, 100))).toBe(300)
    expect(ept.frameOf(10)).toBe(10)
    expect(ept.frameOf(200)).toBe(-1)
    expect(() => ept.redirect(core, 49, 2, 500)).toThrow(/guest page 50 is not present/)
    expect(() => ept.map(core, 0, 1, FRAMES, Perm.R)).toThrow(/outside machine memory/)
  })
})

describe("Ept tables shared copy-on-write (issue 15)", () => {
  it("EPTs share identical tables until one is written; a write changes only the writer's EPT", () => {
    const { machine } = machineWith({ cores: 64 })
    const [a, b] = [machine.epts[1]!, machine.epts[2]!]
    // Each sandbox owns only the few tables its boot mappings made different (slice ends, text, driver pages).
    for (const e of machine.epts) expect(e.ownedTables()).toBeLessThanOrEqual(4)
    // F13 and F11 on 64 sandboxes: no EPT reaches an EPT-structure frame, nor another sandbox's slice.
    const marks = machine.layout.eptFrameMarks(machine.memory.frames)
    const layout = machine.layout
    machine.epts.forEach((e, s) => {
      expect(e.findPageMapping(marks)).toBe(-1)
      for (const o of [(s + 1) % 64, (s + 31) % 64]) {
        const first = layout.sliceFirstFrame(o)
        for (const g of [first, first + 1000, first + layout.sliceFrames(o) - layout.eptAreaFrames - 1]) expect(e.translate(g, Access.Read)).toBe(-1)
      }
    })
    const gpn = 0x90000 // the 2–4 GiB region: one shared identity table in every EPT
    expect(a.translate(gpn, Access.Write)).toBe(gpn)
    const core = machine.cores[1]!
    core.vmExit(0, 0)
    a.protect(core, gpn, 1, Perm.R)
    expect(a.translate(gpn, Access.Write)).toBe(-1)
    expect(a.translate(gpn + 1, Access.Write)).toBe(gpn + 1)
    expect(b.translate(gpn, Access.Write)).toBe(gpn)
    expect(machine.epts[63]!.translate(gpn, Access.Write)).toBe(gpn)
    // A fresh machine's EPTs still see the identity table unchanged (the shared copy was never written).
    expect(machineWith({ cores: 2 }).machine.epts[0]!.translate(gpn, Access.Write)).toBe(gpn)
    a.unmap(core, 0x90000 & ~1023, 1024)
    expect(a.translate(gpn + 1, Access.Read)).toBe(-1)
    expect(b.translate(gpn + 1, Access.Read)).toBe(gpn + 1)
  })
})
