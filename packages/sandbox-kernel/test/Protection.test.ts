/**
 * Protection without virtualisation (model §H): under `virtualization.mode: 'none'` the sandboxes
 * are protected only by page tables their kernels control. A kernel-mode wild write lands; a
 * corrupted page table lets a thread's accesses through to another sandbox; a user-mode wild
 * write is still refused — a page fault for its own kernel, with no VM exit. Under EPT (Quest-V)
 * all three are contained. As a property: user-mode writes anywhere never change another
 * sandbox's memory without virtualisation, shown to catch a page table that lets refused writes
 * through.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Ept, type Machine } from "@qvsim/hardware"
import { Config, Program, System } from "../src/index.ts"

const MiB = 1 << 20
const MS = 1_000_000
const SLICE = 128 * MiB

/** A table that lets refused writes through to the identity frame (a broken variant). */
class LeakyTable extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    return f >= 0 || need !== Ept.Access.Write ? f : gpn
  }
}

const run = (mode: "questv" | "none", user: boolean) => {
  const results: unknown[] = []
  const sys = new System.System({
    virtualization: { mode },
    sandboxes: [{
      threads: [{
        name: "t", vcpu: "main0", user, program: function* (ctx) {
          yield Program.sleep(3 * MS)
          results.push(yield Program.write(ctx.sliceBase + SLICE + 2 * MiB, 1)) // into sandbox 1
          results.push(yield Program.write(ctx.dataBase + 4096, 2)) // its own data page 1 (corrupted at 2 ms)
        },
      }],
    }, {}, {}, {}],
    faults: [
      { kind: "wildWrite", sandbox: "sandbox0", at: 1 * MS, writes: [{ sandbox: "sandbox3", offset: MiB, bytes: 64 }] },
      { kind: "corruptPageTable", sandbox: "sandbox0", at: 2 * MS, page: 1 * MiB + 1 * MiB + 4096, into: { sandbox: "sandbox2", offset: 2 * MiB } },
    ],
  })
  const before = [0, 1, 2, 3].map((s) => sys.machine.sliceDigest(s))
  sys.run(10 * MS)
  const changed = [0, 1, 2, 3].filter((s) => sys.machine.sliceDigest(s) !== before[s])
  return { sys, results, changed }
}

describe("protection without virtualisation", () => {
  it("a kernel-mode wild write lands, a user-mode one is a page fault (no exit), a corrupted page table reaches sandbox 2", () => {
    const { sys, results, changed } = run("none", true)
    expect(sys.faultRecords()[0]!.writes.map((w) => w.ok)).toEqual([true])
    expect(results).toEqual([false, true])
    expect(changed).toEqual([2, 3])
    expect(sys.machine.cores.map((c) => c.pageFaults)).toEqual([1, 0, 0, 0])
    expect(sys.machine.cores.map((c) => c.vmExits)).toEqual([0, 0, 0, 0])
  })

  it("a kernel thread's wild write lands too (kernel mode is not checked)", () => {
    const { results, changed } = run("none", false)
    expect(results).toEqual([true, true])
    expect(changed).toEqual([1, 2, 3])
  })

  it("under EPT all three are contained: each is an EPT violation, no other sandbox's memory changes", () => {
    const { sys, results, changed } = run("questv", true)
    expect(results).toEqual([false, false])
    expect(changed).toEqual([])
    expect(sys.sandboxes[0]!.monitor.eptViolations).toBe(3)
    expect(sys.machine.cores.map((c) => c.pageFaults)).toEqual([0, 0, 0, 0])
  })

  it("the machine's protection follows virtualization.mode; setting it directly is refused", () => {
    expect(Config.parse({ virtualization: { mode: "none" } }).machine.protection).toBe("pageTables")
    expect(Config.parse({}).machine.protection).toBe("ept")
    expect(() => Config.parse({ machine: { protection: "pageTables" } } as Config.SystemInput)).toThrow(/machine: unknown key "protection"/)
    expect(() => Config.parse({ faults: [{ kind: "corruptPageTable", sandbox: "sandbox0", at: 0, page: 3 * SLICE, into: { sandbox: "sandbox1" } }] })).toThrow(/faults\.0\.page: pages .* are not all in sandbox sandbox0's own memory/)
  })
})

/** User-mode writes of sandbox 0 at random addresses of the four slices; the sandboxes other than 0 whose memory changed. */
const userWrites = (offsets: readonly number[], makeEpt?: (s: number, m: Machine.Machine) => Ept.Ept): number[] => {
  const sys = new System.System({
    virtualization: { mode: "none" },
    sandboxes: [{
      threads: [{
        name: "u", vcpu: "main0", program: function* (ctx) {
          for (const o of offsets) yield Program.write(ctx.sliceBase + o, 0x55)
        },
      }],
    }, {}, {}, {}],
  }, makeEpt === undefined ? {} : { makeEpt })
  const before = [1, 2, 3].map((s) => sys.machine.sliceDigest(s))
  sys.run(5 * MS)
  return [1, 2, 3].filter((s, i) => sys.machine.sliceDigest(s) !== before[i])
}

describe("user-mode containment without virtualisation (property)", () => {
  const offsets = fc.array(fc.integer({ min: 0, max: 4 * SLICE - 4 }).map((o) => o - (o % 4)), { minLength: 1, maxLength: 12 })

  it("user-mode writes never change another sandbox's memory", () => {
    fc.assert(fc.property(offsets, (o) => userWrites(o).length === 0), { numRuns: 25 })
  })

  it("catches a page table that lets refused writes through", () => {
    const leaky = (s: number, m: Machine.Machine) => new LeakyTable(m.sim, s, m.memory.frames, m.layout)
    const r = fc.check(fc.property(offsets, (o) => userWrites(o, leaky).length === 0), { numRuns: 75, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})
