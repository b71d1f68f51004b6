/**
 * The Gantt chart's data (`report/Gantt.ts`) on hand-made segments: interrupt and monitor time
 * get named lanes (never a raw VCPU number), lanes follow the declared order and leave out VCPUs
 * that never ran, the chart opens around the first recovery, else the first miss, else the
 * opening segments, and the segments kept under a cap are those nearest that window.
 */
import { describe, expect, it } from "vitest"
import * as Check from "../../src/Check.ts"
import type { JobRow } from "../../src/Jobs.ts"
import type { NamedSegment } from "../../src/models/Pcpus.ts"
import * as Gantt from "../../src/report/Gantt.ts"
import { builtin } from "./support.ts"

const MS = 1e6
const seg = (start: number, end: number, vcpu: string, thread: string, pcpu = "pcpu0"): NamedSegment => ({ pcpu, start, end, vcpu, thread, job: null })
const job = (thread: string, release: number, deadline: number, finish: number | null): JobRow => ({
  where: "pcpu0", thread, job: 0, release, firstStart: release, finish, response: finish === null ? null : finish - release, deadline,
  missed: finish === null ? null : finish > deadline, preemptions: 0,
})

describe("Gantt.build", () => {
  const scenario = builtin("rm-periodic")
  const checks = Check.check(scenario)
  const base = { scenario, checks, jobs: [] as JobRow[], spans: [] as Gantt.Span[], simTimeNs: 100 * MS }

  it("names interrupt and monitor lanes, keeps the declared order, leaves out VCPUs that never ran", () => {
    const d = Gantt.build({ ...base, segments: [seg(0, MS, "t2", "task2"), seg(MS, 2 * MS, "-1", "irq"), seg(2 * MS, 3 * MS, "t1", "monitor"), seg(3 * MS, 4 * MS, "t1", "task1")] })
    expect(d.lanes).toEqual(["pcpu0 · t1", "pcpu0 · t2", "pcpu0 · interrupts", "pcpu0 · monitor"])
    expect(d.idleLanes).toEqual(["pcpu0 · t3", "pcpu0 · t4", "pcpu0 · t5"])
    expect(d.bars.map((b) => b.lane)).toEqual(["pcpu0 · t2", "pcpu0 · interrupts", "pcpu0 · monitor", "pcpu0 · t1"])
    expect(d.bars.every((b) => !/· -?\d+$/.test(b.lane))).toBe(true)
    expect(d.bars[1]!.us).toBe(1000)
    expect(d.threadLanes).toEqual(["pcpu0 · task1", "pcpu0 · task2", "pcpu0 · interrupts", "pcpu0 · monitor"])
  })

  it("opens around the first recovery, else the first miss, else the run's opening", () => {
    const segments = Array.from({ length: 1000 }, (_, i) => seg(i * 100_000, i * 100_000 + 50_000, "t1", "task1"))
    const opening = Gantt.build({ ...base, segments })
    expect(opening.initialMs).toEqual([0, 10])
    expect(opening.why).toMatch(/run's opening/)
    const miss = Gantt.build({ ...base, segments, jobs: [job("task1", 40 * MS, 50 * MS, 49 * MS), job("task1", 60 * MS, 70 * MS, 72 * MS)] })
    expect(miss.why).toMatch(/first deadline miss \(task1 job 0, deadline 70\.000 ms\)/)
    expect(miss.initialMs).toEqual([50, 82])
    expect(miss.markers.filter((m) => m.kind === "miss").map((m) => m.t)).toEqual([72])
    const fault = Gantt.build({ ...base, segments, jobs: miss.markers.length > 0 ? [job("task1", 60 * MS, 70 * MS, 72 * MS)] : [], spans: [{ label: "vmExit", startNs: 30 * MS, endNs: 31 * MS }, { label: "driverReinit", startNs: 31 * MS, endNs: 34 * MS }] })
    expect(fault.why).toMatch(/first fault recovery \(vmExit/)
    expect(fault.initialMs).toEqual([28, 36])
  })

  it("under a cap, keeps the segments nearest the window it opens on", () => {
    const segments = Array.from({ length: 1000 }, (_, i) => seg(i * 100_000, i * 100_000 + 50_000, "t1", "task1"))
    const d = Gantt.build({ ...base, segments, spans: [{ label: "vmExit", startNs: 80 * MS, endNs: 81 * MS }] }, { maxSegments: 50 })
    expect(d.shownSegments).toBe(50)
    expect(d.totalSegments).toBe(1000)
    const starts = d.bars.map((b) => b.start)
    expect(Math.min(...starts)).toBeGreaterThan(75)
    expect(Math.max(...starts)).toBeLessThan(86)
  })
})
