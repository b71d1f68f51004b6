/**
 * The worked examples of spec §B.4 and §B.5 (experiment E7), and the classic rate-monotonic set, as
 * {@link PcpuSpec}s ready for the harness or a scenario.
 *
 * The spec counts in abstract units; here one unit is `unitNs` (default 1 ms). With the default
 * 1 ms timer rule and 1 unit = 1 ms, the scheduler also runs at every unit boundary; the traces are
 * the same with the rule relaxed (`timerRule: false` sets `maxTimerIntervalNs = Infinity`) because
 * a budget check only acts when the capacity is exhausted. Both are tested.
 *
 * @module
 */
import type { SchedulerOptionsInput } from "./Options.ts"
import * as Policy from "./Policy.ts"
import type { PcpuSpec } from "./Workload.ts"

export interface ExampleOptions {
  /** The Main VCPUs' policy: `'sporadic'` (corrected, §B.3; also the deprecated `'quest'`) or `'posixNaive'` (§B.1). */
  readonly policy: string
  /** One abstract unit in ns (default 1 ms). */
  readonly unitNs?: number
  /** Keep the 1 ms timer rule (`maxTimerIntervalNs` = 1 ms, default) or relax it (Infinity). */
  readonly timerRule?: boolean
  /** Further scheduler options. */
  readonly options?: SchedulerOptionsInput
}

const UNIT = 1_000_000

const schedulerOptions = (o: ExampleOptions, extra: SchedulerOptionsInput): SchedulerOptionsInput => ({
  policy: Policy.fromSsPolicy(o.policy),
  ...(o.timerRule === false ? { maxTimerIntervalNs: Infinity } : {}),
  ...extra,
  ...o.options,
})

/**
 * §B.4 worked example 1 (budget amplification): one server `C = 4, T = 10`, enforcement latency
 * `δ = 1`; runnable from 0, blocked during `[2, 5)`, otherwise always has work (its second
 * computation is 10^6 units long). VCPU 0, thread 0.
 */
export const ssAmplification = (o: ExampleOptions): PcpuSpec => {
  const u = o.unitNs ?? UNIT
  return {
    vcpus: [{ kind: "main", name: "S", budgetNs: 4 * u, periodNs: 10 * u }],
    threads: [{
      vcpu: 0,
      name: "server",
      arrivals: { kind: "explicit", releasesNs: [0] },
      job: [{ compute: 2 * u }, { sleep: 3 * u }, { compute: 1_000_000 * u }],
    }],
    options: schedulerOptions(o, { enforcementLatencyNs: u }),
  }
}

/**
 * §B.5 worked example 2 (premature replenishment): server S `C = 4, T = 10` (VCPU 0, thread 0) gets
 * 3 units of work at 0 and 10 units at 8; H `T = 5` (VCPU 1, thread 1; `C = 4`, the spec leaves it
 * open: any `C ≥ 4` gives the same trace) gets 4 units at 8. No enforcement latency.
 */
export const prematureReplenishment = (o: ExampleOptions): PcpuSpec => {
  const u = o.unitNs ?? UNIT
  return {
    vcpus: [
      { kind: "main", name: "S", budgetNs: 4 * u, periodNs: 10 * u },
      { kind: "main", name: "H", budgetNs: 4 * u, periodNs: 5 * u },
    ],
    threads: [
      { vcpu: 0, name: "S", arrivals: { kind: "explicit", releasesNs: [0, 8 * u] }, job: [], jobs: [[{ compute: 3 * u }], [{ compute: 10 * u }]] },
      { vcpu: 1, name: "H", arrivals: { kind: "explicit", releasesNs: [8 * u] }, job: [{ compute: 4 * u }] },
    ],
    options: schedulerOptions(o, {}),
  }
}
