/**
 * The table of assumed constants (issue 13) is the configuration's truth: each default is what the
 * schema fills in, each range holds its default, every path is accepted at both ends of its range
 * and at its `off` value, and `baseline` turns every mechanism off without touching what the input
 * sets itself.
 */
import { describe, expect, it } from "vitest"
import { Assumptions, Config } from "../src/index.ts"

describe("Assumptions.table", () => {
  const parsed = Config.parse({})

  for (const a of Assumptions.table) {
    it(`${a.path}: default ${a.default} is the schema's, within [${a.range[0]}, ${a.range[1]}], accepted at its ends and off`, () => {
      expect(Assumptions.valueAt(parsed, a.path)).toBe(a.default)
      expect(a.range[0]).toBeLessThanOrEqual(a.default)
      expect(a.default).toBeLessThanOrEqual(a.range[1])
      for (const v of [a.range[0], a.range[1], a.off]) {
        const c = Config.parse(Assumptions.setPath({}, a.path, v))
        expect(Assumptions.valueAt(c, a.path)).toBe(v)
      }
      expect(a.reason.length).toBeGreaterThan(40)
      expect(a.onByDefault).toBe(a.default !== a.off)
    })
  }

  it("paths are unique; the mechanisms the issue names each have a row", () => {
    const paths = Assumptions.table.map((a) => a.path)
    expect(new Set(paths).size).toBe(paths.length)
    expect(new Set(Assumptions.table.map((a) => a.mechanism))).toEqual(new Set(["variance", "virtualization", "arbitration", "recovery", "reboot"]))
  })

  it("baseline turns every mechanism that is on by default off, and keeps what the input sets", () => {
    const b = Config.parse(Assumptions.baseline({}))
    for (const a of Assumptions.table) expect(Assumptions.valueAt(b, a.path)).toBe(a.off)
    const kept = Config.parse(Assumptions.baseline({ kernel: { costJitter: 0.3 }, machine: { wire: { latencyNs: 7 } } }))
    expect(kept.kernel.costJitter).toBe(0.3)
    expect(kept.machine.wire.latencyNs).toBe(7)
    expect(kept.machine.wire.jitterNs).toBe(0)
  })

  it("setPath copies along the path and never mutates its input", () => {
    const input = { kernel: { costJitter: 0.1 }, nic: { demux: "early" as const } }
    const out = Assumptions.setPath(input, "kernel.tlbMissRate", 0.4)
    expect(input.kernel).toEqual({ costJitter: 0.1 })
    expect(out).toEqual({ kernel: { costJitter: 0.1, tlbMissRate: 0.4 }, nic: { demux: "early" } })
    expect(out.nic).toBe(input.nic)
  })
})
