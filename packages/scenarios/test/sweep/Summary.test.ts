/**
 * Summary and Store: the summary's bytes do not depend on the order runs arrive in (a property,
 * shown to catch a summary that skips the sort); statistics per point; tidy CSV cells; and
 * runs.jsonl's streaming invariants (a torn last line cut off, runs never overwritten, resume
 * refused for another sweep).
 */
import { fc, test } from "@fast-check/vitest"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { Plan } from "../../src/sweep/Plan.ts"
import type { RunRecord } from "../../src/sweep/RunOne.ts"
import * as Store from "../../src/sweep/Store.ts"
import * as Summary from "../../src/sweep/Summary.ts"

/** Two points (u = 0.5, 0.9) × 3 sets × 2 seeds; metric x = a float that makes sums order-sensitive. */
const plan: Plan = (() => {
  const points = [[0.5], [0.9]]
  const runs = points.flatMap((_, point) => [0, 1, 2].flatMap((set) => [1, 2].map((seed) => ({ point, set, seed }))))
    .map((r, index) => ({ ...r, index, key: `u=${points[r.point]![0]},set=${r.set},seed=${r.seed}` }))
  return { params: [{ path: "tasksets.utilisation", values: [0.5, 0.9], durationNs: false }], points, pointKeys: ["u=0.5", "u=0.9"], overrides: [[], []], seeds: [1, 2], sets: 3, runs }
})()

const records: RunRecord[] = plan.runs.map((r, i) => ({
  type: "run", key: r.key, point: { "tasksets.utilisation": plan.points[r.point]![0] }, ...(r.set !== undefined ? { set: r.set } : {}), seed: r.seed,
  ok: i !== 7, ...(i !== 7
    ? { fingerprint: "f", simTimeNs: 1, events: 100 + i, metrics: { x: 0.1 * (i + 1) + 1e-17 * i ** 3, ...(i % 2 === 0 ? { y: i } : {}) }, verdicts: { rta: i % 3 !== 0 } }
    : { error: "SimulationError: boom" }),
  replay: "qvsim sweep s.json --only x", wallMs: i,
}))

const csvOf = (sort: boolean, runs: readonly RunRecord[]): string => Summary.toCsv(plan, Summary.rows(plan, sort ? Summary.sortRuns(plan, runs) : [...runs]))

describe("Summary", () => {
  it("per point: metrics with count, mean, CI; verdicts with the acceptance ratio; failed runs counted; empty cells for missing", () => {
    const csv = csvOf(true, records)
    const lines = csv.trim().split("\n")
    expect(lines[0]).toBe("tasksets.utilisation,kind,name,runs,failed,count,mean,sd,min,max,ci95_low,ci95_high,accepted,acceptance_ratio,wilson95_low,wilson95_high")
    expect(lines[1]).toMatch(/^0\.5,verdict,rta,6,0,6,,,,,,,4,0\.6666666666666666,[\d.]+,[\d.]+$/)
    expect(lines.find((l) => l.startsWith("0.9,metric,events,"))).toMatch(/^0\.9,metric,events,6,1,5,/)
    expect(lines.find((l) => l.startsWith("0.5,metric,y,"))).toMatch(/^0\.5,metric,y,6,0,3,2,2,0,4,/)
    expect(csv).not.toMatch(/NaN|undefined|null|N\/A/)
  })

  const permutation = fc.shuffledSubarray(records.map((_, i) => i), { minLength: records.length, maxLength: records.length })

  test.prop([permutation])("summary.csv does not depend on the order runs arrive in", (order) => {
    expect(csvOf(true, order.map((i) => records[i]!))).toBe(csvOf(true, records))
  })

  it("the property catches a summary that skips the sort", () => {
    expect(fc.check(fc.property(permutation, (order) => csvOf(false, order.map((i) => records[i]!)) === csvOf(false, records)), { numRuns: 300, endOnFailure: true }).failed).toBe(true)
  })
})

describe("Store", () => {
  const header = (hash: string): Store.Header => ({
    type: "header", qvsim: "0", sweep: { name: "s", file: "/s.json", hash }, command: "qvsim sweep s.json", gridPoints: 2, runs: 12, seeds: [1, 2], sets: 3, shard: null,
  })

  it("appends whole lines; a torn last line is cut off on resume; runs are never overwritten; another sweep is refused", () => {
    const path = join(mkdtempSync(join(tmpdir(), "qvsim-store-")), "runs.jsonl")
    const { writer, done } = Store.Writer.open(path, header("aaaa"), false)
    expect(done).toEqual([])
    for (const r of records.slice(0, 3)) writer.append(r, 0)
    writer.close()
    writeFileSync(path, `${readFileSync(path, "utf8")}{"type":"run","key":"u=0.9,se`)
    expect(Store.read(path).runs.map((r) => r.key)).toEqual(records.slice(0, 3).map((r) => r.key))
    expect(() => Store.Writer.open(path, header("aaaa"), false)).toThrow(/already holds runs: continue it with --resume/)
    expect(() => Store.Writer.open(path, header("bbbb"), true)).toThrow(/--resume: .* holds runs of another sweep \(hash aaaa; \/s\.json is now bbbb\)/)
    const resumed = Store.Writer.open(path, header("aaaa"), true)
    expect(resumed.done.map((r) => r.key)).toEqual(records.slice(0, 3).map((r) => r.key))
    resumed.writer.append(records[3]!, 0)
    resumed.writer.close()
    const text = readFileSync(path, "utf8")
    expect(text.endsWith("\n")).toBe(true)
    expect(text.trim().split("\n").map((l) => JSON.parse(l).key ?? "header")).toEqual(["header", ...records.slice(0, 4).map((r) => r.key)])
  })
})
