/**
 * Local APICs and the APIC bus (spec §D.5, §D.6): per-core one-shot timer, interrupt acceptance
 * with a task-priority register, IPIs in the flat logical or the x2APIC cluster destination model.
 *
 * Flat logical model (Quest's, at most 8 cores): each core has an 8-bit logical ID with one bit
 * set — `1 << i` in the 2011 code, `0x2 << i` for i < 7 and `0x1` for i = 7 in the 2015 code. A
 * destination is an 8-bit mask and reaches every core whose ID shares a bit with it.
 *
 * x2APIC cluster model (scheme `x2apic`, up to {@link MAX_CORES} cores; the default above 8 cores):
 * core i has the 32-bit logical ID `(i >> 4) << 16 | 1 << (i & 15)` — a cluster of 16 cores and
 * one bit in it. A hardware destination names one cluster and a 16-bit bitmap, so a multicast over
 * several clusters is one message per cluster. The model keeps such a multicast as one
 * destination: a handle (a number, what IPIs and I/O APIC entries carry and traces show) to an
 * interned set of per-cluster bitmaps, built off the hot path by {@link ApicBus.maskOf}; handle 0
 * is the empty set and `1 + i` is core i alone. Delivery walks only the set's cores, so the cost of
 * a broadcast is proportional to its targets, not to the machine's cores.
 *
 * Quest-V sets every TPR to 0 so that each core accepts every device vector (needed for multicast).
 *
 * Invariants:
 * - a delivery reaches a core's listener only in guest mode with interrupts enabled and when the
 *   vector's priority class (vector >> 4) is above the TPR's class; otherwise the vector waits in
 *   the IRR (one bit per vector: a second arrival of a pending vector coalesces, as on hardware)
 *   and is delivered, highest vector first, by an event at the time it becomes deliverable;
 * - every delivery event is Device class; timer expiries are Timer class; nothing here allocates
 *   per event (deliveries are `(mask, vector | source << 8)` event arguments);
 * - no delivery causes a VM exit.
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type EventQueue, type Trace } from "@qvsim/sim-core"
import type { Core } from "./Core.ts"
import { int, durationNs, isVector, parseConfig, vector } from "./internal/config.ts"

/** Where a delivered vector came from (a trace field). */
export const Source = { IoApic: 0, Ipi: 1, Timer: 2 } as const
export type Source = (typeof Source)[keyof typeof Source]
const SOURCE_NAMES = ["ioapic", "ipi", "timer"] as const

/** The two flat logical-ID assignments of the Quest code, and x2APIC clusters for bigger machines. */
export type LogicalIdScheme = "2011" | "2015" | "x2apic"

/** Cores the flat logical model addresses (8-bit logical IDs). */
export const MAX_FLAT_CORES = 8
/** Cores the machine model supports (x2APIC cluster addressing). */
export const MAX_CORES = 64
/** Cores per x2APIC logical cluster. */
export const CLUSTER_CORES = 16

/** Logical APIC ID of core `index` under `scheme` (flat: 0..7; x2APIC: cluster << 16 | bit). */
export const logicalId = (index: number, scheme: LogicalIdScheme): number =>
  scheme === "x2apic" ? (((index >>> 4) << 16) | (1 << (index & 15))) >>> 0
  : scheme === "2011" ? 1 << index : index < 7 ? 0x2 << index : 0x1

const NO_CORES = new Int32Array(0)

/** The LAPIC timer vector used by Quest (`0x3E`). */
export const TIMER_VECTOR = 0x3e

/** Local APIC options (spec §D.5, §D.6, §D.12). */
export const schema = z.strictObject({
  /** Vector of the one-shot timer. Quest: 0x3E. */
  timerVector: vector().default(TIMER_VECTOR),
  /** Extra delay between the programmed expiry and the delivery (spec `timerLatency`, default 0). */
  timerLatencyNs: durationNs().default(0),
  /** Timer granularity: a programmed delay is rounded up to whole ticks. Default 1 ns (idealised; divide-by-1). */
  timerTickNs: int(1).default(1),
  /** Largest count of the 32-bit initial-count register. */
  timerMaxTicks: int(1, 0xffff_ffff).default(0xffff_ffff),
  /** Initial task-priority register. Quest-V: 0 on every core. */
  tpr: int(0, 255).default(0),
  /** Logical-ID assignment; defaults to the memory layout's year. */
  logicalIds: z.enum(["2011", "2015", "x2apic"]).optional(),
  /** The IPI sender polls "delivery pending" at most this many times (`[SRC smp/apic.c]` 1000). */
  ipiPollLimit: int(1).default(1000),
  /** Cycles per poll iteration of the sender (`[ASSUMED]` 20). */
  ipiPollCycles: int(1).default(20),
})
export type LocalApicInput = z.input<typeof schema>
export type LocalApicConfig = z.output<typeof schema>

/** Timing the bus needs, in ns. */
export interface BusTiming {
  /** IPI delivery latency (cost model `ipiOneWay`). */
  readonly ipiOneWayNs: number
  /** The most an IPI sender waits on "delivery pending" (poll limit × poll cost). */
  readonly ipiPollBoundNs: number
}

/** The interrupt fabric: every local APIC, multicast delivery by logical mask, the timers. */
export class ApicBus {
  readonly lapics: LocalApic[] = []
  readonly config: LocalApicConfig
  readonly timing: BusTiming
  readonly scheme: LogicalIdScheme
  readonly sim: Simulation.Simulation
  /** Deliveries made to listeners, all cores. */
  delivered = 0
  private readonly deliverHandler: number
  readonly timerHandler: number
  readonly drainHandler: number
  readonly kindDeliver: Trace.RecordKind
  readonly kindPending: Trace.RecordKind
  readonly kindIpi: Trace.RecordKind
  readonly sourceSymbols: readonly number[]
  /** True under the x2APIC scheme: destinations are set handles, not 8-bit masks. */
  readonly x2apic: boolean
  /** x2APIC: cores each handle's set reaches, ascending. */
  private readonly targetLists: Int32Array[] = []
  /** Flat: cores each 8-bit mask reaches, ascending (filled on first use). */
  private readonly flatLists: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(256).fill(undefined)
  /** x2APIC: per-cluster bitmaps of each handle's set (display and tests). */
  private readonly clusterMaps: Uint16Array[] = []
  /** x2APIC: handle of each interned set, by its sorted core list. */
  private readonly handles = new Map<string, number>()

  /** Validates `input` (refusals name `lapic.<field>`); `scheme` defaults to `input.logicalIds`, else 2011. */
  constructor(sim: Simulation.Simulation, input: LocalApicInput, timing: BusTiming, scheme?: LogicalIdScheme, prefix = "lapic") {
    const config = parseConfig("LocalApic", schema, input, prefix)
    this.sim = sim
    this.config = config
    this.scheme = scheme ?? config.logicalIds ?? "2011"
    this.x2apic = this.scheme === "x2apic"
    if (this.x2apic) this.intern([]) // handle 0: nobody
    this.timing = timing
    const trace = sim.trace
    this.kindDeliver = trace.kind("irq.deliver", ["vector", "$source"])
    this.kindPending = trace.kind("irq.pending", ["vector", "$source"])
    this.kindIpi = trace.kind("ipi.send", ["destMask", "vector"])
    this.sourceSymbols = SOURCE_NAMES.map((s) => trace.symbol(s))
    this.deliverHandler = sim.register("apic.deliver", (mask, packed) => this.fanOut(mask, packed & 0xff, (packed >>> 8) as Source))
    this.timerHandler = sim.register("lapic.timer", (core) => this.lapics[core]!.expire())
    this.drainHandler = sim.register("lapic.drain", (core) => this.lapics[core]!.drain())
  }

  /** Creates the local APIC of `core` (cores must be attached in index order). */
  attach(core: Core): LocalApic {
    if (core.index !== this.lapics.length) throw new RangeError(`ApicBus.attach: core ${core.index} attached out of order`)
    const max = this.x2apic ? MAX_CORES : MAX_FLAT_CORES
    if (core.index >= max) throw new RangeError(`ApicBus.attach: core ${core.index}: the ${this.x2apic ? "x2APIC" : "flat logical"} model addresses ${max} cores`)
    const id = logicalId(core.index, this.scheme)
    const lapic = new LocalApic(this, core, id, this.x2apic ? core.index + 1 : id)
    this.lapics.push(lapic)
    core.lapic = lapic
    this.flatLists.fill(undefined) // flat lists depend on the cores attached
    if (this.x2apic) {
      if (this.targetLists.length !== core.index + 1) throw new RangeError(`ApicBus.attach: core ${core.index} attached after a destination was made (attach every core first)`)
      this.intern([core.index]) // handle 1 + index
    }
    return lapic
  }

  private intern(cores: readonly number[]): number {
    const sorted = [...new Set(cores)].sort((a, b) => a - b)
    const key = sorted.join(",")
    const known = this.handles.get(key)
    if (known !== undefined) return known
    const handle = this.targetLists.length
    const maps = new Uint16Array(Math.ceil(MAX_CORES / CLUSTER_CORES))
    for (const c of sorted) maps[c >>> 4] = maps[c >>> 4]! | (1 << (c & 15))
    this.targetLists.push(Int32Array.from(sorted))
    this.clusterMaps.push(maps)
    this.handles.set(key, handle)
    return handle
  }

  /** The destination that reaches exactly the cores in `cores` (flat: the OR of their logical IDs). */
  maskOf(cores: readonly number[]): number {
    for (const c of cores) if (this.lapics[c] === undefined) throw new RangeError(`ApicBus.maskOf: no core ${c}`)
    if (this.x2apic) return this.intern(cores)
    let mask = 0
    for (const c of cores) mask |= this.lapics[c]!.logicalId
    return mask
  }

  /** The destination reaching the cores of `a` and of `b` (flat: `a | b`). */
  union(a: number, b: number): number {
    if (!this.x2apic) return (a | b) & 0xff
    return this.intern([...this.targets(a), ...this.targets(b)])
  }

  /** True if `dest` is a destination of this bus (flat: 0..255; x2APIC: a handle). */
  isDestination(dest: number): boolean {
    return Number.isInteger(dest) && dest >= 0 && (this.x2apic ? dest < this.targetLists.length : dest <= 0xff)
  }

  /** x2APIC: the per-cluster (cluster << 16 | bitmap) logical destinations of `dest`, one per cluster it reaches. */
  clusterDestinations(dest: number): number[] {
    if (!this.x2apic) return [dest & 0xff]
    const maps = this.clusterMaps[dest]
    if (maps === undefined) throw new RangeError(`ApicBus.clusterDestinations: ${dest} is not a destination`)
    const out: number[] = []
    maps.forEach((bits, cluster) => {
      if (bits !== 0) out.push(((cluster << 16) | bits) >>> 0)
    })
    return out
  }

  /**
   * Indices of the cores `dest` reaches, ascending (the array is shared: do not modify it).
   * NOTE: flat masks' lists are built on first use and kept, so no delivery scans every core.
   */
  targets(dest: number): Int32Array {
    if (this.x2apic) return this.targetLists[dest] ?? NO_CORES
    const lists = this.flatLists
    const mask = dest & 0xff
    let list = lists[mask]
    if (list === undefined) {
      const out: number[] = []
      for (const l of this.lapics) if ((l.logicalId & mask) !== 0) out.push(l.core.index)
      list = Int32Array.from(out)
      lists[mask] = list
    }
    return list
  }

  /** Indices of the cores destination `dest` reaches, ascending. */
  coresIn(dest: number): number[] {
    return Array.from(this.targets(dest))
  }

  /**
   * Schedules one delivery of `vector` to every core in `dest`, `delayNs` from now (Device class).
   * NOTE: one event fans out to all its cores in index order instead of one event per core; the
   * order and times are those of per-core events pushed in index order.
   */
  send(dest: number, vector: number, source: Source, delayNs: number): void {
    this.sim.after(delayNs, Simulation.EventClass.Device, this.deliverHandler, this.x2apic ? dest : dest & 0xff, vector | (source << 8))
  }

  /** Delivers `vector` to every core in `dest` now, in core order (cost: its cores, not the machine's). */
  fanOut(dest: number, vector: number, source: Source): void {
    const lapics = this.lapics
    const t = this.targets(dest)
    for (let i = 0; i < t.length; i++) lapics[t[i]!]!.accept(vector, source)
  }
}

/** One core's local APIC. */
export class LocalApic {
  readonly bus: ApicBus
  readonly core: Core
  /** Logical ID: 8-bit flat (one bit set) or x2APIC (cluster << 16 | one bit of 16). */
  readonly logicalId: number
  /** The destination that reaches this core alone (flat: its logical ID; x2APIC: its handle). */
  readonly destination: number
  /** Task-priority register: vectors whose class is ≤ its class wait. */
  tpr: number
  /** Vectors that arrived (accepted into the IRR), including coalesced ones. */
  received = 0
  /** Arrivals merged into an already pending vector. */
  coalesced = 0
  /** Global time the armed timer fires, or -1. */
  timerDeadlineNs = -1
  private timerHandle: EventQueue.EventHandle = -1
  private readonly irr = new Uint32Array(8)
  private readonly irrSource = new Uint8Array(256)
  private pendingCount = 0
  private drainScheduled = false

  constructor(bus: ApicBus, core: Core, logicalId: number, destination = logicalId) {
    this.bus = bus
    this.core = core
    this.logicalId = logicalId
    this.destination = destination
    this.tpr = bus.config.tpr
  }

  /** Vectors waiting in the IRR. */
  get pending(): number {
    return this.pendingCount
  }

  /** True if `vector` waits in the IRR. */
  isPending(vector: number): boolean {
    return (this.irr[vector >>> 5]! & (1 << (vector & 31))) !== 0
  }

  /** Accepts an arriving `vector`: delivers it now if possible, else holds it in the IRR. */
  accept(vector: number, source: Source): void {
    this.received++
    const core = this.core
    if (core.interruptsEnabled && !core.inVmxRoot && vector >>> 4 > this.tpr >>> 4 && this.pendingCount === 0) {
      this.deliver(vector, source)
      return
    }
    const word = vector >>> 5
    const bit = 1 << (vector & 31)
    if ((this.irr[word]! & bit) !== 0) {
      this.coalesced++
      return
    }
    this.irr[word] = this.irr[word]! | bit
    this.irrSource[vector] = source
    this.pendingCount++
    this.bus.sim.trace.emit2(this.bus.kindPending, core.subject, vector, this.bus.sourceSymbols[source]!)
    this.kick()
  }

  private deliver(vector: number, source: Source): void {
    const bus = this.bus
    bus.delivered++
    bus.sim.trace.emit2(bus.kindDeliver, this.core.subject, vector, bus.sourceSymbols[source]!)
    this.core.listener.interrupt(this.core.index, vector)
  }

  /** Schedules delivery of held vectors (an event now) if any is deliverable. */
  kick(): void {
    if (this.drainScheduled || this.highestDeliverable() < 0) return
    this.drainScheduled = true
    this.bus.sim.at(this.bus.sim.now, Simulation.EventClass.Device, this.bus.drainHandler, this.core.index)
  }

  /** Delivers held vectors, highest first, while the core accepts them. */
  drain(): void {
    this.drainScheduled = false
    for (;;) {
      const v = this.highestDeliverable()
      if (v < 0) return
      this.irr[v >>> 5] = this.irr[v >>> 5]! & ~(1 << (v & 31))
      this.pendingCount--
      this.deliver(v, this.irrSource[v] as Source)
    }
  }

  private highestDeliverable(): number {
    const core = this.core
    if (this.pendingCount === 0 || !core.interruptsEnabled || core.inVmxRoot) return -1
    for (let w = 7; w >= 0; w--) {
      const bits = this.irr[w]!
      if (bits === 0) continue
      const v = w * 32 + 31 - Math.clz32(bits)
      return v >>> 4 > this.tpr >>> 4 ? v : -1
    }
    return -1
  }

  /** Sets the task-priority register (0..255); held vectors above it are then delivered. */
  setTpr(value: number): void {
    if (!Number.isInteger(value) || value < 0 || value > 255) this.bus.sim.fail(`lapic${this.core.index}.setTpr(${value}): must be 0..255`)
    this.tpr = value
    this.kick()
  }

  /**
   * Arms the one-shot timer `delayNs` from now (rounded up to whole ticks, plus the configured
   * timer latency), replacing any armed expiry. Expiry delivers the timer vector.
   */
  armTimer(delayNs: number): void {
    const bus = this.bus
    const cfg = bus.config
    if (!Number.isSafeInteger(delayNs) || delayNs < 0) bus.sim.fail(`lapic${this.core.index}.armTimer(${delayNs}): delay must be an integer ≥ 0`)
    const ticks = Math.ceil(delayNs / cfg.timerTickNs)
    if (ticks > cfg.timerMaxTicks) bus.sim.fail(`lapic${this.core.index}.armTimer(${delayNs}): ${ticks} ticks exceed the 32-bit count (${cfg.timerMaxTicks})`)
    if (this.timerHandle >= 0) bus.sim.cancel(this.timerHandle)
    this.timerDeadlineNs = bus.sim.now + ticks * cfg.timerTickNs + cfg.timerLatencyNs
    this.timerHandle = bus.sim.at(this.timerDeadlineNs, Simulation.EventClass.Timer, bus.timerHandler, this.core.index)
  }

  /** Disarms the timer; true if it was armed. */
  cancelTimer(): boolean {
    if (this.timerHandle < 0) return false
    this.bus.sim.cancel(this.timerHandle)
    this.timerHandle = -1
    this.timerDeadlineNs = -1
    return true
  }

  /** True while the timer is armed. */
  get timerArmed(): boolean {
    return this.timerHandle >= 0
  }

  /** Timer expiry (called by the bus). */
  expire(): void {
    this.timerHandle = -1
    this.timerDeadlineNs = -1
    this.accept(this.bus.config.timerVector, Source.Timer)
  }

  /**
   * Sends an IPI (logical destination mode, fixed delivery) of `vector` to every core in
   * destination `destMask`, arriving after the one-way IPI latency (x2APIC: a multicast over
   * several clusters is one ICR write per cluster; the model charges the sender one poll). Returns the ns the sender then spends
   * polling "delivery pending" (the latency, bounded by the poll limit) — the kernel charges it.
   */
  sendIpi(destMask: number, vector: number): number {
    const bus = this.bus
    if (!isVector(vector)) bus.sim.fail(`lapic${this.core.index}.sendIpi: vector ${vector} must be 16..255`)
    if (bus.x2apic && !bus.isDestination(destMask)) bus.sim.fail(`lapic${this.core.index}.sendIpi: ${destMask} is not a destination of the x2APIC bus`)
    bus.sim.trace.emit2(bus.kindIpi, this.core.subject, bus.x2apic ? destMask : destMask & 0xff, vector)
    bus.send(destMask, vector, Source.Ipi, bus.timing.ipiOneWayNs)
    return Math.min(bus.timing.ipiOneWayNs, bus.timing.ipiPollBoundNs)
  }

  /**
   * A self-IPI: `vector` arrives at this core `delayNs` from now (default 0, no bus latency), as
   * any interrupt does — held while masked. For interrupts the kernel raises at a time it chooses.
   */
  selfInterrupt(vector: number, delayNs = 0): void {
    const bus = this.bus
    if (!isVector(vector)) bus.sim.fail(`lapic${this.core.index}.selfInterrupt: vector ${vector} must be 16..255`)
    if (!Number.isSafeInteger(delayNs) || delayNs < 0) bus.sim.fail(`lapic${this.core.index}.selfInterrupt: delay ${delayNs} must be an integer ≥ 0`)
    bus.send(this.destination, vector, Source.Ipi, delayNs)
  }

  /** Sends an IPI to one core by index. */
  sendIpiToCore(core: number, vector: number): number {
    return this.sendIpi(this.bus.lapics[core]!.destination, vector)
  }
}
