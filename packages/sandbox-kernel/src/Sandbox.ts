/**
 * A sandbox: one (or more) cores with their own kernel copy, EPT, monitor, clock, VCPU scheduler
 * per core (wired to the core's LAPIC timer), network stack instance and IP address
 * `192.168.2.(11 + s)` (spec §D.1, `drivers/net/netsetup.c`).
 *
 * Invariants: everything the sandbox records is traced under subjects of scope `s` (its kernel,
 * monitor, stack), so `trace.scopeFingerprint(s)` is the sandbox's own fingerprint (F19); its cores'
 * hardware records share that scope (the system declares `core<c>` subjects in scope `s`).
 *
 * @module
 */
import type { Simulation } from "@qvsim/sim-core"
import { Frame, type Machine } from "@qvsim/hardware"
import type { CoreScheduler } from "@qvsim/vcpu-sched"
import type { SandboxConfig, SystemConfig } from "./Config.ts"
import { ExitOnInterrupt, Kernel, ThreadStatus, type ThreadEntry } from "./kernel/index.ts"
import { Monitor } from "./Monitor.ts"
import { layout as smpLayout } from "./smp/SharedState.ts"
import { makeFairScheduler } from "./Linux.ts"

/** Per-thread figures. */
export interface ThreadMetrics {
  readonly name: string
  readonly tid: number
  readonly status: string
  /** CPU executed, ns. */
  readonly cpuNs: number
  readonly jobsReleased: number
  readonly jobsStarted: number
  readonly jobsCompleted: number
  readonly jobsMissed: number
  readonly maxResponseNs: number
  readonly meanResponseNs: number
}

/** Per-sandbox figures. */
export interface SandboxMetrics {
  readonly sandbox: number
  readonly ip: string
  readonly vmExits: number
  readonly eptViolations: number
  readonly hypercalls: number
  readonly injections: number
  /** Interrupts handled (device, IPI, timer handlers with a cost), all cores. */
  readonly interrupts: number
  /** CPU time in interrupt context (top halves), ns. */
  readonly irqNs: number
  /** CPU time in the monitor, ns. */
  readonly monitorNs: number
  readonly schedulerInvocations: number
  readonly threads: readonly ThreadMetrics[]
}

const statusNames = ["runnable", "sleeping", "io-wait", "wait-child", "blocked", "exited", "migrated", "detached"]

export class Sandbox {
  readonly index: number
  readonly config: SandboxConfig
  readonly kernel: Kernel
  readonly monitor: Monitor
  /** IPv4 address (unsigned 32-bit). */
  readonly ip: number

  constructor(sim: Simulation.Simulation, machine: Machine.Machine, system: SystemConfig, config: SandboxConfig, makeScheduler?: (core: number) => CoreScheduler.CoreScheduler | undefined) {
    this.index = config.index
    this.config = config
    this.ip = Frame.sandboxIp(config.index)
    const v = system.virtualization
    // A Linux sandbox's cores run the fair scheduler, with the weights of the classes on each core.
    const linux = config.linux
    const make = linux === null
      ? makeScheduler
      : (c: number) => makeScheduler?.(c) ?? makeFairScheduler(system.scheduler, linux, config.vcpus.filter((x) => config.cores[x.core] === c).map((x) => x.weight!))
    this.kernel = new Kernel({
      sim,
      machine,
      sandbox: config.index,
      cores: config.cores,
      // A Linux kernel wakes a sleeper at its time (hrtimers: nanosleep), not at the next
      // scheduler timer interrupt as Quest does (QL1); the other kernel options are the system's.
      options: linux === null ? system.kernel : { ...system.kernel, sleepWakeup: "exact" },
      schedOptions: system.scheduler,
      vcpus: config.vcpus,
      recordSchedule: system.recordSchedule,
      recordJobs: system.recordJobs,
      // SMP Quest runs on bare hardware: one address space, no EPT walk.
      eptActive: system.kind !== "smp" && v.mode !== "none",
      kernelDataBytes: system.kind === "smp" ? smpLayout(config.cores.length).userDataOffset : 0,
      exitOnInterrupt: v.mode === "hypervisor" || v.mode === "xen" ? (v.exitOn === "all" ? ExitOnInterrupt.All : ExitOnInterrupt.Device) : ExitOnInterrupt.None,
      ip: this.ip,
      makeScheduler: make,
    })
    this.monitor = new Monitor(this.kernel, config.monitor, v.injectCycles)
  }

  /**
   * Adds the configured threads (after every module has registered with the kernel). `fromLocalNs`
   * shifts their start times: a reboot restarts them from their beginning `startNs` after the boot.
   */
  addConfiguredThreads(fromLocalNs = 0): void {
    for (const t of this.config.threads) {
      this.kernel.addThread({ name: t.name, vcpu: t.vcpu, program: t.program, periodic: t.periodic, startNs: fromLocalNs + t.startNs, pages: t.pages, user: t.user })
    }
  }

  /** Kills every live configured thread (a reboot: their state is lost); returns how many. */
  killConfiguredThreads(): number {
    const names = new Set(this.config.threads.map((t) => t.name))
    let killed = 0
    for (const th of this.kernel.threads) {
      if (!names.has(th.name) || th.killed || th.status === ThreadStatus.Exited || th.status === ThreadStatus.Migrated) continue
      this.kernel.kill(th)
      killed++
    }
    return killed
  }

  /** Restarts the configured threads from their beginning (the end of a reboot), at the sandbox's first core's local time. */
  restartConfiguredThreads(): void {
    this.addConfiguredThreads(this.kernel.localNow(this.kernel.pcpus[0]!))
  }

  /** The sandbox's figures now. */
  metrics(): SandboxMetrics {
    const k = this.kernel
    let interrupts = 0, irqNs = 0, monitorNs = 0, invocations = 0
    for (const p of k.pcpus) {
      interrupts += p.irqCount
      irqNs += p.irqNs
      monitorNs += p.monitorNs
      invocations += p.invocations
    }
    // One pass, no intermediate list (a fork storm leaves tens of thousands of thread records).
    const threads: ThreadMetrics[] = []
    for (const t of k.threads) if (t.status !== ThreadStatus.Migrated || t.cpuNs > 0) threads.push(threadMetrics(k, t))
    return {
      sandbox: this.index,
      ip: Frame.formatIp(this.ip),
      vmExits: k.vmExits(),
      eptViolations: this.monitor.eptViolations,
      hypercalls: this.monitor.hypercalls,
      injections: this.monitor.injections,
      interrupts,
      irqNs,
      monitorNs,
      schedulerInvocations: invocations,
      threads,
    }
  }
}

const threadMetrics = (k: Kernel, t: ThreadEntry): ThreadMetrics => {
  const s = t.stats
  return {
    name: t.name,
    tid: t.tid,
    status: statusNames[t.status] ?? String(t.status),
    cpuNs: t.cpuNs,
    // NOTE: the local clock only for a periodic thread (`releasedBy` is 0 for the others): a fork
    // storm leaves tens of thousands of records, each converting the time (issue 15).
    jobsReleased: t.periodNs === 0 ? 0 : t.releasedBy(k.localNow(t.pcpu)),
    jobsStarted: s.started,
    jobsCompleted: s.completed,
    jobsMissed: s.missed,
    maxResponseNs: s.maxResponseNs,
    meanResponseNs: s.completed === 0 ? 0 : s.sumResponseNs / s.completed,
  }
}
