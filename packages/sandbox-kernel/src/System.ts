/**
 * A Quest-V system: one sim-core {@link Simulation}, one hardware {@link Machine} and its
 * sandboxes (kernel + monitor each), assembled from one validated configuration ({@link Config}).
 * The system is the machine's single core listener and dispatches completions, interrupts and VM
 * exits to the sandbox that owns the core.
 *
 * ```ts
 * const sys = new System({ seed: 7, sandboxes: [{ threads: [{ name: "t", vcpu: 0, program }] }, {}, {}, {}] })
 * sys.run(Time.s(2))
 * sys.metrics().sandboxes[0].threads[0].jobsCompleted
 * sys.sim.trace.scopeFingerprint(0)     // sandbox 0's own fingerprint (F19)
 * ```
 *
 * Invariants:
 * - trace subjects of sandbox `s` (kernel, monitor, stack, and its cores' hardware records) have
 *   scope `s`: the core subjects `core<c>` are declared with scope `sandboxOfCore[c]` before the
 *   machine builds its cores (the trace returns an already declared subject by name);
 * - nothing but the configuration and the seed decides the run (F22).
 *
 * @module
 */
import { Simulation, type Trace } from "@qvsim/sim-core"
import { Core, Machine, type Ept } from "@qvsim/hardware"
import type { CoreScheduler, Schedule } from "@qvsim/vcpu-sched"
import * as Config from "./Config.ts"
import { nicMaskOf, postBoot, timeline, type BootRecord, type BootSetup } from "./Boot.ts"
import { NetStack } from "./NetStack.ts"
import { SharedNicDriver, type DriverStats } from "./SharedNicDriver.ts"
import { Channels, RECEIVER } from "./Channels.ts"
import type { Mailbox } from "./Mailbox.ts"
import { Recovery, resolvePhases, type RecoveryRecord } from "./Recovery.ts"
import type { IrqHandler, JobRow } from "./kernel/index.ts"
import { defaultPhaseCycles } from "./Config.ts"
import { Migration, type MigrationRecord } from "./Migration.ts"
import { XenNet } from "./Baseline.ts"
import * as Program from "./Program.ts"
import { Sandbox, type SandboxMetrics } from "./Sandbox.ts"
import { Faults, type FaultRecord } from "./Faults.ts"
import { LinuxDevice } from "./Linux.ts"
import { DmaFaults } from "./DmaFaults.ts"
import { DmaRemapping, Frame, Nic, PhysicalMemory, PingHost } from "@qvsim/hardware"
import { Smp, type SmpStats } from "./smp/Smp.ts"

/** Test hooks: deliberately broken variants injected by property tests. */
export interface SystemHooks {
  /** Replace sandbox `s`'s EPT (e.g. one that lets a wild write through). */
  readonly makeEpt?: (sandbox: number, machine: Machine.Machine) => Ept.Ept | undefined
  /** Replace the scheduler of core `core`. */
  readonly makeScheduler?: (core: number) => CoreScheduler.CoreScheduler | undefined
  /** Mailbox implementation (e.g. one whose re-initialisation resets the writers' sequence). */
  readonly mailboxClass?: typeof Mailbox
  /** Recovery implementation (e.g. one that skips a phase's time). */
  readonly recoveryClass?: typeof Recovery
  /** Migration implementation (e.g. one that forgets the clock shift). */
  readonly migrationClass?: typeof Migration
  /** The NIC line's destination at boot for the given sharers (e.g. a broken one that reaches every core). */
  readonly nicMask?: (machine: Machine.Machine, sharers: readonly number[]) => number
  /** Build the DMA remapping unit yourself (e.g. one that forgets a check). */
  readonly makeIommu?: Machine.MachineParts["makeIommu"]
  /** Build the shared NIC driver yourself (e.g. one that recycles too early). */
  readonly makeDriver?: (...args: ConstructorParameters<typeof SharedNicDriver>) => SharedNicDriver
  /** SMP Quest: record every cross-core wake-up (`System.smp.wakes`). */
  readonly recordWakes?: boolean
  /** SMP Quest: build the SMP mechanisms yourself (e.g. a variant that wakes remote cores without an IPI). */
  readonly smpClass?: typeof Smp
}

/** The explicit detection: the fault handler forces a VM exit with CPUID (paper §3.7, note 4). */
const TRIGGER: IrqHandler = {
  start: (_k, p) => {
    p.core.vmExit(Core.VmExitReason.Cpuid, 0)
    return 0
  },
  next: () => -1,
}

/** Whole-system figures. */
export interface Metrics {
  readonly simTimeNs: number
  readonly events: number
  readonly sandboxes: readonly SandboxMetrics[]
  readonly net: readonly NetMetrics[]
  readonly nic: NicMetrics
  readonly hosts: readonly HostMetrics[]
  /** SMP Quest only: the kernel lock, wake-up IPIs and hung cores, per core. */
  readonly smp?: SmpStats
}

/** A sandbox's network stack and driver figures. */
export interface NetMetrics extends DriverStats {
  readonly sandbox: number
  readonly rxFrames: number
  readonly rxForUs: number
  readonly rxNotOurs: number
  readonly rxWhileDown: number
  readonly echoReplies: number
  readonly txDisabled: number
  readonly txNoDescriptor: number
}

/** The NIC's counters. */
export interface NicMetrics {
  readonly rxArrivals: number
  readonly rxFrames: number
  readonly rxOverruns: number
  readonly rxDroppedDown: number
  readonly txFrames: number
  readonly interrupts: number
  readonly resets: number
  readonly master: number
  readonly lagWarnings: number
}

/** A ping host's measurements. */
export interface HostMetrics extends PingHost.PingStats {
  readonly name: string
}

export class System implements Core.CoreListener {
  readonly config: Config.SystemConfig
  readonly sim: Simulation.Simulation
  readonly machine: Machine.Machine
  readonly sandboxes: readonly Sandbox[]
  readonly faults: Faults
  /** Each sandbox's network stack. */
  readonly stacks: readonly NetStack[]
  /** The channels (mailboxes, private channels). */
  readonly channels: Channels
  /** The Xen-style split network driver (`virtualization.mode: 'xen'`), or null. */
  readonly xen: XenNet | null
  /** When each sandbox entered its guest and became ready (all 0 without the boot phase). */
  readonly boots: readonly BootRecord[]
  /** Thread migration between sandboxes. */
  readonly migration: Migration
  /** Fault recovery (local, remote, reboot). */
  readonly recovery: Recovery
  /** The shared NIC driver (one state for every sharer). */
  readonly driver: SharedNicDriver
  /** The Linux sandboxes' own devices (Quest-Linux), in sandbox order. */
  readonly linuxDevices: readonly LinuxDevice[]
  /** Remapping faults handled by the device owner's monitor (`machine.iommu.enabled`), else null. */
  readonly dmaFaults: DmaFaults | null
  /** External ping hosts, in configuration order. */
  readonly hosts: readonly PingHost.PingHost[]
  /** SMP Quest's single-system-image mechanisms (`kind: 'smp'`), else null. */
  readonly smp: Smp | null
  /** Sandbox of each core. */
  private readonly sandboxOfCore: readonly number[]
  /** Monitor set-up work done at boot (channels add theirs). */
  private readonly bootSetup: BootSetup[] = []
  private started = false

  /**
   * `sinks` listen from the first record: building the system emits records (memory, EPT and
   * interrupt set-up), and a sink attached afterwards would miss them (its record count and
   * fingerprint would differ from the run's).
   */
  constructor(input: Config.SystemInput = {}, hooks: SystemHooks = {}, sinks: ReadonlyArray<Trace.TraceSink> = []) {
    const config = Config.parse(input)
    this.config = config
    const sim = new Simulation.Simulation(config.seed)
    for (const sink of sinks) sim.trace.attach(sink)
    this.sim = sim
    const sandboxOfCore = config.machine.sandboxOfCore ?? Array.from({ length: config.machine.cores }, (_, i) => i)
    this.sandboxOfCore = sandboxOfCore
    // Scope each core's hardware records by its sandbox (see the module invariants).
    sandboxOfCore.forEach((s, c) => sim.trace.subject(`core${c}`, s))
    const machine = new Machine.Machine(sim, config.machineInput, hooks.makeIommu === undefined ? {} : { makeIommu: hooks.makeIommu })
    this.machine = machine
    this.sandboxes = config.sandboxes.map((sc) => new Sandbox(sim, machine, config, sc, hooks.makeScheduler))
    const epts = hooks.makeEpt === undefined
      ? undefined
      : machine.epts.map((e, s) => hooks.makeEpt!(s, machine) ?? e)
    // Each sandbox's data area is backed with bytes so programs can read what was written there.
    this.bootSetup.push((m) => {
      for (const sb of this.sandboxes) {
        const first = sb.kernel.dataBase / PhysicalMemory.PAGE_BYTES
        for (let i = 0; i < config.kernel.dataPages; i++) m.memory.backWithBytes(first + i)
      }
    })
    const kernels = this.sandboxes.map((s) => s.kernel)
    this.stacks = this.sandboxes.map((sb) => new NetStack(sb.index, sb.ip, machine.nic, sim.trace, sb.config.transmitEnabled))
    const driverArgs = [machine.nic, kernels, this.stacks, config.nicSharers, config.nicMaster, config.nic, machine.config.boot.nicVector] as const
    this.driver = hooks.makeDriver !== undefined ? hooks.makeDriver(...driverArgs) : new SharedNicDriver(...driverArgs)
    this.channels = new Channels(machine, config.channels, config.channelOptions, sim.trace, hooks.mailboxClass, config.recordObservations !== false)
    this.bootSetup.push((m) => this.channels.bootSetup(m))
    // DMA remapping: the NIC master's monitor maps the device's buffers (and owns its faults).
    if (config.nicSharers.length > 0) this.bootSetup.push((m) => m.mapNicBuffers(m.coresOf(config.nicMaster)[0]!))
    for (const k of kernels) this.channels.attach(k)
    // SMP Quest: after every module registered its handlers (they run under the kernel lock), before boot.
    const smp = config.kind === "smp" ? new (hooks.smpClass ?? Smp)(kernels[0]!, this.driver, config.smp, hooks.recordWakes === true) : null
    this.smp = smp
    if (smp !== null) this.bootSetup.push(() => smp.boot())
    const phase = config.boot.phase
    // With the boot phase the NIC's line starts with no destination; sandboxes join when ready.
    const mask = (hooks.nicMask ?? nicMaskOf)(machine, config.nicSharers)
    postBoot(machine, config.nicSharers.length > 0 ? (phase ? 0 : mask) : 0, this.bootSetup, epts, !phase)
    if (phase && config.nicSharers.length > 0) machine.ioapic.program(machine.nic.irqLine, { vector: machine.config.boot.nicVector, destination: 0 })
    this.boots = phase ? timeline(machine, config.boot) : this.sandboxes.map((s) => ({ sandbox: s.index, entryNs: 0, readyNs: 0 }))
    machine.setListener(this)
    // NOTE: each core of a sandbox reports straight to its kernel (a sandbox's kernel never changes),
    // not through this system's look-up of the sandbox at every core event (issue 15): the same calls.
    machine.cores.forEach((core, c) => {
      const sandbox = this.sandboxes[sandboxOfCore[c] ?? -1]
      if (sandbox !== undefined) core.listener = sandbox.kernel
    })
    this.hosts = config.hosts.map((h, i) => this.makePingHost(h as Record<string, unknown>, i))
    this.faults = new Faults(sim, {
      kernels,
      channelStatusAddress: (name, s) => this.channels.statusAddress(name, s),
      corruptDriver: (s) => { this.driver.broken[s] = true },
      armRecovery: (s, mode, target, fault) => { if (mode !== "none") this.recovery.arm(s, mode, target, fault) },
      trigger: (s) => { kernels[s]!.runTask(kernels[s]!.pcpus[0]!, TRIGGER) },
      sliceBase: (s) => machine.layout.slices[s]!.base,
      monitorBase: (s) => machine.layout.eptAreaFirstFrame(s) * PhysicalMemory.PAGE_BYTES,
      retargetDma: (ring, count, address) => this.retargetDma(ring, count, address),
      corruptPageTable: (s, gpn, count, toGpn) => {
        const k = kernels[s]!
        // Without virtualisation the table is the kernel's own (it changes it from guest mode);
        // under EPT the corrupted guest page table sits in front of the EPT, which still checks.
        if (machine.pageTablesOnly) machine.epts[s]!.redirect(k.pcpus[0]!.core, gpn, count, toGpn)
        else for (let i = 0; i < count; i++) k.exits.corruptGuestPage(gpn + i, toGpn + i)
      },
      dmaOwner: () => {
        const core = machine.iommu.enabled ? machine.iommu.ownerCore[DmaRemapping.NIC_DEVICE]! : -1
        return core >= 0 ? sandboxOfCore[core]! : -1
      },
    }, config.faults)
    this.xen = config.virtualization.mode === "xen" ? new XenNet(kernels, this.stacks, this.driver, config.virtualization) : null
    this.migration = new (hooks.migrationClass ?? Migration)(kernels, this.sandboxes.map((s) => s.monitor), config.migration)
    const phaseCycles = (name: Parameters<typeof defaultPhaseCycles>[0]) => defaultPhaseCycles(name, config.recovery.channelReinitCycles, config.machine)
    const RecoveryClass = hooks.recoveryClass ?? Recovery
    this.recovery = new RecoveryClass({
      kernels,
      monitors: this.sandboxes.map((s) => s.monitor),
      driver: this.driver,
      stacks: this.stacks,
      channels: this.channels,
      faults: this.faults,
      ioapic: machine.ioapic,
      nicMask: (sbs) => nicMaskOf(machine, sbs),
      rebootThreads: {
        kill: () => { for (const sb of this.sandboxes) sb.killConfiguredThreads() },
        restart: () => { for (const sb of this.sandboxes) sb.restartConfiguredThreads() },
      },
    }, config.recovery, resolvePhases(config.recovery.local, phaseCycles), resolvePhases(config.recovery.remote, phaseCycles))
    this.linuxDevices = this.sandboxes.flatMap((sb) => (sb.config.linux?.device === undefined ? [] : [new LinuxDevice(sim, machine, sb.kernel, sb.config.linux.device)]))
    this.dmaFaults = machine.iommu.enabled ? new DmaFaults(machine, kernels, this.sandboxes.map((s) => s.monitor), config.monitor.remappingFaultCycles) : null
    for (const sb of this.sandboxes) {
      sb.addConfiguredThreads()
      this.addChannelPoller(sb)
    }
  }

  /** A faulty driver points `count` descriptors of `ring`, from the device's next one, at `address`, `address + 2 KiB`, … */
  private retargetDma(ring: "rx" | "tx", count: number, address: number): number[] {
    const nic = this.machine.nic
    const size = ring === "rx" ? nic.rxRingSize : nic.txRingSize
    const first = ring === "rx" ? nic.rxNext : nic.txNextPost
    const out: number[] = []
    for (let j = 0; j < Math.min(count, size); j++) {
      const a = Math.min(address + j * Nic.BUFFER_BYTES, 2 ** 32 - Nic.BUFFER_BYTES)
      if (ring === "rx") nic.setRxAddress((first + j) % size, a)
      else nic.setTxAddress((first + j) % size, a)
      out.push(a)
    }
    return out
  }

  /** Starts every core's scheduler (done by the first `run`). */
  start(): void {
    if (this.started) return
    this.started = true
    if (this.config.boot.phase) {
      const hEntry = this.sim.register("boot.entry", (s) => {
        for (const c of this.machine.coresOf(s)) this.machine.cores[c]!.vmEntry()
      })
      const hReady = this.sim.register("boot.ready", (s) => this.sandboxReady(s))
      for (const b of this.boots) {
        this.sim.at(b.entryNs, Simulation.EventClass.Scheduler, hEntry, b.sandbox)
        this.sim.at(b.readyNs, Simulation.EventClass.Scheduler, hReady, b.sandbox)
      }
    } else {
      for (const sb of this.sandboxes) sb.kernel.start()
    }
    for (const h of this.hosts) h.start()
    for (const d of this.linuxDevices) d.start()
  }

  /** Boot phase: sandbox `s` registers with the shared NIC and starts its scheduler. */
  private sandboxReady(s: number): void {
    const m = this.machine
    if (this.config.nicSharers.includes(s)) {
      const line = m.nic.irqLine
      m.ioapic.setDestination(line, m.apicBus.union(m.ioapic.destinationMask(line), nicMaskOf(m, [s])))
      // The master's driver initialisation clears stale interrupt status (the edge-triggered line can fire again).
      if (s === this.driver.master) m.nic.ackInterrupt(m.nic.isr)
    }
    this.sim.trace.emit(this.sim.trace.kind("boot.ready", ["sandbox"]), this.sim.trace.subject(`sandbox${s}`, s), s)
    this.sandboxes[s]!.kernel.start()
  }

  /** The private-channel polling thread of a party sandbox, on its own VCPU (spec §D.8). */
  private addChannelPoller(sb: Sandbox): void {
    const names = this.channels.privateOf(sb.index).map((c) => c.name)
    if (names.length === 0) return
    const polls = names.map((n) => Program.poll(n))
    const pause = Program.sleep(this.config.channelOptions.receiverPollNs)
    const program: Program.Program = function* () {
      for (;;) {
        for (const p of polls) yield p
        yield pause
      }
    }
    sb.kernel.addThread({ name: RECEIVER, vcpu: sb.config.vcpus.findIndex((v) => v.name === RECEIVER), program, startNs: 0, user: false })
  }

  private makePingHost(h: Record<string, unknown>, i: number): PingHost.PingHost {
    const { kind: _kind, target, ...rest } = h
    const input = {
      name: `pinger${i}`,
      mac: 0x0200_0000_0064 + i,
      ip: Frame.formatIp(Frame.parseIp("192.168.2.100") + i),
      ...rest,
      ...(typeof target === "number" ? { targetIp: Frame.formatIp(this.stacks[target]!.ips[0]!) } : {}),
    } as PingHost.PingHostInput
    const name = String(input.name)
    const triggers = this.config.faults.flatMap((f, fi) => (f.afterReplies !== undefined && f.afterReplies.host === name ? [[f.afterReplies.replies, fi] as const] : []))
    const faults = (): Faults => this.faults
    if (triggers.length === 0) return new PingHost.PingHost(this.sim, this.machine.wire, input, `hosts.${i}`)
    // A host whose replies trigger faults (paper §4.1: recovery after the 20th reply).
    return new (class extends PingHost.PingHost {
      override receiveFrame(slot: number): void {
        const before = this.received
        super.receiveFrame(slot)
        if (this.received === before) return
        for (const [n, fi] of triggers) if (this.received === n) faults().fireNow(fi)
      }
    })(this.sim, this.machine.wire, input, `hosts.${i}`)
  }

  /** Runs the simulation until `untilNs` (inclusive of events at that time). */
  run(untilNs: number): this {
    this.start()
    this.sim.run({ untilNs })
    return this
  }

  /** Sandbox `s`. */
  sandbox(s: number): Sandbox {
    const sb = this.sandboxes[s]
    if (sb === undefined) throw new RangeError(`System.sandbox(${s}): ${this.sandboxes.length} sandboxes`)
    return sb
  }

  // ------------------------------------------------------------------ CoreListener

  workDone(core: number, tag: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onWorkDone(core, tag)
  }

  interrupt(core: number, vector: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onInterrupt(core, vector)
  }

  vmExit(core: number, reason: number, qualification: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onVmExit(core, reason, qualification)
  }

  // ------------------------------------------------------------------ results

  /** Figures of every sandbox now. */
  metrics(): Metrics {
    const nic = this.machine.nic
    return {
      simTimeNs: this.sim.now,
      events: this.sim.events,
      sandboxes: this.sandboxes.map((s) => s.metrics()),
      net: this.stacks.map((st, s) => ({
        sandbox: s,
        rxFrames: st.rxFrames,
        rxForUs: st.rxForUs,
        rxNotOurs: st.rxNotOurs,
        rxWhileDown: st.rxWhileDown,
        echoReplies: st.echoReplies,
        txDisabled: st.txDisabled,
        txNoDescriptor: st.txNoDescriptor,
        ...this.driver.stats[s]!,
      })),
      nic: {
        rxArrivals: nic.rxArrivals,
        rxFrames: nic.rxFrames,
        rxOverruns: nic.rxOverruns,
        rxDroppedDown: nic.rxDroppedDown,
        txFrames: nic.txFrames,
        interrupts: nic.interrupts,
        resets: nic.resets,
        master: this.driver.master,
        lagWarnings: this.driver.lagWarnings,
      },
      hosts: this.hosts.map((h) => ({ name: h.config.name, ...h.stats() })),
      ...(this.smp === null ? {} : { smp: this.smp.stats() }),
    }
  }

  /** The recoveries so far, with their phases. */
  recoveries(): readonly RecoveryRecord[] {
    return this.recovery.records
  }

  /** The migrations so far. */
  migrations(): readonly MigrationRecord[] {
    return this.migration.records
  }

  /** What happened to each configured fault. */
  faultRecords(): readonly FaultRecord[] {
    return this.faults.records
  }

  /** Sandbox `s`'s trace fingerprint (its kernel, monitor, stack and cores' records). */
  fingerprintOf(s: number): string {
    return this.sim.trace.scopeFingerprint(s)
  }

  /** The executed segments of every core (`recordSchedule` must be on), ordered by core. */
  schedules(): Schedule.Schedule[] {
    const out: Schedule.Schedule[] = []
    for (const sb of this.sandboxes) for (const p of sb.kernel.pcpus) if (p.schedule !== null) out.push(p.schedule)
    return out.sort((a, b) => a.pcpu - b.pcpu)
  }

  /**
   * Every job of every periodic thread, per sandbox: the completed ones (`recordJobs` must be on),
   * then those released but not completed (`completeNs` -1). Times are the sandbox's local ns.
   */
  jobs(): Array<JobRow & { readonly sandbox: number }> {
    if (!this.config.recordJobs) throw new RangeError("System.jobs: the system was built without recordJobs")
    return this.sandboxes.flatMap((sb) => [...sb.kernel.jobRows!, ...sb.kernel.openJobs()].map((j) => ({ sandbox: sb.index, ...j })))
  }

  /** The executed segments `{pcpu, start, end, vcpu, thread, job}` of every core (thread -2 = interrupt handler, -3 = monitor; job -1 = none). */
  segments(): Schedule.Segment[] {
    return this.schedules().flatMap((s) => s.segments())
  }
}
