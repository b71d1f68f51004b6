/**
 * VM exits in a sandbox's kernel: the requests whose effects can exit — memory reads and writes
 * through the sandbox's EPT (an EPT violation), TLB misses (the extra 2-D walk under EPT),
 * hypercalls (VMCALL) — and the hand-off of a core to the sandbox's monitor until its VM entry.
 *
 * A VM exit (raised by the hardware during a memory effect, a hypercall, an exit the hypervisor
 * baseline forces, a kernel-context task) stops the core: the thread's work is suspended, an
 * interrupt-context segment is closed, and the monitor ({@link ExitHandler}) works in pieces of
 * core work (`Work.Monitor`). At its end the core enters the guest and the kernel injects the
 * exiting interrupt (baseline), continues the stopped handler, or resumes thread context. The
 * monitor resolves a stopped thread's request (`resolveStopped`), kills it (`killStopped`), or
 * leaves it: it then yields its `failValue`.
 *
 * Memory accesses are made in the thread's mode (`user`); the machine checks both against the EPT,
 * and, without virtualisation (`protection: 'pageTables'`), only user-mode ones against the
 * kernel's own page table (a refusal is then a page fault: the thread sees its failure value, no
 * exit). A corrupted guest page-table entry (`corruptGuestPage`) re-points a thread's accesses
 * before the EPT checks them.
 *
 * Invariants:
 * - the kernel itself never causes a VM exit: only these effects, migrations, recovery and the
 *   hypervisor baseline do (F17);
 * - a refused access is never performed (the hardware guarantees it, F11);
 * - the monitor's time is counted once per exit (`Pcpu.monitorNs`) and recorded as
 *   `SEGMENT_MONITOR`, charged to whichever VCPU was current.
 *
 * @module
 */
import { Core as CoreNs } from "@qvsim/hardware"
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import { errorText } from "./Misuse.ts"
import { Activity, SEGMENT_MONITOR, Work, type Pcpu } from "./Pcpu.ts"
import { Outcome, type BeginRequest, type FinishRequest, type RequestTable } from "./Requests.ts"
import type { Thread } from "./Thread.ts"

/** The monitor as the kernel drives it. */
export interface ExitHandler {
  /** A VM exit on `p`'s core: ns of monitor work before `next`, or -1 when done. */
  start(k: Kernel, p: Pcpu, reason: number, qualification: number): number
  /** ns more, or -1 when done (the kernel then enters the guest unless the handler did). */
  next(k: Kernel, p: Pcpu): number
}

export class Exits {
  private readonly k: Kernel
  /** The sandbox's monitor (it registers itself). */
  handler: ExitHandler | null = null
  /** ns of one memory access (`kernel.memAccessCycles`). */
  readonly memAccessNs: number
  /**
   * Corrupted entries of the sandbox's guest page tables (a `corruptPageTable` fault under EPT):
   * guest page → the guest-physical page it now points at; null while none is corrupted.
   */
  private guestRemap: Map<number, number> | null = null

  constructor(k: Kernel, table: RequestTable) {
    this.k = k
    this.memAccessNs = k.machine.costs.toNs(k.options.memAccessCycles)
    table.register(Program.Op.Read, "memory", beginAccess, finishRead)
    table.register(Program.Op.Write, "memory", beginAccess, finishWrite)
    table.register(Program.Op.WriteBytes, "memory", beginWriteBytes, finishWriteBytes)
    table.register(Program.Op.TlbMisses, "memory", beginTlbMisses, null)
    table.register(Program.Op.Hypercall, "monitor", beginHypercall, finishHypercall)
  }

  /** A corrupted guest page-table entry: accesses to guest page `gpn` now reach guest-physical page `toGpn` (the EPT still checks them). */
  corruptGuestPage(gpn: number, toGpn: number): void {
    if (this.guestRemap === null) this.guestRemap = new Map()
    this.guestRemap.set(gpn, toGpn)
  }

  /** The address a thread's access to `gpa` reaches through the guest page tables. */
  through(gpa: number): number {
    // NOTE: one null test on the hot path while no page table is corrupted.
    if (this.guestRemap === null) return gpa
    const to = this.guestRemap.get(Math.floor(gpa / 4096))
    return to === undefined ? gpa : to * 4096 + (gpa % 4096)
  }

  /** The core took a VM exit (listener event, same time). */
  onVmExit(p: Pcpu, reason: number, qualification: number): void {
    const k = this.k
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) k.dispatch.suspendThread(p)
    // An exit from interrupt context (e.g. a wild write by a driver): the interrupt-context
    // segment so far is closed here and reopened when the monitor returns to it, so the monitor's
    // time is neither double-counted in irqNs nor recorded as overlapping segments.
    if (p.activity === Activity.Irq) k.interrupts.closeSegment(p)
    if (p.activity !== Activity.ExitWait && p.activity !== Activity.Irq && p.activity !== Activity.Idle && p.activity !== Activity.Step) {
      k.sim.fail(`sandbox ${k.sandbox} core ${p.core.index}: VM exit (reason ${reason}) while the core is in activity ${p.activity}`)
    }
    p.activity = Activity.Monitor
    p.monitorStartNs = k.sim.now
    const h = this.handler
    if (h === null) this.k.sim.fail(`sandbox ${k.sandbox} core ${p.core.index}: VM exit (reason ${reason}) with no monitor`)
    this.continue(p, h.start(k, p, reason, qualification))
  }

  /** A piece of monitor work on `p` completed (`Work.Monitor`). */
  workDone(p: Pcpu): void {
    this.continue(p, this.handler!.next(this.k, p))
  }

  private continue(p: Pcpu, ns: number): void {
    const k = this.k
    for (;;) {
      if (ns > 0) {
        p.core.startWork(ns, Work.Monitor)
        return
      }
      if (ns < 0) break
      ns = this.handler!.next(k, p)
    }
    const now = k.sim.now
    p.monitorNs += now - p.monitorStartNs
    if (p.schedule !== null) p.schedule.add(p.monitorStartNs, now, p.currentVcpu, SEGMENT_MONITOR)
    if (p.core.inVmxRoot) p.core.vmEntry()
    // Back in the guest: inject, continue stopped interrupt-context work, or resume.
    if (p.injectVector >= 0) {
      const v = p.injectVector
      p.injectVector = -1
      p.activity = Activity.Idle
      k.interrupts.dispatchVector(p, v)
      return
    }
    if (p.irq !== null) {
      p.activity = Activity.Irq
      p.irqStartNs = now
      k.interrupts.continue(p, p.irq.next(k, p))
      return
    }
    p.activity = Activity.Idle
    k.dispatch.resume(p)
  }

  /** Sets the result of the thread whose effect raised the VM exit being handled on `p` (the monitor resolves it). */
  resolveStopped(p: Pcpu, value: unknown): void {
    const th = p.current
    if (th === null || !th.stopped) return
    th.stopped = false
    th.pending = false
    th.result = value
  }

  /** The stopped thread on `p`, if the exit came from a thread's effect. */
  stoppedThread(p: Pcpu): Thread | null {
    const th = p.current
    return th !== null && th.stopped ? th : null
  }

  /** Kills the thread stopped on `p` (monitor policy `killThread`). */
  killStopped(p: Pcpu): void {
    const th = this.stoppedThread(p)
    if (th === null) return
    th.stopped = false
    th.pending = false
    th.killed = true
  }
}

const beginAccess: BeginRequest<Program.Read | Program.Write> = (k) => k.exits.memAccessNs

function finishRead(k: Kernel, p: Pcpu, th: Thread, req: Program.Read): Outcome {
  th.failValue = -1
  let v: number
  try {
    v = k.machine.read(p.core.index, k.exits.through(req.gpa), req.size, !th.user)
  } catch (e) {
    k.misuse(th, `read at ${req.gpa}: ${errorText(e)}`)
  }
  if (p.core.inVmxRoot) return Outcome.Stopped
  th.result = v
  return Outcome.Done
}

const finishWrite: FinishRequest<Program.Write> = (k, p, th, req) => {
  th.failValue = false
  const ok = k.machine.write(p.core.index, k.exits.through(req.gpa), req.size, req.value, !th.user)
  if (p.core.inVmxRoot) return Outcome.Stopped
  th.result = ok
  return Outcome.Done
}

const beginWriteBytes: BeginRequest<Program.WriteBytes> = (k, _p, _th, req) => k.exits.memAccessNs + k.machine.costs.copyNs(req.length)

const finishWriteBytes: FinishRequest<Program.WriteBytes> = (k, p, th, req) => {
  th.failValue = false
  const buf = fillBuffer(req.length, req.fill)
  const ok = k.machine.writeBytes(p.core.index, k.exits.through(req.gpa), buf, 0, req.length, !th.user)
  if (p.core.inVmxRoot) return Outcome.Stopped
  th.result = ok
  return Outcome.Done
}

const beginTlbMisses: BeginRequest<Program.TlbMisses> = (k, _p, _th, req) => req.count * k.eptWalkNs

const beginHypercall: BeginRequest<Program.Hypercall> = () => 0

const finishHypercall: FinishRequest<Program.Hypercall> = (_k, p, th, req) => {
  th.failValue = undefined
  p.core.vmExit(CoreNs.VmExitReason.Vmcall, req.number)
  return Outcome.Stopped
}

/** A reused buffer of `length` bytes of `fill` (a wild write's bytes). */
let fillCache = new Uint8Array(4096)
const fillBuffer = (length: number, fill: number): Uint8Array => {
  if (fillCache.length < length) fillCache = new Uint8Array(Math.max(length, fillCache.length * 2))
  fillCache.fill(fill, 0, length)
  return fillCache
}
