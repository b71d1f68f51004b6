/**
 * Conventional-virtualisation baselines, so the paper's comparison (§4.6, spec §E6) can be
 * simulated rather than quoted:
 *
 * - `virtualization.mode: 'hypervisor'` (VMware-style device assignment): every device interrupt —
 *   and with `exitOn: 'all'` the LAPIC timer too — exits to the core's monitor, which injects it
 *   into the guest (VM exit + injection + VM entry per interrupt); the kernel does this (see
 *   `Kernel.onInterrupt`), nothing else changes;
 * - `'xen'` (split driver model): additionally, only the driver-domain sandbox runs the NIC driver
 *   (the NIC's I/O APIC entry reaches it alone). Its walk hands each frame owned by a guest to that
 *   guest's netfront (a grant copy, netback work, an event-channel IPI — which, being an interrupt,
 *   exits and is injected at the guest); the guest's replies go back the same way (copy, IPI, netback
 *   work in the driver domain) before the driver domain transmits them.
 *
 * Invariants: every frame forwarded is received exactly once by its guest's netfront and every reply
 * is transmitted at most once by the driver domain (counted); no guest ever touches the NIC.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import type { IrqHandler, Kernel, Pcpu } from "./kernel/index.ts"
import type { NetStack } from "./NetStack.ts"
import type { SharedNicDriver } from "./SharedNicDriver.ts"
import type { VirtualizationOptions } from "./Options.ts"

/** The event-channel IPI vector of the Xen-style baseline (`[ASSUMED]`). */
export const EVTCHN_VECTOR = 243

export class XenNet {
  /** The driver-domain sandbox. */
  readonly domain: number
  /** Frames forwarded to each guest, waiting for its netfront. */
  private readonly rx: number[][]
  /** Replies from guests, waiting for the driver domain's netback. */
  private readonly tx: number[] = []
  /** Frames forwarded per guest, replies transmitted per guest. */
  readonly forwarded: number[]
  readonly transmitted: number[]
  private readonly kernels: readonly Kernel[]
  private readonly stacks: readonly NetStack[]
  private readonly driver: SharedNicDriver
  private readonly netbackNs: number
  private readonly netfrontNs: number
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kHop: Trace.RecordKind

  constructor(kernels: readonly Kernel[], stacks: readonly NetStack[], driver: SharedNicDriver, options: VirtualizationOptions) {
    this.kernels = kernels
    this.stacks = stacks
    this.driver = driver
    this.domain = options.driverDomain
    const costs = kernels[0]!.machine.costs
    this.netbackNs = costs.toNs(options.netbackCycles)
    this.netfrontNs = costs.toNs(options.netfrontCycles)
    this.rx = kernels.map(() => [])
    this.forwarded = kernels.map(() => 0)
    this.transmitted = kernels.map(() => 0)
    this.trace = kernels[0]!.sim.trace
    this.subjects = kernels.map((k) => this.trace.subject(`sandbox${k.sandbox}/xen`, k.sandbox))
    this.kHop = this.trace.kind("xen.hop", ["$dir", "peer"])
    driver.forwarder = (s, owner, slot) => this.forward(s, owner, slot)
    for (const k of kernels) {
      k.interrupts.register(EVTCHN_VECTOR, k.sandbox === this.domain ? new NetbackHandler(this) : new NetfrontHandler(this))
      if (k.sandbox !== this.domain) {
        const g = k.sandbox
        stacks[g]!.txRedirect = (slot) => this.reply(g, slot)
      }
    }
  }

  /** The driver domain's walk forwards `slot` to guest `g`: netback work plus the grant copy, and a notification. */
  private forward(_d: number, g: number, slot: number): number {
    const frames = this.driver.nic.frames
    const q = this.rx[g]!
    q.push(slot)
    this.forwarded[g]!++
    this.trace.emit2(this.kHop, this.subjects[this.domain]!, this.trace.symbol("rx"), g)
    if (q.length === 1) this.notify(this.domain, g)
    return this.netbackNs + this.kernels[g]!.machine.costs.copyNs(frames.length(slot))
  }

  /** Guest `g`'s stack replies: the frame goes back to the driver domain. */
  private reply(g: number, slot: number): boolean {
    this.tx.push(slot)
    this.trace.emit2(this.kHop, this.subjects[g]!, this.trace.symbol("tx"), this.domain)
    if (this.tx.length === 1) this.notify(g, this.domain)
    this.transmitted[g]!++
    return true
  }

  private notify(from: number, to: number): void {
    const src = this.kernels[from]!.pcpus[0]!
    src.lapic.sendIpiToCore(this.kernels[to]!.pcpus[0]!.core.index, EVTCHN_VECTOR)
  }

  /** Guest netfront: takes its forwarded frames (ns of work, the frames into `out`). */
  takeRx(g: number, out: number[]): number {
    const q = this.rx[g]!
    let ns = 0
    const stackRx = this.kernels[g]!.machine.costs.ns.stackRx
    const stackTx = this.kernels[g]!.machine.costs.ns.stackTx
    for (const slot of q) {
      ns += this.netfrontNs + stackRx + (this.stacks[g]!.wouldAnswer(slot) ? stackTx : 0)
      out.push(slot)
    }
    // NOTE: emptied by pops: `length = 0` drops the array's store (a runtime call, and a new store at the next push: issue 15).
    while (q.length > 0) q.pop()
    return ns
  }

  /** Driver-domain netback: takes the guests' replies (ns of work, the frames into `out`). */
  takeTx(out: number[]): number {
    let ns = 0
    const costs = this.kernels[this.domain]!.machine.costs
    for (const slot of this.tx) {
      ns += this.netbackNs + costs.copyNs(this.driver.nic.frames.length(slot))
      out.push(slot)
    }
    while (this.tx.length > 0) this.tx.pop() // NOTE: as above
    return ns
  }

  /** Guest `g`'s stack receives `slot`. */
  deliver(g: number, slot: number): void {
    this.stacks[g]!.receive(slot)
  }

  /** The driver domain transmits a reply on the NIC. */
  transmit(slot: number): void {
    const frames = this.driver.nic.frames
    this.stacks[this.domain]!.transmitRaw(slot, frames.length(slot))
  }
}

/** Event channel in a guest: netfront receive, then the stack (replies go back to the driver domain). */
class NetfrontHandler implements IrqHandler {
  private readonly x: XenNet
  private readonly frames: number[] = []
  private phase = 0
  constructor(x: XenNet) {
    this.x = x
  }
  start(k: Kernel, _p: Pcpu): number {
    this.phase = 0
    return k.machine.costs.ns.interruptEntry + this.x.takeRx(k.sandbox, this.frames)
  }
  next(k: Kernel): number {
    if (this.phase === 0) {
      this.phase = 1
      for (const slot of this.frames) this.x.deliver(k.sandbox, slot)
      while (this.frames.length > 0) this.frames.pop() // NOTE: as in takeRx
    }
    return -1
  }
}

/** Event channel in the driver domain: netback takes the guests' replies and transmits them. */
class NetbackHandler implements IrqHandler {
  private readonly x: XenNet
  private readonly frames: number[] = []
  constructor(x: XenNet) {
    this.x = x
  }
  start(k: Kernel): number {
    return k.machine.costs.ns.interruptEntry + this.x.takeTx(this.frames)
  }
  next(): number {
    for (const slot of this.frames) this.x.transmit(slot)
    while (this.frames.length > 0) this.frames.pop() // NOTE: as in takeRx
    return -1
  }
}
