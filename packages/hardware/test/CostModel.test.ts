import { describe, expect, it } from "vitest"
import { CostTable, defaults, names, type CostName } from "../src/CostModel.ts"

const HZ = 2_130_000_000

describe("CostModel", () => {
  it("holds the spec's values with their sources", () => {
    const c = new CostTable(HZ)
    expect([c.cycles.vmExit, c.cycles.vmEntry, c.cycles.ipiRoundTrip, c.cycles.driverSwitch]).toEqual([707, 823, 1291, 12_427])
    expect([c.cycles.driverReinit, c.cycles.networkReinit]).toEqual([134_244_605, 68_750_060])
    expect([c.cycles.syscallSysenter, c.cycles.syscallInt, c.cycles.ipiOneWay]).toEqual([128, 300, 646])
    for (const n of names) expect(defaults[n].source).toMatch(/PAPER|SRC|SPLIT|ASSUMED|spec/)
    expect(defaults.vmExit.source).toMatch(/PAPER/)
  })

  it("converts to ns at the clock rate with sim-core's rounding (half up): 707 cycles = 332 ns at 2.13 GHz", () => {
    const c = new CostTable(HZ)
    expect(c.ns.vmExit).toBe(332)
    expect(c.ns.vmEntry).toBe(386)
    expect(c.ns.driverReinit).toBe(63_025_636)
    expect(new CostTable(1_000_000_000).ns.vmExit).toBe(707)
  })

  it("sums the paper's recovery phases: local 203,008,622 and remote 202,997,486 cycles", () => {
    const c = new CostTable(HZ)
    const local: CostName[] = ["vmExit", "driverSwitch", "vmEntry", "driverReinit", "networkReinit"]
    const remote: CostName[] = ["vmExit", "ipiRoundTrip", "vmEntry", "driverReinit", "networkReinit"]
    expect(c.sumCycles(local)).toBe(203_008_622)
    expect(c.sumCycles(remote)).toBe(202_997_486)
    expect(c.toNs(c.sumCycles(local))).toBe(95_309_212)
  })

  it("charges copies per 64-byte line, a partial line as a whole one", () => {
    const c = new CostTable(HZ, { copyPerLine: 10 })
    expect([c.copyCycles(0), c.copyCycles(1), c.copyCycles(64), c.copyCycles(65), c.copyCycles(4096)]).toEqual([0, 10, 10, 20, 640])
  })

  it("takes overrides and refuses bad ones naming the field", () => {
    expect(new CostTable(HZ, { vmExit: 1000 }).cycles.vmExit).toBe(1000)
    expect(() => new CostTable(HZ, { vmExit: -1 })).toThrow(/costs\.vmExit: must be ≥ 0/)
    expect(() => new CostTable(HZ, { vmExit: 1.5 })).toThrow(/costs\.vmExit: must be an integer/)
    expect(() => new CostTable(HZ, { vmexit: 3 } as never)).toThrow(/costs: unknown key "vmexit" \(did you mean "vmExit"\?\)/)
  })
})
