/**
 * Spec §B.4 and §B.5 (E7): the worked examples reproduced exactly — segments, replenishment queues,
 * totals and worst windows — under both policies, with the 1 ms timer rule on (1 unit = 1 ms) and
 * relaxed, and at another unit (1 unit = 1 µs, timer rule relaxed).
 */
import { describe, expect, it } from "vitest"
import * as Examples from "../src/Examples.ts"
import { Harness } from "../src/Harness.ts"
import { MainVcpu, queueString } from "../src/MainVcpu.ts"
import { PosixSporadicServer } from "../src/PosixSporadicServer.ts"
import { maxExecutionInWindow, unitString } from "../src/Schedule.ts"
import type { PcpuSpec } from "../src/Workload.ts"

const variants = [
  { name: "1 unit = 1 ms, 1 ms timer rule", unitNs: 1_000_000, timerRule: true },
  { name: "1 unit = 1 ms, timer rule relaxed", unitNs: 1_000_000, timerRule: false },
  { name: "1 unit = 1 us, timer rule relaxed", unitNs: 1_000, timerRule: false },
] as const

/** Runs a spec; records, after every invocation, each Main VCPU's queue (quest) in units. */
const runExample = (spec: PcpuSpec, unitNs: number, units: number) => {
  const queues = new Map<number, string[]>() // time (units) -> queue string per VCPU
  const used = new Map<number, number[]>()
  const posts: Array<{ at: number; pending: string; sum: number }> = []
  const h = new Harness(spec, {
    makeVcpu: (_i, v, sched) => {
      if (sched.options.policy !== "posixNaive") return undefined
      // Log every N3 post: the pending list right after it (the "pending after" column of §B.4).
      return new (class extends PosixSporadicServer {
        override endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void {
          const before = this.count
          super.endTimeslice(deltaNs, nowNs, runnable)
          if (this.count > before) posts.push({ at: nowNs / unitNs, pending: queueString(this, unitNs), sum: this.pendingSum() / unitNs })
        }
      })(v.budgetNs, v.periodNs, 0, { maxRepl: sched.options.maxRepl })
    },
    onInvoke: (harness, now) => {
      queues.set(now / unitNs, harness.sched.vcpus.map((v) => (v instanceof MainVcpu ? queueString(v, unitNs) : "")))
      used.set(now / unitNs, harness.sched.vcpus.map((v) => (v instanceof MainVcpu ? v.usedNs / unitNs : 0)))
    },
  })
  h.run(units * unitNs)
  const segments = h.schedule.segments().map((s) => [s.vcpu, s.start / unitNs, s.end / unitNs])
  return { h, queues, used, posts, segments }
}

describe.each(variants)("worked example 1, budget amplification (§B.4), $name", ({ unitNs, timerRule }) => {
  it("naive POSIX: the table's replenishments, 191 of 200 units, a window of T with 10 units", () => {
    const { h, posts, segments } = runExample(Examples.ssAmplification({ policy: "posixNaive", unitNs, timerRule }), unitNs, 200)
    expect(segments).toEqual([[0, 0, 2], [0, 5, 8], [0, 10, 13], [0, 15, 19], [0, 20, 24], [0, 25, 200]])
    expect(posts.slice(0, 7)).toEqual([
      { at: 2, pending: "10:2", sum: 2 },
      { at: 8, pending: "10:2, 15:3", sum: 5 },
      { at: 13, pending: "15:3, 20:3", sum: 6 },
      { at: 19, pending: "20:3, 25:4", sum: 7 },
      { at: 24, pending: "25:4, 30:4", sum: 8 },
      { at: 30, pending: "30:4, 35:5", sum: 9 },
      { at: 35, pending: "35:5, 40:5", sum: 10 },
    ])
    expect(h.schedule.executionOf(0, 0, 200 * unitNs)).toBe(191 * unitNs)
    expect(maxExecutionInWindow(h.schedule.intervalsOf(0), 10 * unitNs)).toBe(10 * unitNs)
  })

  it("corrected (quest): the table's queues, 75 of 200 units, worst window C + δ = 5", () => {
    const { h, queues, used, segments } = runExample(Examples.ssAmplification({ policy: "quest", unitNs, timerRule }), unitNs, 200)
    const expected: number[][] = [[0, 0, 2], [0, 5, 8]]
    for (let k = 0; 11 + 11 * k < 200; k++) {
      expected.push([0, 11 + 11 * k, Math.min(200, 13 + 11 * k)])
      if (16 + 11 * k < 200) expected.push([0, 16 + 11 * k, 18 + 11 * k])
    }
    expect(segments).toEqual(expected)
    expect([queues.get(2)![0], used.get(2)![0]]).toEqual(["0:2, 10:2", 0])
    expect([queues.get(5)![0], used.get(5)![0]]).toEqual(["5:2, 10:2", 0])
    expect([queues.get(8)![0], used.get(8)![0]]).toEqual(["11:2, 15:2", 1])
    expect([queues.get(13)![0], used.get(13)![0]]).toEqual(["16:2, 21:2", 1])
    expect(h.schedule.executionOf(0, 0, 200 * unitNs)).toBe(75 * unitNs)
    expect(maxExecutionInWindow(h.schedule.intervalsOf(0), 10 * unitNs)).toBe(5 * unitNs)
  })
})

describe.each(variants)("worked example 2, premature replenishment (§B.5), $name", ({ unitNs, timerRule }) => {
  it("naive POSIX: SSS.....HHHHSSSS..SSSS......SS, one replenishment of 4 at 18", () => {
    const { h, posts, segments } = runExample(Examples.prematureReplenishment({ policy: "posixNaive", unitNs, timerRule }), unitNs, 40)
    expect(unitString(h.schedule, unitNs, 30, ["S", "H"])).toBe("SSS.....HHHHSSSS..SSSS......SS")
    expect(segments).toEqual([[0, 0, 3], [1, 8, 12], [0, 12, 16], [0, 18, 22], [0, 28, 30]])
    // S's posts: 3 units at 0+10 when it blocks at 3; then ONE post of 4 at 8+10 when it exhausts at 16.
    expect(posts.filter((p) => p.at === 3 || p.at === 16)).toContainEqual({ at: 16, pending: "18:4", sum: 4 })
    expect(posts).toContainEqual({ at: 3, pending: "10:3", sum: 3 })
  })

  it("corrected (quest): SSS.....HHHHSSSS..S.SSS.....S.S, chunks 1 at 18 and 3 at 20", () => {
    const { h, queues, segments } = runExample(Examples.prematureReplenishment({ policy: "quest", unitNs, timerRule }), unitNs, 40)
    expect(unitString(h.schedule, unitNs, 31, ["S", "H"])).toBe("SSS.....HHHHSSSS..S.SSS.....S.S")
    expect(segments).toEqual([[0, 0, 3], [1, 8, 12], [0, 12, 16], [0, 18, 19], [0, 20, 23], [0, 28, 29], [0, 30, 31]])
    expect(queues.get(3)![0]).toBe("0:1, 10:3")
    expect(queues.get(8)![0]).toBe("8:1, 10:3")
    expect(queues.get(13)![0]).toBe("10:3, 18:1")
    expect(queues.get(16)![0]).toBe("18:1, 20:3")
    expect(queues.get(19)![0]).toBe("20:3, 28:1")
    expect(queues.get(23)![0]).toBe("28:1, 30:3")
  })
})
