/**
 * Experiment E7 (spec §B.4, §B.5; ours, not in the paper): the sporadic-server defects of naive
 * POSIX `SCHED_SPORADIC` against Quest's corrected algorithm, on the worked examples run through
 * the vcpu-sched single-PCPU harness (1 unit = 1 ms, the 1 ms timer rule on).
 *
 * - Example 1 (budget amplification, `C = 4, T = 10, δ = 1`): units executed over 200 units, the
 *   share after t = 25 and the worst window of length `T`, per policy.
 * - Example 2 (premature replenishment): the schedule as a unit string per policy and the pending
 *   replenishments right after S exhausts its budget at t = 16.
 *
 * These are not Quest-V systems, so the experiment has no variants: it computes its result with
 * `compute` (the harness runs are tiny; `scale` does not change them).
 *
 * @module
 */
import { Examples, Harness, MainVcpu, Schedule, type Options, type Workload } from "@qvsim/vcpu-sched"
import { defineDomain } from "../robust/Domain.ts"
import { defineExperiment, type Claim, type ExperimentResult } from "./Experiment.ts"

const UNIT = 1_000_000
const POLICIES = ["posixNaive", "quest"] as const
type Policy = (typeof POLICIES)[number]
const LABEL: Record<Policy, string> = { posixNaive: "naive POSIX", quest: "corrected (Quest)" }

/** One harness run of a worked example: the schedule and the replenishment queue after each invocation (units). */
export interface ExampleRun {
  readonly policy: Policy
  readonly schedule: Schedule.Schedule
  /** Queue of VCPU 0 (`t:b, …` in units) after the scheduler invocation at each unit time. */
  readonly queues: ReadonlyMap<number, string>
}

/** Runs a worked example's spec for `units` units. */
export const runExample = (spec: Workload.PcpuSpec, policy: Policy, units: number, checkInvariants = false): ExampleRun => {
  const queues = new Map<number, string>()
  const h = new Harness.Harness(spec, {
    checkInvariants,
    onInvoke: (harness, now) => {
      const v = harness.sched.vcpus[0] as unknown as { replenishments(): Array<[number, number]> }
      queues.set(now / UNIT, MainVcpu.queueString(v, UNIT))
    },
  })
  h.run(units * UNIT)
  return { policy, schedule: h.schedule, queues }
}

/** The four runs of E7: example 1 and 2 under each policy. */
export interface SsRuns {
  readonly amplification: readonly ExampleRun[]
  readonly premature: readonly ExampleRun[]
}

export const ssRuns = (options: Partial<Options.SchedulerOptions> = {}, checkInvariants = false): SsRuns => ({
  amplification: POLICIES.map((policy) => runExample(Examples.ssAmplification({ policy, unitNs: UNIT, options }), policy, 200, checkInvariants)),
  premature: POLICIES.map((policy) => runExample(Examples.prematureReplenishment({ policy, unitNs: UNIT, options }), policy, 40, checkInvariants)),
})

const C = 4, T = 10, DELTA = 1

/** Tables and claims from the four runs (exported so tests can feed broken runs). */
export const analyseSs = (r: SsRuns): ExperimentResult => {
  const ex1 = r.amplification.map((run) => {
    const iv = run.schedule.intervalsOf(0)
    return {
      policy: run.policy,
      executed: run.schedule.executionOf(0, 0, 200 * UNIT) / UNIT,
      after25: run.schedule.executionOf(0, 25 * UNIT, 200 * UNIT) / UNIT,
      worstWindow: Schedule.maxExecutionInWindow(iv, T * UNIT) / UNIT,
      // The pending replenishments (time:units) after the last scheduler invocation at or before t = 100.
      queue100: [...run.queues.entries()].filter(([t]) => t <= 100).sort((a, b) => a[0] - b[0]).at(-1)?.[1] ?? "",
    }
  })
  const ex2 = r.premature.map((run) => ({
    policy: run.policy,
    units: Schedule.unitString(run.schedule, UNIT, run.policy === "quest" ? 31 : 30, ["S", "H"]),
    at16: run.queues.get(16) ?? "",
  }))
  const naive1 = ex1.find((e) => e.policy === "posixNaive")!
  const quest1 = ex1.find((e) => e.policy === "quest")!
  const naive2 = ex2.find((e) => e.policy === "posixNaive")!
  const quest2 = ex2.find((e) => e.policy === "quest")!
  const entries = (q: string): string[] => (q === "" ? [] : q.split(", "))
  /** A queue (`MainVcpu.queueString`: `time:units, ...`) as a list cell of `[time, units]` pairs. */
  const pairs = (q: string): Array<[number, number]> => entries(q).map((e) => e.split(":").map(Number) as [number, number])
  const claims: Claim[] = [
    {
      text: "Budget amplification: the naive server's share grows to 100 % after t = 25 (instead of C/T = 40 %)",
      holds: naive1.after25 === 175,
      detail: `naive: ${naive1.after25} of 175 units in [25, 200), ${naive1.executed} of 200 in all, worst window of T = ${naive1.worstWindow}`,
    },
    {
      text: `The corrected server never runs more than C + δ = ${C + DELTA} units in any window of length T = ${T}`,
      holds: quest1.worstWindow <= C + DELTA,
      detail: `corrected: worst window ${quest1.worstWindow}, ${quest1.executed} of 200 units (${(quest1.executed / 2).toFixed(1)} %)`,
    },
    {
      text: "Premature replenishment: the naive server gets one replenishment of 4 units at t = 18 (the 3 units available since 10 come back after 8)",
      holds: entries(naive2.at16).includes("18:4") && naive2.units === "SSS.....HHHHSSSS..SSSS......SS",
      detail: `naive: pending after the exhaustion at 16 = [${naive2.at16}], schedule ${naive2.units}`,
    },
    {
      text: "The corrected server gets 1 unit back at t = 18 and 3 units at t = 20 (each chunk one full period after it became eligible)",
      holds: entries(quest2.at16).includes("18:1") && entries(quest2.at16).includes("20:3") && quest2.units === "SSS.....HHHHSSSS..S.SSS.....S.S",
      detail: `corrected: queue after the exhaustion at 16 = [${quest2.at16}], schedule ${quest2.units}`,
    },
  ]
  return {
    tables: [
      {
        id: "worked_example_1_amplification",
        title: "Worked example 1 (budget amplification, C = 4, T = 10, δ = 1): execution over 200 units",
        columns: ["policy", "executed units / 200", "share %", "units in [25, 200)", "worst window of T", "replenishments pending at t ≤ 100 (time:units)"],
        rows: ex1.map((e) => ({
          policy: LABEL[e.policy],
          "executed units / 200": e.executed,
          "share %": Math.round((e.executed / 200) * 1000) / 10,
          "units in [25, 200)": e.after25,
          "worst window of T": e.worstWindow,
          "replenishments pending at t ≤ 100 (time:units)": pairs(e.queue100),
        })),
      },
      {
        id: "worked_example_2_premature_replenishment",
        title: "Worked example 2 (premature replenishment): schedule per unit (S, H, idle .) and replenishments after S exhausts at t = 16",
        columns: ["policy", "schedule", "pending replenishments at t = 16 (time:units)"],
        rows: ex2.map((e) => ({ policy: LABEL[e.policy], schedule: e.units, "pending replenishments at t = 16 (time:units)": pairs(e.at16) })),
      },
    ],
    claims,
  }
}

export const ssDefects = defineExperiment({
  name: "ss-defects",
  description: "Sporadic-server defects (budget amplification, premature replenishment): the worked examples under naive POSIX and Quest's corrected rules, on the single-PCPU scheduler harness (1 unit = 1 ms)",
  source: "spec §B.4, §B.5; experiment E7 (ours)",
  seed: 1,
  variants: [],
  // No systems: a caller that only knows `analyse` gets the same (deterministic) result.
  analyse: () => analyseSs(ssRuns()),
  compute: (_seed, _scale, o) => analyseSs(ssRuns({}, o?.checkInvariants ?? false)),
  domain: defineDomain({
    seeds: [1],
    seedsReason: "the worked examples draw nothing at random and have no assumed constant (units of the spec's examples): one run is the whole domain; the claims are statements about these two schedules",
  }),
  inputs: [
    { name: "example 1 server", value: "C = 4, T = 10, δ = 1 (units)", source: "spec §B.4 (budget amplification)" },
    { name: "example 2 schedule", value: "the spec's arrivals of S and H", source: "spec §B.5 (premature replenishment)" },
    { name: "unit", value: 1, unit: "ms", source: "ours (the 1 ms timer rule applies per unit)" },
  ],
})
