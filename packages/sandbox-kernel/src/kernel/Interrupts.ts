/**
 * Interrupts in a sandbox's kernel (spec §C.1): the handlers registered by vector, top halves and
 * kernel-context tasks run as core work with interrupts disabled, the LAPIC timer handler (W2:
 * the sleep queue, then the scheduler), and the hypervisor baseline's interrupt exits.
 *
 * An interrupt suspends the running thread's work (`Core.preempt`), runs the handler's phases as
 * core work (the LAPIC holds newer vectors meanwhile), then either invokes the scheduler (a wakeup
 * asked for preemption, or the timer handler ran) or resumes the thread. Time in interrupt context
 * is charged to whichever VCPU was current (§C.1 accounting) and recorded as `SEGMENT_IRQ`.
 *
 * Invariants:
 * - at most one handler or task runs per core (`Pcpu.irq`); further kernel-context tasks queue in
 *   `Pcpu.tasks` and run, in order, before the core returns to thread context;
 * - interrupts are re-enabled only when the last handler or task of the core ends;
 * - interrupt-context time is counted once (`Pcpu.irqNs`): a VM exit from a handler closes the
 *   segment so far and the monitor's return reopens it;
 * - in Quest-V mode no interrupt exits (F17); the hypervisor baseline exits on device interrupts
 *   (`ExitOnInterrupt.Device`) or on all of them (`All`), except the monitor-to-monitor vectors
 *   registered as direct.
 *
 * @module
 */
import { Core as CoreNs } from "@qvsim/hardware"
import type { Kernel } from "./Kernel.ts"
import { Activity, SEGMENT_IRQ, Work, type Pcpu } from "./Pcpu.ts"

/** Interrupt-context work: a top half, or a kernel-context task (a fault). */
export interface IrqHandler {
  /** Starts on `p` for `vector`: ns of work before `next`, or -1 when done. */
  start(k: Kernel, p: Pcpu, vector: number): number
  /** After the previous work (or after a VM exit it raised was handled): ns more, or -1 when done. */
  next(k: Kernel, p: Pcpu): number
}

/** Which interrupts exit to the monitor. */
export const ExitOnInterrupt = {
  /** None (Quest-V: the guest handles its interrupts, F17). */
  None: 0,
  /** Device interrupts (the hypervisor-mediated baseline; the LAPIC timer stays in the guest). */
  Device: 1,
  /** All of them, the timer too. */
  All: 2,
} as const
export type ExitOnInterrupt = (typeof ExitOnInterrupt)[keyof typeof ExitOnInterrupt]

export class Interrupts {
  private readonly k: Kernel
  /** Handlers by vector. */
  private readonly handlers: (IrqHandler | undefined)[] = new Array<IrqHandler | undefined>(256).fill(undefined)
  /** Vectors that never exit even in the hypervisor baseline (monitor-to-monitor IPIs). */
  private readonly direct = new Set<number>()
  private readonly exitOn: ExitOnInterrupt
  /** The LAPIC timer's vector and the cost of its handler's entry, ns. */
  readonly timerVector: number
  readonly timerIrqNs: number

  constructor(k: Kernel, exitOn: ExitOnInterrupt) {
    this.k = k
    this.exitOn = exitOn
    this.timerVector = k.machine.config.lapic.timerVector
    this.timerIrqNs = k.machine.costs.toNs(k.options.timerIrqCycles)
  }

  /**
   * Registers `h` for `vector` (a driver's top half, a monitor-to-monitor IPI); a `direct` vector
   * never exits, even in the hypervisor baseline. A later registration replaces an earlier one.
   */
  register(vector: number, h: IrqHandler, direct = false): void {
    if (!Number.isInteger(vector) || vector < 0 || vector > 255) throw new RangeError(`Interrupts.register: vector ${vector} must be in [0, 255]`)
    this.handlers[vector] = h
    if (direct) this.direct.add(vector)
  }

  /** The handler registered for `vector`, or undefined. */
  handlerOf(vector: number): IrqHandler | undefined {
    return this.handlers[vector]
  }

  /** The local APIC delivered `vector` on `p`'s core (guest mode, interrupts enabled). */
  onInterrupt(p: Pcpu, vector: number): void {
    const k = this.k
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) k.dispatch.suspendThread(p)
    const timer = vector === this.timerVector
    if (this.exitOn !== ExitOnInterrupt.None && (this.exitOn === ExitOnInterrupt.All || !timer) && !this.direct.has(vector)) {
      // Hypervisor baseline: the interrupt exits; the monitor injects it when it is done.
      p.injectVector = vector
      p.activity = Activity.ExitWait
      p.core.vmExit(CoreNs.VmExitReason.ExternalInterrupt, vector)
      return
    }
    this.dispatchVector(p, vector)
  }

  /** Runs `vector`'s handler on `p` (the thread, if any, is already suspended). */
  dispatchVector(p: Pcpu, vector: number): void {
    if (vector === this.timerVector) {
      if (this.timerIrqNs > 0) {
        this.start(p, TIMER_HANDLER, vector)
        return
      }
      this.timerTick(p)
      return
    }
    const h = this.handlers[vector]
    if (h === undefined) {
      // A vector nobody handles (e.g. a NIC interrupt on a sandbox outside the driver): entry cost only.
      this.start(p, SPURIOUS_HANDLER, vector)
      return
    }
    this.start(p, h, vector)
  }

  /** W2: the LAPIC timer handler — process the sleep queue, then run the scheduler. */
  timerTick(p: Pcpu): void {
    // In handler context: wakeups only ask for the invocation that follows anyway.
    p.activity = Activity.Irq
    this.k.sleepQueue.processDue(p)
    this.k.dispatch.invokeNow(p)
  }

  /** Starts interrupt-context work `h` on `p` (the thread, if any, is already suspended). */
  start(p: Pcpu, h: IrqHandler, vector: number): void {
    p.irq = h
    if (vector >= 0) p.irqCount++
    p.irqStartNs = this.k.sim.now
    p.activity = Activity.Irq
    p.core.setInterruptsEnabled(false)
    const ns = h.start(this.k, p, vector)
    this.continue(p, ns)
  }

  /** Runs a kernel-context task on `p` as soon as the core is in thread or idle context. */
  runTask(p: Pcpu, task: IrqHandler): void {
    if (p.activity === Activity.Idle || p.activity === Activity.Thread || p.activity === Activity.Overhead) {
      if (p.activity !== Activity.Idle) this.k.dispatch.suspendThread(p)
      this.start(p, task, -1)
    } else {
      p.tasks.push(task)
    }
  }

  /** Interrupt-context work on `p` goes on: `ns` more (0: ask the handler again; -1: it is done). */
  continue(p: Pcpu, ns: number): void {
    for (;;) {
      if (p.core.inVmxRoot) {
        p.activity = Activity.ExitWait
        return
      }
      if (ns > 0) {
        p.core.startWork(ns, Work.Irq)
        return
      }
      if (ns < 0) break
      ns = p.irq!.next(this.k, p)
    }
    this.end(p)
  }

  /** Accounts and records interrupt-context time from `irqStartNs` to now; the next piece starts now. */
  closeSegment(p: Pcpu): void {
    const now = this.k.sim.now
    p.irqNs += now - p.irqStartNs
    if (p.schedule !== null) p.schedule.add(p.irqStartNs, now, p.currentVcpu, SEGMENT_IRQ)
    p.irqStartNs = now
  }

  private end(p: Pcpu): void {
    this.closeSegment(p)
    p.irq = null
    const next = p.tasks.shift()
    if (next !== undefined) {
      this.start(p, next, -1)
      return
    }
    p.activity = Activity.Idle
    p.core.setInterruptsEnabled(true)
    this.k.dispatch.resume(p)
  }
}

/** The timer handler when its entry costs cycles: the scheduler runs after it. */
const TIMER_HANDLER: IrqHandler = {
  start: (k) => k.interrupts.timerIrqNs,
  next: (k, p) => {
    k.sleepQueue.processDue(p)
    p.invokeWanted = true
    return -1
  },
}

/** A vector nobody registered: the interrupt entry, nothing else. */
const SPURIOUS_HANDLER: IrqHandler = {
  start: (k) => k.machine.costs.ns.interruptEntry,
  next: () => -1,
}
