/**
 * A physical core: executes one piece of work at a time, takes interrupts from its local APIC,
 * switches between guest mode (the sandbox kernel) and VMX root mode (its monitor), and reads its
 * own time-stamp counter.
 *
 * The kernel drives a core through one {@link CoreListener}, registered once for all cores
 * (no closure per event): `startWork(ns, tag)` → `listener.workDone(core, tag)` when the piece
 * completes, unless `preempt()` stops it first and returns what was left; `listener.interrupt(core,
 * vector)` when the local APIC delivers a vector; `listener.vmExit(core, reason, qualification)`
 * after a VM exit (an EPT violation raised by the hardware, or one the kernel asks for, e.g. a
 * hypercall).
 *
 * Invariants:
 * - at most one piece of work at a time: `startWork` while busy is a contract break;
 * - `busyNs() + idleNs() === now` (both in global ns since t = 0);
 * - a VM exit puts the core in root mode at once (counted, traced) and notifies the listener by
 *   a Device-class event at the same time; guest memory accesses in root mode are refused as a
 *   kernel bug; `vmEntry()` returns to guest mode;
 * - interrupts are delivered only in guest mode with interrupts enabled; otherwise the local APIC
 *   holds them pending and delivers them (by an event at the same time) once both hold again;
 *   external interrupts never cause a VM exit (spec §D.4, F15, F17);
 * - work completing at time t is reported before any timer or scheduler event at t (its event is
 *   Device class).
 *
 * @module
 */
import { Simulation, Time, type Trace, type EventQueue } from "@qvsim/sim-core"
import type { Tsc } from "./Tsc.ts"
import type { Ept } from "./Ept.ts"
import type { LocalApic } from "./LocalApic.ts"

/** What the kernel (or a test) implements to drive cores; one object serves every core. */
export interface CoreListener {
  /** The piece of work started with `startWork(…, tag)` on `core` has completed. */
  workDone(core: number, tag: number): void
  /** The local APIC of `core` delivered `vector` (guest mode, interrupts enabled). */
  interrupt(core: number, vector: number): void
  /** `core` took a VM exit; for an EPT violation `qualification` is `gpa · 8 + access bits`. */
  vmExit(core: number, reason: number, qualification: number): void
}

/** Basic VM-exit reasons (Intel SDM numbering) the models use. */
export const VmExitReason = {
  ExceptionOrNmi: 0,
  ExternalInterrupt: 1,
  Cpuid: 10,
  Hlt: 12,
  Vmcall: 18,
  IoInstruction: 30,
  Rdmsr: 31,
  Wrmsr: 32,
  MonitorTrapFlag: 37,
  EptViolation: 48,
  EptMisconfiguration: 49,
  Xsetbv: 55,
} as const
export type VmExitReason = (typeof VmExitReason)[keyof typeof VmExitReason]

/** A listener that ignores everything (the default until the kernel registers one). */
export const idleListener: CoreListener = {
  workDone: () => {},
  interrupt: () => {},
  vmExit: () => {},
}

export class Core {
  /** Core index (0-based), also the trace scope of its records. */
  readonly index: number
  /** Clock rate, Hz. */
  readonly hz: number
  /** This core's time-stamp counter. */
  readonly tsc: Tsc
  /** The local APIC (set once by the machine or the test that builds the core). */
  lapic!: LocalApic
  /** Who is told about completions, interrupts and exits. */
  listener: CoreListener = idleListener
  /** The EPT loaded in this core's VMCS (null before boot). */
  ept: Ept | null = null
  /** True in VMX root mode (the monitor); cores start there, before the first VM entry. */
  inVmxRoot = true
  /** The EPT guest accesses go through: `ept` in guest mode, null in root mode. */
  guestEpt: Ept | null = null
  /** The guest's interrupt flag (IF). */
  interruptsEnabled = true
  /** VM exits taken so far. */
  vmExits = 0
  /** EPT-violation exits taken so far. */
  eptViolations = 0
  /** Page faults its kernel took on refused user accesses (machine `protection: 'pageTables'`: no exit). */
  pageFaults = 0
  /** Pieces of work that ran to completion. */
  completed = 0
  /** Pieces of work stopped by `preempt`. */
  preemptions = 0

  /** Tag of the running piece (meaningful while `busy`). */
  workTag = 0
  /** Global time the running piece started / will end, ns. */
  workStartNs = 0
  workEndNs = 0
  private working = false
  private workHandle: EventQueue.EventHandle = -1
  private busyTotalNs = 0

  private readonly sim: Simulation.Simulation
  private readonly doneHandler: number
  private readonly exitHandler: number
  readonly subject: Trace.Subject
  private readonly kindExit: Trace.RecordKind

  constructor(sim: Simulation.Simulation, index: number, tsc: Tsc) {
    this.sim = sim
    this.index = index
    this.hz = tsc.hz
    this.tsc = tsc
    this.subject = sim.trace.subject(`core${index}`, index)
    this.kindExit = sim.trace.kind("core.vmexit", ["reason", "qualification"])
    this.doneHandler = sim.register(`core${index}.workDone`, (tag) => this.finish(tag))
    this.exitHandler = sim.register(`core${index}.vmExit`, (reason, qual) => this.listener.vmExit(this.index, reason, qual))
  }

  /** True while a piece of work runs. */
  get busy(): boolean {
    return this.working
  }

  /**
   * Starts a piece of work of `durationNs` (integer ≥ 0); `listener.workDone(core, tag)` follows
   * at `now + durationNs` unless `preempt()` comes first. `tag` is any number the kernel chooses.
   */
  startWork(durationNs: number, tag: number): void {
    if (this.working) this.sim.fail(`core${this.index}.startWork: already running work tagged ${this.workTag}`)
    if (!Number.isSafeInteger(durationNs) || durationNs < 0) {
      this.sim.fail(`core${this.index}.startWork: duration ${durationNs} must be an integer number of ns ≥ 0`)
    }
    const now = this.sim.now
    const end = now + durationNs
    this.working = true
    this.workTag = tag
    this.workStartNs = now
    this.workEndNs = end
    // NOTE: straight to the queue (`end` is an integer ≥ now, checked above; `sim.at` checks it
    // again): a piece of work starts at almost every event (issue 15). Past the time range,
    // `sim.at` reports it.
    this.workHandle = end <= Time.MAX_TIME
      ? this.sim.queue.push(end, Simulation.EventClass.Device, this.doneHandler, tag)
      : this.sim.at(end, Simulation.EventClass.Device, this.doneHandler, tag)
  }

  /** Stops the running piece; returns the ns it still needed (≥ 0), or -1 when idle. */
  preempt(): number {
    if (!this.working) return -1
    const now = this.sim.now
    this.sim.cancel(this.workHandle)
    this.working = false
    this.busyTotalNs += now - this.workStartNs
    this.preemptions++
    return this.workEndNs - now
  }

  private finish(tag: number): void {
    this.working = false
    this.busyTotalNs += this.workEndNs - this.workStartNs
    this.completed++
    this.listener.workDone(this.index, tag)
  }

  /** Busy time so far, ns (including the running piece up to now). */
  busyNs(): number {
    return this.busyTotalNs + (this.working ? this.sim.now - this.workStartNs : 0)
  }

  /** Idle time so far, ns. */
  idleNs(): number {
    return this.sim.now - this.busyNs()
  }

  /** This core's local time now, ns (its TSC in ns). */
  localNs(): number {
    return this.tsc.localNs(this.sim.now)
  }

  /** RDTSC: this core's TSC now, cycles. Does not exit (spec §D.4). */
  rdtsc(): number {
    return this.tsc.cycles(this.sim.now)
  }

  /**
   * A VM exit: the core enters root mode now (counted and traced) and `listener.vmExit` runs in a
   * Device-class event at the same time. The hardware calls this for EPT violations; the kernel
   * calls it for the exits it models (CPUID/VMCALL hypercalls, port I/O, MSRs).
   */
  vmExit(reason: number, qualification = 0): void {
    if (this.inVmxRoot) this.sim.fail(`core${this.index}: VM exit (reason ${reason}) while already in VMX root mode`)
    this.inVmxRoot = true
    this.guestEpt = null
    this.vmExits++
    this.sim.trace.emit2(this.kindExit, this.subject, reason, qualification)
    this.sim.at(this.sim.now, Simulation.EventClass.Device, this.exitHandler, reason, qualification)
  }

  /** VM entry: back to guest mode; interrupts held meanwhile are delivered by an event now. */
  vmEntry(): void {
    if (!this.inVmxRoot) this.sim.fail(`core${this.index}: VM entry while already in guest mode`)
    if (this.ept === null) this.sim.fail(`core${this.index}: VM entry with no EPT loaded`)
    this.inVmxRoot = false
    this.guestEpt = this.ept
    this.lapic.kick()
  }

  /** Loads `ept` into this core's VMCS (root mode only: a monitor operation). */
  loadEpt(ept: Ept): void {
    this.requireRoot("loadEpt")
    this.ept = ept
  }

  /** Sets the guest interrupt flag; enabling delivers held interrupts by an event now. */
  setInterruptsEnabled(enabled: boolean): void {
    this.interruptsEnabled = enabled
    if (enabled) this.lapic.kick()
  }

  /** True when an interrupt would be delivered to the guest now. */
  get acceptsInterrupts(): boolean {
    return this.interruptsEnabled && !this.inVmxRoot
  }

  /** Fails the simulation unless this core is in VMX root mode (monitor-only operations). */
  requireRoot(operation: string): void {
    if (!this.inVmxRoot) this.sim.fail(`${operation}: a monitor operation, but core${this.index} is in guest mode`)
  }

  /** Fails the simulation unless this core is in guest mode (guest memory accesses). */
  requireGuest(operation: string): void {
    if (this.inVmxRoot) this.sim.fail(`${operation}: a guest access, but core${this.index} is in VMX root mode`)
  }
}
