/**
 * Fault recovery (spec §D.9, paper §3.7 and Table 1): local recovery (the faulting sandbox repairs
 * itself), remote recovery (another sandbox takes the service over, told by an IPI between the
 * monitors), and the full-reboot baseline.
 *
 * A recovery is a list of phases with cycle counts from configuration (Table 1 by default; what
 * each phase does: `RecoveryPhases.ts`). Phases up to the VM entry run in a monitor (VMX root,
 * non-preemptible, interrupts held); the phases after it run in the recovering sandbox's guest, in
 * a kernel thread on its recovery VCPU (so they are subject to its budget and priority, spec §D.9
 * "queueing behind the recovering sandbox's VCPUs"). The monitor and guest work is in
 * `RecoveryTasks.ts`.
 *
 * The reboot baseline holds every core for `rebootNs` (the faulting one in its monitor, the others
 * halted with interrupts off) and kills every configured thread at its start (their state is
 * lost), then re-initialises the NIC and every stack and restarts the configured threads from
 * their beginning; each core's VCPU scheduler starts as at boot when its halt ends
 * (`SchedulerReboot.ts`: the halt is charged to no VCPU, budgets are full at the restart).
 *
 * Invariants (F21): every phase is recorded (`recovery.phase` in the scope of the sandbox it ran in)
 * with its configured cycles, its duration in this run (`ns`: the cycles varied by
 * ±`recovery.phaseJitter`, §D.13) and its start and end; the outage — from the first phase's start
 * to the last phase's end — is at least the sum of the phases' durations and equals it when the
 * recovering sandbox's VCPUs are otherwise idle.
 *
 * @module
 */
import type { Rng, Trace } from "@qvsim/sim-core"
import type { IoApic } from "@qvsim/hardware"
import type { Kernel, Pcpu } from "./kernel/index.ts"
import type { FaultHandler, Monitor, MonitorTask } from "./Monitor.ts"
import type { SharedNicDriver } from "./SharedNicDriver.ts"
import type { NetStack } from "./NetStack.ts"
import type { Channels } from "./Channels.ts"
import { vcpuIndexOf, type PhaseName, type RecoveryOptions } from "./Options.ts"
import type { Faults, RecoveryMode } from "./Faults.ts"
import * as Program from "./Program.ts"
import { actOnPhase, type Phase, type PhaseRecord } from "./RecoveryPhases.ts"
import { MessageHandler, RebootTask, RECOVERY_VECTOR, Run } from "./RecoveryTasks.ts"
import { restartScheduler } from "./SchedulerReboot.ts"

export * from "./RecoveryPhases.ts"
export { MessageHandler, RECOVERY_VECTOR } from "./RecoveryTasks.ts"

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
  /**
   * The reboot baseline: kills every sandbox's configured threads (their state is lost), and
   * restarts them from their beginning once the machine is up. Absent: threads are only held.
   */
  readonly rebootThreads?: { readonly kill: () => void; readonly restart: () => void }
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
  private readonly phaseRng: Rng.RngStream

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
    this.phaseRng = k0.sim.rng("recovery/phases")
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

  /**
   * The duration of a phase of `cycles` cycles in this run: their ns varied uniformly by
   * ±`recovery.phaseJitter` (stream `recovery/phases`; the configured cycles stay the mean).
   */
  drawNs(cycles: number): number {
    const ns = this.ns(cycles)
    const d = Math.floor(ns * this.options.phaseJitter)
    return d <= 0 ? ns : ns + this.phaseRng.int(-d, d)
  }

  /** Records a phase start, lasting `ns` (default: drawn, {@link drawNs}); returns the record. */
  phaseStart(rec: RecoveryRecord, phase: Phase, sandbox: number, ns = this.drawNs(phase.cycles)): PhaseRecord {
    const now = this.env.kernels[0]!.sim.now
    const pr: PhaseRecord = { phase: phase.phase, cycles: phase.cycles, ns, sandbox, startNs: now, endNs: -1 }
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

  /** The action of a phase at its start or end (`RecoveryPhases.actOnPhase`). */
  act(phase: PhaseName | "reboot", rec: RecoveryRecord, at: "start" | "end", k: Kernel, p: Pcpu): void {
    actOnPhase(this.env, this.options, phase, rec, at, k, p)
  }

  /** The kernel thread that runs the guest phases in sandbox `k`. */
  spawnGuestPhases(k: Kernel, run: Run, phases: readonly Phase[]): void {
    const self = this
    const rec = run.rec
    const given = this.options.vcpu
    const vcpu = given === undefined ? k.vcpus.findIndex((v) => v.kind === "main") : vcpuIndexOf(given, k.vcpus)
    const program: Program.Program = function* () {
      for (let i = 0; i < phases.length; i++) {
        const ph = phases[i]!
        let pr: PhaseRecord | null = null
        yield Program.kernelCall(() => {
          pr = self.phaseStart(rec, ph, k.sandbox)
          self.act(ph.phase, rec, "start", k, k.pcpus[0]!)
        })
        yield run.computeOf(i, pr!.ns)
        yield Program.kernelCall(() => {
          self.act(ph.phase, rec, "end", k, k.pcpus[0]!)
          self.phaseEnd(rec, pr!, i === phases.length - 1)
        })
      }
    }
    k.addThread({ name: `recovery#${rec.id}`, vcpu, program, startNs: 0, user: false })
  }

  /**
   * The reboot baseline: core `p` of `k` is up again (the end of its halt); its scheduler starts as
   * at boot (`SchedulerReboot.ts`). Broken test variants keep the state across the reboot.
   */
  restartScheduler(k: Kernel, p: Pcpu): void {
    restartScheduler(k, p)
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
