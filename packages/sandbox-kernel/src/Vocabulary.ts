/**
 * The scenario vocabulary: the words every configuration of qvsim shares, whether it runs on the
 * single-PCPU harness (a scenario's `pcpus`) or as a Quest-V system (`system`, this package's
 * `Config`): durations with units, names, a VCPU, a thread's releases and what its jobs do.
 *
 * - A **duration** is a string with a unit (`"10ms"`, `"2.5s"`, `"750us"`, `"42ns"`) or an integer
 *   number of ns; anything that is not an exact integer number of ns, or is beyond the time range
 *   (`Time.MAX_INPUT_NS`, about 13 days), is refused with the reason.
 * - A **reference is a name**: a thread names its VCPU, a step its channel, a channel, host or
 *   fault its sandboxes. Names are unique where they are declared.
 * - A **VCPU** is `{name, kind, budget, period}` (`C` per `T`; rate-monotonic priority); a
 *   sandbox's VCPU adds where it runs (`core`) and, for an I/O VCPU, the devices it serves.
 * - A **thread** runs on a VCPU; `arrivals` release its jobs, `deadline` is their relative
 *   deadline, `job` is what each job does: steps (`compute`, `sleep`, `io`, and in a system `send`,
 *   `poll`, `syscall`).
 *
 * Every schema here validates input (zod) and outputs durations as integer ns; parsing an output
 * again gives the same output (the scenario layer validates a section, then the kernel resolves it).
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Issues } from "@qvsim/hardware"
import { Policy } from "@qvsim/vcpu-sched"
import { z } from "zod"
import * as Program from "./Program.ts"

// ------------------------------------------------------------------------------------ durations

/** A duration field, non-negative or (`positive`) greater than 0; refusals name the value as written. */
const durationField = (positive: boolean) => z
  .union([
    z.string().meta({ pattern: Time.durationPattern.source }),
    z.number().meta({ type: "integer", minimum: positive ? 1 : 0, maximum: Time.MAX_INPUT_NS }),
  ])
  .transform((value, ctx): number => {
    const refuse = (message: string): never => {
      ctx.issues.push({ code: "custom", input: value, message })
      return z.NEVER
    }
    let ns: number
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) return refuse(`${value} is not a non-negative integer number of ns (write e.g. "10ms")`)
      ns = value
    } else {
      try {
        ns = Time.parseDuration(value)
      } catch (e) {
        return refuse((e as Error).message)
      }
    }
    if (ns > Time.MAX_INPUT_NS) return refuse(`${typeof value === "string" ? `"${value}" = ` : ""}${Time.tooLong(ns)}`)
    if (positive && ns === 0) return refuse(`must be greater than 0 (got ${Issues.showValue(value)})`)
    return ns
  })
  .meta({ description: `a ${positive ? "positive " : ""}duration: a number and a unit (ns, us, ms, s), e.g. "10ms", or an integer number of ns` })

/**
 * A duration: a string with a unit or an integer number of ns → integer ns. The JSON Schema gives
 * the string form the pattern `Time.parseDuration` accepts, the number form an integer range.
 */
export const Duration = durationField(false)

/** A positive duration. */
export const PositiveDuration = durationField(true)

/** A fixed duration or `[lo, hi]`, drawn uniformly per job from the thread's own stream. */
export const Range = z.union([Duration, z.tuple([Duration, Duration])]).refine(
  (r) => typeof r === "number" || r[0] <= r[1],
  { message: "expected lo ≤ hi" },
)
export type Range = z.output<typeof Range>

/** A name (of a VCPU, thread, sandbox, channel, host): a non-empty string. */
export const Name = z.string().min(1, "must not be empty")

// ----------------------------------------------------------------------------------------- VCPUs

/**
 * The name of a registered Main-VCPU policy (vcpu-sched's `Policy` registry), checked when the
 * input is parsed (so a policy registered before, e.g. by a scenario file, is accepted). In a JSON
 * Schema made with {@link policyEnumOverride}, its enum is the registry's names at that time.
 */
export const policyName = z.string().superRefine((name, ctx) => {
  if (!Policy.has(name)) ctx.addIssue({ code: "custom", input: name, message: `no policy "${name}" (registered: ${Policy.names().join(", ")})` })
}).meta({ qvsimPolicyName: true })

/** `z.toJSONSchema`'s `override`: gives every {@link policyName} field the registry's names as its enum. */
export const policyEnumOverride = (ctx: { readonly jsonSchema: object }): void => {
  const j = ctx.jsonSchema as Record<string, unknown>
  if (j["qvsimPolicyName"] === true) {
    delete j["qvsimPolicyName"]
    j["enum"] = Policy.names()
  }
}

const vcpuShape = {
  /** Unique among its PCPU's (or sandbox's) VCPUs; default `<kind><index>` (`main0`, `io4`). */
  name: Name.optional(),
  /** `'main'` (sporadic server, default) or `'io'` (PIBS). */
  kind: z.enum(["main", "io"]).default("main"),
  /** `C`: budget per period (for an I/O VCPU, `U = C/T`). */
  budget: PositiveDuration,
  /** `T`: period; the rate-monotonic priority (shorter runs first). */
  period: PositiveDuration,
  /** Main VCPUs: the relative deadline `D ≤ T` of each replenishment period (the `'edf'` priority and the analyses; default `T`). */
  deadline: PositiveDuration.optional(),
  /** Main VCPUs: the budget policy (default: the scheduler option `policy`, itself `'sporadic'` by default). */
  policy: policyName.optional().describe("Main VCPUs: the budget policy (a registered name; default the scheduler option policy)"),
}

const budgetWithinPeriod = (v: { kind: "main" | "io"; budget: number; period: number; deadline?: number | undefined; policy?: string | undefined }, ctx: z.core.$RefinementCtx<unknown>): void => {
  if (v.budget > v.period) ctx.issues.push({ code: "custom", input: v.budget, path: ["budget"], message: `budget ${v.budget}ns exceeds the period ${v.period}ns` })
  if (v.deadline !== undefined && v.deadline > v.period) ctx.issues.push({ code: "custom", input: v.deadline, path: ["deadline"], message: `deadline ${v.deadline}ns exceeds the period ${v.period}ns` })
  if (v.kind === "io" && (v.policy !== undefined || v.deadline !== undefined)) {
    ctx.issues.push({ code: "custom", input: v.policy ?? v.deadline, path: [v.policy !== undefined ? "policy" : "deadline"], message: "I/O VCPUs are PIBS servers: policy and deadline are for Main VCPUs" })
  }
}

/** A VCPU: `{name, kind, budget, period}` (a Main VCPU also its `deadline` and `policy`). */
export const Vcpu = z.strictObject(vcpuShape).superRefine(budgetWithinPeriod)
export type VcpuInput = z.input<typeof Vcpu>
export type Vcpu = z.output<typeof Vcpu>

const deviceNames = Object.keys(Program.DeviceClass) as [Program.DeviceClassName, ...Program.DeviceClassName[]]
/** A device class an I/O VCPU serves and an `io` step of a system uses. */
export const Device = z.enum(deviceNames)

/** A sandbox's VCPU: a {@link Vcpu} and where it runs, and (I/O VCPUs) the devices it serves. */
export const SandboxVcpu = z.strictObject({
  ...vcpuShape,
  /** I/O VCPUs: the device classes served. */
  device: z.union([Device, z.array(Device)]).optional(),
  /** Index of the core within the sandbox's cores (default 0). */
  core: z.number().int("must be an integer").min(0, "must be ≥ 0").default(0),
}).superRefine(budgetWithinPeriod)
export type SandboxVcpuInput = z.input<typeof SandboxVcpu>
export type SandboxVcpu = z.output<typeof SandboxVcpu>

/** The name of VCPU `index` of a list (its own, else `<kind><index>`). */
export const vcpuName = (v: { readonly name?: string | undefined; readonly kind?: string | undefined }, index: number): string => v.name ?? `${v.kind ?? "main"}${index}`

/**
 * A sandbox's VCPUs when it declares none: the `p11` set (spec §C.4), four Main VCPUs
 * `(20 ms, 100 ms)` and three I/O VCPUs `(1 ms, 10 ms)` serving USB, ATA and NET.
 */
export const DEFAULT_VCPUS: readonly SandboxVcpuInput[] = [
  ...[0, 1, 2, 3].map((i) => ({ kind: "main" as const, name: `main${i}`, budget: "20ms", period: "100ms" })),
  ...(["usb", "ata", "net"] as const).map((d) => ({ kind: "io" as const, name: `io-${d}`, budget: "1ms", period: "10ms", device: d })),
]

// -------------------------------------------------------------------------------------- releases

/** Jobs at `offset + k·period`. */
export const PeriodicArrivals = z.strictObject({ kind: z.literal("periodic"), period: PositiveDuration, offset: Duration.default(0) })

/** When a thread's jobs are released: periodic, sporadic, Poisson or at listed times. */
export const Arrivals = z.discriminatedUnion("kind", [
  PeriodicArrivals,
  /** Inter-arrival `minInterArrival` + uniform in `[0, maxExtra]`. */
  z.strictObject({ kind: z.literal("sporadic"), minInterArrival: PositiveDuration, maxExtra: Duration.default(0), offset: Duration.default(0) }),
  /** Exponential inter-arrivals of the given mean. */
  z.strictObject({ kind: z.literal("poisson"), mean: PositiveDuration, offset: Duration.default(0) }),
  /** Jobs at the listed times (in time order). */
  z.strictObject({ kind: z.literal("explicit"), at: z.array(Duration).min(1) }),
])
export type Arrivals = z.output<typeof Arrivals>

// ----------------------------------------------------------------------------------------- steps

/** `compute` ns of CPU time (fixed or drawn per job). */
export const ComputeStep = z.strictObject({ compute: Range })
/** Sleep ns (fixed or drawn per job). */
export const SleepStep = z.strictObject({ sleep: Range })

/** What every `io` step says: the work of the I/O VCPU's service thread, the device time after it, whether to wait. */
export const ioFields = {
  /** Work for the I/O VCPU's service thread. */
  work: Range,
  /** Device time after the work (default 0). */
  delay: Range.optional(),
  /** Whether the thread blocks until the device completes (default true). */
  wait: z.boolean().default(true),
}

/** A system's `io` step: a request to a device class (the I/O VCPU serving it does the work). */
export const DeviceIoStep = z.strictObject({ io: z.strictObject({ device: Device.default("ata"), ...ioFields }) })
/** Writes `bytes` on channel `channel` (a mailbox or a private channel of the thread's sandbox). */
export const SendStep = z.strictObject({ send: z.strictObject({ channel: Name, bytes: z.number().int().min(1).default(64), type: z.number().int().min(1).default(1) }) })
/** Reads channel `channel` once. */
export const PollStep = z.strictObject({ poll: z.strictObject({ channel: Name }) })
/** A system call of `cycles` kernel work. */
export const SyscallStep = z.strictObject({ syscall: z.strictObject({ cycles: z.number().int().min(0).default(0) }) })

/** One step of a system thread's job. */
export const SystemStep = z.union([ComputeStep, SleepStep, DeviceIoStep, SendStep, PollStep, SyscallStep])
export type SystemStep = z.output<typeof SystemStep>

// --------------------------------------------------------------------------------------- threads

/** What every thread says: its name, its VCPU (by name), its jobs' relative deadline. */
export const threadFields = {
  /** Unique among its PCPU's (or sandbox's) threads. */
  name: Name,
  /** The (Main) VCPU it runs on, by name. */
  vcpu: Name,
  /** Relative deadline of its jobs (default the period, or the minimum inter-arrival time). */
  deadline: PositiveDuration.optional(),
}

const programField = z.custom<Program.Program>((v) => Program.programProblem(v) === undefined, { error: (iss) => Program.programProblem(iss.input) })

/**
 * A thread of a sandbox: a generator `program` (TypeScript) or a declarative `job` (steps), with
 * periodic `arrivals` (what `Program.waitJob()` waits for; a job runs once per release) or none
 * (the job runs once, or forever with `repeat`).
 */
export const SystemThread = z.strictObject({
  ...threadFields,
  /** The (Main) VCPU it runs on, by name (required in a Quest sandbox; a Linux sandbox's thread has none). */
  vcpu: Name.optional(),
  /** A Linux sandbox's thread (`kind: "linux"`): its nice value (its weight), default 0. */
  nice: z.number().int("must be an integer").min(-20, "must be ≥ -20").max(19, "must be ≤ 19").optional(),
  /** A Linux sandbox's thread: the core of the sandbox it is pinned to (index in its cores), default 0. */
  cpu: z.number().int("must be an integer").min(0, "must be ≥ 0").optional(),
  /** Periodic releases (the kernel releases jobs periodically). */
  arrivals: PeriodicArrivals.optional(),
  /** Its behaviour as a generator function (see `Program`). */
  program: programField.optional(),
  /** Or: what each job does, compiled into a program. */
  job: z.array(SystemStep).min(1).optional(),
  /** A `job` without arrivals: run the steps once (false, default) or forever (true). */
  repeat: z.boolean().default(false),
  /** Local time the thread first becomes runnable. */
  start: Duration.default(0),
  /** Address-space pages (`fork` copies them); default `kernel.processPages`. */
  pages: z.number().int("must be an integer").min(1, "must be ≥ 1").optional(),
  /** A user thread (system calls pay their entry, default) or a kernel thread. */
  user: z.boolean().default(true),
}).superRefine((t, ctx) => {
  const at = (path: PropertyKey[], message: string): void => {
    ctx.issues.push({ code: "custom", input: undefined, path, message })
  }
  if ((t.program === undefined) === (t.job === undefined)) at([], t.program === undefined ? "give a program (TypeScript) or a job (steps)" : "give a program or a job, not both")
  if (t.deadline !== undefined && t.arrivals === undefined) at(["deadline"], "a deadline is relative to a release: give arrivals")
  if (t.repeat && (t.arrivals !== undefined || t.job === undefined)) at(["repeat"], t.job === undefined ? "repeat applies to a job (a program loops by itself)" : "a job with arrivals runs once per release: repeat applies without arrivals")
})
export type SystemThreadInput = z.input<typeof SystemThread>
export type SystemThread = z.output<typeof SystemThread>
