/**
 * The configuration of a Quest-V system: the machine (hardware), the scheduler options, and per
 * sandbox its VCPUs and threads, plus the kernel, monitor, NIC-driver, channel, recovery and
 * virtualisation options — validated by zod; every refusal names the path of the bad field
 * (`sandboxes.1.threads.0.vcpu: VCPU 9 does not exist (the sandbox has 7)`), all at once, in one
 * `ConfigError` (the hardware package's error type, so the CLI reports both alike).
 *
 * Defaults: the paper's machine (Xeon E5506, 4 cores, one sandbox per core, 2011 layout, the NIC
 * shared by the four sandboxes) and the `p11` VCPU set per sandbox (spec §C.4): four Main VCPUs
 * `(20 ms, 100 ms)` and three I/O VCPUs `(1 ms, 10 ms)` for USB, ATA and NET.
 *
 * Invariants: `parse` returns a complete record (every default filled) or throws; it never
 * half-applies input. Programs are functions, so a configuration with threads is TypeScript, not
 * JSON (the scenarios package maps declarative workloads onto programs).
 *
 * @module
 */
import { z } from "zod"
import { Errors, Issues, MachineConfig } from "@qvsim/hardware"
import { Options as SchedOptions, Policy } from "@qvsim/vcpu-sched"
import * as Program from "./Program.ts"
import { faultSchema } from "./Faults.ts"
import { channelSchema, RECEIVER } from "./Channels.ts"
import { checkPhases, resolvePhases } from "./Recovery.ts"
import { migrationSchema } from "./Migration.ts"
import { bootSchema } from "./Boot.ts"
import * as Validate from "./Validate.ts"
import { SystemKind, smpSchema } from "./smp/SmpOptions.ts"
import * as SmpConfig from "./smp/SmpConfig.ts"
import type { PhaseName } from "./Options.ts"
import {
  channelOptionsSchema, int, kernelSchema, monitorSchema, nicSchema, recoverySchema, virtualizationSchema,
} from "./Options.ts"

const MS = 1_000_000

const deviceNames = Object.keys(Program.DeviceClass) as [Program.DeviceClassName, ...Program.DeviceClassName[]]

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

/** A VCPU of a sandbox. */
export const vcpuSchema = z.strictObject({
  /** `'main'` (sporadic server, default) or `'io'` (PIBS). */
  kind: z.enum(["main", "io"]).default("main"),
  name: z.string().min(1, "must not be empty").optional(),
  /** `C`, ns (for I/O VCPUs `U = C/T`). */
  budgetNs: int(1),
  /** `T`, ns (the rate-monotonic priority). */
  periodNs: int(1),
  /** Main VCPUs: the relative deadline `D ≤ T` of each replenishment period, ns (the `'edf'` priority; default `T`). */
  deadlineNs: int(1).optional(),
  /** Main VCPUs: the budget policy (a registered name; default the scheduler option `policy`). */
  policy: policyName.optional(),
  /** I/O VCPUs: the device classes served. */
  device: z.union([z.enum(deviceNames), z.array(z.enum(deviceNames))]).optional(),
  /** Index of the core within the sandbox's cores (default 0). */
  core: int(0).default(0),
}).refine((v) => v.budgetNs <= v.periodNs, { message: "budgetNs must not exceed periodNs", path: ["budgetNs"] })
  .refine((v) => v.deadlineNs === undefined || v.deadlineNs <= v.periodNs, { message: "deadlineNs must not exceed periodNs", path: ["deadlineNs"] })
  .refine((v) => v.kind === "main" || (v.policy === undefined && v.deadlineNs === undefined), { message: "I/O VCPUs are PIBS servers: policy and deadlineNs are for Main VCPUs", path: ["policy"] })

/** A thread of a sandbox. */
export const threadSchema = z.strictObject({
  /** Unique in its sandbox. */
  name: z.string().min(1, "must not be empty"),
  /** Index of its (Main) VCPU in the sandbox's `vcpus`. */
  vcpu: int(0),
  /** Its behaviour: a generator function (see `Program`). */
  program: z.custom<Program.Program>((v) => Program.programProblem(v) === undefined, { error: (iss) => Program.programProblem(iss.input) }),
  /** Periodic releases for `Program.waitJob()`: period, first release offset, relative deadline (default the period). */
  periodic: z.strictObject({ periodNs: int(1), offsetNs: int(0).default(0), deadlineNs: int(1).optional() }).optional(),
  /** Local time the thread first becomes runnable, ns. */
  startNs: int(0).default(0),
  /** Address-space pages (`fork` copies them); default `kernel.processPages`. */
  pages: int(1).optional(),
  /** A user thread (system calls pay their entry, default) or a kernel thread. */
  user: z.boolean().default(true),
})

/** One sandbox. */
export const sandboxSchema = z.strictObject({
  /** VCPUs (default: the p11 set — 4 Main (20 ms, 100 ms), 3 I/O (1 ms, 10 ms) for USB, ATA, NET). */
  vcpus: z.array(vcpuSchema).min(1, "a sandbox needs at least one VCPU").optional(),
  threads: z.array(threadSchema).default([]),
  /** The info page's transmit-enable flag (false: frames the sandbox sends are silently dropped). */
  transmitEnabled: z.boolean().default(true),
  /** Monitor options of this sandbox (default: the system's `monitor`). */
  monitor: monitorSchema.partial().optional(),
})

export const systemSchema = z.strictObject({
  /** Run seed: every random stream is derived from it and its name. */
  seed: int(0).default(1),
  /**
   * `'questv'` (default): one sandbox kernel per core (or per `machine.sandboxOfCore` group) under
   * EPT; `'smp'`: SMP Quest, one kernel over every core, the paper's baseline (`smp/SmpConfig.ts`).
   */
  kind: SystemKind.default("questv"),
  /** SMP Quest's options (`kind: 'smp'`): kernel lock costs, wake-up IPIs. */
  smp: smpSchema.prefault({}),
  /** The machine (hardware `MachineConfig`); `boot.mode` is the kernel's business and must not be set. */
  machine: z.record(z.string(), z.unknown()).default({}),
  /** vcpu-sched options for every core's scheduler (validated by vcpu-sched). */
  scheduler: z.record(z.string(), z.unknown()).default({}),
  kernel: kernelSchema.prefault({}),
  monitor: monitorSchema.prefault({}),
  nic: nicSchema.prefault({}),
  channelOptions: channelOptionsSchema.prefault({}),
  recovery: recoverySchema.prefault({}),
  virtualization: virtualizationSchema.prefault({}),
  migration: migrationSchema.prefault({}),
  /** The optional boot phase (spec §D.2). */
  boot: bootSchema.prefault({}),
  /** One entry per sandbox (default: every sandbox with the default VCPUs and no threads). */
  sandboxes: z.array(sandboxSchema).optional(),
  /**
   * External hosts on the wire: ping hosts (the hardware `PingHost` options, plus `target`, the
   * pinged sandbox, which sets `targetIp` to its address).
   */
  hosts: z.array(z.looseObject({ kind: z.literal("ping"), target: int(0, 7).optional() })).default([]),
  /** Inter-sandbox channels: 2011 mailboxes and 2015 private channels (spec §D.8). */
  channels: z.array(channelSchema).default([]),
  /** The fault schedule (spec §D.9). */
  faults: z.array(faultSchema).default([]),
  /** Record executed segments per core (`--schedule`). */
  recordSchedule: z.boolean().default(false),
  /** Keep one row per job of every periodic thread (`System.jobs()`, `--jobs`). */
  recordJobs: z.boolean().default(false),
})

export type SystemInput = z.input<typeof systemSchema>
type Parsed = z.output<typeof systemSchema>

/** A resolved VCPU. */
export interface VcpuConfig {
  readonly kind: "main" | "io"
  readonly name: string
  readonly budgetNs: number
  readonly periodNs: number
  readonly classMask: number
  readonly core: number
  /** Main VCPUs: relative deadline, ns (absent: `T`). */
  readonly deadlineNs?: number
  /** Main VCPUs: policy name (absent: the scheduler option `policy`). */
  readonly policy?: string
}

export type ThreadConfig = z.output<typeof threadSchema>

export interface SandboxConfig {
  readonly index: number
  /** Machine cores of the sandbox, ascending. */
  readonly cores: readonly number[]
  readonly vcpus: readonly VcpuConfig[]
  readonly threads: readonly ThreadConfig[]
  readonly monitor: z.output<typeof monitorSchema>
  readonly transmitEnabled: boolean
}

/** A validated configuration with every default filled. */
export interface SystemConfig extends Omit<Parsed, "sandboxes" | "machine" | "scheduler"> {
  readonly machine: MachineConfig.MachineConfig
  /** The machine input as given (with `boot.mode: 'none'`), for building the Machine. */
  readonly machineInput: MachineConfig.MachineInput
  readonly scheduler: SchedOptions.SchedulerOptions
  readonly sandboxes: readonly SandboxConfig[]
  /** NIC sharers (resolved) and master. */
  readonly nicSharers: readonly number[]
  readonly nicMaster: number
}

/** The default VCPU set of a sandbox (spec §C.4, `p11`). */
export const defaultVcpus = (): VcpuConfig[] => [
  ...[0, 1, 2, 3].map((i) => ({ kind: "main" as const, name: `main${i}`, budgetNs: 20 * MS, periodNs: 100 * MS, classMask: 0, core: 0 })),
  ...(["usb", "ata", "net"] as const).map((d) => ({ kind: "io" as const, name: `io-${d}`, budgetNs: 1 * MS, periodNs: 10 * MS, classMask: Program.DeviceClass[d], core: 0 })),
]

/** The cycles of a recovery phase when the configuration does not give them: the machine's cost table (Table 1). */
export const defaultPhaseCycles = (name: PhaseName, channelReinitCycles: number, machine: MachineConfig.MachineConfig): number =>
  name === "channelReinit" ? channelReinitCycles : (machine.costs as Record<string, number>)[name]!

/** Validates `input` and fills every default; throws one `ConfigError` listing every problem by path. */
export const parse = (input: SystemInput = {}): SystemConfig => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  const r = systemSchema.safeParse(input, Issues.parseOptions)
  if (!r.success) throw new Errors.ConfigError("SystemConfig", Issues.flatten(r.error.issues))
  const c = r.data
  // Machine: the kernel does the boot (its own post-boot state or boot phase).
  const bootIn = (c.machine["boot"] ?? {}) as Record<string, unknown>
  if (bootIn["mode"] !== undefined) add(["machine", "boot", "mode"], "set by the sandbox kernel; leave it out")
  const smp = c.kind === "smp"
  const machineIn = smp ? SmpConfig.machineInput(c.machine) : c.machine
  const machineInput = { ...machineIn, boot: { ...bootIn, mode: "none" } } as MachineConfig.MachineInput
  let machine: MachineConfig.MachineConfig | null = null
  try {
    machine = MachineConfig.parse(machineInput)
  } catch (e) {
    if (!(e instanceof Errors.ConfigError)) throw e
    issues.push(...Issues.under(["machine"], e.issues))
  }
  let scheduler: SchedOptions.SchedulerOptions | null = null
  const unknownOptions = Validate.schedulerKeys(c.scheduler)
  issues.push(...unknownOptions)
  try {
    // Unknown names are reported above, with a suggestion; vcpu-sched checks the values.
    scheduler = SchedOptions.resolveOptions(Validate.knownSchedulerOptions(c.scheduler) as Partial<SchedOptions.SchedulerOptions>)
  } catch (e) {
    issues.push(Validate.schedulerError((e as Error).message))
  }
  if (machine === null || scheduler === null || unknownOptions.length > 0) throw new Errors.ConfigError("SystemConfig", issues)

  const n = MachineConfig.sandboxCount(machine)
  const sandboxOfCore = machine.sandboxOfCore ?? Array.from({ length: machine.cores }, (_, i) => i)
  if (smp) {
    const problems = SmpConfig.issues(c, machine.cores)
    if (problems.length > 0) throw new Errors.ConfigError("SystemConfig", problems)
  }
  const given = c.sandboxes ?? Array.from({ length: n }, () => ({ threads: [] as ThreadConfig[] }))
  if (given.length !== n) add(["sandboxes"], `${given.length} entries for the machine's ${n} sandboxes`)
  const sandboxes: SandboxConfig[] = []
  for (let s = 0; s < Math.min(n, given.length); s++) {
    const g = given[s]! as z.output<typeof sandboxSchema>
    const cores = sandboxOfCore.flatMap((sb, core) => (sb === s ? [core] : []))
    const vcpus: VcpuConfig[] = g.vcpus === undefined
      ? smp ? SmpConfig.defaultVcpus(cores.length) : defaultVcpus()
      : g.vcpus.map((v, i) => {
        const devices = v.device === undefined ? [] : Array.isArray(v.device) ? v.device : [v.device]
        if (v.kind === "main" && devices.length > 0) add(["sandboxes", s, "vcpus", i, "device"], `only I/O VCPUs serve devices`)
        if (v.core >= cores.length) add(["sandboxes", s, "vcpus", i, "core"], `core ${v.core} of a sandbox with ${cores.length} core(s)`)
        const mask = devices.reduce((m, d) => m | Program.DeviceClass[d], 0)
        return {
          kind: v.kind, name: v.name ?? `${v.kind}${i}`, budgetNs: v.budgetNs, periodNs: v.periodNs, classMask: mask, core: v.core,
          ...(v.deadlineNs !== undefined ? { deadlineNs: v.deadlineNs } : {}), ...(v.policy !== undefined ? { policy: v.policy } : {}),
        }
      })
    // A party of a private channel gets the polling thread's own Main VCPU (spec §D.8).
    if (c.channels.some((ch) => ch.kind === "private" && ch.between.includes(s))) {
      vcpus.push({ kind: "main", name: RECEIVER, budgetNs: c.channelOptions.receiverBudgetNs, periodNs: c.channelOptions.receiverPeriodNs, classMask: 0, core: 0 })
    }
    const names = new Set<string>()
    g.threads.forEach((t, i) => {
      if (t.name === RECEIVER) add(["sandboxes", s, "threads", i, "name"], `"${RECEIVER}" is the channel-polling thread's name`)
      const at = ["sandboxes", s, "threads", i]
      if (names.has(t.name)) add([...at, "name"], `duplicate thread name "${t.name}"`)
      names.add(t.name)
      const v = vcpus[t.vcpu]
      if (v === undefined) add([...at, "vcpu"], `VCPU ${t.vcpu} does not exist (the sandbox has ${vcpus.length})`)
      else if (v.kind !== "main") add([...at, "vcpu"], `VCPU ${t.vcpu} is an I/O VCPU; threads run on Main VCPUs`)
    })
    sandboxes.push({ index: s, cores, vcpus, threads: g.threads, transmitEnabled: g.transmitEnabled ?? true, monitor: { ...c.monitor, ...stripUndefined(g.monitor ?? {}) } })
  }

  const xen = c.virtualization.mode === "xen"
  if (xen && c.virtualization.driverDomain >= n) add(["virtualization", "driverDomain"], `sandbox ${c.virtualization.driverDomain} does not exist (${n} sandboxes)`)
  if (xen && c.nic.sharers !== undefined && (c.nic.sharers.length !== 1 || c.nic.sharers[0] !== c.virtualization.driverDomain)) {
    add(["nic", "sharers"], `in the Xen baseline only the driver domain (${c.virtualization.driverDomain}) runs the NIC driver`)
  }
  const sharers = c.nic.sharers ?? (xen ? [c.virtualization.driverDomain] : Array.from({ length: Math.min(4, n) }, (_, i) => i))
  sharers.forEach((s, i) => {
    if (s >= n) add(["nic", "sharers", i], `sandbox ${s} does not exist (${n} sandboxes)`)
    if (sharers.indexOf(s) !== i) add(["nic", "sharers", i], `sandbox ${s} listed twice`)
  })
  const master = c.nic.master ?? sharers[0] ?? 0
  if (sharers.length > 0 && !sharers.includes(master)) add(["nic", "master"], `sandbox ${master} is not a sharer`)
  c.faults.forEach((f, i) => {
    const at = ["faults", i]
    if (f.sandbox >= n) add([...at, "sandbox"], `sandbox ${f.sandbox} does not exist (${n} sandboxes)`)
    if ((f.atNs === undefined) === (f.afterReplies === undefined)) add([...at], `give exactly one of atNs and afterReplies`)
    if (f.afterReplies !== undefined && !c.hosts.some((h, j) => ((h as { name?: string }).name ?? `pinger${j}`) === f.afterReplies!.host)) {
      add([...at, "afterReplies", "host"], `no ping host named "${f.afterReplies.host}"`)
    }
    if ("target" in f && f.target !== undefined) {
      if (f.target >= n) add([...at, "target"], `sandbox ${f.target} does not exist (${n} sandboxes)`)
      else if (f.target === f.sandbox) add([...at, "target"], `the target of a remote recovery must be another sandbox`)
      if (f.recovery !== "remote") add([...at, "target"], `only a remote recovery has a target`)
    }
    if ("recovery" in f && (f.recovery === "local" || f.recovery === "remote")) {
      const rv = c.recovery.vcpu
      const recovering = f.recovery === "local" ? [f.sandbox] : f.target !== undefined ? [f.target] : sandboxes.map((sb) => sb.index).filter((x) => x !== f.sandbox)
      for (const r of recovering) {
        const sb = sandboxes[r]
        if (sb === undefined) continue
        const v = rv === undefined ? sb.vcpus.find((x) => x.kind === "main") : sb.vcpus[rv]
        if (v === undefined || v.kind !== "main") add(["recovery", "vcpu"], `sandbox ${r} has no Main VCPU ${rv ?? ""} to run the guest phases of fault ${i}`)
      }
    }
    if (f.kind === "killThread" && f.sandbox < sandboxes.length && !sandboxes[f.sandbox]!.threads.some((t) => t.name === f.thread)) {
      add([...at, "thread"], `sandbox ${f.sandbox} has no thread "${f.thread}"`)
    }
    if (f.kind === "wildWrite" || f.kind === "corruptDriver") {
      f.writes.forEach((w, j) => {
        if ("channel" in w && !c.channels.some((ch) => ch.name === w.channel)) add([...at, "writes", j, "channel"], `no channel named "${w.channel}"`)
        if ("sandbox" in w && w.sandbox >= n) add([...at, "writes", j, "sandbox"], `sandbox ${w.sandbox} does not exist`)
      })
    }
  })
  const chNames = new Set<string>()
  c.channels.forEach((ch, i) => {
    if (chNames.has(ch.name)) add(["channels", i, "name"], `duplicate channel name "${ch.name}"`)
    chNames.add(ch.name)
    ch.between.forEach((x, j) => {
      if (x >= n) add(["channels", i, "between", j], `sandbox ${x} does not exist (${n} sandboxes)`)
    })
    if (ch.kind === "private" && c.channels.some((o, j) => j < i && o.kind === "private" && o.between.includes(ch.between[0]) && o.between.includes(ch.between[1]))) {
      add(["channels", i, "between"], `the pair already has a private channel (one page per pair)`)
    }
  })
  for (const mode of ["local", "remote"] as const) {
    const phases = resolvePhases(c.recovery[mode], (name) => defaultPhaseCycles(name, c.recovery.channelReinitCycles, machine!))
    const problem = checkPhases(mode, phases)
    if (problem !== null) issues.push(problem)
  }
  c.hosts.forEach((h, i) => {
    if (h.target !== undefined && h.target >= n) add(["hosts", i, "target"], `sandbox ${h.target} does not exist (${n} sandboxes)`)
    if (h.target !== undefined && (h as { targetIp?: unknown }).targetIp !== undefined) add(["hosts", i], `give target or targetIp, not both`)
  })
  issues.push(
    ...Validate.hosts(c.hosts, machine),
    ...Validate.timeRange({ ...c, machine: undefined }, machine.cpuHz),
    ...Validate.writes(c.faults, machine),
    ...Validate.vcpuNames(sandboxes),
  )
  if (issues.length > 0) throw new Errors.ConfigError("SystemConfig", issues)
  const { sandboxes: _s, machine: _m, scheduler: _sc, ...rest } = c
  return { ...rest, machine, machineInput, scheduler, sandboxes, nicSharers: sharers, nicMaster: master }
}

const stripUndefined = <A extends object>(a: A): Partial<A> => {
  const out: Partial<A> = {}
  for (const key of Object.keys(a) as (keyof A)[]) if (a[key] !== undefined) out[key] = a[key]
  return out
}

/** The JSON schema of the configuration (programs appear as "any": they are functions). */
export const jsonSchema = (): unknown => z.toJSONSchema(systemSchema, { io: "input", unrepresentable: "any", override: policyEnumOverride })
