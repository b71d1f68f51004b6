/**
 * The single-PCPU harness: determinism, trace records, arrival kinds, sleeps and I/O requests with
 * priority inheritance, job statistics, validation errors; options validation; and the source rule
 * (no wall clock or unseeded randomness in src).
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Simulation, Trace } from "@qvsim/sim-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness } from "../src/Harness.ts"
import { MainVcpu, queueString } from "../src/MainVcpu.ts"
import { defaults, resolveOptions } from "../src/Options.ts"
import { validate, type PcpuSpec } from "../src/Workload.ts"
import { MS, US } from "./support.ts"

describe("Harness", () => {
  it("is deterministic: same spec and seed → same schedule and trace fingerprint (F22)", () => {
    fc.assert(fc.property(Arbitraries.pcpuSpec({ ios: [0, 1] }), fc.nat(1000), (spec, seed) => {
      const a = new Harness(spec, { seed, trace: true }).run(50 * MS)
      const b = new Harness(spec, { seed, trace: true }).run(50 * MS)
      expect(b.schedule.segments()).toEqual(a.schedule.segments())
      expect(b.sim.trace.fingerprint()).toBe(a.sim.trace.fingerprint())
    }), { numRuns: 40 })
  })

  it("emits sched.dispatch, job.release and job.complete records when asked, none otherwise", () => {
    const spec: PcpuSpec = { vcpus: [{ budgetNs: 2 * MS, periodNs: 5 * MS }], threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 5 * MS }, job: [{ compute: 1 * MS }] }] }
    const on = new Harness(spec, { trace: true })
    const sink = new Trace.MemorySink()
    on.sim.trace.attach(sink)
    on.run(10 * MS)
    const kinds = new Set(sink.records.map((r) => r.kind))
    expect([...kinds].sort()).toEqual(["job.complete", "job.release", "sched.dispatch"])
    expect(sink.records.filter((r) => r.kind === "job.complete").map((r) => [r.t, r["response"]])).toEqual([[1 * MS, 1 * MS], [6 * MS, 1 * MS]])
    const off = new Harness(spec).run(10 * MS)
    expect(off.sim.trace.count).toBe(0)
    expect(off.statsOf(0)).toMatchObject({ released: 3, completed: 2, missed: 0, maxResponseNs: 1 * MS })
  })

  it("the records a sink receives are the ones fingerprinted (written inline, see TraceEmit) (property)", () => {
    fc.assert(fc.property(Arbitraries.pcpuSpec({ ios: [0, 1] }), fc.nat(1000), (spec, seed) => {
      const h = new Harness(spec, { seed, trace: true })
      const sink = new Trace.MemorySink()
      h.sim.trace.attach(sink)
      h.run(50 * MS)
      expect(sink.records.length).toBe(h.sim.trace.count)
      expect(Trace.fingerprintRecords(sink.records)).toBe(h.sim.trace.fingerprint())
      // the same run without a sink has the same print
      expect(new Harness(spec, { seed, trace: true }).run(50 * MS).sim.trace.fingerprint()).toBe(h.sim.trace.fingerprint())
    }), { numRuns: 30 })
  })

  it("releases jobs periodically (with offset), sporadically (≥ minimum inter-arrival), as Poisson and explicitly", () => {
    const spec: PcpuSpec = {
      vcpus: [{ budgetNs: 10 * MS, periodNs: 10 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "periodic", periodNs: 3 * MS, offsetNs: 1 * MS }, job: [{ compute: 1 }] },
        { vcpu: 0, arrivals: { kind: "sporadic", minInterArrivalNs: 2 * MS, maxExtraNs: 1 * MS }, job: [{ compute: 1 }] },
        { vcpu: 0, arrivals: { kind: "poisson", meanInterArrivalNs: 1 * MS }, job: [{ compute: 1 }] },
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [5, 5, 7] }, job: [{ compute: 1 }] },
      ],
    }
    const h = new Harness(spec, { recordJobs: true }).run(100 * MS)
    const rel = (th: number) => h.jobs.filter((j) => j.thread === th).map((j) => j.releaseNs)
    expect(rel(0).slice(0, 3)).toEqual([1 * MS, 4 * MS, 7 * MS])
    const sp = rel(1)
    for (let i = 1; i < sp.length; i++) expect(sp[i]! - sp[i - 1]!).toBeGreaterThanOrEqual(2 * MS)
    for (let i = 1; i < sp.length; i++) expect(sp[i]! - sp[i - 1]!).toBeLessThanOrEqual(3 * MS)
    expect(rel(2).length).toBeGreaterThan(60)
    expect(rel(3)).toEqual([5, 5, 7])
  })

  it("sleeps block the thread; an I/O request inherits the requester's priority and wakes it after work + delay", () => {
    const spec: PcpuSpec = {
      vcpus: [
        { kind: "main", budgetNs: 5 * MS, periodNs: 10 * MS }, // requester, high priority
        { kind: "main", budgetNs: 50 * MS, periodNs: 100 * MS }, // background load
        { kind: "io", budgetNs: 10 * MS, periodNs: 100 * MS }, // U = 0.1, created at T = 100 ms
      ],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 1 * MS }, { io: { vcpu: 2, work: 500 * US, delay: 2 * MS } }, { sleep: 1 * MS }, { compute: 1 * MS }] },
        { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 20 * MS }] },
      ],
    }
    const h = new Harness(spec, { recordJobs: true }).run(30 * MS)
    const seg = h.schedule.segments().map((s) => [s.vcpu, s.start / US, s.end / US])
    // 0–1 ms requester; the I/O VCPU inherits T = 10 ms and preempts the background load at once
    // (U·T = 1 ms of budget ≥ 0.5 ms of work); device 2 ms; sleep 1 ms; requester again at 4.5 ms.
    expect(seg.slice(0, 5)).toEqual([[0, 0, 1000], [2, 1000, 1500], [1, 1500, 4500], [0, 4500, 5500], [1, 5500, 22500]])
    expect(h.jobs.find((j) => j.thread === 0)!.completeNs).toBe(5.5 * MS)
    expect(h.sched.vcpus[2]!.periodNs).toBe(10 * MS)
  })

  it("counts deadline misses against the period by default", () => {
    const spec: PcpuSpec = { vcpus: [{ budgetNs: 1 * MS, periodNs: 4 * MS }], threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 4 * MS }, job: [{ compute: 2 * MS }] }] }
    const h = new Harness(spec).run(40 * MS)
    expect(h.statsOf(0).missed).toBeGreaterThan(0)
  })

  it("validation names the bad field", () => {
    const bad = (spec: unknown) => () => validate(spec as PcpuSpec)
    expect(bad({ vcpus: [] , threads: [] })).toThrow(/^vcpus: at least one/)
    expect(bad({ vcpus: [{ budgetNs: 5, periodNs: 4 }], threads: [] })).toThrow(/vcpus\[0\]\.budgetNs/)
    expect(bad({ vcpus: [{ budgetNs: 1, periodNs: 4 }], threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 4 }, job: [{ compute: 1.5 }] }] })).toThrow(/threads\[0\]\.job\[0\]\.compute/)
    expect(bad({ vcpus: [{ budgetNs: 1, periodNs: 4 }], threads: [{ vcpu: 0, arrivals: { kind: "periodic", periodNs: 4 }, job: [{ io: { vcpu: 0, work: 1 } }] }] })).toThrow(/threads\[0\]\.job\[0\]\.io\.vcpu: VCPU 0 is not an I\/O VCPU/)
    expect(bad({ vcpus: [{ budgetNs: 1, periodNs: 4 }], threads: [{ vcpu: 3, arrivals: { kind: "periodic", periodNs: 4 }, job: [] }] })).toThrow(/threads\[0\]\.vcpu: no VCPU 3/)
  })
})

describe("Options", () => {
  it("defaults are the spec's (§D.12)", () => {
    expect(defaults).toEqual({
      policy: "sporadic", priority: "rm", maxRepl: 32, splitAdvancesHead: false, enforcementLatencyNs: 0, ioBackground: "none", pibsClampOnInherit: false,
      schedOverheadNs: 0, quantumNs: 1_000_000, maxTimerIntervalNs: 1_000_000, timerTickNs: 1, rearmOnBudgetlessWakeup: false,
      ties: "rotate",
    })
    expect(resolveOptions({ maxRepl: undefined })).toEqual(defaults)
  })
  it("refuses bad values, naming the option", () => {
    expect(() => resolveOptions({ ssPolicy: "posix" as never })).toThrow(/ssPolicy="posix"/)
    expect(() => resolveOptions({ policy: "edf" })).toThrow(/policy="edf": expected a registered policy \(sporadic, posixNaive, deferrable/)
    expect(() => resolveOptions({ priority: "dm" as never })).toThrow(/priority="dm": expected 'rm' or 'edf'/)
    expect(() => resolveOptions({ ssPolicy: "quest", policy: "posixNaive" })).toThrow(/ssPolicy="quest": contradicts policy="posixNaive"/)
    expect(() => resolveOptions({ enforcementLatencyNs: -1 })).toThrow(/enforcementLatencyNs=-1/)
    expect(() => resolveOptions({ timerTickNs: 2_000_000 })).toThrow(/timerTickNs=2000000: must not exceed maxTimerIntervalNs/)
    expect(() => resolveOptions({ ioBackground: "yes" as never })).toThrow(/ioBackground/)
    expect(() => resolveOptions({ ties: "fifo" as never })).toThrow(/ties="fifo": expected 'rotate' or 'declaration'/)
  })
  it("refuses a name that is not an option (a typo must not pass silently)", () => {
    expect(() => resolveOptions({ rearmOnBudgetlesWakeup: true } as never)).toThrow(/option rearmOnBudgetlesWakeup: unknown option \(known: policy, priority, .*ties\)/)
  })
  it("reads the deprecated ssPolicy as policy ('quest' = 'sporadic'), and leaves it out of the record", () => {
    expect(resolveOptions({ ssPolicy: "quest" }).policy).toBe("sporadic")
    expect(resolveOptions({ ssPolicy: "posixNaive" })).toEqual({ ...defaults, policy: "posixNaive" })
    expect(resolveOptions({ ssPolicy: "posixNaive", policy: "posixNaive" }).policy).toBe("posixNaive")
  })
})

describe("source rule", () => {
  it("no wall clock or unseeded randomness in src", () => {
    const dir = join(import.meta.dirname, "..", "src")
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".ts"))
    expect(files.length).toBeGreaterThan(10)
    for (const f of files) {
      const text = readFileSync(join(dir, f), "utf8")
      expect(text, f).not.toMatch(/Math\.random|Date\.now|performance\.now|new Date\(/)
    }
  })
})

describe("several PCPUs on one simulation", () => {
  it("each harness keeps its own schedule and random streams; the run is the same as alone", () => {
    const spec = (k: number): PcpuSpec => ({
      vcpus: [{ budgetNs: 2 * MS, periodNs: 5 * MS }, { budgetNs: 3 * MS, periodNs: 7 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "poisson", meanInterArrivalNs: (3 + k) * MS }, job: [{ compute: [100 * US, 900 * US] }] },
        { vcpu: 1, arrivals: { kind: "sporadic", minInterArrivalNs: 4 * MS, maxExtraNs: 3 * MS }, job: [{ compute: [1 * MS, 2 * MS] }, { sleep: [0, 1 * MS] }] },
      ],
    })
    const alone = [0, 1].map((p) => new Harness(spec(p), { seed: 9, pcpu: p }).run(100 * MS))
    const shared = new Simulation.Simulation(9)
    const a = new Harness(spec(0), { sim: shared, pcpu: 0 })
    const b = new Harness(spec(1), { sim: shared, pcpu: 1 })
    shared.run({ untilNs: 100 * MS })
    a.flush(100 * MS)
    b.flush(100 * MS)
    expect(a.schedule.segments()).toEqual(alone[0]!.schedule.segments())
    expect(b.schedule.segments()).toEqual(alone[1]!.schedule.segments())
    expect(b.schedule.segments()[0]!.pcpu).toBe(1)
  })

  it("a second harness with a PCPU number already used on the simulation is refused (it would draw the same random streams)", () => {
    const spec: PcpuSpec = { vcpus: [{ budgetNs: 2 * MS, periodNs: 5 * MS }], threads: [{ vcpu: 0, arrivals: { kind: "poisson", meanInterArrivalNs: 3 * MS }, job: [{ compute: [100 * US, 900 * US] }] }] }
    const shared = new Simulation.Simulation(9)
    new Harness(spec, { sim: shared })
    expect(() => new Harness(spec, { sim: shared })).toThrow(/pcpu 0 already has a harness on this simulation/)
    expect(() => new Harness(spec, { sim: shared, pcpu: 0 })).toThrow(/pcpu 0 already/)
    expect(() => new Harness(spec, { sim: shared, pcpu: 1 })).not.toThrow()
    // Each simulation has its own numbers: pcpu 0 again on another simulation is fine.
    expect(() => new Harness(spec, { sim: new Simulation.Simulation(9) })).not.toThrow()
    expect(() => new Harness(spec, { pcpu: -1 })).toThrow(/pcpu -1 must be an integer ≥ 0/)
    expect(() => new Harness(spec, { pcpu: 1.5 })).toThrow(/pcpu 1.5 must be an integer ≥ 0/)
  })
})

describe("interrupt top halves", () => {
  it("hold back the running thread while its VCPU is still charged (§C.1 accounting)", () => {
    const spec: PcpuSpec = {
      vcpus: [
        { kind: "main", budgetNs: 1 * MS, periodNs: 10 * MS },
        { kind: "main", budgetNs: 5 * MS, periodNs: 20 * MS },
        { kind: "io", budgetNs: 1 * MS, periodNs: 10 * MS },
      ],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ io: { vcpu: 2, work: 0, delay: 1 * MS, wait: false } }] },
        { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 3 * MS }] },
      ],
    }
    const h = new Harness(spec, { irqTopHalfNs: 100 * US, recordJobs: true }).run(10 * MS)
    expect(h.schedule.segments().map((x) => [x.thread, x.start / US, x.end / US])).toEqual([[1, 0, 1000], [1, 1100, 3100]])
    expect(queueString(h.sched.vcpus[1] as MainVcpu, US)).toBe("0:1900, 20000:3100")
    const plain = new Harness(spec).run(10 * MS)
    expect(plain.schedule.segments().map((x) => [x.thread, x.start / US, x.end / US])).toEqual([[1, 0, 3000]])
  })
})

describe("regressions found by the differential test against the reference (test/reference/)", () => {
  it("a thread dispatched during an interrupt top half gets its whole computation (its end moves with its start)", () => {
    // th0's I/O completes at 1 ms: a 100 µs top half. th2 (higher priority) is released at 1 ms and
    // dispatched at once, so it starts at 1.1 ms and must run its 500 µs until 1.6 ms. The harness
    // used to time its end from the decision (1 ms), so th2 "finished" at 1.5 ms with 100 µs undone.
    const spec: PcpuSpec = {
      vcpus: [
        { kind: "main", budgetNs: 1 * MS, periodNs: 10 * MS },
        { kind: "main", budgetNs: 5 * MS, periodNs: 20 * MS },
        { kind: "io", budgetNs: 1 * MS, periodNs: 10 * MS },
      ],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ io: { vcpu: 2, work: 0, delay: 1 * MS, wait: false } }] },
        { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 3 * MS }] },
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [1 * MS] }, job: [{ compute: 500 * US }] },
      ],
    }
    const h = new Harness(spec, { irqTopHalfNs: 100 * US, recordJobs: true }).run(10 * MS)
    expect(h.schedule.segments().map((x) => [x.thread, x.start / US, x.end / US])).toEqual([[1, 0, 1000], [2, 1100, 1600], [1, 1600, 3600]])
    expect(h.jobs.map((j) => [j.thread, j.completeNs / US])).toEqual([[0, 0], [2, 1600], [1, 3600]])
  })

  it("a computation that ends exactly when an interrupt's top half starts ends then: the top half does not delay it", () => {
    // B's zero-work request completes at once; its device interrupt comes at 1 ms (top half 100 µs),
    // exactly when A's 1 ms computation ends. The harness used to push A's end past the top half
    // (job done at 1.1 ms) — or, when the timer fired then too, to end it inside the invocation.
    const spec: PcpuSpec = {
      vcpus: [{ kind: "main", budgetNs: 5 * MS, periodNs: 10 * MS }, { kind: "io", budgetNs: 1 * MS, periodNs: 10 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 1 * MS }] },
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ io: { vcpu: 1, work: 0, delay: 1 * MS, wait: false } }] },
      ],
      options: { maxTimerIntervalNs: Infinity },
    }
    const h = new Harness(spec, { irqTopHalfNs: 100 * US, recordJobs: true }).run(10 * MS)
    expect(h.jobs.map((j) => [j.thread, j.completeNs / US])).toEqual([[1, 0], [0, 1000]])
  })

  it("a computation that ends when the timer fires is over before the invocation: its zero-delay consequences come first", () => {
    // The I/O VCPU (U = 0.5, inherits T = 10 ms: 5 ms of budget) does th0's first 1 ms job; it ends
    // at 1 ms, exactly when the 1 ms timer fires. The device completes at once (delay 0) and th0
    // hands it a second job at the same instant, so the I/O VCPU never blocks: it goes on at 1 ms.
    // The harness used to end the computation inside the invocation and apply the completion after
    // it: the I/O VCPU blocked (P3 forfeits its budget, e := 2 ms) and the second job ran at 2 ms.
    const spec: PcpuSpec = {
      vcpus: [{ kind: "main", budgetNs: 5 * MS, periodNs: 10 * MS }, { kind: "io", budgetNs: 5 * MS, periodNs: 10 * MS }],
      threads: [{ vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ io: { vcpu: 1, work: 1 * MS } }, { io: { vcpu: 1, work: 100 * US } }] }],
    }
    const times: number[] = []
    const h = new Harness(spec, { onInvoke: (_h, now) => times.push(now) }).run(10 * MS)
    expect(h.schedule.segments().map((x) => [x.thread, x.start / US, x.end / US])).toEqual([[1, 0, 1100]])
    expect(new Set(times).size).toBe(times.length) // one invocation per instant
  })
})
