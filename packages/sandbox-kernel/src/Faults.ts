/**
 * Fault injection (spec §D.9, paper §4.1 and §4.5): a schedule of faults, each striking one sandbox
 * at a given time (or when a ping host has seen a number of replies):
 *
 * - `wildWrite`: faulty kernel code (a driver) in the sandbox writes into memory — another
 *   sandbox's slice, its own, a channel, any guest-physical address. The writes run in kernel
 *   context (kernel mode) on the sandbox's first core, one after the other, through its EPT: a
 *   refused write is an EPT violation that traps to the sandbox's monitor (detection), which either
 *   skips it or starts the configured recovery (the remaining writes are then abandoned: the faulty
 *   component is being replaced). Without virtualisation nothing checks a kernel-mode write: it lands;
 * - `corruptDriver`: the sandbox's NIC driver stops working (its interrupt handler does nothing);
 *   optional wild writes done by the corrupted driver; detection by EPT violation, by an explicit
 *   trigger after `detectAfterNs`, or never;
 * - `killThread`: a thread of the sandbox dies;
 * - `trigger`: an explicit detection (the fault handler forces a VM exit with CPUID, paper note 4)
 *   that starts the configured recovery;
 * - `corruptPageTable` (model §H, protection without virtualisation): entries of the sandbox's
 *   page tables are re-pointed at another sandbox's (or a monitor's) memory. Under EPT the guest
 *   page tables sit behind the EPT, which refuses the accesses they now make (contained); without
 *   virtualisation (`virtualization.mode: 'none'`) they are the only protection and the kernel's
 *   to change, so its threads' accesses land there;
 * - `rogueDma` (model §H): the sandbox's faulty NIC driver points RX (or TX) descriptors at
 *   another sandbox's memory, a monitor's memory (an EPT area) or any address. The descriptors
 *   live in the shared ring, which the driver may write, so the EPT cannot stop it: the device's
 *   later DMA lands there unless DMA remapping (`machine.iommu`) blocks it, in which case the
 *   remapping fault reaches the device owner's monitor, which starts `recovery` if one is given.
 *
 * Invariants: every fault and every write it attempts is traced in the faulty sandbox's scope
 * (`fault.inject`, `fault.write`; `fault.dma` per re-pointed descriptor, `fault.pte` per corrupted
 * page-table range) and kept in {@link FaultRecord}s; a refused write changes no
 * machine page (the hardware guarantees it, F11).
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type Trace } from "@qvsim/sim-core"
import { Thread, type IrqHandler, type Kernel, type Pcpu } from "./kernel/index.ts"
import { int, sandboxIndex } from "./Options.ts"

/** A target of a wild write. */
export const writeTargetSchema = z.union([
  /** `bytes` at `offset` in sandbox `sandbox`'s slice. */
  z.strictObject({ sandbox: sandboxIndex(), offset: int(0), bytes: int(1, 65_536).default(4), value: int(0, 255).default(0xff) }),
  /** `bytes` at guest-physical `gpa`. */
  z.strictObject({ gpa: int(0, 2 ** 32 - 1), bytes: int(1, 65_536).default(4), value: int(0, 255).default(0xff) }),
  /** The channel `channel` (its status word / type word: the receiver sees it corrupted). */
  z.strictObject({ channel: z.string().min(1), value: int(0, 255).default(0xff) }),
])
export type WriteTargetInput = z.input<typeof writeTargetSchema>

/** Where a rogue DMA points the descriptors (buffers follow each other, 2 KiB apart). */
export const dmaTargetSchema = z.union([
  /** Sandbox `sandbox`'s memory, `offset` bytes into its slice. */
  z.strictObject({ sandbox: int(0, 7), offset: int(0).default(1 << 20) }),
  /** Sandbox `monitor`'s monitor memory (its EPT area, mapped in no EPT), `offset` bytes into it. */
  z.strictObject({ monitor: int(0, 7), offset: int(0).default(0) }),
  /** A bus (= machine) address. */
  z.strictObject({ gpa: int(0, 2 ** 32 - 1) }),
])
export type DmaTargetInput = z.input<typeof dmaTargetSchema>
export type DmaTarget = z.output<typeof dmaTargetSchema>

/** Recovery the monitor starts when the fault is detected. */
export const RecoveryMode = z.enum(["none", "local", "remote", "reboot"])
export type RecoveryMode = z.output<typeof RecoveryMode>

/** When a fault strikes: at a global time, or after a ping host's n-th reply. */
const when = {
  /** Global time of the fault, ns. */
  atNs: int(0).optional(),
  /** Or: when ping host `host` has received `replies` replies (paper §4.1: after the 20th). */
  afterReplies: z.strictObject({ host: z.string().min(1), replies: int(1) }).optional(),
  /** The faulty sandbox. */
  sandbox: sandboxIndex(),
}

export const faultSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("wildWrite"),
    ...when,
    writes: z.array(writeTargetSchema).min(1, "at least one write"),
    /** `[ASSUMED]` Cycles per write attempt (the faulty code's loop). */
    writeCycles: int(0).default(200),
    /** Recovery started at the first EPT violation (`'none'`: the monitor skips each refused write). */
    recovery: RecoveryMode.default("none"),
    /** Remote recovery target (default: the next NIC sharer). */
    target: sandboxIndex().optional(),
  }),
  z.strictObject({
    kind: z.literal("corruptDriver"),
    ...when,
    /** Wild writes the corrupted driver makes (each through the EPT). */
    writes: z.array(writeTargetSchema).default([]),
    writeCycles: int(0).default(200),
    /** Detection: `'eptViolation'` (the first refused write), `'trigger'` (after `detectAfterNs`), or `'never'`. */
    detection: z.enum(["eptViolation", "trigger", "never"]).default("trigger"),
    detectAfterNs: int(0).default(0),
    recovery: RecoveryMode.default("local"),
    target: sandboxIndex().optional(),
  }),
  z.strictObject({ kind: z.literal("killThread"), ...when, thread: z.string().min(1) }),
  z.strictObject({
    kind: z.literal("trigger"),
    ...when,
    recovery: RecoveryMode.default("local"),
    target: sandboxIndex().optional(),
  }),
  // NOTE: new kinds go after `trigger` (Config.ts destructures the first four by position).
  z.strictObject({
    kind: z.literal("rogueDma"),
    ...when,
    /** Which ring's descriptors the driver re-points (RX: the device writes there; TX: it reads). */
    ring: z.enum(["rx", "tx"]).default("rx"),
    /** Descriptors re-pointed, from the one the device uses next. */
    descriptors: int(1, 1024).default(8),
    /** Where the descriptors point. */
    into: dmaTargetSchema,
    /** `[ASSUMED]` Cycles per descriptor the faulty code spends re-pointing it. */
    writeCycles: int(0).default(200),
    /** Recovery the device owner's monitor starts at the remapping fault (VT-d only: without it nothing detects the DMA). */
    recovery: RecoveryMode.default("none"),
  }),
  z.strictObject({
    kind: z.literal("corruptPageTable"),
    ...when,
    /** The first of the sandbox's own pages (its address) whose page-table entry is corrupted. */
    page: int(0, 2 ** 32 - 1),
    /** Consecutive pages corrupted. */
    pages: int(1, 1024).default(1),
    /** Where the corrupted entries point (page-aligned down). */
    into: dmaTargetSchema,
  }),
])
export type FaultInput = z.input<typeof faultSchema>
export type Fault = z.output<typeof faultSchema>
export type WriteTarget = z.output<typeof writeTargetSchema>

/** One attempted write. */
export interface WriteRecord {
  readonly gpa: number
  readonly bytes: number
  /** Whether the EPT let it through. */
  readonly ok: boolean
  readonly atNs: number
}

/** What happened to one fault. */
export interface FaultRecord {
  readonly index: number
  readonly kind: Fault["kind"]
  readonly sandbox: number
  /** When it struck, ns (−1 before). */
  firedNs: number
  /** When it was detected (VM exit that started recovery), ns (−1 if not). */
  detectedNs: number
  readonly writes: WriteRecord[]
  /** Rogue DMA: the bus addresses the descriptors were pointed at. */
  readonly dmaAddresses: number[]
}

/** What the fault machinery needs from the system. */
export interface FaultEnv {
  readonly kernels: readonly Kernel[]
  /** Guest-physical address of the status word of channel `name` that sandbox `s` receives on, or -1. */
  channelStatusAddress(name: string, s: number): number
  /** Breaks sandbox `s`'s NIC driver. */
  corruptDriver(s: number): void
  /** Asks sandbox `s`'s monitor to start `mode` recovery at its next exit, for fault `index`. */
  armRecovery(s: number, mode: RecoveryMode, target: number | undefined, fault: number): void
  /** Forces the explicit detection exit (CPUID) on sandbox `s`. */
  trigger(s: number, fault: number): void
  /** The slice base of sandbox `s`. */
  sliceBase(s: number): number
  /** Sandbox `s`'s monitor memory (its EPT area): first byte. */
  monitorBase(s: number): number
  /** Points `count` descriptors of `ring`, from the next one the device uses, at `address`, `address + 2 KiB`, …; returns the addresses. */
  retargetDma(ring: "rx" | "tx", count: number, address: number): number[]
  /** Corrupts `count` page-table entries of sandbox `s` from guest page `gpn`, pointing them at page `toGpn` onwards. */
  corruptPageTable(s: number, gpn: number, count: number, toGpn: number): void
  /** The sandbox whose monitor owns the NIC's remapping table (gets its faults), or -1 without DMA remapping. */
  dmaOwner(): number
}

/** Resolves a write target to `(gpa, bytes, value)`. */
const resolve = (env: FaultEnv, s: number, t: WriteTarget): [number, number, number] => {
  if ("channel" in t) return [env.channelStatusAddress(t.channel, s), 1, t.value]
  if ("gpa" in t) return [t.gpa, t.bytes, t.value]
  return [env.sliceBase(t.sandbox) + t.offset, t.bytes, t.value]
}

/** The wild writes of a fault, in kernel context (an interrupt-context task of the kernel). */
export class WildWriteTask implements IrqHandler {
  private i = 0
  /** Set when recovery took over: the remaining writes are abandoned. */
  aborted = false
  private readonly faults: Faults
  private readonly record: FaultRecord
  private readonly targets: readonly WriteTarget[]
  private readonly writeNs: number
  constructor(faults: Faults, record: FaultRecord, targets: readonly WriteTarget[], writeNs: number) {
    this.faults = faults
    this.record = record
    this.targets = targets
    this.writeNs = writeNs
  }

  start(k: Kernel, p: Pcpu): number {
    return this.step(k, p)
  }

  next(k: Kernel, p: Pcpu): number {
    return this.step(k, p)
  }

  private step(k: Kernel, p: Pcpu): number {
    if (this.aborted || this.i >= this.targets.length) return -1
    const [gpa, bytes, value] = resolve(this.faults.env, k.sandbox, this.targets[this.i++]!)
    if (gpa < 0) return this.writeNs
    const buf = new Uint8Array(bytes).fill(value)
    this.faults.current = this
    const ok = k.machine.writeBytes(p.core.index, gpa, buf, 0, bytes, true)
    this.faults.current = null
    this.record.writes.push({ gpa, bytes, ok, atNs: k.sim.now })
    this.faults.traceWrite(k.sandbox, gpa, bytes, ok)
    return this.writeNs
  }
}

/** Resolves a rogue DMA's target to a bus address. */
const dmaAddress = (env: FaultEnv, t: DmaTarget): number => {
  if ("gpa" in t) return t.gpa
  if ("monitor" in t) return env.monitorBase(t.monitor) + t.offset
  return env.sliceBase(t.sandbox) + t.offset
}

/** A faulty driver re-pointing descriptors, in kernel context (one piece of work). */
class RogueDmaTask implements IrqHandler {
  private done = false
  private readonly faults: Faults
  private readonly record: FaultRecord
  private readonly fault: Extract<Fault, { kind: "rogueDma" }>
  private readonly writeNs: number
  constructor(faults: Faults, record: FaultRecord, fault: Extract<Fault, { kind: "rogueDma" }>, writeNs: number) {
    this.faults = faults
    this.record = record
    this.fault = fault
    this.writeNs = writeNs
  }

  start(k: Kernel): number {
    const f = this.fault
    const addresses = this.faults.env.retargetDma(f.ring, f.descriptors, dmaAddress(this.faults.env, f.into))
    this.record.dmaAddresses.push(...addresses)
    for (const a of addresses) this.faults.traceDma(k.sandbox, f.ring === "rx" ? 0 : 1, a)
    this.done = true
    return this.writeNs * f.descriptors
  }

  next(): number {
    return this.done ? -1 : 0
  }
}

export class Faults {
  readonly env: FaultEnv
  readonly faults: readonly Fault[]
  readonly records: FaultRecord[]
  /** The wild-write task performing a write right now (the monitor asks whose violation it is). */
  current: WildWriteTask | null = null
  private readonly sim: Simulation.Simulation
  private readonly hFire: number
  private readonly hTrigger: number
  private readonly triggerAt = new Map<number, number>()
  private readonly kInject: Trace.RecordKind
  private readonly kWrite: Trace.RecordKind
  private readonly kDma: Trace.RecordKind
  private readonly kPte: Trace.RecordKind
  private readonly subjects: Trace.Subject[]

  constructor(sim: Simulation.Simulation, env: FaultEnv, faults: readonly Fault[]) {
    this.sim = sim
    this.env = env
    this.faults = faults
    this.records = faults.map((f, index) => ({ index, kind: f.kind, sandbox: f.sandbox, firedNs: -1, detectedNs: -1, writes: [], dmaAddresses: [] }))
    this.hFire = sim.register("fault.fire", (i) => this.fire(i))
    this.hTrigger = sim.register("fault.trigger", (i) => {
      if (this.records[i]!.detectedNs >= 0) return
      this.env.trigger(this.triggerAt.get(i)!, i)
    })
    this.kInject = sim.trace.kind("fault.inject", ["fault", "$what"])
    this.kWrite = sim.trace.kind("fault.write", ["gpa", "bytes", "ok"])
    this.kDma = sim.trace.kind("fault.dma", ["ring", "address"])
    this.kPte = sim.trace.kind("fault.pte", ["page", "pages", "toPage"])
    this.subjects = env.kernels.map((k) => sim.trace.subject(`sandbox${k.sandbox}/faults`, k.sandbox))
    faults.forEach((f, i) => {
      if (f.atNs !== undefined) sim.at(f.atNs, Simulation.EventClass.Workload, this.hFire, i)
    })
  }

  /** Fires fault `i` now (a condition-triggered fault, or a test). */
  fireNow(i: number): void {
    this.sim.at(this.sim.now, Simulation.EventClass.Workload, this.hFire, i)
  }

  private fire(i: number): void {
    const f = this.faults[i]!
    const rec = this.records[i]!
    if (rec.firedNs >= 0) return
    rec.firedNs = this.sim.now
    const k = this.env.kernels[f.sandbox]!
    this.sim.trace.emit(this.kInject, this.subjects[f.sandbox]!, i, this.sim.trace.symbol(f.kind))
    const p = k.pcpus[0]!
    const ns = (cycles: number) => k.machine.costs.toNs(cycles)
    switch (f.kind) {
      case "wildWrite":
        if (f.recovery !== "none") this.env.armRecovery(f.sandbox, f.recovery, f.target, i)
        k.runTask(p, new WildWriteTask(this, rec, f.writes, ns(f.writeCycles)))
        return
      case "corruptDriver":
        this.env.corruptDriver(f.sandbox)
        if (f.detection !== "never") this.env.armRecovery(f.sandbox, f.recovery, f.target, i)
        if (f.writes.length > 0) k.runTask(p, new WildWriteTask(this, rec, f.writes, ns(f.writeCycles)))
        if (f.detection === "trigger") {
          this.triggerAt.set(i, f.sandbox)
          this.sim.after(f.detectAfterNs, Simulation.EventClass.Workload, this.hTrigger, i)
        }
        return
      case "killThread": {
        const th = k.threadNamed(f.thread)
        if (th === undefined) this.sim.fail(`fault ${i}: sandbox ${f.sandbox} has no thread "${f.thread}"`)
        // A reaped fork child has exited: killing it does nothing, as for any exited thread.
        if (th instanceof Thread) k.kill(th)
        return
      }
      case "trigger":
        this.env.armRecovery(f.sandbox, f.recovery, f.target, i)
        this.env.trigger(f.sandbox, i)
        return
      case "corruptPageTable": {
        const to = Math.floor(dmaAddress(this.env, f.into) / 4096)
        this.env.corruptPageTable(f.sandbox, Math.floor(f.page / 4096), f.pages, to)
        this.sim.trace.emit(this.kPte, this.subjects[f.sandbox]!, Math.floor(f.page / 4096), f.pages, to)
        return
      }
      case "rogueDma": {
        const owner = this.env.dmaOwner()
        if (owner >= 0) this.env.armRecovery(owner, f.recovery, undefined, i)
        k.runTask(p, new RogueDmaTask(this, rec, f, ns(f.writeCycles)))
        return
      }
    }
  }

  /** Marks fault `i` detected now. */
  detected(i: number): void {
    const rec = this.records[i]
    if (rec !== undefined && rec.detectedNs < 0) rec.detectedNs = this.sim.now
  }

  /** Traces one re-pointed descriptor (ring 0 = RX, 1 = TX). */
  traceDma(sandbox: number, ring: number, address: number): void {
    this.sim.trace.emit(this.kDma, this.subjects[sandbox]!, ring, address)
  }

  /** Traces one attempted write. */
  traceWrite(sandbox: number, gpa: number, bytes: number, ok: boolean): void {
    this.sim.trace.emit(this.kWrite, this.subjects[sandbox]!, gpa, bytes, ok ? 1 : 0)
  }
}
