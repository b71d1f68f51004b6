/**
 * The scheduling section of a scenario: PCPUs, each with its VCPUs `(C, T, kind)` and the threads
 * on them (job releases and what each job does), run on vcpu-sched's single-PCPU harness. Names
 * refer to VCPUs; durations are strings with units or integer ns. `toSpec` turns a validated PCPU
 * into vcpu-sched's `PcpuSpec` (indices, ns).
 *
 * @module
 */
import { Config } from "@qvsim/sandbox-kernel"
import { Policy, type Workload, type Options } from "@qvsim/vcpu-sched"
import { z } from "zod"
import { Duration, PositiveDuration } from "./Duration.ts"

const PolicyName = Config.policyName

/** A fixed duration or `[lo, hi]`, drawn uniformly per job from the thread's own stream. */
const RangeNs = z.union([Duration, z.tuple([Duration, Duration])]).refine(
  (r) => typeof r === "number" || r[0] <= r[1],
  { message: "expected lo ≤ hi" },
)

const Step = z.union([
  z.strictObject({ compute: RangeNs }),
  z.strictObject({ sleep: RangeNs }),
  z.strictObject({
    io: z.strictObject({
      vcpu: z.string(),
      work: RangeNs,
      delay: RangeNs.optional(),
      wait: z.boolean().optional(),
      probability: z.number().min(0).max(1).optional(),
    }),
  }),
])

const Arrivals = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("periodic"), period: PositiveDuration, offset: Duration.default(0) }),
  z.strictObject({ kind: z.literal("sporadic"), minInterArrival: PositiveDuration, maxExtra: Duration.default(0), offset: Duration.default(0) }),
  z.strictObject({ kind: z.literal("poisson"), mean: PositiveDuration, offset: Duration.default(0) }),
  z.strictObject({ kind: z.literal("explicit"), at: z.array(Duration).min(1) }),
])

export const VcpuDecl = z.strictObject({
  name: z.string().min(1),
  kind: z.enum(["main", "io"]).default("main"),
  /** `C`: budget per period (for an I/O VCPU, `U = C/T`). */
  budget: PositiveDuration,
  /** `T`: period; rate-monotonic priority (smaller = higher). */
  period: PositiveDuration,
  /** Main VCPUs: the relative deadline `D ≤ T` of each replenishment period (the `'edf'` priority and the analyses; default `T`). */
  deadline: PositiveDuration.optional(),
  /** Main VCPUs: the budget policy (default: the scheduler option `policy`, itself `'sporadic'` by default). */
  policy: PolicyName.optional().describe("Main VCPUs: the budget policy (a registered name; default the scheduler option policy)"),
})

export const ThreadDecl = z.strictObject({
  name: z.string().min(1),
  vcpu: z.string(),
  arrivals: Arrivals,
  job: z.array(Step).min(1),
  deadline: PositiveDuration.optional(),
})

const nsInt = (min: number) => z.number().int().min(min).max(Number.MAX_SAFE_INTEGER)
const none = z.literal("none")

/**
 * vcpu-sched's options (`packages/vcpu-sched/src/Options.ts`, spec D.12), all optional, under the
 * same names wherever a scenario sets them: the scenario-wide `scheduler`, a PCPU's `options` and
 * `system.scheduler`. A duration option takes vcpu-sched's own name and unit (`enforcementLatencyNs`:
 * integer ns) or the scenario's name without `Ns` and a duration with units (`enforcementLatency:
 * "50us"`) — one of the two; `"none"` turns the 1 ms timer rule off. Unknown names are refused.
 */
export const SchedulerOptionsDecl = z.strictObject({
  policy: PolicyName.optional().describe("the policy of Main VCPUs that do not name one (a registered name; default 'sporadic', Quest's corrected sporadic server)"),
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
  for (const name of ["enforcementLatency", "schedOverhead", "quantum", "maxTimerInterval", "timerTick"] as const) {
    if (o[name] !== undefined && o[`${name}Ns`] !== undefined) {
      ctx.issues.push({ code: "custom", input: o[`${name}Ns`], path: [`${name}Ns`], message: `give ${name} (a duration) or ${name}Ns (ns), not both` })
    }
  }
})

export const PcpuDecl = z.strictObject({
  name: z.string().min(1).optional(),
  /**
   * Keep the executed schedule during the run (memory grows with simulated time), so the metrics
   * add, per VCPU, its execution, its share and its most execution in any window of one period.
   */
  recordSchedule: z.boolean().default(false),
  options: SchedulerOptionsDecl.default({}),
  vcpus: z.array(VcpuDecl).min(1),
  threads: z.array(ThreadDecl).default([]),
}).superRefine((p, ctx) => {
  const names = new Map<string, number>()
  p.vcpus.forEach((v, i) => {
    if (names.has(v.name)) ctx.issues.push({ code: "custom", input: v.name, path: ["vcpus", i, "name"], message: `duplicate VCPU name "${v.name}"` })
    names.set(v.name, i)
    if (v.budget > v.period) ctx.issues.push({ code: "custom", input: v.budget, path: ["vcpus", i, "budget"], message: `budget ${v.budget}ns exceeds the period ${v.period}ns` })
    if (v.deadline !== undefined && v.deadline > v.period) ctx.issues.push({ code: "custom", input: v.deadline, path: ["vcpus", i, "deadline"], message: `deadline ${v.deadline}ns exceeds the period ${v.period}ns` })
    if (v.kind === "io" && (v.policy !== undefined || v.deadline !== undefined)) ctx.issues.push({ code: "custom", input: v.policy ?? v.deadline, path: ["vcpus", i, v.policy !== undefined ? "policy" : "deadline"], message: "I/O VCPUs are PIBS servers: policy and deadline are for Main VCPUs" })
  })
  const known = [...names.keys()].join(", ")
  const threadNames = new Map<string, number>()
  p.threads.forEach((t, i) => {
    const first = threadNames.get(t.name)
    if (first !== undefined) ctx.issues.push({ code: "custom", input: t.name, path: ["threads", i, "name"], message: `duplicate thread name "${t.name}" (threads[${first}] has it)` })
    else threadNames.set(t.name, i)
    const v = names.get(t.vcpu)
    if (v === undefined) ctx.issues.push({ code: "custom", input: t.vcpu, path: ["threads", i, "vcpu"], message: `no VCPU "${t.vcpu}" (known: ${known})` })
    else if (p.vcpus[v]!.kind === "io") ctx.issues.push({ code: "custom", input: t.vcpu, path: ["threads", i, "vcpu"], message: `"${t.vcpu}" is an I/O VCPU: threads run on Main VCPUs and reach I/O VCPUs with io steps` })
    if (t.arrivals.kind === "explicit") {
      const at = t.arrivals.at
      const k = at.findIndex((x, j) => j > 0 && x < at[j - 1]!)
      if (k > 0) ctx.issues.push({ code: "custom", input: at[k], path: ["threads", i, "arrivals", "at", k], message: `${at[k]} ns is before the previous release (${at[k - 1]} ns): list the releases in time order` })
    }
    t.job.forEach((s, k) => {
      if ("io" in s) {
        const io = names.get(s.io.vcpu)
        if (io === undefined || p.vcpus[io]!.kind !== "io") {
          ctx.issues.push({ code: "custom", input: s.io.vcpu, path: ["threads", i, "job", k, "io", "vcpu"], message: `"${s.io.vcpu}" is not an I/O VCPU of this PCPU` })
        }
      }
    })
  })
})

export type PcpuDecl = z.output<typeof PcpuDecl>
export type SchedulerOptionsDecl = z.output<typeof SchedulerOptionsDecl>

/** Scheduler options as a scenario gives them (either spelling) → vcpu-sched options. */
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

/** A validated PCPU → vcpu-sched's spec, with the scenario-wide options under the PCPU's own. */
export const toSpec = (p: PcpuDecl, scenarioOptions: SchedulerOptionsDecl = {}): Workload.PcpuSpec => {
  const index = new Map(p.vcpus.map((v, i) => [v.name, i]))
  const step = (s: z.output<typeof Step>): Workload.Step => {
    if ("compute" in s) return { compute: s.compute }
    if ("sleep" in s) return { sleep: s.sleep }
    return {
      io: {
        vcpu: index.get(s.io.vcpu)!,
        work: s.io.work,
        ...(s.io.delay !== undefined ? { delay: s.io.delay } : {}),
        ...(s.io.wait !== undefined ? { wait: s.io.wait } : {}),
        ...(s.io.probability !== undefined ? { probability: s.io.probability } : {}),
      },
    }
  }
  const arrivals = (a: z.output<typeof Arrivals>): Workload.Arrivals => {
    switch (a.kind) {
      case "periodic": return { kind: "periodic", periodNs: a.period, offsetNs: a.offset }
      case "sporadic": return { kind: "sporadic", minInterArrivalNs: a.minInterArrival, maxExtraNs: a.maxExtra, offsetNs: a.offset }
      case "poisson": return { kind: "poisson", meanInterArrivalNs: a.mean, offsetNs: a.offset }
      case "explicit": return { kind: "explicit", releasesNs: a.at }
    }
  }
  return {
    vcpus: p.vcpus.map((v) => ({
      kind: v.kind, name: v.name, budgetNs: v.budget, periodNs: v.period,
      ...(v.deadline !== undefined ? { deadlineNs: v.deadline } : {}),
      ...(v.policy !== undefined ? { policy: v.policy } : {}),
    })),
    threads: p.threads.map((t) => ({
      vcpu: index.get(t.vcpu)!,
      name: t.name,
      arrivals: arrivals(t.arrivals),
      job: t.job.map(step),
      ...(t.deadline !== undefined ? { deadlineNs: t.deadline } : {}),
    })),
    options: { ...toOptions(scenarioOptions), ...toOptions(p.options) },
  }
}
