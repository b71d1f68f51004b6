/**
 * DMA remapping (Intel VT-d) — the IOMMU between the devices and machine memory (model §H
 * "DMA isolation"). The Quest web page: EPT alone cannot stop a faulty driver or device from
 * DMA-ing into arbitrary physical memory; VT-d restricts where DMA may land.
 *
 * Model:
 * - one remapping table per device (a PCI requester id; the shared NIC is device {@link NIC_DEVICE}):
 *   bus page → machine frame with read/write bits, 4 KiB granularity over the 32-bit bus space,
 *   like the EPT's leaf level. The Quest source (`intel_branch`) has no VT-d or DMAR code, so the
 *   granularity is ours: VT-d picks a table by requester id, and a shared NIC is one PCI function,
 *   so the table is per device; per-sandbox tables would need PASIDs or SR-IOV functions (not
 *   modelled);
 * - tables are programmed only by monitors: `map`/`unmap` take the acting core, which must be in
 *   VMX root mode; the core that last programmed a device's table is the device's owner, and its
 *   sandbox's monitor receives the device's remapping faults;
 * - an IOTLB of `iotlbEntries` entries (fully associative, least recently used) caches
 *   translations; a miss walks the table and stalls the DMA by `iotlbMissCycles`;
 * - a DMA to a page with no entry, or without the needed bit, is blocked: nothing is read or
 *   written, the fault is recorded (`faults`, `faultLog`, traced `dmar.fault`) and reported to
 *   the owner through the fault listener (the machine sends the fault event, an MSI, to the
 *   owner's core).
 *
 * When `enabled` is false (the default) the unit is absent: bus address = machine address and
 * nothing is checked — the 2011 machine as the paper describes it.
 *
 * Invariants:
 * - `translate(device, page, need)` returns a frame only if the device's table maps `page` with
 *   every bit of `need` (F11 for DMA: with VT-d on, no DMA reaches a frame the owner did not map);
 * - `unmap` and `map` invalidate the IOTLB entries of the pages they change, so a cached
 *   translation never outlives its table entry;
 * - every mutation is a monitor operation (root mode) and is traced `dmar.map` / `dmar.unmap`.
 *
 * NOTE: tables are flat `Int32Array`s (`frame << 3 | perms`, 0 = absent), allocated on the first
 * mapping of a device; the IOTLB is parallel typed arrays searched linearly (≤ 4096 entries, one
 * search per DMA).
 *
 * @module
 */
import { z } from "zod"
import type { Simulation, Trace } from "@qvsim/sim-core"
import type { Core } from "./Core.ts"
import { Perm } from "./Ept.ts"
import { int, parseConfig, vector } from "./internal/config.ts"

/** The shared NIC's requester id. */
export const NIC_DEVICE = 0
/** Devices the unit has tables for. */
export const MAX_DEVICES = 8
/** Bus pages: 4 GiB / 4 KiB. */
export const BUS_PAGES = 1 << 20

/** DMA remapping options. */
export const schema = z.strictObject({
  /** The unit is present and translating (default false: the paper's machine, no VT-d). */
  enabled: z.boolean().default(false),
  /**
   * `[ASSUMED]` IOTLB entries (32; plausible 16–128). Intel does not publish the IOTLB size of
   * the 5500-series chipset's VT-d unit; early VT-d IOTLBs are reported in the tens of entries.
   */
  iotlbEntries: int(1, 4096).default(32),
  /**
   * `[ASSUMED]` Cycles (at the CPU clock) one IOTLB miss stalls a DMA: 600, range 200–1,500. A
   * miss reads the context entry and two or three levels of the remapping table from memory:
   * 2–4 dependent reads of ≈ 100–200 cycles when the chipset's context and paging-structure caches
   * miss, fewer when they hit (the low end).
   */
  iotlbMissCycles: int(0).default(600),
  /** `[ASSUMED]` Vector of the fault event (the MSI the unit sends to the owner's core). */
  faultVector: vector().default(0x58),
})
export type DmaRemappingInput = z.input<typeof schema>
export type DmaRemappingConfig = z.output<typeof schema>

/** One blocked DMA. */
export interface DmaFault {
  readonly device: number
  /** Bus address of the access. */
  readonly address: number
  /** Access bits it needed (R = 1, W = 2). */
  readonly access: number
  /** Core that owns the device's table (its monitor is told), -1 if none. */
  readonly ownerCore: number
  readonly atNs: number
}

/** Who hears of faults (the machine: it sends the fault event to the owner's core). */
export type FaultListener = (fault: DmaFault) => void

export class DmaRemapping {
  readonly config: DmaRemappingConfig
  readonly enabled: boolean
  /** Stall of one IOTLB miss, ns. */
  readonly missNs: number
  /** Frames in the machine (mappings must stay below). */
  readonly machineFrames: number
  /** Core that last programmed each device's table (its sandbox's monitor owns the device), -1 = none. */
  readonly ownerCore = new Int32Array(MAX_DEVICES).fill(-1)
  iotlbHits = 0
  iotlbMisses = 0
  /** Blocked DMAs. */
  faults = 0
  readonly faultLog: DmaFault[] = []
  listener: FaultListener | null = null
  /** Ns the last successful `translate` stalled (0 on a hit or without the unit). */
  lastStallNs = 0
  protected readonly tables: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(MAX_DEVICES).fill(undefined)
  // NOTE: IOTLB as parallel typed arrays: tag = device · 2^20 + page (−1 = empty), entry, last use.
  private readonly tlbTag: Float64Array
  private readonly tlbEntry: Int32Array
  private readonly tlbUse: Float64Array
  private useClock = 0
  private readonly sim: Simulation.Simulation
  private readonly subject: Trace.Subject
  private readonly kFault: Trace.RecordKind
  private readonly kUpdate: Trace.RecordKind
  private readonly ops: Record<"map" | "unmap", number>

  /** Validates `input` (refusals name `iommu.<field>`); `missNs` converts the miss cycles at the CPU clock. */
  constructor(sim: Simulation.Simulation, machineFrames: number, input: DmaRemappingInput, toNs: (cycles: number) => number, prefix = "iommu") {
    const c = parseConfig("DmaRemapping", schema, input, prefix)
    this.config = c
    this.enabled = c.enabled
    this.missNs = toNs(c.iotlbMissCycles)
    this.machineFrames = machineFrames
    this.sim = sim
    this.tlbTag = new Float64Array(c.iotlbEntries).fill(-1)
    this.tlbEntry = new Int32Array(c.iotlbEntries)
    this.tlbUse = new Float64Array(c.iotlbEntries)
    this.subject = sim.trace.subject("iommu", -1)
    this.kFault = sim.trace.kind("dmar.fault", ["device", "address", "access", "ownerCore"])
    this.kUpdate = sim.trace.kind("dmar.update", ["$op", "device", "page", "count", "frame", "perms", "byCore"])
    this.ops = { map: sim.trace.symbol("map"), unmap: sim.trace.symbol("unmap") }
  }

  private check(api: string, byCore: Core, device: number, page: number, count: number): void {
    byCore.requireRoot(`DmaRemapping.${api}`)
    if (!Number.isInteger(device) || device < 0 || device >= MAX_DEVICES) this.sim.fail(`DmaRemapping.${api}: device ${device} must be 0..${MAX_DEVICES - 1}`)
    if (!Number.isInteger(page) || !Number.isInteger(count) || page < 0 || count < 0 || page + count > BUS_PAGES) {
      this.sim.fail(`DmaRemapping.${api}: bus pages [${page}, ${page + count}) are not inside the 4 GiB bus space`)
    }
  }

  /**
   * Maps bus pages `[page, page + count)` of `device` to frames `[frame, frame + count)` with
   * `perms` (R, W, RW). Monitor only; `byCore` becomes the device's owner.
   */
  map(byCore: Core, device: number, page: number, count: number, frame: number, perms: number): void {
    this.check("map", byCore, device, page, count)
    if (!Number.isInteger(perms) || perms < 1 || perms > Perm.RW) this.sim.fail(`DmaRemapping.map: permissions ${perms} must be R, W or RW`)
    if (!Number.isInteger(frame) || frame < 0 || frame + count > this.machineFrames) this.sim.fail(`DmaRemapping.map: frames [${frame}, ${frame + count}) are outside machine memory`)
    let t = this.tables[device]
    if (t === undefined) {
      t = new Int32Array(BUS_PAGES)
      this.tables[device] = t
    }
    for (let i = 0; i < count; i++) t[page + i] = (frame + i) * 8 + perms
    this.ownerCore[device] = byCore.index
    this.invalidate(device, page, count)
    this.sim.trace.emit(this.kUpdate, this.subject, this.ops.map, device, page, count, frame, perms, byCore.index)
  }

  /** Removes bus pages `[page, page + count)` of `device` (and their IOTLB entries). Monitor only. */
  unmap(byCore: Core, device: number, page: number, count: number): void {
    this.check("unmap", byCore, device, page, count)
    this.tables[device]?.fill(0, page, page + count)
    this.invalidate(device, page, count)
    this.sim.trace.emit(this.kUpdate, this.subject, this.ops.unmap, device, page, count, 0, 0, byCore.index)
  }

  /** Drops the IOTLB entries of `device`'s pages `[page, page + count)`. (Broken variants skip it.) */
  protected invalidate(device: number, page: number, count: number): void {
    const lo = device * BUS_PAGES + page
    const hi = lo + count
    for (let e = 0; e < this.tlbTag.length; e++) {
      const tag = this.tlbTag[e]!
      if (tag >= lo && tag < hi) this.tlbTag[e] = -1
    }
  }

  /** The entry (`frame << 3 | perms`, 0 = absent) of `device`'s bus page `page` in its table. */
  entryOf(device: number, page: number): number {
    return this.tables[device]?.[page] ?? 0
  }

  /**
   * The machine frame `device` may reach at bus page `page` for access bits `need`, or -1 (the
   * DMA is blocked: recorded, traced, reported). Sets `lastStallNs` (the IOTLB miss stall).
   */
  translate(device: number, page: number, need: number): number {
    const e = this.lookup(device, page)
    if ((e & need) === need && e !== 0) return e >>> 3
    this.fault(device, page * 4096, need)
    return -1
  }

  /** The IOTLB, then the table on a miss (hit/miss counted, stall recorded). Broken variants override the checks. */
  protected lookup(device: number, page: number): number {
    const tag = device * BUS_PAGES + page
    const tags = this.tlbTag
    this.useClock++
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] === tag) {
        this.iotlbHits++
        this.tlbUse[i] = this.useClock
        this.lastStallNs = 0
        return this.tlbEntry[i]!
      }
    }
    this.iotlbMisses++
    this.lastStallNs = this.missNs
    const e = this.entryOf(device, page)
    // Only present translations are cached (a fault is not).
    if (e !== 0) {
      // An empty entry, else the least recently used one.
      let victim = 0
      for (let i = 0; i < tags.length; i++) {
        if (tags[i] === -1) {
          victim = i
          break
        }
        if (this.tlbUse[i]! < this.tlbUse[victim]!) victim = i
      }
      tags[victim] = tag
      this.tlbEntry[victim] = e
      this.tlbUse[victim] = this.useClock
    }
    return e
  }

  private fault(device: number, address: number, access: number): void {
    this.faults++
    const f: DmaFault = { device, address, access, ownerCore: this.ownerCore[device]!, atNs: this.sim.now }
    this.faultLog.push(f)
    this.sim.trace.emit(this.kFault, this.subject, device, address, access, f.ownerCore)
    this.listener?.(f)
  }
}
