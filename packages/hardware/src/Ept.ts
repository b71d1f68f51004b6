/**
 * A per-sandbox extended page table (spec §D.3): guest-physical page → machine frame with read,
 * write and execute bits, at 4 KiB granularity, over the 4 GiB guest-physical space.
 *
 * Representation (NOTE: bent for speed): one flat `Int32Array` of 1 Mi entries (4 MiB per
 * sandbox) holding `frame << 3 | rwx`, 0 = not present — the hardware's leaf level without the
 * upper levels. Measured against the hardware's shape, a directory over 1024-entry tables
 * allocated where something is mapped (bench/ept.bench.ts): one load instead of two dependent
 * ones, ≈ 2.3 vs 3.4 ns per random look-up, for 4 MiB instead of ≈ 2 MiB per sandbox.
 *
 * Invariants:
 * - `translate(gpn, need)` returns the machine frame iff the page is present and has every bit of
 *   `need`, else -1; an entry with no permission bit is not present;
 * - every mutation is a monitor operation: it takes the acting core, which must be in VMX root
 *   mode (the simulation fails otherwise) — except on a machine without hardware virtualisation
 *   (`protection: 'pageTables'`), where the table is the sandbox kernel's own page table
 *   (`kernelControlled`) and its kernel changes it from guest mode (model §H, protection without
 *   virtualisation);
 * - no mutation ever maps a frame the guard protects (the EPT structures themselves, F13): such a
 *   request fails the simulation and changes nothing.
 *
 * @module
 */
import type { Simulation, Trace } from "@qvsim/sim-core"
import type { Core } from "./Core.ts"

/** Permission bits of an entry, also the access kinds (a fetch needs X). */
export const Perm = { None: 0, R: 1, W: 2, X: 4, RW: 3, RX: 5, RWX: 7 } as const
export type Perm = number

/** Access kinds: the permission bit each needs. */
export const Access = { Read: 1, Write: 2, Execute: 4 } as const
export type Access = (typeof Access)[keyof typeof Access]

/** Guest-physical pages covered: 4 GiB / 4 KiB. */
export const GUEST_PAGES = 1 << 20

/** Frames a mapping must never reach (the EPT areas). */
export interface FrameGuard {
  /** True if any frame of `[first, first + count)` is protected. */
  overlaps(first: number, count: number): boolean
}

/** A guard that protects nothing. */
export const noGuard: FrameGuard = { overlaps: () => false }

/** Exit qualification of an EPT violation: guest-physical address · 8 + access bits. */
export const qualification = (gpa: number, access: number): number => gpa * 8 + access
/** The guest-physical address of an EPT-violation qualification. */
export const qualificationAddress = (q: number): number => Math.floor(q / 8)
/** The access bits of an EPT-violation qualification. */
export const qualificationAccess = (q: number): number => q % 8

export class Ept {
  /** The sandbox this EPT belongs to (also the scope of its trace records). */
  readonly sandbox: number
  /** Frames in the machine (mappings must stay below). */
  readonly machineFrames: number
  protected readonly guard: FrameGuard
  /** The table is the sandbox kernel's own page table (no hardware virtualisation): its kernel may change it. */
  kernelControlled = false
  private readonly entries = new Int32Array(GUEST_PAGES)
  private readonly sim: Simulation.Simulation
  private readonly subject: Trace.Subject
  private readonly kindUpdate: Trace.RecordKind
  private readonly ops: Record<"map" | "unmap" | "protect" | "redirect", number>

  constructor(sim: Simulation.Simulation, sandbox: number, machineFrames: number, guard: FrameGuard = noGuard) {
    this.sim = sim
    this.sandbox = sandbox
    this.machineFrames = machineFrames
    this.guard = guard
    this.subject = sim.trace.subject(`ept${sandbox}`, sandbox)
    this.kindUpdate = sim.trace.kind("ept.update", ["$op", "gpn", "count", "frame", "perms", "byCore"])
    this.ops = {
      map: sim.trace.symbol("map"),
      unmap: sim.trace.symbol("unmap"),
      protect: sim.trace.symbol("protect"),
      redirect: sim.trace.symbol("redirect"),
    }
  }

  /**
   * The machine frame guest page `gpn` maps to if it allows every access bit in `need` (≠ 0),
   * else -1. The hot path of every simulated memory access.
   */
  translate(gpn: number, need: number): number {
    const e = this.entries[gpn]!
    return (e & need) === need && e !== 0 ? e >>> 3 : -1
  }

  /** The frame `gpn` maps to, or -1 if not present. */
  frameOf(gpn: number): number {
    const e = this.entry(gpn)
    return e === 0 ? -1 : e >>> 3
  }

  /** The permission bits of `gpn` (0 = not present). */
  permsOf(gpn: number): number {
    return this.entry(gpn) & 7
  }

  private entry(gpn: number): number {
    return Number.isInteger(gpn) && gpn >= 0 && gpn < GUEST_PAGES ? this.entries[gpn]! : 0
  }

  private requireController(byCore: Core, api: string): void {
    if (!this.kernelControlled) byCore.requireRoot(`Ept${this.sandbox}.${api}`)
  }

  private checkRange(api: string, gpn: number, count: number): void {
    if (!Number.isInteger(gpn) || !Number.isInteger(count) || gpn < 0 || count < 0 || gpn + count > GUEST_PAGES) {
      this.sim.fail(`Ept${this.sandbox}.${api}: guest pages [${gpn}, ${gpn + count}) are not inside the 4 GiB guest space`)
    }
  }

  private checkTarget(api: string, frame: number, count: number): void {
    if (!Number.isInteger(frame) || frame < 0 || frame + count > this.machineFrames) {
      this.sim.fail(`Ept${this.sandbox}.${api}: frames [${frame}, ${frame + count}) are outside machine memory`)
    }
    // A kernel's own page table (no virtualisation) may map anything: there are no EPT structures to protect.
    if (!this.kernelControlled && this.guard.overlaps(frame, count)) {
      this.sim.fail(`Ept${this.sandbox}.${api}: frames [${frame}, ${frame + count}) include EPT-structure frames, which no EPT may map`)
    }
  }

  private checkPerms(api: string, perms: number): void {
    if (!Number.isInteger(perms) || perms < 0 || perms > 7) this.sim.fail(`Ept${this.sandbox}.${api}: permissions ${perms} must be 0..7`)
  }

  /** Maps guest pages `[gpn, gpn + count)` to frames `[frame, frame + count)` with `perms`. Monitor only. */
  map(byCore: Core, gpn: number, count: number, frame: number, perms: Perm): void {
    this.requireController(byCore, "map")
    this.checkRange("map", gpn, count)
    this.checkPerms("map", perms)
    if (perms !== 0) this.checkTarget("map", frame, count)
    this.trace(this.ops.map, gpn, count, frame, perms, byCore)
    const entries = this.entries
    if (perms === 0) entries.fill(0, gpn, gpn + count)
    else for (let i = 0; i < count; i++) entries[gpn + i] = (frame + i) * 8 + perms
  }

  /** Removes guest pages `[gpn, gpn + count)`. Monitor only. */
  unmap(byCore: Core, gpn: number, count: number): void {
    this.requireController(byCore, "unmap")
    this.checkRange("unmap", gpn, count)
    this.trace(this.ops.unmap, gpn, count, 0, 0, byCore)
    this.entries.fill(0, gpn, gpn + count)
  }

  /**
   * Sets the permissions of the present pages in `[gpn, gpn + count)` to `perms` (0 removes them),
   * keeping their frames; absent pages stay absent. Monitor only (hypercall 5).
   */
  protect(byCore: Core, gpn: number, count: number, perms: Perm): void {
    this.requireController(byCore, "protect")
    this.checkRange("protect", gpn, count)
    this.checkPerms("protect", perms)
    this.trace(this.ops.protect, gpn, count, 0, perms, byCore)
    const entries = this.entries
    for (let g = gpn; g < gpn + count; g++) {
      const e = entries[g]!
      if (e !== 0) entries[g] = perms === 0 ? 0 : (e >>> 3) * 8 + perms
    }
  }

  /**
   * Re-points guest pages `[gpn, gpn + count)` at frames `[frame, frame + count)`, keeping each
   * page's permissions (the driver switch of spec §D.9). Every page must be present. Monitor only.
   */
  redirect(byCore: Core, gpn: number, count: number, frame: number): void {
    this.requireController(byCore, "redirect")
    this.checkRange("redirect", gpn, count)
    this.checkTarget("redirect", frame, count)
    const entries = this.entries
    for (let g = gpn; g < gpn + count; g++) {
      if (entries[g] === 0) this.sim.fail(`Ept${this.sandbox}.redirect: guest page ${g} is not present`)
    }
    this.trace(this.ops.redirect, gpn, count, frame, 0, byCore)
    for (let g = gpn; g < gpn + count; g++) entries[g] = (frame + g - gpn) * 8 + (entries[g]! & 7)
  }

  private trace(op: number, gpn: number, count: number, frame: number, perms: number, byCore: Core): void {
    this.sim.trace.emit(this.kindUpdate, this.subject, op, gpn, count, frame, perms, byCore.index)
  }

  /** Present guest pages. */
  presentPages(): number {
    let n = 0
    const entries = this.entries
    for (let g = 0; g < GUEST_PAGES; g++) if (entries[g] !== 0) n++
    return n
  }

  /**
   * The first guest page mapping a frame marked in `marked` (one byte per machine frame), or -1.
   * F13 checks: does this EPT reach any EPT-structure frame?
   */
  findPageMapping(marked: Uint8Array): number {
    const entries = this.entries
    for (let g = 0; g < GUEST_PAGES; g++) {
      const e = entries[g]!
      if (e !== 0 && marked[e >>> 3] === 1) return g
    }
    return -1
  }
}
