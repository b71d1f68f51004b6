/**
 * The scheduler section of a configuration: vcpu-sched's options (`packages/vcpu-sched/src/
 * Options.ts`, spec D.12), all optional, under the same names wherever they are set — a system's
 * `scheduler`, and in a scenario the scenario-wide `scheduler` and a PCPU's `options`.
 *
 * A duration option takes vcpu-sched's own name and unit (`enforcementLatencyNs`: integer ns) or
 * the name without `Ns` and a duration with units (`enforcementLatency: "50us"`) — one of the
 * two; `"none"` turns the 1 ms timer rule off. Unknown names are refused (with the closest known
 * one). {@link toOptions} turns a section into vcpu-sched's options, which vcpu-sched validates.
 *
 * @module
 */
import { type Options, Policy } from "@qvsim/vcpu-sched"
import { z } from "zod"
import { Duration, policyName, PositiveDuration } from "./Vocabulary.ts"

const nsInt = (min: number) => z.number().int("must be an integer").min(min, `must be ≥ ${min}`).max(Number.MAX_SAFE_INTEGER)
const none = z.literal("none")

/** The options given both as a duration (`quantum`) and in ns (`quantumNs`). */
export const DURATION_OPTIONS = ["enforcementLatency", "schedOverhead", "quantum", "maxTimerInterval", "timerTick"] as const

export const SchedulerOptionsDecl = z.strictObject({
  policy: policyName.optional().describe("the policy of Main VCPUs that do not name one (a registered name; default 'sporadic', Quest's corrected sporadic server)"),
  priority: z.enum(["rm", "edf"]).optional().describe("how the PCPU orders VCPUs: 'rm' (default, by period, Quest) or 'edf' (by current absolute deadline)"),
  ssPolicy: z.enum(["quest", "posixNaive"]).optional().meta({ deprecated: true }).describe("deprecated, use policy: 'quest' is policy 'sporadic', 'posixNaive' policy 'posixNaive'"),
  maxRepl: z.number().int().min(1).optional().describe("replenishment-queue capacity (MAX_REPL, default 32)"),
  splitAdvancesHead: z.boolean().optional().describe("SS5 variant (seL4): the remnant's time advances by the used amount (default false, Quest)"),
  enforcementLatency: Duration.optional().describe("enforcement latency δ (default 0)"),
  enforcementLatencyNs: nsInt(0).optional().describe("enforcement latency δ, ns"),
  ioBackground: z.enum(["none", "belowAll"]).optional().describe("P7: a depleted I/O VCPU's background band (default 'none')"),
  pibsClampOnInherit: z.boolean().optional().describe("clamp PIBS budgets to U·T_current (default false, code-faithful)"),
  schedOverhead: Duration.optional().describe("scheduler overhead per invocation (default 0)"),
  schedOverheadNs: nsInt(0).optional().describe("scheduler overhead per invocation, ns"),
  quantum: PositiveDuration.optional().describe("round-robin quantum of threads inside a VCPU (default 1ms)"),
  quantumNs: nsInt(1).optional().describe("round-robin quantum, ns"),
  maxTimerInterval: z.union([PositiveDuration, none]).optional().describe("the scheduler runs at least this often (default 1ms; 'none' turns the rule off)"),
  maxTimerIntervalNs: z.union([nsInt(1), none]).optional().describe("the same, ns ('none': off)"),
  timerTick: PositiveDuration.optional().describe("one LAPIC timer tick, the timer's lower clamp (default 1ns)"),
  timerTickNs: nsInt(1).optional().describe("one LAPIC timer tick, ns"),
  rearmOnBudgetlessWakeup: z.boolean().optional().describe("idealisation: a wakeup without budget re-arms the timer for its replenishment (default false, Quest)"),
  ties: z.enum(["rotate", "declaration"]).optional().describe("equal periods: 'rotate' (default, Quest's runnable list) or 'declaration' (smaller VCPU index first)"),
}).superRefine((o, ctx) => {
  if (o.ssPolicy !== undefined && o.policy !== undefined && Policy.fromSsPolicy(o.ssPolicy) !== o.policy) {
    ctx.issues.push({ code: "custom", input: o.ssPolicy, path: ["ssPolicy"], message: `contradicts policy "${o.policy}" (ssPolicy is deprecated: give policy alone)` })
  }
  for (const name of DURATION_OPTIONS) {
    if (o[name] !== undefined && o[`${name}Ns`] !== undefined) {
      ctx.issues.push({ code: "custom", input: o[`${name}Ns`], path: [`${name}Ns`], message: `give ${name} (a duration) or ${name}Ns (ns), not both` })
    }
  }
})
export type SchedulerOptionsInput = z.input<typeof SchedulerOptionsDecl>
export type SchedulerOptionsDecl = z.output<typeof SchedulerOptionsDecl>

/** Scheduler options as given (either spelling) → vcpu-sched options. */
export const toOptions = (o: SchedulerOptionsDecl): Options.SchedulerOptionsInput => {
  const out: Record<string, unknown> = {}
  const timer = (x: number | "none" | undefined) => (x === "none" ? Infinity : x)
  const set = (name: keyof Options.SchedulerOptions, value: unknown) => { if (value !== undefined) out[name] = value }
  set("policy", o.policy ?? (o.ssPolicy === undefined ? undefined : Policy.fromSsPolicy(o.ssPolicy)))
  set("priority", o.priority)
  set("maxRepl", o.maxRepl)
  set("splitAdvancesHead", o.splitAdvancesHead)
  set("enforcementLatencyNs", o.enforcementLatency ?? o.enforcementLatencyNs)
  set("ioBackground", o.ioBackground)
  set("pibsClampOnInherit", o.pibsClampOnInherit)
  set("schedOverheadNs", o.schedOverhead ?? o.schedOverheadNs)
  set("quantumNs", o.quantum ?? o.quantumNs)
  set("maxTimerIntervalNs", timer(o.maxTimerInterval ?? o.maxTimerIntervalNs))
  set("timerTickNs", o.timerTick ?? o.timerTickNs)
  set("rearmOnBudgetlessWakeup", o.rearmOnBudgetlessWakeup)
  set("ties", o.ties)
  return out as Options.SchedulerOptionsInput
}

/** The other spelling of a duration option (`quantum` ↔ `quantumNs`), if it has one. */
export const twinOf = (key: string): string | undefined => {
  const base = key.endsWith("Ns") ? key.slice(0, -2) : key
  if (!(DURATION_OPTIONS as readonly string[]).includes(base)) return undefined
  return key.endsWith("Ns") ? base : `${base}Ns`
}

/** `under` with `over`'s options on top (an option of `over` replaces either spelling of it in `under`). */
export const merge = <A extends Record<string, unknown>>(under: A, over: A): A => {
  const out: Record<string, unknown> = { ...under }
  for (const key of Object.keys(over)) {
    if (over[key] === undefined) continue
    delete out[key]
    const twin = twinOf(key)
    if (twin !== undefined) delete out[twin]
    out[key] = over[key]
  }
  return out as A
}
