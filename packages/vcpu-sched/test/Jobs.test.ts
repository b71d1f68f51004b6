/**
 * Per-job outputs of the harness: segments carry the job they execute (one job per segment with
 * `segmentsByJob`), and `recordJobs` gives one row per job (release, first start, finish, absolute
 * deadline, preemptions) — declared threads' in `jobs`, I/O requests' in `ioJobs` — unfinished ones too.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness } from "../src/Harness.ts"
import type { PcpuSpec } from "../src/Workload.ts"
import { MS, US } from "./support.ts"

const spec: PcpuSpec = {
  vcpus: [{ name: "hi", budgetNs: 1 * MS, periodNs: 4 * MS }, { name: "lo", budgetNs: 5 * MS, periodNs: 20 * MS }],
  threads: [
    { vcpu: 0, arrivals: { kind: "periodic", periodNs: 4 * MS }, job: [{ compute: 1 * MS }] },
    // Explicit releases: no arrival period, so the deadline is the VCPU's period (20 ms).
    { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [0, 18 * MS] }, job: [{ compute: 4 * MS }] },
  ],
}

describe("jobs", () => {
  it("segments carry the job; rows give release, first start, finish, deadline and preemptions", () => {
    const h = new Harness(spec, { recordJobs: true, segmentsByJob: true, checkInvariants: true }).run(21 * MS)
    const segs = h.schedule.segments().filter((s) => s.end <= 9 * MS).map((s) => [s.thread, s.job, s.start / MS, s.end / MS])
    expect(segs).toEqual([[0, 0, 0, 1], [1, 0, 1, 4], [0, 1, 4, 5], [1, 0, 5, 6], [0, 2, 8, 9]])
    const lo = h.jobs.filter((j) => j.thread === 1)
    expect(lo).toEqual([{ thread: 1, job: 0, releaseNs: 0, firstStartNs: 1 * MS, completeNs: 6 * MS, deadlineNs: 20 * MS, preemptions: 1 }])
    expect(h.jobs.filter((j) => j.thread === 0).slice(0, 2)).toEqual([
      { thread: 0, job: 0, releaseNs: 0, firstStartNs: 0, completeNs: 1 * MS, deadlineNs: 4 * MS, preemptions: 0 },
      { thread: 0, job: 1, releaseNs: 4 * MS, firstStartNs: 4 * MS, completeNs: 5 * MS, deadlineNs: 8 * MS, preemptions: 0 },
    ])
    // At 21 ms: lo's second job (released at 18 ms) has run 1 ms of 4 (hi ran at 20 ms), preempted once.
    expect(h.unfinishedJobs()).toEqual([{ thread: 1, job: 1, releaseNs: 18 * MS, firstStartNs: 18 * MS, completeNs: -1, deadlineNs: 38 * MS, preemptions: 1 }])
    expect(h.relativeDeadlineOf(1)).toBe(20 * MS)
  })

  it("an overloaded thread's backlog: the unfinished rows give each pending release and its job number, in order", () => {
    // 3 ms of work released every 1 ms on a VCPU of 1 ms per 2 ms: the backlog grows by ~5 jobs per 6 ms.
    const over: PcpuSpec = {
      vcpus: [{ name: "v", budgetNs: 1 * MS, periodNs: 2 * MS }],
      threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 1 * MS, offsetNs: 100 * US }, job: [{ compute: 3 * MS }] }],
    }
    const h = new Harness(over, { recordJobs: true }).run(12 * MS)
    const open = h.unfinishedJobs()
    const done = h.jobs.length
    expect(open.length).toBeGreaterThanOrEqual(4)
    // The job in progress, then the queued ones: consecutive job numbers, each released 1 ms after the one before.
    expect(open.map((j) => j.job)).toEqual(open.map((_j, i) => done + i))
    expect(open.map((j) => j.releaseNs)).toEqual(open.map((_j, i) => 100 * US + (done + i) * MS))
    expect(open.slice(1).every((j) => j.firstStartNs === -1 && j.deadlineNs === j.releaseNs + 1 * MS)).toBe(true)
    expect(done + open.length).toBe(h.statsOf(0).released)
  })

  it("the rows agree with the statistics and the segments, for random workloads", () => {
    const specs = Arbitraries.pcpuSpec({ unitNs: 100 * US, mains: [1, 4], ios: [0, 1] })
    fc.assert(fc.property(specs, (s) => {
      const h = new Harness(s, { recordJobs: true, segmentsByJob: true }).run(60 * MS)
      for (let th = 0; th < s.threads.length; th++) {
        const rows = h.jobs.filter((j) => j.thread === th)
        const st = h.statsOf(th)
        expect(rows.length).toBe(st.completed)
        expect(rows.filter((j) => j.completeNs > j.deadlineNs).length).toBe(st.missed)
        expect(Math.max(0, ...rows.map((j) => j.completeNs - j.releaseNs))).toBe(st.maxResponseNs)
        for (const j of rows) {
          const mine = h.schedule.segments().filter((x) => x.thread === th && x.job === j.job)
          const first = mine.length > 0 ? mine[0]!.start : -1
          expect(j.firstStartNs).toBe(first)
          expect(j.releaseNs).toBeLessThanOrEqual(j.completeNs)
        }
      }
      // I/O requests are rows of the service threads, one per completed request.
      for (const j of h.ioJobs) expect(h.serviceThreadOf).toContain(j.thread)
      for (const svc of h.serviceThreadOf.filter((x) => x >= 0)) expect(h.ioJobs.filter((j) => j.thread === svc).length).toBe(h.statsOf(svc).completed)
      // Every released job is either a row or unfinished.
      const released = s.threads.reduce((a, _t, th) => a + h.statsOf(th).released, 0)
      const unfinished = h.unfinishedJobs().filter((j) => j.thread < s.threads.length).length
      expect(h.jobs.filter((j) => j.thread < s.threads.length).length + unfinished).toBe(released)
    }), { numRuns: 60 })
  })
})
