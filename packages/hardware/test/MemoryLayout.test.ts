import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation } from "@qvsim/sim-core"
import { Core } from "../src/Core.ts"
import { Tsc } from "../src/Tsc.ts"
import { Access, Ept, Perm, noGuard, type FrameGuard } from "../src/Ept.ts"
import { MemoryLayout, channelIndex, type LayoutInput } from "../src/MemoryLayout.ts"

const MiB = 1 << 20
const PAGE = 4096
const FRAMES = 1 << 20

describe("MemoryLayout — the 2011 and 2015 layouts of spec §D.3", () => {
  it("2011: 128 MiB slices from 1 MiB, EPT area in the top 10 MiB, 4 MiB shared region below 0xA0000000", () => {
    const l = new MemoryLayout({ kind: "2011" }, 4)
    expect(l.slices).toEqual([0, 1, 2, 3].map((i) => ({ base: MiB + i * 128 * MiB, bytes: 128 * MiB })))
    expect(l.eptAreaFirstFrame(1) * PAGE).toBe(MiB + 2 * 128 * MiB - 10 * MiB)
    expect(l.eptAreaFrames).toBe(2560)
    const marks = l.eptFrameMarks(1 << 20)
    expect(marks.reduce((n, m) => n + m, 0)).toBe(4 * 2560)
    expect([marks[l.eptAreaFirstFrame(3)], marks[l.eptAreaFirstFrame(3) - 1]]).toEqual([1, 0])
    expect(l.shmBase).toBe(0x9fc0_0000)
    expect(l.infoPage).toBe(0x9fff_f000)
    expect(l.screensBase).toBe(0x9fff_7000)
    expect(l.poolTop).toBe(0x9fff_7000)
    expect(() => l.channelPage(0, 1)).toThrow(/no private channels/)
  })

  it("2015: 256 MiB slices, 8 MiB shared region, 28 channel pages below the screens", () => {
    const l = new MemoryLayout({ kind: "2015" }, 4)
    expect(l.slices[3]).toEqual({ base: MiB + 3 * 256 * MiB, bytes: 256 * MiB })
    expect(l.shmBase).toBe(0x9f80_0000)
    expect(l.channelsBase).toBe(0x9fff_7000 - 28 * PAGE)
    expect(l.channelPage(0, 1)).toBe(0x9fff_6000)
    expect(l.channelPage(7, 6)).toBe(0x9fff_7000 - 28 * PAGE)
  })

  it("numbers the 28 channels of 8 sandboxes 1..28, one per pair, and maps pages back to pairs", () => {
    const seen = new Set<number>()
    const l = new MemoryLayout({ kind: "2015" }, 1)
    for (let x = 0; x < 8; x++) {
      for (let y = x + 1; y < 8; y++) {
        const i = channelIndex(x, y)
        expect(channelIndex(y, x)).toBe(i)
        seen.add(i)
        expect(l.channelPair(l.channelPage(x, y) + 123)).toEqual([x, y])
      }
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 28 }, (_, i) => i + 1))
    expect(l.channelPair(l.infoPage)).toBeNull()
  })

  it("refuses overlapping slices, slices too small for their EPT area, and slices running into the shared region", () => {
    expect(() => new MemoryLayout({ slices: [{ base: MiB, bytes: 64 * MiB }, { base: 32 * MiB, bytes: 64 * MiB }] }, 2))
      .toThrow(/layout\.slices\.1: slice 1 \[0x2000000, 0x6000000\) overlaps slice 0 \[0x100000, 0x4100000\)/)
    expect(() => new MemoryLayout({ sliceBytes: 8 * MiB }, 2)).toThrow(/layout\.sliceBytes: slice 0 of 8388608 bytes does not exceed eptAreaBytes \+ kernelImageBytes/)
    expect(() => new MemoryLayout({ kind: "2015" }, 8)).toThrow(/layout\.sliceBytes: slice 7 ends at 0x80100000, above the shared region base 0x80000000/)
    expect(() => new MemoryLayout({ slices: [{ base: 0, bytes: 64 * MiB }] }, 1)).toThrow(/layout\.slices\.0: slice 0 starts at 0x0, inside the shared first 0x100000 bytes/)
    expect(() => new MemoryLayout({ kind: "2015", shmBytes: 64 * 1024 }, 2)).toThrow(/layout\.shmBytes: 65536 bytes cannot hold/)
    expect(() => new MemoryLayout({ sliceBytes: 1000 }, 2)).toThrow(/layout\.sliceBytes: must be a multiple of 4096/)
    expect(() => new MemoryLayout({}, 65)).toThrow(/65 sandboxes; the layout holds 1\.\.64/)
    expect(() => new MemoryLayout({ kind: "2015" }, 9)).toThrow(/layout\.kind: 9 sandboxes; the 2015 layout holds 1\.\.8/)
    // Beyond 8 sandboxes the year's slice size shrinks to what fits below 2 GiB (whole MiB).
    expect(new MemoryLayout({}, 64).slices[1]).toEqual({ base: MiB + 31 * MiB, bytes: 31 * MiB })
    expect(new MemoryLayout({}, 12).slices[1]!.bytes).toBe(128 * MiB)
  })
})

// ------------------------------------------------------------------ F13

const layoutArb = fc.record({
  kind: fc.constantFrom<"2011" | "2015">("2011", "2015"),
  sandboxes: fc.integer({ min: 1, max: 6 }),
  sliceMiB: fc.integer({ min: 16, max: 300 }),
  eptMiB: fc.integer({ min: 1, max: 12 }),
}).filter((c) => MiB + c.sandboxes * c.sliceMiB * MiB <= 0x8000_0000).map((c): [LayoutInput, number] => [
  { kind: c.kind, sliceBytes: c.sliceMiB * MiB, eptAreaBytes: c.eptMiB * MiB }, c.sandboxes,
])

/** Monitor requests aimed at random frames, EPT areas included. */
const attemptArb = fc.record({ sandbox: fc.nat(), gpn: fc.integer({ min: 0, max: FRAMES - 16 }), count: fc.integer({ min: 1, max: 16 }), target: fc.nat(), inArea: fc.boolean(), redirect: fc.boolean() })

const buildAll = (layout: MemoryLayout, guard: FrameGuard) => {
  const sim = new Simulation.Simulation(1)
  const core = new Core(sim, 0, new Tsc(2_130_000_000)) // in root mode, as a monitor
  const epts = Array.from({ length: layout.sandboxes }, (_, s) => new Ept(sim, s, FRAMES, guard))
  epts.forEach((e, s) => layout.buildEpt(e, s, core))
  return { core, epts }
}

/** F13: after boot and any monitor requests, no sandbox's EPT maps an EPT-structure frame. */
const f13 = (Layout: typeof MemoryLayout, guardOf: (l: MemoryLayout) => FrameGuard) =>
  fc.property(layoutArb, fc.array(attemptArb, { maxLength: 12 }), ([input, n], attempts) => {
    const layout = new Layout(input, n)
    const { core, epts } = buildAll(layout, guardOf(layout))
    for (const a of attempts) {
      const ept = epts[a.sandbox % n]!
      const s = a.target % n
      const frame = a.inArea ? layout.eptAreaFirstFrame(s) + (a.target % layout.eptAreaFrames) : a.target % (FRAMES - 16)
      try {
        if (a.redirect) ept.redirect(core, layout.sliceFirstFrame(a.sandbox % n), Math.min(a.count, 4), frame)
        else ept.map(core, a.gpn, a.count, frame, Perm.RW)
      } catch (e) {
        expect(String(e)).toMatch(/EPT-structure frames|outside machine memory/)
      }
    }
    const marks = new Uint8Array(FRAMES)
    for (let s = 0; s < n; s++) marks.fill(1, layout.eptAreaFirstFrame(s), layout.eptAreaFirstFrame(s) + layout.eptAreaFrames)
    for (const ept of epts) expect(ept.findPageMapping(marks)).toBe(-1)
  })

/** Broken: builds each slice's mapping over the whole slice, EPT area included. */
class MapsWholeSlice extends MemoryLayout {
  override buildEpt(ept: Ept, s: number, byCore: Core): void {
    super.buildEpt(ept, s, byCore)
    ept.map(byCore, this.eptAreaFirstFrame(s), this.eptAreaFrames, this.eptAreaFirstFrame(s), Perm.RWX)
  }
}

describe("F13 — EPT self-protection", () => {
  it("no sandbox's EPT maps an EPT-structure page, its own or another's, whatever the monitor asks", () => {
    fc.assert(f13(MemoryLayout, (l) => l), { numRuns: 40 })
  })

  it("catches an EPT without the guard (a monitor request then maps an EPT area)", () => {
    expect(fc.check(f13(MemoryLayout, () => noGuard), { numRuns: 120, endOnFailure: true }).failed).toBe(true)
  })

  it("catches a layout that maps the EPT area with its slice", () => {
    expect(fc.check(f13(MapsWholeSlice, () => noGuard), { numRuns: 120, endOnFailure: true }).failed).toBe(true)
  })
})

// ------------------------------------------------------------------ F14

/** The spec's channel address for sandboxes x ≠ y (N = 8), written independently of the model. */
const specChannelPage = (x: number, y: number): number => {
  const a = Math.min(x, y)
  const c = Math.max(x, y)
  return 0x9fff_7000 - (((13 * a - a * a) / 2) + c) * PAGE
}

const f14Arb = fc.record({
  sandboxes: fc.integer({ min: 2, max: 7 }),
  probes: fc.array(fc.record({
    who: fc.nat(),
    x: fc.integer({ min: 0, max: 7 }),
    y: fc.integer({ min: 0, max: 7 }),
    pool: fc.integer({ min: 0, max: 2000 }),
    access: fc.constantFrom(Access.Read, Access.Write, Access.Execute),
    what: fc.constantFrom("channel", "pool", "info"),
  }), { minLength: 1, maxLength: 60 }),
})

/** F14 (2015): channel page (x, y) is RW for x and y only; unallocated shared pages for nobody. */
const f14 = (Layout: typeof MemoryLayout) =>
  fc.property(f14Arb, ({ sandboxes, probes }) => {
    const layout = new Layout({ kind: "2015" }, sandboxes)
    const { epts } = buildAll(layout, layout)
    for (const p of probes) {
      const who = p.who % sandboxes
      const ept = epts[who]!
      if (p.what === "channel") {
        if (p.x === p.y) continue
        const gpn = specChannelPage(p.x, p.y) / PAGE
        const allowed = (who === p.x || who === p.y) && p.access !== Access.Execute
        expect(ept.translate(gpn, p.access)).toBe(allowed ? gpn : -1)
      } else if (p.what === "pool") {
        const gpn = 0x9f80_0000 / PAGE + (p.pool % ((0x9fff_7000 - 28 * PAGE - 0x9f80_0000) / PAGE))
        expect(ept.translate(gpn, p.access)).toBe(-1)
      } else {
        expect(ept.translate(0x9fff_f000 / PAGE, p.access)).toBe(0x9fff_f000 / PAGE)
      }
    }
  })

/** Broken: grants every sandbox every channel page. */
class LeakyChannels extends MemoryLayout {
  override buildEpt(ept: Ept, s: number, byCore: Core): void {
    super.buildEpt(ept, s, byCore)
    ept.map(byCore, this.channelsBase / PAGE, 28, this.channelsBase / PAGE, Perm.RW)
  }
}
/** Broken: channel index off by one (pair pages shifted onto their neighbours' and the screens). */
class OffByOneChannels extends MemoryLayout {
  override channelPage(x: number, y: number): number {
    return super.channelPage(x, y) + PAGE
  }
}

describe("F14 — channel privacy (2015 layout)", () => {
  it("channel (x, y) is readable and writable by x and y only; the unallocated pool by nobody", () => {
    fc.assert(f14(MemoryLayout), { numRuns: 60 })
  })

  it("catches a layout that grants every sandbox every channel page", () => {
    expect(fc.check(f14(LeakyChannels), { numRuns: 180, endOnFailure: true }).failed).toBe(true)
  })

  it("catches an off-by-one channel index", () => {
    expect(fc.check(f14(OffByOneChannels), { numRuns: 180, endOnFailure: true }).failed).toBe(true)
  })
})
