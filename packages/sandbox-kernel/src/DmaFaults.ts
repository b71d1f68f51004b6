/**
 * Remapping faults reaching the device owner's monitor (model §H, DMA isolation). When the DMA
 * remapping unit (`machine.iommu`) blocks a DMA, it sends its fault event — an MSI on
 * `iommu.faultVector` — to the core whose monitor programmed the device's table (the NIC master's
 * first core). Quest-V's monitors do not take external interrupts (no exit on interrupts), so the
 * guest kernel's handler for that vector hands the fault to its monitor with a VMCALL
 * ({@link Hypercall.DmaFault}, a number of qvsim's own: the Quest source has no VT-d code). The
 * monitor reads the unit's fault log, records each new fault (`records`, traced `mon.dmar` in the
 * owner's scope) and starts the recovery armed for the rogue DMA, if any (`faults[i].recovery`),
 * else returns to the guest.
 *
 * Invariants: installed only when the unit is enabled (otherwise nothing is registered and
 * nothing changes); each fault of the unit's log is recorded once, by the owner's monitor; the
 * monitor's work is one VM exit, `monitor.remappingFaultCycles`, one VM entry (or the recovery).
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Core as CoreNs, type Machine } from "@qvsim/hardware"
import type { IrqHandler, Kernel, Pcpu } from "./kernel/index.ts"
import { Hypercall, type Monitor, type MonitorTask } from "./Monitor.ts"

/** One remapping fault as the owner's monitor saw it. */
export interface RemappingFaultRecord {
  /** The sandbox whose monitor handled it (the device owner). */
  readonly sandbox: number
  /** Bus address the device tried to reach. */
  readonly address: number
  /** Access bits it needed (R = 1, W = 2). */
  readonly access: number
  /** When the device was blocked, ns. */
  readonly blockedNs: number
  /** When the monitor handled it, ns. */
  readonly handledNs: number
}

/** The guest's handler of the fault event: interrupt entry, then the VMCALL to its monitor. */
class FaultEventHandler implements IrqHandler {
  private phase = 0
  start(k: Kernel): number {
    this.phase = 0
    return k.machine.costs.ns.interruptEntry
  }

  next(_k: Kernel, p: Pcpu): number {
    if (this.phase++ === 0) {
      p.core.vmExit(CoreNs.VmExitReason.Vmcall, Hypercall.DmaFault)
      return 0
    }
    return -1
  }
}

export class DmaFaults {
  readonly records: RemappingFaultRecord[] = []
  private readonly machine: Machine.Machine
  /** Entries of the unit's fault log already recorded. */
  private seen = 0
  private readonly trace: Trace.Trace
  private readonly kFault: Trace.RecordKind
  private readonly subjects: Trace.Subject[]

  constructor(machine: Machine.Machine, kernels: readonly Kernel[], monitors: readonly Monitor[], remappingFaultCycles: number) {
    this.machine = machine
    this.trace = machine.sim.trace
    this.kFault = this.trace.kind("mon.dmar", ["address", "access"])
    this.subjects = kernels.map((k) => this.trace.subject(`sandbox${k.sandbox}/dmar`, k.sandbox))
    const vector = machine.iommu.config.faultVector
    const work = machine.costs.ns.vmExit + machine.costs.toNs(remappingFaultCycles) + machine.costs.ns.vmEntry
    kernels.forEach((k, s) => {
      // Direct: even the hypervisor baseline does not inject this one (it is already the monitor's).
      k.interrupts.register(vector, new FaultEventHandler(), true)
      const monitor = monitors[s]!
      monitor.hypercallHandlers.set(Hypercall.DmaFault, (kk, p) => {
        this.collect(kk)
        const recovery = monitor.faultHandler?.onFault(kk, p, CoreNs.VmExitReason.Vmcall, Hypercall.DmaFault) ?? null
        return recovery ?? simpleTask(work)
      })
    })
  }

  /** Records the unit's faults not seen yet whose owner is `k`'s sandbox. */
  private collect(k: Kernel): void {
    const log = this.machine.iommu.faultLog
    const owner = this.machine.sandboxOfCore
    for (; this.seen < log.length; this.seen++) {
      const f = log[this.seen]!
      const s = f.ownerCore >= 0 ? owner[f.ownerCore]! : -1
      if (s !== k.sandbox) continue
      this.records.push({ sandbox: s, address: f.address, access: f.access, blockedNs: f.atNs, handledNs: k.sim.now })
      this.trace.emit(this.kFault, this.subjects[s]!, f.address, f.access)
    }
  }
}

/** A monitor task of `ns` (exit, handling, entry). */
const simpleTask = (ns: number): MonitorTask => ({ start: () => ns, next: () => -1 })
