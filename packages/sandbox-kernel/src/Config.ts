/**
 * The configuration of a Quest-V system, in the scenario vocabulary (`Vocabulary.ts`: durations
 * with units, references by name): the machine (hardware's `MachineConfig`), the scheduler
 * options (`SchedulerDecl`), per sandbox its name, VCPUs and threads (a generator `program` or a
 * declarative `job`), ping hosts, channels and faults naming the sandboxes they concern, and the
 * kernel, monitor, NIC-driver, channel, recovery, virtualisation, migration and boot options.
 *
 * {@link parse} validates it (zod), then resolves it ({@link resolve}): names become indices,
 * durations ns, jobs programs, and every cross-field rule is checked. Every refusal is an
 * `Issues.Issue` `{path, message}` naming the bad field; all of them at once, in one `ConfigError`
 * (the hardware package's error type, so the CLI reports both alike). The old spellings
 * (`budgetNs`, `vcpu: 0`, `periodic`, `atNs`, sandbox indices, …) are still accepted: `Legacy`
 * rewrites them first, and issues are reported where the user wrote them.
 *
 * Defaults: the paper's machine (Xeon E5506, 4 cores, one sandbox per core named `sandbox<i>`,
 * 2011 layout, the NIC shared by the four sandboxes) and the `p11` VCPU set per sandbox (spec
 * §C.4, `Vocabulary.DEFAULT_VCPUS`).
 *
 * Invariants: `parse` returns a complete record (every default filled) or throws; it never
 * half-applies input. Parsing `systemSchema`'s output again gives the same output.
 *
 * @module
 */
import { z } from "zod"
import { Errors, Issues, MachineConfig, type PingHost } from "@qvsim/hardware"
import type { Options as SchedOptions } from "@qvsim/vcpu-sched"
import type * as Program from "./Program.ts"
import { dmaTargetSchema, faultSchema, writeTargetSchema, type Fault } from "./Faults.ts"
import { channelSchema, type ChannelConfig } from "./Channels.ts"
import { migrationSchema } from "./Migration.ts"
import { bootSchema } from "./Boot.ts"
import * as Legacy from "./Legacy.ts"
import { SystemKind, smpSchema } from "./smp/SmpOptions.ts"
import { linuxSchema, type LinuxOptions } from "./Linux.ts"
import { resolve } from "./Resolve.ts"
import { SchedulerOptionsDecl } from "./SchedulerDecl.ts"
import { withOldSpellings } from "./LegacySchema.ts"
import { Duration, Name, policyEnumOverride, PositiveDuration, SandboxVcpu, SystemThread, type SandboxVcpuInput, type SystemThreadInput } from "./Vocabulary.ts"
import {
  channelOptionsSchema, int, kernelSchema, monitorSchema, nicSchema, recoverySchema, virtualizationSchema,
  type NicOptions, type VirtualizationOptions,
} from "./Options.ts"

export { resolve } from "./Resolve.ts"
export { policyEnumOverride, policyName } from "./Vocabulary.ts"

/** One sandbox. */
export const sandboxSchema = z.strictObject({
  /** Its name, unique (default `sandbox<i>`); channels, hosts and faults refer to it by it. */
  name: Name.optional(),
  /** `'quest'` (a Quest-V sandbox, default) or `'linux'` (a Linux front end: fair scheduler, no VCPUs; `Linux.ts`). */
  kind: z.enum(["quest", "linux"]).default("quest"),
  /** A Linux sandbox's options (scheduler tunables, its own device). */
  linux: linuxSchema.optional(),
  /** VCPUs (default: the p11 set — 4 Main (20 ms, 100 ms), 3 I/O (1 ms, 10 ms) for USB, ATA, NET). */
  vcpus: z.array(SandboxVcpu).min(1, "a sandbox needs at least one VCPU").optional(),
  threads: z.array(SystemThread).default([]),
  /** The info page's transmit-enable flag (false: frames the sandbox sends are silently dropped). */
  transmitEnabled: z.boolean().default(true),
  /** Monitor options of this sandbox (default: the system's `monitor`). */
  monitor: monitorSchema.partial().optional(),
})

/**
 * A ping host on the wire (hardware's `PingHost`, whose options these are, durations with units):
 * `target` names the pinged sandbox (its address becomes `targetIp`). No defaults here: the host
 * gets `PingHost`'s (and a name `pinger<i>`, a MAC and IP of its own).
 */
export const hostSchema = z.strictObject({
  kind: z.literal("ping"),
  name: Name.optional(),
  target: Name.optional(),
  mode: z.enum(["interval", "flood"]).optional(),
  /** Spacing of requests in interval mode (default 1 s). */
  interval: PositiveDuration.optional(),
  /** Flood mode: the longest wait for a reply before the next request (default 10 ms). */
  floodInterval: PositiveDuration.optional(),
  /** A reply later than this is late; a request without a reply by then is lost (default 1 s). */
  timeout: PositiveDuration.optional(),
  /** Time of the first request (default 0). */
  start: Duration.optional(),
  /** Requests to send (default unlimited). */
  count: int(1).optional(),
  payloadBytes: int(0, 1472).optional(),
  /** This host's MAC and IP, and the pinged ones (`targetIp`: instead of `target`). */
  mac: int(0, 0xffff_ffff_ffff).optional(),
  ip: z.string().optional(),
  targetIp: z.string().optional(),
  targetMac: int(0, 0xffff_ffff_ffff).optional(),
  ident: int(0, 0xffff).optional(),
  /** Link speed of this host's port, bit/s (default: the wire's). */
  linkBps: int(1).optional(),
})
export type HostInput = z.input<typeof hostSchema>

const pair = z.tuple([Name, Name]).refine((p) => p[0] !== p[1], "the two sandboxes must differ")
const [mailbox, privateChannel] = channelSchema.options

/** An inter-sandbox channel (`Channels.ts`) between two sandboxes named in `between`. */
export const channelDecl = z.discriminatedUnion("kind", [mailbox.extend({ between: pair }), privateChannel.extend({ between: pair })])

const [sliceWrite, gpaWrite, channelWrite] = writeTargetSchema.options
const writeDecl = z.union([sliceWrite.extend({ sandbox: Name }), gpaWrite, channelWrite])
const [wildWrite, corruptDriver, killThread, trigger, rogueDma, corruptPageTable] = faultSchema.options
const [dmaIntoSandbox, dmaIntoMonitor, dmaIntoGpa] = dmaTargetSchema.options
/** Where a rogue DMA points the descriptors (a corrupted page table its entries): a sandbox's or a monitor's memory by the sandbox's name, or a bus address. */
const dmaTargetDecl = z.union([dmaIntoSandbox.extend({ sandbox: Name }), dmaIntoMonitor.extend({ monitor: Name }), dmaIntoGpa])
const when = {
  /** Global time of the fault. */
  at: Duration.optional(),
  /** The faulty sandbox. */
  sandbox: Name,
}
const drop = { atNs: true, sandbox: true } as const

/** A fault (`Faults.ts`): at a time or after a host's replies, in a sandbox named `sandbox`. */
export const faultDecl = z.discriminatedUnion("kind", [
  wildWrite.omit({ ...drop, target: true, writes: true }).extend({ ...when, writes: z.array(writeDecl).min(1, "at least one write"), target: Name.optional() }),
  corruptDriver.omit({ ...drop, target: true, writes: true, detectAfterNs: true }).extend({
    ...when,
    writes: z.array(writeDecl).default([]),
    /** With `detection: 'trigger'`: the delay before the detection. */
    detectAfter: Duration.default(0),
    target: Name.optional(),
  }),
  killThread.omit(drop).extend(when),
  trigger.omit({ ...drop, target: true }).extend({ ...when, target: Name.optional() }),
  rogueDma.omit({ ...drop, into: true }).extend({ ...when, into: dmaTargetDecl }),
  corruptPageTable.omit({ ...drop, into: true }).extend({ ...when, into: dmaTargetDecl }),
])

/** The NIC options (`Options.nicSchema`), the sharing sandboxes and the master by name. */
export const nicDecl = nicSchema.extend({
  /** Sandboxes sharing the NIC (default every sandbox: `MAX_NUM_SHARE` = 4 is the Quest driver's array size, not the device's). */
  sharers: z.array(Name).optional(),
  /** The master sandbox (initialised the NIC; handles TX completions and acknowledges interrupts). Default the first sharer. */
  master: Name.optional(),
})

/** The virtualisation options (`Options.virtualizationSchema`), the Xen driver domain by name (default the first sandbox). */
export const virtualizationDecl = virtualizationSchema.extend({ driverDomain: Name.optional() })

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
  /** The machine (hardware's `MachineConfig`), less `boot.mode`: the kernel does the boot. */
  machine: MachineConfig.kernelSchema.optional(),
  /** vcpu-sched options for every core's scheduler (either spelling of a duration option). */
  scheduler: SchedulerOptionsDecl.default({}),
  kernel: kernelSchema.prefault({}),
  monitor: monitorSchema.prefault({}),
  nic: nicDecl.prefault({}),
  channelOptions: channelOptionsSchema.prefault({}),
  recovery: recoverySchema.prefault({}),
  virtualization: virtualizationDecl.prefault({}),
  migration: migrationSchema.prefault({}),
  /** The optional boot phase (spec §D.2). */
  boot: bootSchema.prefault({}),
  /** One entry per sandbox (default: every sandbox with the default VCPUs and no threads). */
  sandboxes: z.array(sandboxSchema).optional(),
  /** External hosts on the wire. */
  hosts: z.array(hostSchema).default([]),
  /** Inter-sandbox channels: 2011 mailboxes and 2015 private channels (spec §D.8). */
  channels: z.array(channelDecl).default([]),
  /** The fault schedule (spec §D.9). */
  faults: z.array(faultDecl).default([]),
  /** Record executed segments per core (`--schedule`). */
  recordSchedule: z.boolean().default(false),
  /** Keep one row per job of every periodic thread (`System.jobs()`, `--jobs`). */
  recordJobs: z.boolean().default(false),
  /**
   * Keep every mailbox observation (`Mailbox.observations`: memory grows with the run). Unset:
   * kept (the paper's analyses read them); a scenario run sets it off unless declared (nothing
   * it prints reads them), so a long system run stays in flat memory (issue 15).
   */
  recordObservations: z.boolean().optional(),
})

/** A configuration in the vocabulary, validated (durations in ns, defaults filled, names unresolved). */
export type Declared = z.output<typeof systemSchema>
/** A configuration in the vocabulary, as written. */
export type SystemDeclInput = z.input<typeof systemSchema>

// -------------------------------------------------------------------- the old spellings (types)

/** A sandbox named by its name; an index (a number) is the old spelling (deprecated). */
type SandboxRef = string | number
/** `T` with the fields of `R` replaced (distributing over a union). */
type Replace<T, R> = T extends unknown ? Omit<T, keyof R> & R : never

/** A VCPU in the old spelling. @deprecated write `budget` and `period` (durations). */
export type LegacyVcpu = Omit<SandboxVcpuInput, "budget" | "period"> & { readonly budgetNs: number; readonly periodNs: number }
/** A job in the old spelling. @deprecated write `job` as the list of steps, releases in `arrivals`. */
export type LegacyJob = { readonly steps: NonNullable<SystemThreadInput["job"]>; readonly every?: string | number | undefined; readonly offset?: string | number | undefined; readonly deadline?: string | number | undefined; readonly repeat?: boolean | undefined }
/** A thread, fields in the old spelling allowed (deprecated: `vcpu` by index, `periodic`, `startNs`, a job object). */
export type ThreadInput = Replace<SystemThreadInput, { readonly vcpu?: string | number | undefined; readonly job?: SystemThreadInput["job"] | LegacyJob | undefined }> & {
  /** @deprecated write `arrivals: {kind: "periodic", period, offset}` and `deadline` */
  readonly periodic?: { readonly periodNs: number; readonly offsetNs?: number | undefined; readonly deadlineNs?: number | undefined } | undefined
  /** @deprecated write `start` (a duration) */
  readonly startNs?: number | undefined
}
/** A ping host, fields in the old spelling allowed (deprecated: `target` by index, `…Ns` durations). */
export type HostInputCompat = Replace<HostInput, { readonly target?: SandboxRef | undefined }> & {
  /** @deprecated write `interval` */ readonly intervalNs?: number | undefined
  /** @deprecated write `floodInterval` */ readonly floodIntervalNs?: number | undefined
  /** @deprecated write `timeout` */ readonly timeoutNs?: number | undefined
  /** @deprecated write `start` */ readonly startNs?: number | undefined
}
type WriteInput = Replace<z.input<typeof writeDecl>, { readonly sandbox: SandboxRef }> | z.input<typeof writeDecl>
/** A fault, fields in the old spelling allowed (deprecated: sandbox indices, `atNs`, `detectAfterNs`). */
export type FaultInputCompat = z.input<typeof faultDecl> extends infer F ? F extends unknown ? Omit<F, "sandbox" | "target" | "writes"> & {
  readonly sandbox: SandboxRef
  readonly target?: SandboxRef | undefined
  readonly writes?: ReadonlyArray<WriteInput> | undefined
  /** @deprecated write `at` */ readonly atNs?: number | undefined
  /** @deprecated write `detectAfter` */ readonly detectAfterNs?: number | undefined
} : never : never

type SandboxDeclInput = z.input<typeof sandboxSchema>
/**
 * What {@link parse} accepts: the vocabulary, with the old spellings allowed field by field
 * (deprecated: `Legacy.upgrade` reports and rewrites them before validation).
 */
export type SystemInput = Omit<SystemDeclInput, "sandboxes" | "hosts" | "channels" | "faults" | "nic" | "virtualization"> & {
  /** The NIC options (deprecated: `sharers` and `master` by index). */
  readonly nic?: Replace<z.input<typeof nicDecl>, { readonly sharers?: readonly SandboxRef[] | undefined; readonly master?: SandboxRef | undefined }> | undefined
  /** The virtualisation options (deprecated: `driverDomain` by index). */
  readonly virtualization?: Replace<z.input<typeof virtualizationDecl>, { readonly driverDomain?: SandboxRef | undefined }> | undefined
  readonly sandboxes?: Array<Omit<SandboxDeclInput, "vcpus" | "threads"> & {
    readonly vcpus?: ReadonlyArray<SandboxVcpuInput | LegacyVcpu> | undefined
    readonly threads?: ReadonlyArray<ThreadInput> | undefined
  }> | undefined
  readonly hosts?: ReadonlyArray<HostInputCompat> | undefined
  readonly channels?: ReadonlyArray<Replace<z.input<typeof channelDecl>, { readonly between: readonly [SandboxRef, SandboxRef] }>> | undefined
  readonly faults?: ReadonlyArray<FaultInputCompat> | undefined
}

/** A sandbox as written (either spelling, before defaults). */
export type SandboxInput = NonNullable<SystemInput["sandboxes"]>[number]

// ------------------------------------------------------------------------------ resolved records

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
  /** A Linux sandbox's weight class: its weight (absent in Quest sandboxes). */
  readonly weight?: number
}

/** A resolved thread (what the kernel's `addThread` takes). */
export interface ThreadConfig {
  readonly name: string
  /** Index of its VCPU in the sandbox's `vcpus`. */
  readonly vcpu: number
  readonly program: Program.Program
  readonly periodic?: { readonly periodNs: number; readonly offsetNs: number; readonly deadlineNs?: number }
  readonly startNs: number
  readonly pages?: number
  readonly user: boolean
}

export interface SandboxConfig {
  readonly index: number
  readonly name: string
  readonly kind: "quest" | "linux"
  /** A Linux sandbox's options (with defaults), else null. */
  readonly linux: LinuxOptions | null
  /** Machine cores of the sandbox, ascending. */
  readonly cores: readonly number[]
  readonly vcpus: readonly VcpuConfig[]
  readonly threads: readonly ThreadConfig[]
  readonly monitor: z.output<typeof monitorSchema>
  readonly transmitEnabled: boolean
}

/** A resolved ping host: hardware `PingHost` options, and the pinged sandbox's index. */
export type HostConfig = PingHost.PingHostInput & { readonly kind: "ping"; readonly target?: number }

/** A validated configuration with every default filled and every name resolved. */
export interface SystemConfig extends Omit<Declared, "sandboxes" | "machine" | "scheduler" | "hosts" | "channels" | "faults" | "nic" | "virtualization"> {
  /** The NIC options, sandboxes by index. */
  readonly nic: NicOptions
  /** The virtualisation options, the driver domain by index. */
  readonly virtualization: VirtualizationOptions
  readonly machine: MachineConfig.MachineConfig
  /** The machine input as given (with `boot.mode: 'none'`), for building the Machine. */
  readonly machineInput: MachineConfig.MachineInput
  readonly scheduler: SchedOptions.SchedulerOptions
  readonly sandboxes: readonly SandboxConfig[]
  readonly hosts: readonly HostConfig[]
  readonly channels: readonly ChannelConfig[]
  readonly faults: readonly Fault[]
  /** NIC sharers (resolved) and master. */
  readonly nicSharers: readonly number[]
  readonly nicMaster: number
}

/** The cycles of a recovery phase when the configuration does not give them (`Resolve.defaultPhaseCycles`). */
export { defaultPhaseCycles } from "./Resolve.ts"

/** Every problem of `input`, by the path the user wrote (empty: it is valid). */
export const check = (input: SystemInput = {}): Issues.Issue[] => {
  try {
    parse(input)
    return []
  } catch (e) {
    if (e instanceof Errors.ConfigError) return [...e.issues]
    throw e
  }
}

/**
 * Validates `input`, fills every default and resolves every name; throws one `ConfigError`
 * listing every problem at the path the user wrote.
 */
export const parse = (input: SystemInput = {}): SystemConfig => {
  const up = Legacy.upgrade(input)
  const r = systemSchema.safeParse(up.input, Issues.parseOptions)
  const issues = Legacy.combine(up.issues, r.success ? [] : Issues.flatten(r.error.issues))
  if (issues.length > 0 || !r.success) throw new Errors.ConfigError("SystemConfig", Legacy.original(issues, up.renames))
  const machine = (up.input as { machine?: MachineConfig.KernelMachineInput }).machine ?? {}
  const resolved = resolve(r.data, machine)
  if ("issues" in resolved) throw new Errors.ConfigError("SystemConfig", Legacy.original(resolved.issues, up.renames))
  return resolved.config
}

/**
 * The JSON schema of the configuration (programs appear as "any": they are functions), the
 * registered policies' names as the enum of every `policy`, the old spellings marked deprecated.
 */
export const jsonSchema = (): unknown => withOldSpellings(z.toJSONSchema(systemSchema, { io: "input", unrepresentable: "any", override: policyEnumOverride }))
