/**
 * `dma-isolation` (model §H): at its full size (the fault cases with 500 flood requests per guest,
 * the cost floods with 5,000) every claim holds over its domain — the rogue DMA lands in all six
 * EPT-only cases, is blocked, reported to sandbox 0's monitor and recovered in all six VT-d cases,
 * and remapping costs the flood at most two IOTLB stalls per round trip. Each claim is shown to
 * fail on a deliberately broken run: a remapping unit that forgets its presence check, no fault at
 * all, a unit whose miss stalls three times as long as it says.
 */
import { describe, expect, it } from "vitest"
import { compile, type TopLevelSpec } from "vega-lite"
import { DmaRemapping, Ept } from "@qvsim/hardware"
import { runAll } from "../../src/paper/Experiment.ts"
import { dmaIsolation } from "../../src/paper/dma-isolation.ts"
import { find } from "../../src/paper/registry.ts"
import { claim, runWith } from "./support.ts"

const EPT_ALONE = "EPT alone does not contain"
const VTD = "VT-d contains it"
const COST = "remapping's cost"

/** A unit that forgets the presence check (an absent page passes through). */
class PassThroughIommu extends DmaRemapping.DmaRemapping {
  protected override lookup(device: number, page: number): number {
    const e = super.lookup(device, page)
    return e !== 0 ? e : page * 8 + Ept.Perm.RW
  }
}

/** A unit whose miss stalls three times its stated cost. */
class SlowWalk extends DmaRemapping.DmaRemapping {
  protected override lookup(device: number, page: number): number {
    const e = super.lookup(device, page)
    this.lastStallNs *= 3
    return e
  }
}

describe("dma-isolation at full size", () => {
  const { runs, result } = runAll(dmaIsolation)

  it("is registered; every claim holds", () => {
    expect(find("dma-isolation")).toBe(dmaIsolation)
    expect(result.claims.length).toBe(3)
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
    expect(claim(result.claims, EPT_ALONE).detail).toMatch(/landed in the target in 6 of 6/)
    expect(claim(result.claims, VTD).detail).toMatch(/in 6 of 6;.*in 6 of 6.*in 6 of 6/)
  })

  it("states its claims by id, the cost claim with its threshold, and its headline metrics", () => {
    expect(result.claims.map((c) => c.id)).toEqual(["eptAloneLands", "vtdContains", "remapCostBounded"])
    const t = claim(result.claims, COST).threshold!
    expect([t.value, t.holdsWhen, t.ours, t.otherConditionsHold]).toEqual([2, "<=", true, true])
    expect(t.measured).toBeGreaterThan(0)
    expect(t.measured).toBeLessThanOrEqual(2)
    const m = result.metrics!
    expect(m["rttP50VtdUs"]).toBeGreaterThan(m["rttP50NoVtdUs"]!)
    expect(m["remapCostP50Us"]).toBeCloseTo(m["rttP50VtdUs"]! - m["rttP50NoVtdUs"]!, 2)
    expect(m["eptMinWritesOutsideBuffers"]).toBeGreaterThan(0)
    expect(m["vtdMaxRecoveryMs"]).toBeGreaterThan(0)
  })

  it("EPT only: the device writes into the victim, no monitor hears of it; sandbox 2's checker stops when its own data is hit", () => {
    const rows = result.tables[0]!.rows.filter((r) => r["protection"] === "EPT only")
    for (const r of rows) {
      expect(r["DMA writes outside the NIC's buffers"]).toBeGreaterThan(0)
      expect(r["remapping faults (sandbox 0's monitor)"]).toBe(0)
      expect(r["target memory changed"]).toBe("yes")
    }
    expect(rows.filter((r) => String(r["variant"]).includes("data-2")).every((r) => String(r["checker stopped (corruption seen)"]).startsWith("yes"))).toBe(true)
    expect(rows.filter((r) => !String(r["variant"]).includes("data-2")).every((r) => r["checker stopped (corruption seen)"] === "no")).toBe(true)
    const ept = runs.find((r) => r.variant === "ept-kernel-3-early")!.system
    expect(ept.sandboxes.every((sb) => sb.monitor.exitsByReason.size === 0)).toBe(true)
  })

  it("VT-d: blocked, reported to sandbox 0's monitor (VMCALL from its fault-event handler), sandboxes 2–3 identical to the fault-free run", () => {
    const rows = result.tables[0]!.rows.filter((r) => r["protection"] === "EPT + VT-d")
    for (const r of rows) {
      expect(r["DMA writes outside the NIC's buffers"]).toBe(0)
      expect(r["DMAs blocked"]).toBeGreaterThan(0)
      expect(r["sandboxes 2–3 changed (memory or trace)"]).toBe("none")
    }
    const sys = runs.find((r) => r.variant === "vtd-monitor-2-late")!.system
    const clean = runs.find((r) => r.variant === "vtd-fault-free")!.system
    expect(sys.dmaFaults!.records.every((f) => f.sandbox === 0 && f.handledNs >= f.blockedNs)).toBe(true)
    for (const s of [2, 3]) expect(sys.fingerprintOf(s)).toBe(clean.fingerprintOf(s))
    expect(sys.recoveries()[0]!.mode).toBe("local")
  })

  it("the cost table gives the distribution per miss cost, and the plot is valid Vega-Lite", () => {
    const rows = result.tables[1]!.rows
    expect(rows.map((r) => r["variant"])).toEqual(["flood-ept", "flood-vtd", "flood-vtd-200", "flood-vtd-1500"])
    expect(rows.map((r) => r["IOTLB miss (cycles)"])).toEqual(["", 600, 200, 1500])
    // Every request answered at every miss cost (at 1,500 cycles the NIC once let a stall-free frame
    // overtake a completion due at the same instant, and the driver's walk stopped for good).
    for (const r of rows) expect(r["replies / requests"]).toBe("10000 / 10000")
    const p50 = rows.map((r) => r["p50"] as number)
    expect(p50[2]!).toBeGreaterThan(p50[0]!)
    expect(p50[1]!).toBeGreaterThan(p50[2]!)
    expect(p50[3]!).toBeGreaterThan(p50[1]!)
    expect(() => compile(result.plot as unknown as TopLevelSpec)).not.toThrow()
  })
})

describe("dma-isolation: each claim can fail", () => {
  it("a remapping unit that forgets its presence check lets the DMA land: the VT-d claim fails", () => {
    const r = dmaIsolation.analyse(runWith(dmaIsolation, 0.05, (_v, input) => input, { makeIommu: (...a) => new PassThroughIommu(...a) }))
    expect(claim(r.claims, VTD).holds).toBe(false)
    expect(claim(r.claims, VTD).detail).toMatch(/contained .* in 0 of 6/)
  })

  it("without the fault nothing lands: the EPT claim fails", () => {
    const r = dmaIsolation.analyse(runWith(dmaIsolation, 0.05, (_v, input) => ({ ...input, faults: [] })))
    expect(claim(r.claims, EPT_ALONE).holds).toBe(false)
    expect(claim(r.claims, VTD).holds).toBe(false)
  })

  it("a unit whose misses stall three times their cost breaks the cost bound", () => {
    const r = dmaIsolation.analyse(runWith(dmaIsolation, 0.05, (_v, input) => input, { makeIommu: (...a) => new SlowWalk(...a) }))
    expect(claim(r.claims, COST).holds).toBe(false)
  })
})
