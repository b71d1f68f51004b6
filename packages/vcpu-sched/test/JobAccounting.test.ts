/**
 * The job accounting both drivers share (`Jobs.ts`) and the I/O service queue (`IoQueue.ts`): the
 * rules the harness and the kernel apply through them, on hand-made cases.
 */
import { describe, expect, it } from "vitest"
import { IoQueue, USER_IO } from "../src/IoQueue.ts"
import { accountPiece, CurrentJob, JobStats, recordOf } from "../src/Jobs.ts"
import { Schedule } from "../src/Schedule.ts"

describe("JobStats.complete", () => {
  it("counts completions, sums and maxes responses, and misses only past the deadline", () => {
    const s = new JobStats()
    expect(s.complete(5, 5)).toBe(false) // at the deadline: met
    expect(s.complete(7, 5)).toBe(true)
    expect(s.complete(3, 5)).toBe(false)
    expect({ completed: s.completed, missed: s.missed, max: s.maxResponseNs, sum: s.sumResponseNs }).toEqual({ completed: 3, missed: 1, max: 7, sum: 15 })
  })
})

describe("CurrentJob", () => {
  it("first start is the first piece after the release; later pieces and inactive jobs leave it", () => {
    const j = new CurrentJob()
    j.ran(1) // no job yet
    expect(j.firstStartNs).toBe(-1)
    j.begin(10)
    j.ran(12)
    j.ran(20)
    expect([j.releaseNs, j.firstStartNs]).toEqual([10, 12])
    j.begin(30)
    expect(j.firstStartNs).toBe(-1)
  })
  it("a preemption needs a started, active job that could go on", () => {
    const j = new CurrentJob()
    j.begin(0)
    j.lostCore(true) // not started
    j.ran(1)
    j.lostCore(false) // it blocked
    j.lostCore(true)
    j.end()
    j.lostCore(true) // over
    expect(j.preemptions).toBe(1)
  })
  it("adopt moves a migrated job's times into the new clock and keeps an unstarted job unstarted", () => {
    const a = new CurrentJob()
    a.begin(100)
    a.ran(105)
    a.lostCore(true)
    const b = new CurrentJob()
    b.adopt(a, 1000)
    expect(recordOf("t", 3, b, -1, 50)).toEqual({ thread: "t", job: 3, releaseNs: 1100, firstStartNs: 1105, completeNs: -1, deadlineNs: 1150, preemptions: 1 })
    const c = new CurrentJob()
    c.begin(5)
    b.adopt(c, 1000)
    expect(b.firstStartNs).toBe(-1)
  })
})

describe("accountPiece", () => {
  it("records a non-empty piece as a segment and the job's first start in the job's clock; an empty one changes nothing", () => {
    const s = new Schedule(0)
    const j = new CurrentJob()
    j.begin(0)
    accountPiece(j, s, 5, 5, 1005, 0, 7, 0)
    expect([s.length, j.firstStartNs]).toEqual([0, -1])
    accountPiece(j, s, 5, 9, 1005, 0, 7, 0)
    accountPiece(j, null, 9, 12, 1009, 0, 7, 0)
    expect(s.segments()).toEqual([{ pcpu: 0, start: 5, end: 9, vcpu: 0, thread: 7, job: 0 }])
    expect(j.firstStartNs).toBe(1005)
  })
})

describe("IoQueue", () => {
  it("hands jobs out in submission order with their kind, argument, device time and wait flag", () => {
    const q = new IoQueue()
    for (let i = 0; i < 20; i++) q.push(10 * i, i % 3 === 0 ? USER_IO : 2, i, i + 1, i % 2)
    for (let i = 0; i < 20; i++) {
      expect(q.take()).toBe(10 * i)
      expect([q.curKind, q.curArg, q.curDelay, q.curWait]).toEqual([i % 3 === 0 ? USER_IO : 2, i, i + 1, i % 2])
    }
    expect(q.length).toBe(0)
  })
})
