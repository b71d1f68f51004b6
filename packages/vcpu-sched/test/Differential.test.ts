/**
 * Differential test: the single-PCPU harness (src/) against the reference scheduler and simulator
 * (test/reference/, written again from spec §B–§C with plain arrays and no shared code), on random
 * specs covering every arrival kind, I/O, sleeps, `maxRepl` 1–32, δ, overheads, interrupt top halves,
 * both timer settings, equal periods and both Main-VCPU policies. At every scheduler invocation the
 * decision and the whole scheduler state (R, budgets, replenishment lists, PIBS state, thread
 * queues) must be equal; then the executed segments and the completed jobs.
 *
 * Long runs: `npm run campaign -- scheduler --runs 100000` (scripts/campaign/scheduler.ts).
 * The property is shown to catch deliberately broken variants of the rules it guards (below).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MainVcpu } from "../src/MainVcpu.ts"
import { PcpuScheduler } from "../src/PcpuScheduler.ts"
import type { SchedulerOptionsInput } from "../src/Options.ts"
import type { MainVcpuOptions } from "../src/MainVcpu.ts"
import type { VcpuSpec } from "../src/Workload.ts"
import { caseJson, diffCases, differ, srcHasTies, type DiffCase } from "./differential.ts"
import type { Ties } from "./reference/Scheduler.ts"
import { hookCases, hookDiffer } from "./hookDifferential.ts"
import { PROP_SCALE } from "./support.ts"

/** Asserts no difference over `runs` cases, printing the shrunk case and the first differing decision. */
const assertAgree = (arb: fc.Arbitrary<DiffCase>, runs: number): void => {
  const r = fc.check(fc.property(arb, (c) => differ(c) === null), { numRuns: runs * PROP_SCALE })
  if (r.failed) {
    const c = r.counterexample![0]
    throw new Error(`harness and reference differ (seed ${r.seed}, shrunk ${r.numShrinks} times)\ncase: ${caseJson(c)}\n${differ(c)}`)
  }
}

describe("harness = reference at every scheduler decision", () => {
  it(`300 random specs, ties ${srcHasTies ? "rotating and by declaration" : "rotating (src has no 'ties' option yet)"}`, () => {
    assertAgree(diffCases({ ties: srcHasTies ? fc.constantFrom<Ties>("rotate", "declaration") : fc.constant<Ties>("rotate") }), 300)
  })
  it("EDF (scheduler.priority 'edf'): 300 random specs, relative deadlines D ≤ T, both tie rules", () => {
    assertAgree(diffCases({ ties: fc.constantFrom<Ties>("rotate", "declaration"), priority: fc.constant("edf") }), 300)
  })
})

// ------------------------------------------------------------------ broken variants

type Make = (o: SchedulerOptionsInput) => { makeVcpu?: (i: number, v: VcpuSpec) => MainVcpu | undefined; scheduler?: PcpuScheduler }

/** Finds a case where the harness, built with `make`, differs from the reference; returns the report. */
const findDifference = (make: Make, runs: number, arb = diffCases()): string | null => {
  const r = fc.check(fc.property(arb, (c) => differ(c, make(c.spec.options ?? {})) === null), { numRuns: runs, endOnFailure: true })
  return r.failed ? `seed ${r.seed}: ${differ(r.counterexample![0], make(r.counterexample![0].spec.options ?? {}))}` : null
}

/** Builds every sporadic-server Main VCPU with `ctor` (a broken variant), the rest as usual. */
const mainVcpu = (ctor: new (C: number, T: number, t0: number, o: MainVcpuOptions) => MainVcpu): Make => (o) => ({
  makeVcpu: (_i, v) => (v.kind === "io" || (v.policy ?? o.policy ?? "sporadic") !== "sporadic" ? undefined
    : new ctor(v.budgetNs, v.periodNs, 0, { maxRepl: o.maxRepl ?? 32, splitAdvancesHead: o.splitAdvancesHead ?? false, rule: o.priority ?? "rm", deadlineNs: v.deadlineNs ?? v.periodNs })),
})

/** Broken SS6: the merge test forgets the used part (`second.t ≤ now + head.b`, no `− u`). */
class MergeForgetsUsage extends MainVcpu {
  override unblock(nowNs: number): void {
    if (!(this.capacity(nowNs) > 0)) return
    const used = this.usedNs
    this.usedNs = 0
    super.unblock(nowNs)
    this.usedNs = used
  }
}

/** Broken SS3: the scheduler overhead is not charged (Δ measured from the thread's start, not from the invocation). */
const chargesFromDispatch = (overheadNs: number) => class extends MainVcpu {
  override endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void {
    super.endTimeslice(Math.max(0, deltaNs - overheadNs), nowNs, runnable)
  }
}

/** Broken EDF: a sporadic server's deadline never moves on from its first, `D` (deadline-monotonic order, not EDF). */
class DeadlineNeverAdvances extends MainVcpu {
  protected override setPeriodStart(_startNs: number): void {}
}

/** Broken EDF S2: takes a VCPU on the priority it had before its refresh (a refresh can move its deadline later). */
class SelectsOnStalePriority extends PcpuScheduler {
  protected override select(): number {
    const nowNs = this.invocationNs()
    let best = -1, bestP = Infinity
    for (const v of this.runnableList()) {
      const vcpu = this.vcpus[v]!
      const p = vcpu.priority
      if (p < bestP || (this.options.ties === "declaration" && p === bestP && v < best)) {
        vcpu.refresh(nowNs)
        if (vcpu.budgetNs > 0) { best = v; bestP = p }
      }
    }
    return best
  }
}

/** Broken W1: a woken VCPU with budget also preempts a running VCPU of EQUAL period. */
class PreemptsEqual extends PcpuScheduler {
  override wakeup(thread: number, nowNs: number): boolean {
    const r = super.wakeup(thread, nowNs)
    const v = this.vcpus[this.vcpuOf(thread)]!
    const cur = this.currentVcpu
    return r || (cur >= 0 && cur !== this.vcpuOf(thread) && !this.currentBackground && v.budgetNs > 0 && this.vcpus[cur]!.periodNs === v.periodNs)
  }
}

describe("the differential property catches deliberately broken variants", () => {
  it("budget charged for the wrong interval (from the thread's start, without the scheduler overhead)", () => {
    const m = findDifference((o) => mainVcpu(chargesFromDispatch(o.schedOverheadNs ?? 0))(o), 900)
    expect(m).not.toBeNull()
  })
  it("EDF: a sporadic server's deadline that never advances (deadline-monotonic instead of EDF)", () => {
    const m = findDifference(mainVcpu(DeadlineNeverAdvances), 900, diffCases({ priority: fc.constant("edf") }))
    expect(m).not.toBeNull()
  })
  it("EDF: S2 choosing on the priority from before the refresh", () => {
    const m = findDifference((o) => ({ scheduler: new SelectsOnStalePriority(o) }), 900, diffCases({ priority: fc.constant("edf") }))
    expect(m).not.toBeNull()
  })
  it("a wakeup preempting an equal-priority VCPU", () => {
    const m = findDifference((o) => ({ scheduler: new PreemptsEqual(o) }), 900)
    expect(m).not.toBeNull()
  })
})

describe("one level down: random call sequences on one VCPU, src policy = reference policy after every call", () => {
  it("Main VCPU (quest and posixNaive) and PIBS, 3000 sequences", () => {
    const r = fc.check(fc.property(hookCases(), (c) => hookDiffer(c) === null), { numRuns: 3000 * PROP_SCALE })
    if (r.failed) throw new Error(`seed ${r.seed}: ${JSON.stringify(r.counterexample![0])}\n${hookDiffer(r.counterexample![0])}`)
  })
  it("catches the SS6 merge without the − u term (the whole-harness property reaches SS6 with u > 0 about once in 1000 specs)", () => {
    const r = fc.check(fc.property(hookCases(), (c) => hookDiffer(c, c.policy === "quest" ? () => new MergeForgetsUsage(c.C, c.T, 0, { maxRepl: c.maxRepl, splitAdvancesHead: c.splitAdvancesHead }) : undefined) === null), { numRuns: 9000, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})
