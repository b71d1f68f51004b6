/**
 * vcpu-sched's single-PCPU harness against a one-core sandbox-kernel `System` with every kernel cost
 * at zero, running the same task set (see harnessSystem.ts): the executed segments `(vcpu, thread,
 * start, end)` and the job completions must be the same — in the domain where the two models must
 * agree. Outside it they differ for five reasons, each shown below with a printed example (and
 * written down in packages/vcpu-sched/README.md, "The harness and the sandbox kernel"):
 *
 * 1. Sleep wake-ups: the System's default (`kernel.sleepWakeup: 'timerInterrupt'`, Quest's W2) wakes
 *    sleepers only when the LAPIC timer handler processes the sleep queue; the harness wakes them at
 *    their time. The domain uses `'exact'`.
 * 2. Steps without the CPU: the harness applies a job's sleep and I/O steps at once when no
 *    computation precedes them — at the release, after a sleep, after an I/O wait — and completes a
 *    job whose last step is one of them at that moment, without the thread holding the CPU; a System
 *    thread must be dispatched (its VCPU chosen, with budget) to issue any request. The domain: every
 *    job starts and ends with a computation and every sleep or I/O step follows one.
 * 3. I/O service threads: the System's start runnable and block at their first dispatch (one
 *    invocation each, `schedOverheadNs` charged to the I/O VCPU); until then the I/O VCPU counts as
 *    runnable, so a request skips P4 and keeps P0's full budget at the inherited period. The harness's
 *    start blocked, and it completes a zero-work request without waking its service thread. The
 *    domain: first releases after 0 (the service threads are dispatched at 0, alone), no scheduler
 *    overhead when there are I/O VCPUs, I/O work ≥ 1 ns.
 * 4. Events at the same instant: the harness applies every event of an instant (device completions,
 *    sleep ends, releases, then the end of the running computation) before it invokes the scheduler
 *    once; the System invokes it as soon as one event asks for it (a blocking thread, a preempting
 *    wakeup, the LAPIC timer, whose expiry and a sleep's end are ordered by creation), so R, the
 *    round-robin choice and SS5/SS6 can differ. The domain: runs in which no two threads have an
 *    event at the same instant and no event falls on the timer's expiry (the harness run counts
 *    them; such runs are skipped, and the test checks that they are a minority); sleeps and I/O
 *    delays ≥ 1 ns (a zero sleep or delay is an event of the same instant).
 * 5. (not a difference of model) job releases: the System's threads compute their releases from the
 *    harness's own named random streams, so both see the same arrivals.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Arbitraries, PcpuScheduler, type Workload } from "@qvsim/vcpu-sched"
import { compareRuns, firstSegmentDifference, type Runs } from "./harnessSystem.ts"
import { MS, US } from "./support.ts"

const HORIZON = 60 * MS
/** `QVSIM_PROP_SCALE=20` multiplies the random task sets (a long run); the default keeps `npm test` short. */
const SCALE = Math.max(1, Number(process.env["QVSIM_PROP_SCALE"] ?? "1") || 1)
const UNIT = 100 * US

const atLeast1 = (r: Workload.Range): Workload.Range => (typeof r === "number" ? Math.max(1, r) : [Math.max(1, r[0]), Math.max(1, r[1])])

/** Reason 2's domain: jobs start and end computing; a sleep or I/O step always follows a computation. Sleeps and delays ≥ 1 ns. */
const issuedByRunningThread = (steps: readonly Workload.Step[]): Workload.Step[] => {
  const out: Workload.Step[] = []
  for (const s of steps) {
    const prev = out[out.length - 1]
    if (!("compute" in s) && (prev === undefined || !("compute" in prev))) out.push({ compute: UNIT })
    out.push("compute" in s ? { compute: atLeast1(s.compute) } : "sleep" in s ? { sleep: atLeast1(s.sleep) } : { io: { ...s.io, work: atLeast1(s.io.work), delay: atLeast1(s.io.delay ?? 0) } })
  }
  if (out.length === 0 || !("compute" in out[0]!)) out.unshift({ compute: UNIT })
  if (!("compute" in out[out.length - 1]!)) out.push({ compute: UNIT })
  return out
}

/** Releases shifted by a per-thread jitter in 1..99,999 ns (after 0; distinct instants between threads, mostly). */
const shifted = (a: Workload.Arrivals, d: number): Workload.Arrivals =>
  a.kind === "explicit" ? { ...a, releasesNs: a.releasesNs.map((r) => r + d) } : { ...a, offsetNs: (a.offsetNs ?? 0) + d }

/** Random task sets in the domain of agreement (before the coincidence check). */
const domain = fc.record({
  spec: Arbitraries.pcpuSpec({ unitNs: UNIT, mains: [1, 4], ios: [0, 2], options: Arbitraries.schedulerOptions({ latency: true, overhead: true }) }),
  seed: fc.nat(1000),
  jitter: fc.array(fc.integer({ min: 1, max: 99_999 }), { minLength: 8, maxLength: 8 }),
}).map(({ spec, seed, jitter }) => ({
  seed,
  spec: {
    ...spec,
    options: spec.vcpus.some((v) => v.kind === "io") ? { ...spec.options, schedOverheadNs: 0 } : spec.options,
    threads: spec.threads.map((t, i) => ({ ...t, arrivals: shifted(t.arrivals, jitter[i % jitter.length]!), job: issuedByRunningThread(t.job) })),
  } satisfies Workload.PcpuSpec,
}))

const show = (r: Runs, n = 4): string => `  harness: ${r.harness.slice(0, n).join(" ")}\n  System:  ${r.system.slice(0, n).join(" ")}`

describe("harness = one-core System with zero kernel costs, in the domain where the models must agree", () => {
  it("same segments and job completions on 150 random task sets (every arrival kind, I/O, sleeps, options)", () => {
    let checked = 0, skipped = 0
    fc.assert(fc.property(domain, ({ spec, seed }) => {
      const r = compareRuns(spec, seed, HORIZON)
      if (r.coincidences > 0) {
        skipped++
        return
      }
      checked++
      const m = firstSegmentDifference(r)
      if (m !== null) throw new Error(`${m}\n${show(r, 8)}\nspec: ${JSON.stringify(spec)} seed ${seed}`)
    }), { numRuns: 150 * SCALE })
    // Not vacuous: most generated runs have no coincident events.
    expect(checked).toBeGreaterThan(skipped)
  })

  it("catches a kernel whose wakeups never preempt (it waits for the timer)", () => {
    class NoPreempt extends PcpuScheduler.PcpuScheduler {
      override wakeup(thread: number, nowNs: number): boolean {
        super.wakeup(thread, nowNs)
        return false
      }
    }
    const r = fc.check(fc.property(domain, ({ spec, seed }) => {
      const runs = compareRuns(spec, seed, HORIZON, {}, { makeScheduler: () => new NoPreempt(spec.options) })
      return runs.coincidences > 0 || firstSegmentDifference(runs) === null
    }), { numRuns: 450, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})

describe("outside the domain the models differ, for the documented reasons (each printed)", () => {
  const expectDiffer = (name: string, spec: Workload.PcpuSpec, kernel: { sleepWakeup?: "exact" | "timerInterrupt" } = {}): Runs => {
    const r = compareRuns(spec, 1, 20 * MS, kernel)
    const m = firstSegmentDifference(r)
    console.log(`harness vs System, ${name}: ${m}\n${show(r)}`)
    expect(m).not.toBeNull()
    return r
  }

  it("1. sleeps wait for the timer interrupt in the System's faithful mode (0.25 ms sleep → woken at the next 1 ms tick)", () => {
    const spec: Workload.PcpuSpec = {
      vcpus: [{ budgetNs: 2 * MS, periodNs: 10 * MS }],
      threads: [{ vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 300 * US }, { sleep: 250 * US }, { compute: 100 * US }] }],
    }
    expect(firstSegmentDifference(compareRuns(spec, 1, 20 * MS, { sleepWakeup: "exact" }))).toBeNull()
    const r = expectDiffer("sleep queue processed by the timer handler", spec, { sleepWakeup: "timerInterrupt" })
    expect(r.system[1]).toBe("[1300000, 1400000) v0/t0")
  })

  it("2. a job that starts with a sleep: the harness starts the sleep at the release, the System only once the thread runs", () => {
    const spec: Workload.PcpuSpec = {
      vcpus: [{ budgetNs: 5 * MS, periodNs: 5 * MS }, { budgetNs: 2 * MS, periodNs: 10 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [10 * US] }, job: [{ compute: 3950 * US }] },
        { vcpu: 1, arrivals: { kind: "explicit", releasesNs: [1 * MS] }, job: [{ sleep: 1 * MS }, { compute: 200 * US }] },
      ],
    }
    const r = expectDiffer("steps without the CPU", spec)
    expect(r.coincidences).toBe(0)
    expect([r.harness[1], r.system[1]]).toEqual(["[3960000, 4160000) v1/t1", "[4960000, 5160000) v1/t1"])
  })

  it("3. the System's I/O service threads run once at start: with scheduler overhead, the first job starts one overhead later", () => {
    const spec: Workload.PcpuSpec = {
      vcpus: [{ budgetNs: 2 * MS, periodNs: 10 * MS }, { kind: "io", budgetNs: 1 * MS, periodNs: 5 * MS }],
      threads: [{ vcpu: 0, arrivals: { kind: "explicit", releasesNs: [0] }, job: [{ compute: 900 * US }] }],
      options: { schedOverheadNs: 10 * US },
    }
    const r = expectDiffer("service threads start runnable", spec)
    expect(r.coincidences).toBe(0)
    expect([r.harness[0], r.system[0]]).toEqual(["[10000, 910000) v0/t0", "[20000, 920000) v0/t0"])
  })

  it("4. two releases on one VCPU at the same instant: the System invokes the scheduler at the first, the harness after both", () => {
    // t0's 1 ns job recurs every 100 µs; t1's only job is released with t0's second. The harness
    // queues both, then its one invocation keeps t0 (its quantum is not used up, S3); the System
    // dispatches t1 as soon as it wakes (the idle PCPU is preempted) and t0 comes next.
    const spec: Workload.PcpuSpec = {
      vcpus: [{ budgetNs: 10 * US, periodNs: 1 * MS }],
      threads: [
        { vcpu: 0, arrivals: { kind: "sporadic", minInterArrivalNs: 100 * US, maxExtraNs: 0, offsetNs: 1 }, job: [{ compute: 1 }] },
        { vcpu: 0, arrivals: { kind: "explicit", releasesNs: [100 * US + 1] }, job: [{ compute: 1 }] },
      ],
    }
    const r = expectDiffer("events at the same instant", spec)
    expect(r.coincidences).toBe(1)
    expect([r.harness[1], r.system[1]]).toEqual(["[100001, 100002) v0/t0", "[100001, 100002) v0/t1"])
  })
})
