/**
 * The scheduling section of scenarios, end to end on vcpu-sched's harness: the built-ins
 * `rm-periodic` and `ss-amplification`, `check`'s numbers, and the executed segments.
 */
import { describe, expect, it } from "vitest"
import { parseScenario } from "../src/Scenario.ts"
import * as Runner from "../src/Runner.ts"
import * as Check from "../src/Check.ts"
import rmPeriodic from "../src/builtins/rm-periodic.ts"
import ssAmplification from "../src/builtins/ss-amplification.ts"

const MS = 1_000_000

describe("scheduling scenarios", () => {
  it("rm-periodic: RTA says schedulable with these response times, and the run meets them exactly", () => {
    const s = parseScenario(rmPeriodic, "rm-periodic")
    const [pcpu] = Check.check(s)
    expect(pcpu!.analysis.rta.verdict).toBe("schedulable")
    expect(pcpu!.analysis.rta.responses.map((r) => r.responseNs / MS)).toEqual([1, 5, 15, 30, 89])
    const summary = Runner.run(s)
    const threads = (summary.metrics["pcpus"] as any).pcpu0.threads as Record<string, { missed: number; maxResponseNs: number; completed: number }>
    const rta = pcpu!.analysis.rta.responses
    Object.values(threads).forEach((t, i) => {
      expect(t.missed).toBe(0)
      expect(t.completed).toBeGreaterThan(0)
      // Synchronous release at 0 is the critical instant: the worst response equals RTA's.
      expect(t.maxResponseNs).toBe(rta[i]!.responseNs)
    })
  })

  it("ss-amplification: the spec's worked example 1 numbers under both policies", () => {
    const summary = Runner.run(parseScenario(ssAmplification, "ss-amplification"))
    const m = summary.metrics["pcpus"] as any
    // Corrected: 75 of 200 units, never more than C + δ = 5 units in a window of T.
    expect(m.quest.vcpus.S.executedNs).toBe(75 * MS)
    expect(m.quest.vcpus.S.maxInPeriodWindowNs).toBe(5 * MS)
    // Naive POSIX: 191 of 200 units, 10 units in a window of T (budget amplification).
    expect(m["posix-naive"].vcpus.S.executedNs).toBe(191 * MS)
    expect(m["posix-naive"].vcpus.S.maxInPeriodWindowNs).toBe(10 * MS)
  })

  it("segments are time-ordered, disjoint per PCPU, named, and cover exactly the executed time", () => {
    const s = parseScenario(ssAmplification, "ss-amplification")
    const prepared = Runner.prepare(s, { recordSchedule: true })
    const summary = Runner.execute(prepared)
    const segs = prepared.segments()
    expect(segs.length).toBeGreaterThan(10)
    for (const name of ["quest", "posix-naive"]) {
      const mine = segs.filter((x) => x.pcpu === name)
      for (let i = 1; i < mine.length; i++) expect(mine[i]!.start).toBeGreaterThanOrEqual(mine[i - 1]!.end)
      const total = mine.reduce((a, x) => a + x.end - x.start, 0)
      expect(total).toBe((summary.metrics["pcpus"] as any)[name].vcpus.S.executedNs)
      expect(new Set(mine.map((x) => `${x.vcpu}/${x.thread}`))).toEqual(new Set(["S/server"]))
    }
    expect(JSON.parse(Runner.segmentsJson(prepared))).toHaveLength(segs.length)
  })

  it.each([
    [{ vcpus: [{ name: "a", budget: "2ms", period: "1ms" }] }, /pcpus\[0\]\.vcpus\[0\]\.budget: budget 2000000ns exceeds the period/],
    [{ vcpus: [{ name: "a", budget: "1ms", period: "10ms" }], threads: [{ name: "t", vcpu: "b", arrivals: { kind: "periodic", period: "10ms" }, job: [{ compute: "1ms" }] }] }, /pcpus\[0\]\.threads\[0\]\.vcpu: no VCPU "b"/],
    [{ vcpus: [{ name: "a", budget: "1ms", period: "10ms" }], threads: [{ name: "t", vcpu: "a", arrivals: { kind: "periodic", period: "10ms" }, job: [{ io: { vcpu: "a", work: "1ms" } }] }] }, /job\[0\]\.io\.vcpu: "a" is not an I\/O VCPU/],
  ])("refuses a bad PCPU declaration naming the field (%#)", (pcpu, pattern) => {
    expect(() => parseScenario({ name: "x", duration: "1s", pcpus: [pcpu] }, "x")).toThrow(pattern)
  })
})
