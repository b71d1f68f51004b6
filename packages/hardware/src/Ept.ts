/**
 * A per-sandbox extended page table (spec §D.3): guest-physical page → machine frame with read,
 * write and execute bits, at 4 KiB granularity, over the 4 GiB guest-physical space.
 *
 * Representation: the hardware's two lowest levels — a directory of 1024 leaf tables of 1024
 * entries, each entry `frame << 3 | rwx`, 0 = not present — with tables shared copy-on-write:
 * - an absent table is the one all-zero table (never written);
 * - a whole table mapped identity with one permission set (the first-MiB-free middle of a slice,
 *   the 2–4 GiB region every sandbox maps alike) is an immutable table shared by every EPT of the
 *   process (cached by table index and permissions);
 * - the first mutation of a table an EPT does not own copies it (4 KiB) into the EPT.
 * A sandbox's EPT thus costs a few KiB and microseconds to build instead of a 4 MiB array filled
 * entry by entry (issue 15: a 64-sandbox System starts in under 100 ms). NOTE: the price is in
 * `translate`, two dependent loads (directory, then table) instead of the flat array's one:
 * bench/ept.bench.ts compares both (≈ 2.3× the flat look-up's few ns, a small part of a
 * `Machine.access`); every result is the same.
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
/** Entries per leaf table (4 MiB of guest-physical space). */
export const TABLE_PAGES = 1024
const TABLES = GUEST_PAGES / TABLE_PAGES

/** The absent table: all entries not present; shared, never written. */
const ZERO_TABLE = new Int32Array(TABLE_PAGES)
/**
 * Immutable identity tables shared by every EPT (key: table index · 8 + permissions). NOTE: a
 * process-wide cache of pure data (a table's content is a function of its key), so it holds no
 * simulation state and determinism is unaffected; at most 1024 · 7 tables, 2 MiB for the usual
 * 2–4 GiB region.
 */
const identityTables = new Map<number, Int32Array>()
const packedZeroTables = (): Int32Array[] => {
  const tables: Int32Array[] = []
  for (let t = 0; t < TABLES; t++) tables.push(ZERO_TABLE)
  return tables
}
const identityTable = (t: number, perms: number): Int32Array => {
  const key = t * 8 + perms
  let table = identityTables.get(key)
  if (table === undefined) {
    table = new Int32Array(TABLE_PAGES)
    const first = t * TABLE_PAGES
    for (let i = 0; i < TABLE_PAGES; i++) table[i] = (first + i) * 8 + perms
    identityTables.set(key, table)
  }
  return table
}

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
  /** Leaf table of each 4 MiB of guest-physical space (shared until written: see `owned`). */
  // NOTE: filled by push, so the array is PACKED (`new Array(n).fill` stays HOLEY: slower loads).
  private readonly tables: Int32Array[] = packedZeroTables()
  /** 1 where `tables[t]` is this EPT's own copy (writable in place). */
  private readonly owned = new Uint8Array(TABLES)
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
    const table = this.tables[gpn >>> 10] // undefined outside the 4 GiB space
    if (table === undefined) return -1
    const e = table[gpn & 1023]!
    return (e & need) === need && e !== 0 ? e >>> 3 : -1
  }

  /** Table `t`, made this EPT's own (copied on the first write). */
  private writable(t: number): Int32Array {
    if (this.owned[t] === 1) return this.tables[t]!
    const copy = this.tables[t]!.slice()
    this.tables[t] = copy
    this.owned[t] = 1
    return copy
  }

  /** Replaces table `t` by a shared one (absent or identity). */
  private share(t: number, table: Int32Array): void {
    this.tables[t] = table
    this.owned[t] = 0
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
    return Number.isInteger(gpn) && gpn >= 0 && gpn < GUEST_PAGES ? this.tables[gpn >>> 10]![gpn & 1023]! : 0
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
    if (perms === 0) {
      this.clear(gpn, count)
      return
    }
    const end = gpn + count
    for (let g = gpn; g < end;) {
      const t = g >>> 10, lo = g & 1023, n = Math.min(end - g, TABLE_PAGES - lo)
      if (n === TABLE_PAGES && frame === gpn) this.share(t, identityTable(t, perms))
      else {
        const table = this.writable(t), f = frame + (g - gpn)
        for (let i = 0; i < n; i++) table[lo + i] = (f + i) * 8 + perms
      }
      g += n
    }
  }

  /** Makes guest pages `[gpn, gpn + count)` not present. */
  private clear(gpn: number, count: number): void {
    const end = gpn + count
    for (let g = gpn; g < end;) {
      const t = g >>> 10, lo = g & 1023, n = Math.min(end - g, TABLE_PAGES - lo)
      if (n === TABLE_PAGES) this.share(t, ZERO_TABLE)
      else if (this.tables[t] !== ZERO_TABLE) this.writable(t).fill(0, lo, lo + n)
      g += n
    }
  }

  /** Removes guest pages `[gpn, gpn + count)`. Monitor only. */
  unmap(byCore: Core, gpn: number, count: number): void {
    this.requireController(byCore, "unmap")
    this.checkRange("unmap", gpn, count)
    this.trace(this.ops.unmap, gpn, count, 0, 0, byCore)
    this.clear(gpn, count)
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
    const end = gpn + count
    for (let g = gpn; g < end;) {
      const t = g >>> 10, lo = g & 1023, n = Math.min(end - g, TABLE_PAGES - lo)
      g += n
      if (this.tables[t] === ZERO_TABLE) continue
      const table = this.writable(t)
      for (let i = lo; i < lo + n; i++) {
        const e = table[i]!
        if (e !== 0) table[i] = perms === 0 ? 0 : (e >>> 3) * 8 + perms
      }
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
    for (let g = gpn; g < gpn + count; g++) {
      if (this.entry(g) === 0) this.sim.fail(`Ept${this.sandbox}.redirect: guest page ${g} is not present`)
    }
    this.trace(this.ops.redirect, gpn, count, frame, 0, byCore)
    for (let g = gpn; g < gpn + count; g++) {
      const table = this.writable(g >>> 10), i = g & 1023
      table[i] = (frame + g - gpn) * 8 + (table[i]! & 7)
    }
  }

  private trace(op: number, gpn: number, count: number, frame: number, perms: number, byCore: Core): void {
    this.sim.trace.emit(this.kindUpdate, this.subject, op, gpn, count, frame, perms, byCore.index)
  }

  /** Present guest pages. */
  presentPages(): number {
    let n = 0
    for (const table of this.tables) {
      if (table === ZERO_TABLE) continue
      for (let i = 0; i < TABLE_PAGES; i++) if (table[i] !== 0) n++
    }
    return n
  }

  /**
   * The first guest page mapping a frame marked in `marked` (one byte per machine frame), or -1.
   * F13 checks: does this EPT reach any EPT-structure frame?
   */
  findPageMapping(marked: Uint8Array): number {
    for (let t = 0; t < TABLES; t++) {
      const table = this.tables[t]!
      if (table === ZERO_TABLE) continue
      for (let i = 0; i < TABLE_PAGES; i++) {
        const e = table[i]!
        if (e !== 0 && marked[e >>> 3] === 1) return t * TABLE_PAGES + i
      }
    }
    return -1
  }

  /** Tables this EPT owns (copied or written), out of 1024: its own memory is this × 4 KiB. */
  ownedTables(): number {
    let n = 0
    for (let t = 0; t < TABLES; t++) n += this.owned[t]!
    return n
  }
}
