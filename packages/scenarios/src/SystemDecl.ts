/**
 * The `system` section of a scenario: one Quest-V system run on sandbox-kernel's `System`. It is
 * sandbox-kernel's own configuration (`Config.systemSchema`, the source of truth: machine with
 * every D.12 option, scheduler, kernel, monitor, nic, channelOptions, recovery, virtualization,
 * migration, boot, sandboxes with VCPUs and threads, hosts, channels, faults), with two changes:
 *
 * - no `seed`: the system uses the run's seed (the scenario's `seed`, or `--seed`);
 * - `scheduler` is the scenario's scheduler section (`SchedulerOptionsDecl`: every vcpu-sched
 *   option by its own name, durations also with units; unknown names refused), the same as a
 *   `pcpus` scenario's;
 * - a thread gives either a generator `program` (TypeScript) or a declarative `job` (JSON):
 *   steps (`compute`, `sleep`, `io`, `send`, `poll`, `syscall`), released every `every` (or by
 *   the thread's `periodic`), else run once (or forever with `repeat`). The job is compiled into
 *   a program ({@link compileJob}). Durations in a job are strings with units or integer ns;
 *   sandbox-kernel's own fields keep its names and units (`budgetNs`, `periodNs`, ...).
 *
 * Cross-field checks (a thread on a VCPU that does not exist, a fault naming an unknown host, a
 * bad machine option) are sandbox-kernel's `Config.parse`, run at validation time; its issues are
 * reported under `system.` with the scenario's path style (`system.sandboxes[0].threads[1].vcpu`).
 *
 * @module
 */
import { Errors, type Issues } from "@qvsim/hardware"
import { Config, PrivateChannel, Program } from "@qvsim/sandbox-kernel"
import { z } from "zod"
import { Duration, PositiveDuration } from "./Duration.ts"
import { SchedulerOptionsDecl, toOptions } from "./Pcpus.ts"

/** A fixed duration or `[lo, hi]`, drawn uniformly per job from the thread's own stream. */
const RangeNs = z.union([Duration, z.tuple([Duration, Duration])]).refine(
  (r) => typeof r === "number" || r[0] <= r[1],
  { message: "expected lo ≤ hi" },
)

const deviceNames = Object.keys(Program.DeviceClass) as [Program.DeviceClassName, ...Program.DeviceClassName[]]

/** One step of a declarative job. */
export const JobStep = z.union([
  z.strictObject({ compute: RangeNs }),
  z.strictObject({ sleep: RangeNs }),
  z.strictObject({
    io: z.strictObject({
      device: z.enum(deviceNames).default("ata"),
      work: RangeNs,
      delay: RangeNs.optional(),
      wait: z.boolean().default(true),
    }),
  }),
  z.strictObject({ send: z.strictObject({ channel: z.string().min(1), bytes: z.number().int().min(1).default(64), type: z.number().int().min(1).default(1) }) }),
  z.strictObject({ poll: z.strictObject({ channel: z.string().min(1) }) }),
  z.strictObject({ syscall: z.strictObject({ cycles: z.number().int().min(0).default(0) }) }),
])
export type JobStep = z.output<typeof JobStep>

/** A declarative thread behaviour (what JSON scenarios give instead of a `program`). */
export const JobDecl = z.strictObject({
  steps: z.array(JobStep).min(1),
  /** Release a job every `every` (sets the thread's `periodic`); without it see `repeat`. */
  every: PositiveDuration.optional(),
  /** First release (with `every`). */
  offset: Duration.default(0),
  /** Relative deadline (with `every`; default the period). */
  deadline: PositiveDuration.optional(),
  /** Without releases: run the steps once and exit (false, default) or forever (true). */
  repeat: z.boolean().default(false),
})
export type JobDecl = z.output<typeof JobDecl>

const programField = z.custom<Program.Program>((v) => Program.programProblem(v) === undefined, { error: (iss) => Program.programProblem(iss.input) })

/** sandbox-kernel's thread, with `program` optional and `job` as its declarative alternative. */
export const ThreadDecl = Config.threadSchema.omit({ program: true }).extend({
  program: programField.optional(),
  job: JobDecl.optional(),
})

export const SandboxDecl = Config.sandboxSchema.extend({ threads: z.array(ThreadDecl).default([]) })

/** The `system` section (sandbox-kernel's `systemSchema` less `seed`, with declarative jobs and the scenario's scheduler section). */
export const SystemDecl = Config.systemSchema.omit({ seed: true, sandboxes: true, scheduler: true }).extend({
  /** vcpu-sched options for every core's scheduler (the same section as a `pcpus` scenario's `scheduler`). */
  scheduler: SchedulerOptionsDecl.default({}),
  sandboxes: z.array(SandboxDecl).optional(),
})
export type SystemDecl = z.output<typeof SystemDecl>
export type SystemDeclInput = z.input<typeof SystemDecl>

const draw = (r: number | readonly [number, number]): ((ctx: Program.ThreadContext) => number) =>
  typeof r === "number" ? () => r : (ctx) => ctx.rng.int(r[0], r[1])

/** One step → a request maker (fixed requests are built once). */
const compileStep = (s: JobStep): ((ctx: Program.ThreadContext) => Program.Request) => {
  if ("compute" in s) {
    if (typeof s.compute === "number") { const r = Program.compute(s.compute); return () => r }
    const d = draw(s.compute)
    return (ctx) => Program.compute(d(ctx))
  }
  if ("sleep" in s) {
    if (typeof s.sleep === "number") { const r = Program.sleep(s.sleep); return () => r }
    const d = draw(s.sleep)
    return (ctx) => Program.sleep(d(ctx))
  }
  if ("io" in s) {
    const work = draw(s.io.work), delay = s.io.delay === undefined ? () => 0 : draw(s.io.delay)
    const { device, wait } = s.io
    return (ctx) => Program.io({ device, workNs: work(ctx), delayNs: delay(ctx), wait })
  }
  if ("send" in s) { const r = Program.send(s.send.channel, { bytes: s.send.bytes, type: s.send.type }); return () => r }
  if ("poll" in s) { const r = Program.poll(s.poll.channel); return () => r }
  const r = Program.syscall(s.syscall.cycles)
  return () => r
}

/**
 * A job → a program: with releases (`periodic`), wait for each release then run the steps; else
 * run them once (`repeat: false`) or forever. Draws come from the thread's own stream.
 */
export const compileJob = (job: JobDecl, periodic: boolean): Program.Program => {
  const steps = job.steps.map(compileStep)
  const once = function* (ctx: Program.ThreadContext): Generator<Program.Request, void, unknown> {
    for (const s of steps) yield s(ctx)
  }
  if (periodic) return Program.periodic((ctx) => once(ctx))
  if (job.repeat) return function* (ctx) { for (;;) yield* once(ctx) }
  return function* (ctx) { yield* once(ctx) }
}

/** What a run adds to a declared system: outputs it records, checking, the scenario-wide scheduler options. */
export interface SystemExtra {
  readonly recordSchedule?: boolean
  readonly recordJobs?: boolean
  /** `kernel.checkInvariants` on (`--check-invariants`). */
  readonly checkInvariants?: boolean
  /** vcpu-sched options applied under the section's own `scheduler`. */
  readonly scheduler?: Record<string, unknown>
}

/** A validated `system` section → sandbox-kernel's input, with the run's seed; jobs become programs. */
export const toSystemInput = (decl: SystemDecl, seed: number, extra: SystemExtra = {}): Config.SystemInput => {
  const { sandboxes, ...rest } = decl
  return {
    ...rest,
    seed,
    scheduler: { ...(extra.scheduler ?? {}), ...toOptions(decl.scheduler) },
    kernel: { ...decl.kernel, ...(extra.checkInvariants === true ? { checkInvariants: true } : {}) },
    recordSchedule: decl.recordSchedule || (extra.recordSchedule ?? false),
    recordJobs: decl.recordJobs || (extra.recordJobs ?? false),
    ...(sandboxes === undefined ? {} : {
      sandboxes: sandboxes.map((sb) => ({
        ...sb,
        threads: sb.threads.map((t) => {
          const { job, program, ...thread } = t
          if (job === undefined) return { ...thread, program: program! }
          const periodic = job.every !== undefined
            ? { periodNs: job.every, offsetNs: job.offset, ...(job.deadline !== undefined ? { deadlineNs: job.deadline } : {}) }
            : thread.periodic
          return { ...thread, ...(periodic !== undefined ? { periodic } : {}), program: compileJob(job, periodic !== undefined) }
        }),
      })),
    }),
  } as Config.SystemInput
}

/**
 * The cross-field problems sandbox-kernel's `Config.parse` finds in a declared system, as
 * `{path, message}` relative to the section (empty when it is valid).
 */
export const crossCheck = (decl: SystemDecl): Issues.Issue[] => {
  try {
    Config.parse(toSystemInput(decl, 1))
    return []
  } catch (e) {
    if (e instanceof Errors.ConfigError) return [...e.issues]
    return [{ path: [], message: (e as Error).message }]
  }
}

/**
 * The channel steps of declarative jobs against the channels: the channel exists, the thread's
 * sandbox is one of its two parties, the message fits (a mailbox's `bytes`, a private channel's
 * half), as `{path, message}` relative to the section.
 */
export const jobChannelChecks = (decl: SystemDecl): Array<{ path: PropertyKey[]; message: string }> => {
  const out: Array<{ path: PropertyKey[]; message: string }> = []
  const channels = new Map((decl.channels ?? []).map((c) => [c.name, c]))
  decl.sandboxes?.forEach((sb, s) => sb.threads.forEach((t, i) => t.job?.steps.forEach((step, k) => {
    const use = "send" in step ? { op: "send", ...step.send } : "poll" in step ? { op: "poll", ...step.poll, bytes: 0 } : undefined
    if (use === undefined) return
    const at: PropertyKey[] = ["sandboxes", s, "threads", i, "job", "steps", k, use.op]
    const ch = channels.get(use.channel)
    if (ch === undefined) {
      const near = [...channels.keys()]
      out.push({ path: [...at, "channel"], message: `no channel named ${JSON.stringify(use.channel)} (${near.length === 0 ? "the system has no channels" : `channels: ${near.join(", ")}`})` })
      return
    }
    if (!ch.between.includes(s)) {
      out.push({ path: [...at, "channel"], message: `channel ${JSON.stringify(use.channel)} is between sandboxes ${ch.between[0]} and ${ch.between[1]}, not sandbox ${s}` })
      return
    }
    const limit = ch.kind === "mailbox" ? ch.bytes : PrivateChannel.MAX_PAYLOAD
    if (use.bytes > limit) {
      out.push({ path: [...at, "bytes"], message: `${use.bytes} bytes do not fit ${ch.kind === "mailbox" ? `mailbox ${JSON.stringify(ch.name)} (${limit} bytes)` : `a half of private channel ${JSON.stringify(ch.name)} (${limit} bytes)`}` })
    }
  })))
  return out
}

/** Thread-level checks of the scenario layer (one of `program` and `job`), as `{path, message}`. */
export const threadChecks = (decl: SystemDecl): Array<{ path: PropertyKey[]; message: string }> => {
  const out: Array<{ path: PropertyKey[]; message: string }> = []
  decl.sandboxes?.forEach((sb, s) => sb.threads.forEach((t, i) => {
    if ((t.program === undefined) === (t.job === undefined)) {
      out.push({ path: ["sandboxes", s, "threads", i], message: t.program === undefined ? "give a program (TypeScript) or a job (steps)" : "give a program or a job, not both" })
    }
    if (t.job?.every !== undefined && t.periodic !== undefined) out.push({ path: ["sandboxes", s, "threads", i, "job", "every"], message: "give job.every or periodic, not both" })
  }))
  return out
}
