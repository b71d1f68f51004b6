/**
 * Scheduler options: every constant of spec §B–§C and §D.12 that concerns VCPU scheduling, named,
 * documented, with the spec's (Quest-faithful) default.
 *
 * Invariants: {@link resolveOptions} returns a complete, frozen record whose durations are
 * non-negative safe integers (ns) or `Infinity` where documented; it refuses anything else, and any
 * name that is not an option (a typo must not pass silently), with an error naming the option and
 * the bad value. `policy` must be a registered policy (`Policy.ts`) when the options are resolved.
 * The deprecated `ssPolicy` is read as `policy` (`'quest'` = `'sporadic'`) and is not in the
 * resolved record.
 *
 * @module
 */
import { Objects } from "@qvsim/sim-core"
import "./BuiltinPolicies.ts"
import * as Policy from "./Policy.ts"
import type { PriorityRule } from "./Vcpu.ts"

/**
 * The deprecated option `ssPolicy` (use `policy`): `'quest'` is the policy `'sporadic'`,
 * `'posixNaive'` the policy of that name.
 */
export type SsPolicy = "quest" | "posixNaive"

/** §C.2 P7: whether a depleted I/O VCPU may run in a background band below every VCPU with budget. */
export type IoBackground = "none" | "belowAll"

/**
 * §C.1 S2: how VCPUs of equal period are ordered. `'rotate'` (Quest) = the runnable list's order:
 * a VCPU joins the tail of `R` when it becomes runnable and, once dispatched with no other queued
 * thread, leaves `R` and rejoins at the tail when its thread is re-queued (W2), so equal-period
 * VCPUs take turns at every invocation (with the 1 ms timer rule: 1 ms slices). `'declaration'` =
 * the smaller VCPU index first (textbook fixed priority, SimSo): a distinct priority per VCPU.
 */
export type Ties = "rotate" | "declaration"

export interface SchedulerOptions {
  /**
   * The policy of every Main VCPU that does not name its own (a registered name, `Policy.names()`).
   * Default `'sporadic'` (§D.12 `ssPolicy: 'quest'`).
   */
  readonly policy: string
  /**
   * How the PCPU orders VCPUs: `'rm'` (default, Quest: by period) or `'edf'` (by each VCPU's
   * current absolute deadline; see `Vcpu.ts`).
   */
  readonly priority: PriorityRule
  /** Replenishment-queue capacity per Main VCPU (§B.3 `MAX_REPL`, §D.12 `maxRepl`). Default 32; ≥ 1. */
  readonly maxRepl: number
  /** §B.3 SS5 variant: the remnant's time advances by the used amount (seL4 style). Default false (Quest). */
  readonly splitAdvancesHead: boolean
  /**
   * Enforcement latency δ, ns (§D.12 `enforcementLatency`): when the one-shot timer is programmed
   * to fire at or after the moment the chosen VCPU's budget runs out, it fires δ later, so the VCPU
   * keeps the CPU δ longer than its budget allows. Default 0.
   */
  readonly enforcementLatencyNs: number
  /** §C.2 P7 background band for depleted I/O VCPUs. Default `'none'`. */
  readonly ioBackground: IoBackground
  /** §C.2 deviation fix: clamp PIBS `b` and `r.b` to `U·T_current` at every refresh. Default false (code-faithful). */
  readonly pibsClampOnInherit: boolean
  /**
   * Scheduler overhead per invocation, ns (§D.12 `schedOverhead`): the chosen thread starts this
   * long after the invocation; the time is charged to the chosen VCPU (its timeslice starts at the
   * invocation). Default 0.
   */
  readonly schedOverheadNs: number
  /** Round-robin quantum of threads inside a VCPU, ns of the VCPU's own execution (§C.1 S3). Default 1 ms. */
  readonly quantumNs: number
  /**
   * Upper clamp of the one-shot timer, ns (§C.1 S4, `QUANTUM_HZ = 1000`): the scheduler runs at least
   * this often, busy or idle. Default 1 ms. `Infinity` disables the rule (the timer then fires only for
   * budgets and replenishments; an idle PCPU with nothing pending programs no timer).
   */
  readonly maxTimerIntervalNs: number
  /** Lower clamp of the one-shot timer, ns: one LAPIC timer tick (§C.1 S4). Default 1 ns (exact timing). */
  readonly timerTickNs: number
  /**
   * Idealisation, not in Quest: a wakeup that cannot preempt only because the woken VCPU has no
   * budget yet (or whose period equals the current VCPU's, whose turn may come next) still asks for
   * an immediate invocation, so the timer is re-armed for its next replenishment. Quest (default
   * false) waits for the already-programmed timer (≤ 1 ms).
   */
  readonly rearmOnBudgetlessWakeup: boolean
  /**
   * Equal periods (§C.1 S2, W1): `'rotate'` (default, Quest: `kernel/sched/vcpu.c` on `intel_branch`
   * keeps one FIFO runnable list, `vcpu_queue_append` at the tail, ties to the earlier position,
   * and the LAPIC timer handler re-queues the running task at the back) or `'declaration'` (the
   * smaller VCPU index wins and a woken VCPU preempts an equal-period VCPU of larger index).
   */
  readonly ties: Ties
}

const NS_PER_MS = 1_000_000

/** Scheduler options as a caller gives them: any subset, and the deprecated `ssPolicy`. */
export type SchedulerOptionsInput = { readonly [K in keyof SchedulerOptions]?: SchedulerOptions[K] | undefined } & {
  /** @deprecated use `policy` (`'quest'` = `'sporadic'`). */
  readonly ssPolicy?: SsPolicy | undefined
}

/** The spec's defaults (§D.12). */
export const defaults: SchedulerOptions = Object.freeze({
  policy: "sporadic",
  priority: "rm",
  maxRepl: 32,
  splitAdvancesHead: false,
  enforcementLatencyNs: 0,
  ioBackground: "none",
  pibsClampOnInherit: false,
  schedOverheadNs: 0,
  quantumNs: NS_PER_MS,
  maxTimerIntervalNs: NS_PER_MS,
  timerTickNs: 1,
  rearmOnBudgetlessWakeup: false,
  ties: "rotate",
})

/** Thrown for an invalid option; the message names the option and the value. */
export class OptionsError extends RangeError {
  override readonly name = "OptionsError"
}

const isDuration = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0

/** The option names, in declaration order. */
export const names: readonly (keyof SchedulerOptions)[] = Object.freeze(Object.keys(defaults) as (keyof SchedulerOptions)[])

/** Names accepted but not in the resolved record (each read as another option). */
export const deprecatedNames: readonly string[] = Object.freeze(["ssPolicy"])

/** Completes `partial` with {@link defaults} and validates every field; an unknown name is refused. */
export const resolveOptions = (partial: SchedulerOptionsInput = {}): SchedulerOptions => {
  const bad = (name: string, value: unknown, want: string): never => {
    throw new OptionsError(`vcpu-sched option ${name}=${JSON.stringify(value)}: ${want}`)
  }
  for (const key of Object.keys(partial)) {
    if (!(names as readonly string[]).includes(key) && !deprecatedNames.includes(key) && (partial as Record<string, unknown>)[key] !== undefined) throw new OptionsError(`vcpu-sched option ${key}: unknown option (known: ${names.join(", ")})`)
  }
  const { ssPolicy, ...rest } = partial
  const fromSs = ssPolicy === undefined ? undefined : ssPolicy === "quest" || ssPolicy === "posixNaive" ? Policy.fromSsPolicy(ssPolicy) : bad("ssPolicy", ssPolicy, "expected 'quest' or 'posixNaive' (deprecated: use policy)")
  if (fromSs !== undefined && rest.policy !== undefined && rest.policy !== fromSs) bad("ssPolicy", ssPolicy, `contradicts policy=${JSON.stringify(rest.policy)} (ssPolicy is deprecated: give policy alone)`)
  const o: SchedulerOptions = { ...defaults, ...(fromSs === undefined ? {} : { policy: fromSs }), ...Objects.stripUndefined(rest) }
  if (typeof o.policy !== "string" || !Policy.has(o.policy)) bad("policy", o.policy, `expected a registered policy (${Policy.names().join(", ")})`)
  if (o.priority !== "rm" && o.priority !== "edf") bad("priority", o.priority, "expected 'rm' or 'edf'")
  if (!Number.isSafeInteger(o.maxRepl) || o.maxRepl < 1) bad("maxRepl", o.maxRepl, "expected an integer ≥ 1")
  if (typeof o.splitAdvancesHead !== "boolean") bad("splitAdvancesHead", o.splitAdvancesHead, "expected a boolean")
  if (!isDuration(o.enforcementLatencyNs)) bad("enforcementLatencyNs", o.enforcementLatencyNs, "expected an integer ≥ 0 (ns)")
  if (o.ioBackground !== "none" && o.ioBackground !== "belowAll") bad("ioBackground", o.ioBackground, "expected 'none' or 'belowAll'")
  if (typeof o.pibsClampOnInherit !== "boolean") bad("pibsClampOnInherit", o.pibsClampOnInherit, "expected a boolean")
  if (!isDuration(o.schedOverheadNs)) bad("schedOverheadNs", o.schedOverheadNs, "expected an integer ≥ 0 (ns)")
  if (!isDuration(o.quantumNs) || o.quantumNs === 0) bad("quantumNs", o.quantumNs, "expected an integer > 0 (ns)")
  if (!(o.maxTimerIntervalNs === Infinity || (isDuration(o.maxTimerIntervalNs) && o.maxTimerIntervalNs > 0))) {
    bad("maxTimerIntervalNs", o.maxTimerIntervalNs, "expected an integer > 0 (ns) or Infinity")
  }
  if (!isDuration(o.timerTickNs) || o.timerTickNs === 0) bad("timerTickNs", o.timerTickNs, "expected an integer > 0 (ns)")
  if (o.timerTickNs > o.maxTimerIntervalNs) bad("timerTickNs", o.timerTickNs, `must not exceed maxTimerIntervalNs (${o.maxTimerIntervalNs})`)
  if (typeof o.rearmOnBudgetlessWakeup !== "boolean") bad("rearmOnBudgetlessWakeup", o.rearmOnBudgetlessWakeup, "expected a boolean")
  if (o.ties !== "rotate" && o.ties !== "declaration") bad("ties", o.ties, "expected 'rotate' or 'declaration'")
  return Object.freeze(o)
}
