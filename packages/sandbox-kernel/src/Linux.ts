/**
 * The Linux front end of Quest-Linux (issue 16; the Quest web page: "real-time services and device
 * management in Quest sandboxes, along with explicit communication to a Linux front-end in a
 * separate sandbox"): a sandbox of kind `'linux'` is a best-effort kernel — the same thread,
 * process, memory and channel machinery as a Quest-V sandbox, but each of its cores runs
 * vcpu-sched's {@link FairScheduler} (a CFS approximation: weights from nice values, virtual
 * runtime, slices from the scheduling latency) instead of the VCPU scheduler: no budgets, no
 * periods. It has its own device, an interrupt source on its own I/O APIC line routed to one of its
 * own cores only. It reaches Quest sandboxes only through channels the monitors set up
 * (mailboxes, private channels: `Channels.attach` registers their requests in its kernel as in any
 * other), and its memory accesses go through its own EPT like any sandbox's.
 *
 * How threads map: a Linux thread gives `nice` (weight) and `cpu` (the core of the sandbox it is
 * pinned to) instead of a VCPU. The configuration makes one weight class per (cpu, nice) used —
 * what the kernel calls the thread's VCPU — plus the I/O service classes (USB, ATA, NET: kworkers
 * at `serviceNice`) and, for a private-channel party, the polling thread's class. A fork child
 * stays in its parent's class (same core, same nice, as a Linux child inherits its nice).
 *
 * Invariants: a Linux sandbox's classes are never VCPUs of a Quest sandbox (each sandbox's kernel
 * has its own schedulers); the device's line reaches this sandbox's core only (the interrupts it
 * raises are handled and charged there, traced in this sandbox's scope); arrivals come from the
 * named stream `linux<s>.device`.
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type Rng } from "@qvsim/sim-core"
import { IoApic, type Machine } from "@qvsim/hardware"
import { FairScheduler } from "@qvsim/vcpu-sched"
import { int } from "./Options.ts"
import { Duration, PositiveDuration } from "./Vocabulary.ts"
import type { IrqHandler, Kernel } from "./kernel/index.ts"

const MS = 1_000_000
const US = 1_000

/** The sandbox's own device: an interrupt source (a disk, a USB controller: its own load). Durations with units. */
export const linuxDeviceSchema = z.strictObject({
  /** Mean time between interrupts. */
  interval: PositiveDuration,
  /** `'exponential'` (Poisson arrivals, default) or `'fixed'` (every `interval`). */
  arrivals: z.enum(["exponential", "fixed"]).default("exponential"),
  /** `[ASSUMED]` Top-half work per interrupt beyond the interrupt entry (2 µs; range 0.5–20 µs). */
  handler: Duration.default(2 * US),
  /** `[ASSUMED]` Its I/O APIC line (5: a legacy ISA line the NIC does not use). */
  line: int(0, 239).default(5),
  /** `[ASSUMED]` The vector its I/O APIC entry delivers (0x60, free in the default vector map). */
  vector: int(32, 255).default(0x60),
  /** The sandbox's core (index in its cores) the line is routed to (Linux's IRQ affinity). */
  cpu: int(0).default(0),
  /** Local time of the first interrupt's earliest arrival. */
  start: Duration.default(0),
})

/** The options of a Linux sandbox (`sandboxes[s].linux`, with `kind: 'linux'`), durations with units. */
export const linuxSchema = z.strictObject({
  /** CFS `sched_latency` (Linux's default 6 ms, unscaled) [SRC linux kernel/sched/fair.c]. */
  schedLatency: PositiveDuration.default(6 * MS),
  /** CFS `sched_min_granularity` (0.75 ms) [SRC linux kernel/sched/fair.c]. */
  minGranularity: PositiveDuration.default(750 * US),
  /** CFS `sched_wakeup_granularity` (1 ms) [SRC linux kernel/sched/fair.c]. */
  wakeupGranularity: Duration.default(1 * MS),
  /** Nice of the I/O service threads (kworkers) and of the channel-polling thread. */
  serviceNice: int(-20, 19).default(0),
  /** Its own device (none by default). */
  device: linuxDeviceSchema.optional(),
})
/** A Linux sandbox's options as declared (validated: durations in ns, defaults filled). */
export type LinuxDecl = z.output<typeof linuxSchema>

/** A Linux sandbox's device, resolved (durations in ns). */
export interface LinuxDeviceOptions {
  readonly intervalNs: number
  readonly arrivals: "exponential" | "fixed"
  readonly handlerNs: number
  readonly line: number
  readonly vector: number
  readonly cpu: number
  readonly startNs: number
}
/** A Linux sandbox's options, resolved (durations in ns). */
export interface LinuxOptions {
  readonly schedLatencyNs: number
  readonly minGranularityNs: number
  readonly wakeupGranularityNs: number
  readonly serviceNice: number
  readonly device?: LinuxDeviceOptions
}

/** The resolved options of a declaration (`…Ns` names for the durations). */
export const linuxOptions = (d: LinuxDecl): LinuxOptions => ({
  schedLatencyNs: d.schedLatency,
  minGranularityNs: d.minGranularity,
  wakeupGranularityNs: d.wakeupGranularity,
  serviceNice: d.serviceNice,
  ...(d.device === undefined ? {} : {
    device: { intervalNs: d.device.interval, arrivals: d.device.arrivals, handlerNs: d.device.handler, line: d.device.line, vector: d.device.vector, cpu: d.device.cpu, startNs: d.device.start },
  }),
})

/** The fair scheduler of one core of a Linux sandbox: `weights` are its classes' weights in the order the kernel adds them. */
export const makeFairScheduler = (schedOptions: ConstructorParameters<typeof FairScheduler.FairScheduler>[0], o: LinuxOptions, weights: readonly number[]): FairScheduler.FairScheduler =>
  new FairScheduler.FairScheduler(schedOptions, { schedLatencyNs: o.schedLatencyNs, minGranularityNs: o.minGranularityNs, wakeupGranularityNs: o.wakeupGranularityNs }, weights)

/** The weight of a nice value. */
export const weightOfNice = (nice: number): number => FairScheduler.weightOfNice(nice)

/** What a Linux device did. */
export interface LinuxDeviceStats {
  readonly sandbox: number
  /** Interrupts the device raised. */
  readonly raised: number
  /** Interrupts its handler ran. */
  readonly handled: number
}

/**
 * A Linux sandbox's own device: raises its line at each arrival; the monitor routed the line to
 * one core of the sandbox at boot; the handler (interrupt entry + `handlerNs`) runs there.
 */
export class LinuxDevice {
  readonly sandbox: number
  readonly options: LinuxDeviceOptions
  raised = 0
  handled = 0
  private readonly sim: Simulation.Simulation
  private readonly machine: Machine.Machine
  private readonly rng: Rng.RngStream
  private readonly hArrive: number
  private readonly handlerNs: number
  private readonly firstNs: number

  constructor(sim: Simulation.Simulation, machine: Machine.Machine, kernel: Kernel, options: LinuxDeviceOptions) {
    this.sim = sim
    this.machine = machine
    this.sandbox = kernel.sandbox
    this.options = options
    this.rng = sim.rng(`linux${kernel.sandbox}.device`)
    this.handlerNs = machine.costs.ns.interruptEntry + options.handlerNs
    const self = this
    const handler: IrqHandler = {
      start: () => {
        self.handled++
        return self.handlerNs
      },
      next: () => -1,
    }
    kernel.interrupts.register(options.vector, handler)
    const core = kernel.pcpus[options.cpu]!.core.index
    machine.ioapic.program(options.line, { vector: options.vector, trigger: IoApic.Trigger.Edge, destination: machine.apicBus.maskOf([core]) })
    this.hArrive = sim.register(`linux${kernel.sandbox}.device`, () => this.arrive())
    this.firstNs = kernel.pcpus[options.cpu]!.tsc.globalAt(options.startNs)
  }

  /** Schedules the first arrival (the system's start). */
  start(): void {
    this.sim.at(Math.max(this.sim.now, this.firstNs) + this.gap(), Simulation.EventClass.Device, this.hArrive, 0)
  }

  private gap(): number {
    const o = this.options
    if (o.arrivals === "fixed") return o.intervalNs
    return this.rng.exponentialNs(o.intervalNs)
  }

  private arrive(): void {
    this.raised++
    this.machine.ioapic.raise(this.options.line)
    this.sim.at(this.sim.now + this.gap(), Simulation.EventClass.Device, this.hArrive, 0)
  }

  stats(): LinuxDeviceStats {
    return { sandbox: this.sandbox, raised: this.raised, handled: this.handled }
  }
}
