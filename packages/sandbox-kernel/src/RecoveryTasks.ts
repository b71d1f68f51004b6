/**
 * The work a recovery hands to monitors and cores (spec §D.9): a run's monitor phases as monitor
 * tasks (the failed sandbox's, then, for a remote recovery, the target's once the IPI round trip
 * has ended), its guest phases as a kernel thread of the recovering sandbox, the reboot baseline
 * (the failed core in its monitor, every other core halted, the threads restarted), and the recovery IPI that carries a
 * run from one monitor to the other.
 *
 * Invariants: monitor phases run one after the other on one core, non-preemptible; each phase is
 * recorded at its start and end (`Recovery.phaseStart` / `phaseEnd`); the guest phases start only
 * at the recovering monitor's VM entry.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import type { IrqHandler, Kernel, Pcpu } from "./kernel/index.ts"
import { MESSAGE_EXIT, type MonitorTask } from "./Monitor.ts"
import * as Program from "./Program.ts"
import type { Recovery, RecoveryRecord } from "./Recovery.ts"
import type { Phase, PhaseRecord } from "./RecoveryPhases.ts"

/** The IPI vector one monitor uses to hand a recovery to another (`[ASSUMED]`: next to migration's 240/241). */
export const RECOVERY_VECTOR = 242

/** One local or remote recovery in progress. */
export class Run {
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
    const ns = rc.phaseNs(ph, this.current.ns)
    if (ph.phase === "ipiRoundTrip") this.run.roundTripEndNs = k.sim.now + ns
    this.i++
    return ns
  }
}

/**
 * The reboot baseline on the failed sandbox's core: the whole machine is down for `rebootNs`; the
 * configured threads are killed at its start and restarted from their beginning at its end, and
 * every core's scheduler starts as at boot when its halt ends (`Recovery.restartScheduler`).
 */
export class RebootTask implements MonitorTask {
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
    this.pr = this.rc.phaseStart(this.rec, phase, k.sandbox, downNs)
    for (const st of env.stacks) st.up = false
    // The machine goes down: every configured thread's state is lost.
    env.rebootThreads?.kill()
    // Every other core halts (interrupts off) for the same time.
    for (const other of env.kernels) {
      for (const q of other.pcpus) if (q !== p) other.runTask(q, new HaltTask(this.rc, downNs))
    }
    void p
    return this.rc.phaseNs(phase, downNs)
  }

  next(k: Kernel, p: Pcpu): number {
    const env = this.rc.environment
    if (this.pr !== null) {
      const d = env.driver
      d.reinitialise(d.master)
      d.broken.fill(false)
      for (const st of env.stacks) st.up = true
      // Booted again: this core's scheduler as at boot (before its first invocation after the
      // halt, so the halt is charged to no VCPU), the configured threads from their beginning.
      this.rc.restartScheduler(k, p)
      env.rebootThreads?.restart()
      this.rc.phaseEnd(this.rec, this.pr, true)
      this.pr = null
    }
    return -1
  }
}

/**
 * A core held down (interrupts off) for a time: the rest of the machine during a reboot. At its end
 * the core is up again: its scheduler starts as at boot, before the invocation that follows the task.
 */
class HaltTask implements IrqHandler {
  private readonly rc: Recovery
  private readonly ns: number
  private done = false
  constructor(rc: Recovery, ns: number) {
    this.rc = rc
    this.ns = ns
  }
  start(): number {
    return this.ns
  }
  next(k: Kernel, p: Pcpu): number {
    if (!this.done) {
      this.done = true
      this.rc.restartScheduler(k, p)
    }
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
