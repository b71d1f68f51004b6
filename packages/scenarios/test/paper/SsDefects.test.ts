/** E7: the worked examples' exact numbers under both policies, and each claim caught on swapped runs. */
import { describe, expect, it } from "vitest"
import { runAll } from "../../src/paper/Experiment.ts"
import { cellText } from "../../src/Experiments.ts"
import { analyseSs, ssDefects, ssRuns } from "../../src/paper/SsDefects.ts"

describe("ss-defects (E7)", () => {
  const { runs, result } = runAll(ssDefects)

  it("computes without systems; every claim holds", () => {
    expect(runs).toEqual([])
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
  })

  it("example 1: naive 191 units and a window of 10, corrected 75 and 5", () => {
    const t = result.tables[0]!
    expect(t.rows.map((r) => [r["executed units / 200"], r["worst window of T"], r["units in [25, 200)"]])).toEqual([[191, 10, 175], [75, 5, expect.any(Number)]])
  })

  it("example 2: the unit strings and the replenishments at 16", () => {
    const t = result.tables[1]!
    expect(t.rows.map((r) => r["schedule"])).toEqual(["SSS.....HHHHSSSS..SSSS......SS", "SSS.....HHHHSSSS..S.SSS.....S.S"])
    expect(t.rows[0]!["pending replenishments at t = 16 (time:units)"]).toEqual([[18, 4]])
    expect(t.rows[1]!["pending replenishments at t = 16 (time:units)"]).toEqual([[18, 1], [20, 3]])
    // Shown as before: `time:units` pairs.
    expect(cellText(t.rows[1]!["pending replenishments at t = 16 (time:units)"])).toBe("18:1, 20:3")
  })

  it("the analyse entry point gives the same result", () => {
    expect(ssDefects.analyse([])).toEqual(result)
  })

  it("each claim fails when the policies' runs are swapped", () => {
    const r = ssRuns()
    const swap = <A extends { policy: string }>(xs: readonly A[]): A[] => [{ ...xs[1]!, policy: xs[0]!.policy }, { ...xs[0]!, policy: xs[1]!.policy }]
    const broken = analyseSs({ amplification: swap(r.amplification), premature: swap(r.premature) })
    expect(broken.claims.map((c) => c.holds)).toEqual([false, false, false, false])
  })
})
