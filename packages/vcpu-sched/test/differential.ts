/**
 * The differential check between the single-PCPU harness (src/) and the reference simulator
 * (test/reference/, written again from the spec): both run the same spec and seed; at every
 * scheduler invocation the decision (VCPU, thread, start, timer, budget, background) and the whole
 * scheduler state (R in order; per VCPU its budget, replenishment list or PIBS state, and its thread
 * queue) must be equal, and so must the executed segments and the completed jobs.
 *
 * Also the random spec generator the property and the campaign share: every arrival kind, I/O,
 * sleeps, `maxRepl` 1–32, δ, overheads, both timer settings, equal periods (ties), both Main-VCPU
 * policies (scenario-wide and per VCPU), PIBS clamp and background band, interrupt top halves, and
 * both priority rules (`'edf'` with relative deadlines `D ≤ T`).
 */
import fc from "fast-check"
import * as Arbitraries from "../src/Arbitraries.ts"
import { Harness, type HarnessOptions } from "../src/Harness.ts"
import { IoVcpu } from "../src/IoVcpu.ts"
import { MainVcpu } from "../src/MainVcpu.ts"
import { defaults, type SchedulerOptions } from "../src/Options.ts"
import type { PcpuScheduler } from "../src/PcpuScheduler.ts"
import { PosixSporadicServer } from "../src/PosixSporadicServer.ts"
import type { PcpuSpec, VcpuSpec } from "../src/Workload.ts"
import type { Ties } from "./reference/Scheduler.ts"
import { RefSimulator } from "./reference/Simulator.ts"

const US = 1_000

/** One spec with everything the two runs need. */
export interface DiffCase {
  readonly spec: PcpuSpec
  readonly seed: number
  readonly horizonNs: number
  readonly irqTopHalfNs: number
  readonly ties: Ties
}

/** The src scheduler's state in the reference's notation (see `RefScheduler.describe`). */
export const describeSrc = (s: PcpuScheduler): string => {
  const parts = s.vcpus.map((v, i) => {
    let body: string
    if (v instanceof MainVcpu) body = `b=${v.budgetNs} u=${v.usedNs} Q=[${v.replenishments().map(([t, b]) => `${t}:${b}`).join(",")}]`
    else if (v instanceof PosixSporadicServer) body = `b=${v.budgetNs} cap=${v.capacityNs} active=${v.active} act=${v.activatedAtNs} consumed=${v.consumedNs} P=[${v.replenishments().map(([t, b]) => `${t}:${b}`).join(",")}]`
    else if (v instanceof IoVcpu) body = `T=${v.periodNs} b=${v.budgetNs} u=${v.usedNs} e=${v.eligibleNs} r=${v.hasRepl ? `${v.replTimeNs}:${v.replBudgetNs}` : "-"} budgeted=${v.budgeted}`
    else body = `?`
    return `v${i}{${body} q=[${s.queuedThreads(i).join(",")}]}`
  })
  return `R=[${s.runnableList().join(",")}] ${parts.join(" ")}`
}

const line = (t: number, vcpu: number, thread: number, runFrom: number, timerAt: number, budget: number, bg: boolean, state: string) =>
  `t=${t} run v${vcpu}/th${thread} from ${runFrom} timer ${timerAt} b=${budget}${bg ? " (background)" : ""} | ${state}`

const jobLine = (thread: number, job: number, release: number, firstStart: number, complete: number, preemptions: number) =>
  `th${thread} job ${job} released ${release} first ran ${firstStart} done ${complete} preempted ${preemptions}×`

export interface DiffRun {
  readonly decisions: string[]
  readonly segments: string[]
  readonly jobs: string[]
}

/** Thrown inside the harness run at the first decision that differs from the expected one. */
class Stop extends Error {}

/**
 * Runs the harness, recording every decision; with `expected`, stops at the first decision that
 * differs from it (or goes past its end), so a broken variant that loops cannot exhaust memory.
 * `options` lets tests inject broken variants.
 */
export const runHarness = (c: DiffCase, options: HarnessOptions = {}, expected?: readonly string[]): DiffRun => {
  const decisions: string[] = []
  // The tie rule goes to src as the scheduler option `ties` (the default, 'rotate', is left out).
  const spec: PcpuSpec = c.ties === "rotate" ? c.spec : { ...c.spec, options: { ...c.spec.options, ties: c.ties } as Partial<SchedulerOptions> }
  const h = new Harness(spec, {
    ...options,
    seed: c.seed,
    recordJobs: true,
    irqTopHalfNs: c.irqTopHalfNs,
    onInvoke: (harness, now) => {
      const d = harness.sched.decision
      const text = line(now, d.vcpu, d.thread, d.runFromNs, d.timerAtNs, d.budgetNs, d.background, describeSrc(harness.sched))
      decisions.push(text)
      if (expected !== undefined && expected[decisions.length - 1] !== text) throw new Stop()
    },
  })
  try {
    h.run(c.horizonNs)
  } catch (e) {
    if (!(e instanceof Stop)) throw e
    return { decisions, segments: [], jobs: [] }
  }
  return {
    decisions,
    segments: h.schedule.segments().map((s) => `[${s.start}, ${s.end}) v${s.vcpu}/th${s.thread}`),
    jobs: [...h.jobs, ...h.ioJobs].map((j) => jobLine(j.thread, j.job, j.releaseNs, j.firstStartNs, j.completeNs, j.preemptions)),
  }
}

export const runReference = (c: DiffCase): DiffRun => {
  const r = new RefSimulator(c.spec, { seed: c.seed, irqTopHalfNs: c.irqTopHalfNs, ties: c.ties }).run(c.horizonNs)
  return {
    decisions: r.observations.map((o) => line(o.t, o.decision.vcpu, o.decision.thread, o.decision.runFrom, o.decision.timerAt, o.decision.budget, o.decision.background, o.state)),
    segments: r.segments.map((s) => `[${s.start}, ${s.end}) v${s.vcpu}/th${s.thread}`),
    jobs: [...r.jobs, ...r.ioJobs].map((j) => jobLine(j.thread, j.job, j.release, j.firstStart, j.complete, j.preemptions)),
  }
}

/** The first difference between two runs (with the decision before it), or null. */
export const firstDifference = (src: DiffRun, ref: DiffRun): string | null => {
  const cmp = (what: string, a: string[], b: string[], context: boolean): string | null => {
    const n = Math.max(a.length, b.length)
    for (let i = 0; i < n; i++) {
      if (a[i] !== b[i]) {
        const before = context && i > 0 ? `\n  previous:  ${a[i - 1]}` : ""
        return `first differing ${what} #${i}:${before}\n  src:       ${a[i] ?? "(none)"}\n  reference: ${b[i] ?? "(none)"}`
      }
    }
    return null
  }
  return cmp("decision", src.decisions, ref.decisions, true) ?? cmp("segment", src.segments, ref.segments, false) ?? cmp("job", src.jobs, ref.jobs, false)
}

/** Runs the reference, then the harness against it: the first difference (or null) and the decisions compared. */
export const compareCase = (c: DiffCase, options: HarnessOptions = {}): { readonly difference: string | null; readonly decisions: number } => {
  const ref = runReference(c)
  const src = runHarness(c, options, ref.decisions)
  return { difference: firstDifference(src, ref), decisions: src.decisions.length }
}

/** The first difference between the harness and the reference on `c`, or null. */
export const differ = (c: DiffCase, options: HarnessOptions = {}): string | null => compareCase(c, options).difference

/** Whether src/ knows the `ties` option (a scheduler option since issue 9); the tie rule is then compared under both values. */
export const srcHasTies: boolean = "ties" in defaults

// ------------------------------------------------------------------ random cases

const UNIT = 100 * US

/** Scheduler options: every knob, with the spec's defaults among the values. */
export const diffOptions = (): fc.Arbitrary<Partial<SchedulerOptions>> =>
  fc.record({
    policy: fc.constantFrom("sporadic", "sporadic", "sporadic", "posixNaive"),
    maxRepl: fc.oneof(fc.constantFrom(1, 2, 3, 32), fc.integer({ min: 1, max: 32 })),
    splitAdvancesHead: fc.boolean(),
    enforcementLatencyNs: fc.constantFrom(0, 0, 1, 999, 50 * US, 300 * US),
    schedOverheadNs: fc.constantFrom(0, 0, 1, 2 * US, 150 * US),
    maxTimerIntervalNs: fc.constantFrom(1_000_000, 1_000_000, Infinity, 250 * US),
    timerTickNs: fc.constantFrom(1, 1, 10 * US),
    quantumNs: fc.constantFrom(1_000_000, 300 * US),
    rearmOnBudgetlessWakeup: fc.boolean(),
    pibsClampOnInherit: fc.boolean(),
    ioBackground: fc.constantFrom<SchedulerOptions["ioBackground"]>("none", "none", "belowAll"),
  })

/**
 * Random cases. Periods are drawn from a small set half of the time so that equal periods (ties)
 * are common; budgets and I/O VCPUs as in `Arbitraries.pcpuSpec`.
 */
export const diffCases = (o: { readonly ties?: fc.Arbitrary<Ties>; readonly priority?: fc.Arbitrary<"rm" | "edf"> } = {}): fc.Arbitrary<DiffCase> =>
  fc.record({
    base: Arbitraries.pcpuSpec({ unitNs: UNIT, mains: [1, 4], ios: [0, 2], threadsPerVcpu: [1, 2], periodUnits: [10, 100], horizonUnits: 600, options: diffOptions() }),
    tiePeriods: fc.boolean(),
    periodSet: fc.array(fc.constantFrom(20, 25, 40, 50, 100), { minLength: 6, maxLength: 6 }),
    seed: fc.nat(1_000_000),
    irqTopHalfNs: fc.constantFrom(0, 0, 0, 20 * US),
    ties: o.ties ?? fc.constant<Ties>("rotate"),
    priority: o.priority ?? fc.constant<"rm" | "edf">("rm"),
    // Per Main VCPU: its own policy half of the time, and (EDF) a relative deadline D = T or less.
    ownPolicy: fc.array(fc.constantFrom<string | undefined>(undefined, undefined, "sporadic", "posixNaive"), { minLength: 6, maxLength: 6 }),
    deadlinePerMille: fc.array(fc.oneof(fc.constant(1000), fc.integer({ min: 1, max: 1000 })), { minLength: 6, maxLength: 6 }),
  }).map(({ base, tiePeriods, periodSet, seed, irqTopHalfNs, ties, priority, ownPolicy, deadlinePerMille }): DiffCase => {
    const vcpus: VcpuSpec[] = (tiePeriods
      ? base.vcpus.map((v, i) => {
          const T = periodSet[i % periodSet.length]! * UNIT
          return { ...v, periodNs: T, budgetNs: Math.max(1, Math.min(T, Math.round((v.budgetNs / v.periodNs) * T))) }
        })
      : [...base.vcpus]).map((v, i) => {
        if (v.kind === "io") return v
        const p = ownPolicy[i % 6], D = Math.max(1, Math.floor((v.periodNs * deadlinePerMille[i % 6]!) / 1000))
        return { ...v, ...(p === undefined ? {} : { policy: p }), ...(priority === "edf" && D !== v.periodNs ? { deadlineNs: D } : {}) }
      })
    const options = priority === "rm" ? base.options : { ...base.options, priority }
    return { spec: { ...base, vcpus, ...(options === undefined ? {} : { options }) }, seed, horizonNs: 600 * UNIT, irqTopHalfNs, ties }
  })

/** A case as replayable JSON (Infinity written as a string). */
export const caseJson = (c: DiffCase): string => JSON.stringify(c, (_k, v) => (v === Infinity ? "Infinity" : v))
