/**
 * The invariant checker (`Invariants.ts`) on the harness: it holds for random workloads under every
 * option (both tie rules, δ, overhead, the background band, the clamp), and each check catches a
 * deliberately broken scheduler, VCPU or driver. Plus the tie rule itself (§C.1 S2/W1), both values.
 */
import { Simulation } from "@qvsim/sim-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness, type HarnessOptions } from "../src/Harness.ts"
import { attach, InvariantError } from "../src/Invariants.ts"
import { IoVcpu } from "../src/IoVcpu.ts"
import { DeferrableServer } from "../src/DeferrableServer.ts"
import { MainVcpu } from "../src/MainVcpu.ts"
import * as Policy from "../src/Policy.ts"
import { PcpuScheduler, type Decision } from "../src/PcpuScheduler.ts"
import type { PcpuSpec } from "../src/Workload.ts"
import { MS, US, assertHolds, findViolation } from "./support.ts"

const UNIT = 100 * US
const HORIZON = 400 * UNIT

/** Runs `spec` with checking on; the violation's message, or null. */
const checked = (spec: PcpuSpec, options: HarnessOptions = {}, make?: (o: PcpuSpec["options"]) => PcpuScheduler): string | null => {
  try {
    new Harness(spec, { ...options, checkInvariants: true, ...(make === undefined ? {} : { scheduler: make(spec.options) }) }).run(HORIZON)
    return null
  } catch (e) {
    if (e instanceof Simulation.SimulationError) return e.message
    throw e
  }
}

const specs = (o: Partial<Parameters<typeof Arbitraries.pcpuSpec>[0]> = {}) =>
  Arbitraries.pcpuSpec({ unitNs: UNIT, mains: [1, 4], ios: [0, 2], options: Arbitraries.schedulerOptions({ latency: true, overhead: true }), ...o })

/** Equal periods are where the tie rules differ: half the VCPUs share one period. */
const tied = specs({ periodUnits: [20, 21] })

describe("the checker holds on the real scheduler", () => {
  it("for random workloads and options (both tie rules, δ, overhead, I/O, 1 ms rule on and off)", () => {
    assertHolds(specs(), (spec) => checked(spec), 150)
  })
  it("with many equal periods", () => {
    assertHolds(tied, (spec) => checked(spec), 100)
  })
  it("with the background band and the PIBS clamp", () => {
    const bg = specs({ ios: [1, 2] }).map((s): PcpuSpec => ({ ...s, options: { ...s.options, ioBackground: "belowAll", pibsClampOnInherit: true } }))
    assertHolds(bg, (spec) => checked(spec), 100)
  })
  it("with I/O top halves charged to the current VCPU", () => {
    assertHolds(specs({ ios: [1, 2] }), (spec) => checked(spec, { irqTopHalfNs: 7 * US }), 60)
  })
  for (const name of Policy.names()) {
    it(`for every registered policy (here ${name}) under both priority rules, its own option values, mixed with sporadic VCPUs`, () => {
      const policy = Policy.get(name)
      const arb = fc.record({ spec: specs(), own: Arbitraries.policyOptions(policy), priority: fc.constantFrom<"rm" | "edf">("rm", "edf"), which: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }) })
        .map(({ spec, own, priority, which }): PcpuSpec => ({
          ...spec,
          vcpus: spec.vcpus.map((v, i) => (v.kind === "io" || !which[i % 6] ? v : { ...v, policy: name })),
          options: { ...spec.options, ...own, priority },
        }))
      assertHolds(arb, (spec) => checked(spec), 60)
    })
  }
  it("names the PCPU, the VCPU, the time and the seed", () => {
    const spec: PcpuSpec = { vcpus: [{ name: "hi", budgetNs: 1 * MS, periodNs: 5 * MS }, { name: "lo", budgetNs: 1 * MS, periodNs: 10 * MS }], threads: [1, 0].map((v) => ({ vcpu: v, arrivals: { kind: "periodic", periodNs: 10 * MS }, job: [{ compute: 1 * MS }] })) }
    const m = checked(spec, { seed: 9, pcpu: 2 }, (o) => new IgnoresPriority(o))
    expect(m).toMatch(/^pcpu 2 VCPU lo \(index 1\): F2: VCPU 1 .* S2 \(ties: rotate\) selects VCPU 0 .*\(at t=0ns, event harness\.invoke, seed 9\)$/)
  })
})

// ------------------------------------------------------------------ deliberately broken variants

/** S2 broken: the first runnable VCPU with budget wins, whatever its period. */
class IgnoresPriority extends PcpuScheduler {
  protected override select(): number {
    const nowNs = this.invocationNs()
    for (const v of this.runnableList()) {
      const vcpu = this.vcpus[v]!
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) return v
    }
    return -1
  }
}

/** S2 broken for ties only: the later VCPU in R wins among equal periods (`≤` for `<`). */
class LastOfEqual extends PcpuScheduler {
  protected override select(): number {
    const nowNs = this.invocationNs()
    let best = -1, bestT = Infinity
    for (const v of this.runnableList()) {
      const vcpu = this.vcpus[v]!
      if (vcpu.periodNs <= bestT) {
        vcpu.refresh(nowNs)
        if (vcpu.budgetNs > 0) { best = v; bestT = vcpu.periodNs }
      }
    }
    return best
  }
}

/** W1 broken: a woken VCPU with budget also preempts an equal-priority one. */
class PreemptsEqual extends PcpuScheduler {
  protected override wake(thread: number, nowNs: number): boolean {
    const r = super.wake(thread, nowNs)
    const v = this.vcpuOf(thread), cur = this.currentVcpu
    return r || (cur >= 0 && cur !== v && this.vcpus[cur]!.periodNs === this.vcpus[v]!.periodNs && this.vcpus[v]!.budgetNs > 0)
  }
}

/** S4 broken: an idle PCPU programs no timer (forgets the 1 ms rule). */
class NoIdleTimer extends PcpuScheduler {
  override invoke(nowNs: number): Decision {
    const d = super.invoke(nowNs)
    if (d.vcpu < 0) d.timerAtNs = Infinity
    return d
  }
}

/** SS6 broken: the merged chunk loses the absorbed head's amount (a dropped term). */
class DropsMergeTerm extends MainVcpu {
  override unblock(nowNs: number): void {
    if (!(this.capacity(nowNs) > 0)) return
    this.setTimeAt(0, nowNs)
    while (this.count > 1 && this.timeAt(1) <= nowNs + this.amountAt(0) - this.usedNs) {
      this.removeHead()
      this.setTimeAt(0, nowNs)
    }
  }
}

/** P4 broken: eligibility is reset to now even while budgeted (it can go back). */
class ResetsEligibility extends IoVcpu {
  override unblock(nowNs: number): void {
    super.unblock(nowNs)
    this.eligibleNs = nowNs
  }
}

/** A driver that never invokes the scheduler on a preempting wakeup (waits for the timer). */
class Lazy extends Harness {
  protected override requestInvoke(): void {}
}

/** The property failed, and for the expected reason (not, say, a TypeError in the test). */
const caught = (r: { failed: boolean; errorInstance: unknown }, rule: RegExp): boolean => {
  if (!r.failed) return false
  const message = r.errorInstance instanceof Error ? r.errorInstance.message : String(r.errorInstance)
  expect(message).toMatch(rule)
  return true
}

/** Broken DS0: a wakeup in a later period restarts the periods at the wakeup (boundaries drift off s₀ + kT). */
class RestartsAtWakeup extends DeferrableServer {
  override unblock(nowNs: number): void {
    const before = this.periodStartNs
    super.unblock(nowNs)
    if (this.periodStartNs !== before) this.periodStartNs = nowNs
  }
}

describe("the checker catches", () => {
  it("a scheduler that ignores priority (F2)", () => {
    expect(caught(findViolation(specs(), (spec) => checked(spec, {}, (o) => new IgnoresPriority(o)), 300), /F2: VCPU \d+ .* S2 \(ties/)).toBe(true)
  })
  it("a scheduler that breaks ties the wrong way (F2, S2's `<` written `≤`)", () => {
    const r = findViolation(tied, (spec) => checked(spec, {}, (o) => new LastOfEqual(o)), 600)
    expect(caught(r, /F2: VCPU \d+ .* S2 \(ties/)).toBe(true)
  })
  it("a wakeup that preempts an equal-priority VCPU (W1)", () => {
    const rotate = tied.map((s): PcpuSpec => ({ ...s, options: { ...s.options, ties: "rotate" } }))
    const r = findViolation(rotate, (spec) => checked(spec, {}, (o) => new PreemptsEqual(o)), 600)
    expect(caught(r, /W1: the wakeup of thread \d+ .* asked for preemption of VCPU/)).toBe(true)
  })
  it("an idle PCPU that programs no timer (F10)", () => {
    const timed = specs({ options: Arbitraries.schedulerOptions().filter((o) => o.maxTimerIntervalNs !== Infinity) })
    expect(caught(findViolation(timed, (spec) => checked(spec, {}, (o) => new NoIdleTimer(o)), 300), /F10: the scheduler ran at \d+ns, \d+ns after its timer/)).toBe(true)
  })
  it("a driver that waits for the timer instead of invoking on a preempting wakeup (F9)", () => {
    const r = findViolation(specs(), (spec) => {
      try {
        new Lazy(spec, { checkInvariants: true }).run(HORIZON)
        return null
      } catch (e) {
        if (e instanceof Simulation.SimulationError) return e.message
        throw e
      }
    }, 900)
    expect(caught(r, /F9: a wakeup at \d+ns asked for preemption/)).toBe(true)
  })
  it("an SS6 merge that drops a term (F1)", () => {
    const r = findViolation(specs({ ios: [0, 0] }), (spec) => checked(spec, { makeVcpu: (_i, v) => (v.kind === "io" ? undefined : new DropsMergeTerm(v.budgetNs, v.periodNs, 0, { maxRepl: spec.options?.maxRepl ?? 32 })) }), 450)
    expect(caught(r, /F1: Σ Q = \d+ ≠ C/)).toBe(true)
  })
  it("a PIBS unblock that moves eligibility back (F7)", () => {
    const r = findViolation(specs({ ios: [1, 2] }), (spec) => checked(spec, { makeVcpu: (_i, v) => (v.kind === "io" ? new ResetsEligibility(v.budgetNs, v.periodNs) : undefined) }), 450)
    expect(caught(r, /F7: e went back/)).toBe(true)
  })
  it("a deferrable server whose periods restart at a wakeup (its own check, DS0)", () => {
    const drifting = specs().map((s): PcpuSpec => ({ ...s, vcpus: s.vcpus.map((v) => (v.kind === "io" ? v : { ...v, policy: "deferrable" })) }))
    const make = (i: number, v: { kind?: "main" | "io"; budgetNs: number; periodNs: number }) => (v.kind === "io" ? undefined : new RestartsAtWakeup({ budgetNs: v.budgetNs, periodNs: v.periodNs, deadlineNs: v.periodNs }, { rule: "rm", createdAtNs: 0 }))
    const r = findViolation(drifting, (spec) => checked(spec, { makeVcpu: make }), 300)
    expect(r.failed).toBe(true)
    expect(String(r.errorInstance)).toMatch(/DS0: period start \d+ is not s₀ \+ kT/)
  })
  it("each without the harness too: the default environment throws an InvariantError", () => {
    const s = new IgnoresPriority()
    attach(s)
    const lo = s.addMainVcpu(1 * MS, 10 * MS), hi = s.addMainVcpu(1 * MS, 5 * MS)
    s.wakeup(s.addThread(lo), 0)
    s.wakeup(s.addThread(hi), 0)
    expect(() => s.invoke(0)).toThrow(InvariantError)
  })
})

// ------------------------------------------------------------------ the tie rule

describe("ties (§C.1 S2, W1)", () => {
  const pair = (ties: "rotate" | "declaration"): PcpuSpec => ({
    vcpus: [{ budgetNs: 3 * MS, periodNs: 10 * MS }, { budgetNs: 3 * MS, periodNs: 10 * MS }],
    threads: [0, 1].map((v) => ({ vcpu: v, arrivals: { kind: "periodic", periodNs: 10 * MS }, job: [{ compute: 3 * MS }] }) as const),
    options: { ties },
  })
  const segs = (spec: PcpuSpec) => new Harness(spec, { checkInvariants: true }).run(10 * MS).schedule.segments().map((s) => [s.vcpu, s.start / MS, s.end / MS])

  it("rotate (Quest, the default): equal periods take turns at every invocation — 1 ms slices", () => {
    expect(segs(pair("rotate"))).toEqual([[0, 0, 1], [1, 1, 2], [0, 2, 3], [1, 3, 4], [0, 4, 5], [1, 5, 6]])
  })
  it("declaration: the smaller index runs to completion first (textbook fixed priority)", () => {
    expect(segs(pair("declaration"))).toEqual([[0, 0, 3], [1, 3, 6]])
  })
  it("W1: under declaration a woken equal-period VCPU of smaller index preempts; under rotate it does not", () => {
    for (const ties of ["rotate", "declaration"] as const) {
      const s = new PcpuScheduler({ ties })
      attach(s)
      const v0 = s.addMainVcpu(2 * MS, 10 * MS), v1 = s.addMainVcpu(2 * MS, 10 * MS)
      const t0 = s.addThread(v0), t1 = s.addThread(v1)
      expect(s.wakeup(t1, 0)).toBe(true)
      expect(s.invoke(0).vcpu).toBe(v1)
      expect(s.wakeup(t0, 100)).toBe(ties === "declaration")
      if (ties === "declaration") expect(s.invoke(100).vcpu).toBe(v0)
    }
  })
  it("both rules give the same schedule when all periods differ", () => {
    // (No I/O VCPUs: an inherited period can equal a Main VCPU's.)
    const distinct = specs({ ios: [0, 0] }).filter((s) => new Set(s.vcpus.map((v) => v.periodNs)).size === s.vcpus.length)
    fc.assert(fc.property(distinct, (spec) => {
      const run = (ties: "rotate" | "declaration") => new Harness({ ...spec, options: { ...spec.options, ties } }).run(HORIZON).schedule.segments()
      expect(run("declaration")).toEqual(run("rotate"))
    }), { numRuns: 60 })
  })
})
