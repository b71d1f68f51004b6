/**
 * Per-job outputs of the kernel (`recordJobs`): one row per job of a periodic thread with release,
 * first start, completion, absolute deadline and preemptions; schedule segments carry the job; and,
 * a regression, a periodic thread that migrates keeps its releases and its job numbers (it used to
 * restart from release 0 in the destination: its next job "responded" in its whole lifetime).
 */
import { describe, expect, it } from "vitest"
import { Program, System } from "../src/index.ts"

const MS = 1_000_000

describe("job rows", () => {
  it("give release, first start, completion, deadline and preemptions; segments carry the job", () => {
    const sys = new System.System({
      machine: { cores: 1 },
      recordJobs: true,
      recordSchedule: true,
      kernel: { syscallEntry: "none", sleepWakeup: "exact", checkInvariants: true },
      sandboxes: [{
        vcpus: [{ budgetNs: 1 * MS, periodNs: 4 * MS }, { budgetNs: 10 * MS, periodNs: 20 * MS }],
        threads: [
          { name: "hi", vcpu: 0, program: Program.periodicCompute(1 * MS), periodic: { periodNs: 4 * MS } },
          { name: "lo", vcpu: 1, program: Program.periodicCompute(3.5 * MS), periodic: { periodNs: 20 * MS, deadlineNs: 5 * MS } },
        ],
      }],
    }).run(22 * MS)
    const jobs = sys.jobs()
    const lo = jobs.filter((j) => j.thread === "lo")
    // lo runs 1–4 ms, is preempted by hi's second job, completes at 5.5 ms: past its 5 ms deadline.
    expect(lo[0]).toEqual({ sandbox: 0, thread: "lo", job: 0, releaseNs: 0, firstStartNs: 1 * MS, completeNs: 5.5 * MS, deadlineNs: 5 * MS, preemptions: 1 })
    expect(sys.metrics().sandboxes[0]!.threads.find((t) => t.name === "lo")!.jobsMissed).toBe(1)
    expect(jobs.filter((j) => j.thread === "hi").slice(0, 2)).toEqual([
      { sandbox: 0, thread: "hi", job: 0, releaseNs: 0, firstStartNs: 0, completeNs: 1 * MS, deadlineNs: 4 * MS, preemptions: 0 },
      { sandbox: 0, thread: "hi", job: 1, releaseNs: 4 * MS, firstStartNs: 4 * MS, completeNs: 5 * MS, deadlineNs: 8 * MS, preemptions: 0 },
    ])
    // At 22 ms: lo's second job (released at 20 ms, preempted by hi at 20 ms) ran 21–22 ms and is open.
    expect(lo[1]).toEqual({ sandbox: 0, thread: "lo", job: 1, releaseNs: 20 * MS, firstStartNs: 21 * MS, completeNs: -1, deadlineNs: 25 * MS, preemptions: 0 })
    const tid = sys.sandboxes[0]!.kernel.threadNamed("lo")!.tid
    expect(sys.segments().filter((s) => s.thread === tid).map((s) => [s.job, s.start / MS, s.end / MS])).toEqual([[0, 1, 4], [0, 5, 5.5], [1, 21, 22]])
    expect(() => new System.System({}).jobs()).toThrow(/without recordJobs/)
  })

  it("regression: a periodic thread that migrates keeps its releases (shifted by the clock offset) and its job numbers", () => {
    const job: Program.Program = Program.periodic(function* (_ctx, k) {
      yield Program.compute(1 * MS)
      if (k === 3) yield Program.migrate(1)
    })
    const sys = new System.System({
      machine: { cores: 2, clockOffsetNs: [0, 7 * MS] },
      recordJobs: true,
      kernel: { checkInvariants: true },
      sandboxes: [{ threads: [{ name: "p", vcpu: 1, program: job, periodic: { periodNs: 50 * MS } }] }, {}],
    }).run(1000 * MS)
    const r = sys.migrations()[0]!
    expect(r.attachNs).toBeGreaterThan(0)
    const rows = sys.jobs().filter((j) => j.thread === "p" && j.completeNs >= 0)
    expect(rows.map((j) => j.job)).toEqual(Array.from({ length: rows.length }, (_, i) => i))
    expect(rows.length).toBeGreaterThan(15)
    // Every job completes within its period; after the move, releases are in sandbox 1's clock (+7 ms).
    for (const j of rows) expect(j.completeNs - j.releaseNs).toBeLessThan(50 * MS)
    const after = rows.filter((j) => j.sandbox === 1)
    expect(after[0]!.job).toBe(3) // the job in progress when it migrated completes in the destination
    for (const j of after) expect((j.releaseNs - r.offsetNs) % (50 * MS)).toBe(0) // the estimated offset, like the replenishments
    const m = sys.metrics().sandboxes
    expect(m[0]!.threads.find((t) => t.name === "p")!.jobsMissed + m[1]!.threads.find((t) => t.name === "p")!.jobsMissed).toBe(0)
  })
})
