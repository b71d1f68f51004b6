/**
 * Fault recovery (spec §D.9, paper §3.7 and Table 1): local recovery (the faulting sandbox repairs
 * itself), remote recovery (another sandbox takes the service over, told by an IPI between the
 * monitors), and the full-reboot baseline.
 *
 * A recovery is a list of phases with cycle counts from configuration (Table 1 by default). Phases
 * up to the VM entry run in a monitor (VMX root, non-preemptible, interrupts held); the phases after
 * it run in the recovering sandbox's guest, in a kernel thread on its recovery VCPU (so they are
 * subject to its budget and priority, spec §D.9 "queueing behind the recovering sandbox's VCPUs").
 *
 * | phase | where | what it does besides costing its cycles |
 * |---|---|---|
 * | `vmExit` | source monitor | (the exit already happened: detection) |
 * | `driverSwitch` | source monitor | re-points the sandbox's EPT entries for the shared driver's pages at its own copy |
 * | `ipiRoundTrip` | source monitor | sends the recovery IPI to the target; the target's monitor takes over when the round trip ends |
 * | `vmEntry` | recovering monitor | enters the guest at the end; the guest phases start |
 * | `driverReinit` | guest | chip reset and driver state re-initialised by the recovering sandbox (it becomes the master); its driver works again at the end; remote: the failed sandbox leaves the sharers and the NIC's I/O APIC entry is re-targeted |
 * | `networkReinit` | guest | the stack is down from the start; at the end it is up (remote: the target answers for the failed sandbox's IP) — the service is restored |
 * | `channelReinit` | guest | the failed sandbox's channels are re-initialised |
 *
 * The reboot baseline holds every core for `rebootNs` (the faulting one in its monitor, the others
 * halted with interrupts off), then re-initialises the NIC and every stack.
 *
 * Invariants (F21): every phase is recorded (`recovery.phase` in the scope of the sandbox it ran in)
 * with its configured cycles and its start and end; the outage — from the first phase's start to
 * the last phase's end — is at least the sum of the phases' durations and equals it when the
 * recovering sandbox's VCPUs are otherwise idle.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Time } from "@qvsim/sim-core"
import type { IoApic } from "@qvsim/hardware"
import type { IrqHandler, Kernel, Pcpu } from "./kernel/index.ts"
import { MESSAGE_EXIT, type FaultHandler, type Monitor, type MonitorTask } from "./Monitor.ts"
import type { SharedNicDriver } from "./SharedNicDriver.ts"
import type { NetStack } from "./NetStack.ts"
import type { Channels } from "./Channels.ts"
import type { PhaseInput, PhaseName, RecoveryOptions } from "./Options.ts"
import type { Faults, RecoveryMode } from "./Faults.ts"
import * as Program from "./Program.ts"

/** The IPI vector one monitor uses to hand a recovery to another (`[ASSUMED]`: next to migration's 240/241). */
export const RECOVERY_VECTOR = 242

/** A phase as configured: its name and cycles. */
export interface Phase {
  readonly phase: PhaseName | "reboot"
  readonly cycles: number
}

/** One executed phase. */
export interface PhaseRecord {
  readonly phase: PhaseName | "reboot"
  /** Configured cycles (what Table 1 reports). */
  readonly cycles: number
  /** The sandbox it ran in. */
  readonly sandbox: number
  startNs: number
  endNs: number
}

/** One recovery. */
export interface RecoveryRecord {
  readonly id: number
  readonly mode: Exclude<RecoveryMode, "none">
  /** The fault it answers (index in the schedule), or -1. */
  readonly fault: number
  /** The failed sandbox. */
  readonly source: number
  /** The sandbox that recovers the service (the source for local recovery; -1 for reboot). */
  readonly target: number
  /** Detection (the VM exit), ns. */
  readonly detectedNs: number
  readonly phases: PhaseRecord[]
  /** End of the last phase, ns (−1 while in progress). */
  endNs: number
}

/** Resolves a configured phase list to names and cycles (the cost table's cycles by default). */
export const resolvePhases = (list: readonly PhaseInput[], cycles: (name: PhaseName) => number): Phase[] =>
  list.map((p) => (typeof p === "string" ? { phase: p, cycles: cycles(p) } : { phase: p.phase, cycles: p.cycles ?? cycles(p.phase) }))

/** Checks a phase list (the refusal names the option). */
export const checkPhases = (mode: "local" | "remote", phases: readonly Phase[]): string | null => {
  const count = (n: string) => phases.filter((p) => p.phase === n).length
  if (count("vmEntry") !== 1) return `recovery.${mode}: needs exactly one vmEntry (the monitor must return to the guest)`
  const entry = phases.findIndex((p) => p.phase === "vmEntry")
  const guest = new Set(["driverReinit", "networkReinit", "channelReinit"])
  for (let i = 0; i < phases.length; i++) {
    const g = guest.has(phases[i]!.phase)
    if (g && i < entry) return `recovery.${mode}.${i}: ${phases[i]!.phase} runs in the guest, after vmEntry`
    if (!g && i > entry) return `recovery.${mode}.${i}: ${phases[i]!.phase} runs in the monitor, before vmEntry`
  }
  if (mode === "remote") {
    if (count("ipiRoundTrip") !== 1) return "recovery.remote: needs exactly one ipiRoundTrip (how the target learns of the fault)"
    if (count("driverSwitch") > 0) return "recovery.remote: driverSwitch is a local-recovery phase (N/A in Table 1)"
  } else if (count("ipiRoundTrip") > 0) {
    return "recovery.local: ipiRoundTrip is a remote-recovery phase (N/A in Table 1)"
  }
  return null
}

/** Everything recovery acts on. */
export interface RecoveryEnv {
  readonly kernels: readonly Kernel[]
  readonly monitors: readonly Monitor[]
  readonly driver: SharedNicDriver
  readonly stacks: readonly NetStack[]
  readonly channels: Channels
  readonly faults: Faults
  /** The NIC's I/O APIC line and the mask that reaches a set of sandboxes. */
  readonly ioapic: IoApic.IoApic
  readonly nicMask: (sandboxes: readonly number[]) => number
}

interface Armed {
  readonly mode: Exclude<RecoveryMode, "none">
  readonly target: number | undefined
  readonly fault: number
}

export class Recovery implements FaultHandler {
  readonly options: RecoveryOptions
  readonly local: readonly Phase[]
  readonly remote: readonly Phase[]
  readonly records: RecoveryRecord[] = []
  private readonly env: RecoveryEnv
  private readonly armed: (Armed | null)[]
  /** Runs by id, while the target's side is pending. */
  private readonly runs: Run[] = []
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kPhase: Trace.RecordKind
  private readonly kDone: Trace.RecordKind

  constructor(env: RecoveryEnv, options: RecoveryOptions, local: readonly Phase[], remote: readonly Phase[]) {
    this.env = env
    this.options = options
    this.local = local
    this.remote = remote
    this.armed = env.kernels.map(() => null)
    const k0 = env.kernels[0]!
    this.trace = k0.sim.trace
    this.subjects = env.kernels.map((k) => this.trace.subject(`sandbox${k.sandbox}/recovery`, k.sandbox))
    this.kPhase = this.trace.kind("recovery.phase", ["$phase", "cycles", "startNs", "endNs"])
    this.kDone = this.trace.kind("recovery.done", ["$mode", "source", "target", "outageNs"])
    for (const k of env.kernels) {
      k.interrupts.register(RECOVERY_VECTOR, new MessageHandler(), true)
    }
    for (const m of env.monitors) m.faultHandler = this
  }

  /** Sandbox `s`'s monitor starts `mode` recovery at its next fault exit (EPT violation or trigger). */
  arm(s: number, mode: Exclude<RecoveryMode, "none">, target: number | undefined, fault: number): void {
    this.armed[s] = { mode, target, fault }
  }

  /** True while sandbox `s` has a recovery armed. */
  isArmed(s: number): boolean {
    return this.armed[s] !== null
  }

  onFault(k: Kernel, p: Pcpu, _reason: number, _qualification: number): MonitorTask | null {
    const a = this.armed[k.sandbox]
    if (a == null) return null
    this.armed[k.sandbox] = null
    const task = this.env.faults.current
    if (task !== null) task.aborted = true
    if (p.irq !== null && "aborted" in p.irq) (p.irq as { aborted: boolean }).aborted = true
    this.env.faults.detected(a.fault)
    return this.begin(k, p, a)
  }

  onMessage(k: Kernel, p: Pcpu, qualification: number): MonitorTask | null {
    const run = this.runs[qualification]
    if (run === undefined || run.targetStarted) return null
    run.targetStarted = true
    return run.targetTask(k, p)
  }

  /** Starts a recovery of `k`'s sandbox on `p` (its core is in its monitor). */
  protected begin(k: Kernel, p: Pcpu, a: Armed): MonitorTask {
    const s = k.sandbox
    const id = this.records.length
    if (a.mode === "reboot") {
      const rec: RecoveryRecord = { id, mode: "reboot", fault: a.fault, source: s, target: -1, detectedNs: k.sim.now, phases: [], endNs: -1 }
      this.records.push(rec)
      return new RebootTask(this, rec)
    }
    const target = a.mode === "local" ? s : (a.target ?? this.defaultTarget(s))
    const rec: RecoveryRecord = { id, mode: a.mode, fault: a.fault, source: s, target, detectedNs: k.sim.now, phases: [], endNs: -1 }
    this.records.push(rec)
    const run = new Run(this, rec, a.mode === "local" ? this.local : this.remote)
    this.runs[id] = run
    return run.sourceTask()
  }

  /** The next NIC sharer after `s` (round robin), else the next sandbox. */
  defaultTarget(s: number): number {
    const d = this.env.driver
    const n = this.env.kernels.length
    for (let i = 1; i < n; i++) {
      const c = (s + i) % n
      if (d.registered[c]) return c
    }
    return (s + 1) % n
  }

  // ---------------------------------------------------------------- actions (called by runs)

  /** ns of `cycles` at the machine's rate (the one rounding rule). */
  ns(cycles: number): number {
    return this.env.kernels[0]!.machine.costs.toNs(cycles)
  }

  /** Records a phase start; returns the record. */
  phaseStart(rec: RecoveryRecord, phase: Phase, sandbox: number): PhaseRecord {
    const now = this.env.kernels[0]!.sim.now
    const pr: PhaseRecord = { phase: phase.phase, cycles: phase.cycles, sandbox, startNs: now, endNs: -1 }
    rec.phases.push(pr)
    return pr
  }

  phaseEnd(rec: RecoveryRecord, pr: PhaseRecord, last: boolean): void {
    const now = this.env.kernels[0]!.sim.now
    pr.endNs = now
    this.trace.emit(this.kPhase, this.subjects[pr.sandbox]!, this.trace.symbol(pr.phase), pr.cycles, pr.startNs, pr.endNs)
    if (last) {
      rec.endNs = now
      const start = rec.phases[0]!.startNs
      this.trace.emit(this.kDone, this.subjects[rec.source]!, this.trace.symbol(rec.mode), rec.source, rec.target, now - start)
    }
  }

  /** The action at the start of a phase. */
  act(phase: PhaseName | "reboot", rec: RecoveryRecord, at: "start" | "end", k: Kernel, p: Pcpu): void {
    const env = this.env
    const d = env.driver
    const s = rec.source, t = rec.target
    switch (phase) {
      case "driverSwitch":
        if (at === "start") k.machine.driverSwitch(p.core.index, s, s)
        return
      case "ipiRoundTrip":
        if (at === "start") {
          const tk = env.kernels[t]!
          ;(tk.interrupts.handlerOf(RECOVERY_VECTOR) as MessageHandler).carry(rec.id)
          p.lapic.sendIpiToCore(tk.pcpus[0]!.core.index, RECOVERY_VECTOR)
        }
        return
      case "driverReinit":
        if (at === "start") {
          // The recovering sandbox re-initialises the shared driver (chip reset, fresh cursors);
          // until it is done its own handler stays out of the way and does not hold recycling back.
          d.setRegistered(s, false)
          d.broken[s] = true
          if (t !== s) d.setRegistered(t, false)
          d.reinitialise(t)
          d.broken[t] = true
        } else {
          d.broken[t] = false
          // The initialisation sequence clears stale interrupt status (so the edge-triggered line can fire again).
          d.nic.ackInterrupt(d.nic.isr)
          if (rec.mode === "remote") {
            // The failed sandbox leaves the sharers; the target (re)joins; the line is re-targeted.
            const sharers = this.options.remoteReroute === "targetOnly"
              ? [t]
              : [...d.registered.flatMap((on, i) => (on && i !== s ? [i] : [])), t]
            for (let i = 0; i < d.registered.length; i++) d.setRegistered(i, sharers.includes(i))
            env.ioapic.setDestination(d.nic.irqLine, env.nicMask(sharers))
          } else {
            d.setRegistered(s, true)
          }
        }
        return
      case "networkReinit": {
        const stack = env.stacks[t]!
        if (at === "start") {
          if (rec.mode === "local") stack.up = false
          else env.stacks[s]!.up = false
        } else {
          stack.up = true
          if (rec.mode === "remote") for (const ip of env.stacks[s]!.ips) if (!stack.owns(ip)) stack.ips.push(ip)
        }
        return
      }
      case "channelReinit":
        if (at === "end") for (const ch of env.channels.list) {
          const parties = "parties" in ch ? ch.parties : ch.pair
          if (parties.includes(s) && parties.includes(k.sandbox)) ch.reinitialise(k, p)
        }
        return
      default:
    }
  }

  /** The kernel thread that runs the guest phases in sandbox `k`. */
  spawnGuestPhases(k: Kernel, run: Run, phases: readonly Phase[]): void {
    const self = this
    const rec = run.rec
    const vcpu = this.options.vcpu ?? k.vcpus.findIndex((v) => v.kind === "main")
    const program: Program.Program = function* () {
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i]!
        let pr: PhaseRecord | null = null
        yield Program.kernelCall(() => {
          pr = self.phaseStart(rec, ph, k.sandbox)
          self.act(ph.phase, rec, "start", k, k.pcpus[0]!)
        })
        yield run.computeOf(i, self.ns(ph.cycles))
        yield Program.kernelCall(() => {
          self.act(ph.phase, rec, "end", k, k.pcpus[0]!)
          self.phaseEnd(rec, pr!, i === phases.length - 1)
        })
      }
    }
    k.addThread({ name: `recovery#${rec.id}`, vcpu, program, startNs: 0, user: false })
  }

  /** Phase duration actually spent (broken test variants shorten it). */
  phaseNs(_phase: Phase, ns: number): number {
    return ns
  }

  /** Faults env access for tasks. */
  get environment(): RecoveryEnv {
    return this.env
  }
}

/** One local or remote recovery in progress. */
class Run {
  readonly rec: RecoveryRecord
  readonly phases: readonly Phase[]
  targetStarted = false
  /** When the source's IPI round trip ends (remote), ns. */
  roundTripEndNs = 0
  private readonly rc: Recovery
  private readonly computes: Program.Request[] = []

  constructor(rc: Recovery, rec: RecoveryRecord, phases: readonly Phase[]) {
    this.rc = rc
    this.rec = rec
    this.phases = phases
  }

  computeOf(i: number, ns: number): Program.Request {
    return (this.computes[i] ??= Program.compute(this.rc.phaseNs(this.phases[i]!, ns)))
  }

  /** Monitor phases of the failed sandbox: local, up to the VM entry; remote, up to the IPI round trip. */
  sourceTask(): MonitorTask {
    const entry = this.phases.findIndex((p) => p.phase === "vmEntry")
    const ipi = this.phases.findIndex((p) => p.phase === "ipiRoundTrip")
    const last = this.rec.mode === "local" ? entry : ipi
    return new PhaseTask(this.rc, this, 0, last, this.rec.mode === "local")
  }

  /** Monitor phases of the target (remote): wait for the round trip's end, then up to the VM entry. */
  targetTask(k: Kernel, _p: Pcpu): MonitorTask {
    const ipi = this.phases.findIndex((p) => p.phase === "ipiRoundTrip")
    const entry = this.phases.findIndex((p) => p.phase === "vmEntry")
    const wait = Math.max(0, this.roundTripEndNs - k.sim.now)
    return new PhaseTask(this.rc, this, ipi + 1, entry, true, wait)
  }

  /** Guest phases, in the recovering sandbox (called at the VM entry). */
  startGuest(k: Kernel): void {
    const entry = this.phases.findIndex((p) => p.phase === "vmEntry")
    const guest = this.phases.slice(entry + 1)
    if (guest.length === 0) return
    this.rc.spawnGuestPhases(k, this, guest)
  }
}

/** Monitor phases `[from, to]` of a run, one piece of monitor work each. */
class PhaseTask implements MonitorTask {
  private i: number
  private current: PhaseRecord | null = null
  private waiting: number
  private readonly rc: Recovery
  private readonly run: Run
  private readonly to: number
  /** This task ends with the VM entry into the recovering guest. */
  private readonly entersGuest: boolean

  constructor(rc: Recovery, run: Run, from: number, to: number, entersGuest: boolean, waitNs = 0) {
    this.rc = rc
    this.run = run
    this.i = from
    this.to = to
    this.entersGuest = entersGuest
    this.waiting = waitNs
  }

  start(k: Kernel, p: Pcpu): number {
    if (this.waiting > 0) {
      const w = this.waiting
      this.waiting = 0
      return w
    }
    return this.next(k, p)
  }

  next(k: Kernel, p: Pcpu): number {
    const rc = this.rc
    const phases = this.run.phases
    if (this.current !== null) {
      rc.act(this.current.phase, this.run.rec, "end", k, p)
      const lastOverall = this.i - 1 === phases.length - 1
      rc.phaseEnd(this.run.rec, this.current, lastOverall)
      this.current = null
    }
    if (this.i > this.to) {
      if (this.entersGuest) this.run.startGuest(k)
      return -1
    }
    const ph = phases[this.i]!
    this.current = rc.phaseStart(this.run.rec, ph, k.sandbox)
    rc.act(ph.phase, this.run.rec, "start", k, p)
    const ns = rc.phaseNs(ph, rc.ns(ph.cycles))
    if (ph.phase === "ipiRoundTrip") this.run.roundTripEndNs = k.sim.now + ns
    this.i++
    return ns
  }
}

/** The reboot baseline on the failed sandbox's core: the whole machine is down for `rebootNs`. */
class RebootTask implements MonitorTask {
  private pr: PhaseRecord | null = null
  private readonly rc: Recovery
  private readonly rec: RecoveryRecord

  constructor(rc: Recovery, rec: RecoveryRecord) {
    this.rc = rc
    this.rec = rec
  }

  start(k: Kernel, p: Pcpu): number {
    const env = this.rc.environment
    const downNs = this.rc.options.rebootNs
    const phase: Phase = { phase: "reboot", cycles: Time.nsToCycles(downNs, k.machine.costs.hz) }
    this.pr = this.rc.phaseStart(this.rec, phase, k.sandbox)
    for (const st of env.stacks) st.up = false
    // Every other core halts (interrupts off) for the same time.
    for (const other of env.kernels) {
      for (const q of other.pcpus) if (q !== p) other.runTask(q, new HaltTask(downNs))
    }
    void p
    return this.rc.phaseNs(phase, downNs)
  }

  next(k: Kernel, _p: Pcpu): number {
    const env = this.rc.environment
    if (this.pr !== null) {
      const d = env.driver
      d.reinitialise(d.master)
      d.broken.fill(false)
      for (const st of env.stacks) st.up = true
      this.rc.phaseEnd(this.rec, this.pr, true)
      this.pr = null
    }
    void k
    return -1
  }
}

/** A core held down (interrupts off) for a time: the rest of the machine during a reboot. */
class HaltTask implements IrqHandler {
  private readonly ns: number
  constructor(ns: number) {
    this.ns = ns
  }
  start(): number {
    return this.ns
  }
  next(): number {
    return -1
  }
}

/** The recovery IPI handler: the guest hands the message to its monitor (a forced exit). */
export class MessageHandler implements IrqHandler {
  private id = 0
  start(k: Kernel, p: Pcpu): number {
    // The recovery run id travels in the shared info page in Quest; here: the latest run whose target this is.
    void k
    p.core.vmExit(MESSAGE_EXIT, this.id)
    return 0
  }
  next(): number {
    return -1
  }
  /** Sets the run id the next message carries. */
  carry(id: number): void {
    this.id = id
  }
}
