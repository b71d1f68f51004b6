/**
 * The physical memory layouts of Quest-V (spec §D.3) and the EPT each sandbox gets from them.
 *
 * | item | 2011 (`p11`) | 2015 (`ib`) |
 * |---|---|---|
 * | slice of sandbox i | `[1 MiB + i·128 MiB, +128 MiB)` | `[1 MiB + i·256 MiB, +256 MiB)` |
 * | EPT structures | top 10 MiB of each slice, mapped in no EPT | same |
 * | shared region | 4 MiB below `0xA000_0000` | 8 MiB below `0xA000_0000` |
 * | info page / screens | last page / 8 pages below it | same |
 * | private channels | — | 28 pages below the screens, pair (x, y) RW for x and y only |
 * | 2–4 GiB | identity RWX for all | shared pool no access until allocated; I/O APIC page read-only; rest RWX |
 *
 * Each sandbox's EPT: first MiB shared RWX; its own slice minus the EPT area identity RWX, kernel
 * text/rodata read+execute, the shared driver's data/bss pages redirected to sandbox 0's copy;
 * other slices unmapped; the 2–4 GiB region as in the table. The sizes the paper does not give
 * (kernel image, text, driver pages) are options marked `[ASSUMED]`.
 *
 * Invariants (checked at construction, each refusal naming its field under `layout.`):
 * - slices are page-aligned, pairwise disjoint, above the first MiB and below the 2 GiB region,
 *   each larger than its EPT area plus the kernel image;
 * - the shared region lies inside the 2 GiB region, below the I/O APIC, and holds the info page,
 *   the screens and (2015) the 28 channel pages;
 * - no EPT built here maps an EPT-area frame (F13), and the guard refuses later attempts.
 *
 * @module
 */
import { z } from "zod"
import { Rng } from "@qvsim/sim-core"
import { ConfigError } from "./Errors.ts"
import { type Issue, pathOf } from "./Issues.ts"
import { Perm, type Ept, type FrameGuard } from "./Ept.ts"
import type { Core } from "./Core.ts"
import type { PhysicalMemory } from "./PhysicalMemory.ts"
import { int, pageAligned, parseConfig } from "./internal/config.ts"

const KiB = 1024
const MiB = 1024 * KiB
const PAGE = 4096

/**
 * `SHM_MAX_SANDBOX` of the 2015 code (`vm/shm.h`): the sandboxes its shared-memory layout provides
 * for — the channel formula's N and the per-sandbox arrays of the info page. The 2015 layout holds
 * at most this many sandboxes.
 */
export const SHM_MAX_SANDBOXES = 8
/** Sandboxes the model's layouts hold (the 2011 layout, one slice each below 2 GiB; x2APIC machines). */
export const MAX_SANDBOXES = 64
/** Private channel pages in the 2015 layout: one per pair of 8 sandboxes. */
export const CHANNEL_PAGES = (SHM_MAX_SANDBOXES * (SHM_MAX_SANDBOXES - 1)) / 2

export type LayoutKind = "2011" | "2015"

/** Layout options (spec §D.3, §D.12 `memLayout`). */
export const schema = z.strictObject({
  /** Which code's layout: `'2011'` (paper-era `p11`) or `'2015'` (`intel_branch`). */
  kind: z.enum(["2011", "2015"]).default("2011"),
  /** Physical base of sandbox 0's slice (the kernel load address, 1 MiB). */
  kernelBase: pageAligned().default(1 * MiB),
  /**
   * Bytes per slice; default 128 MiB (2011) or 256 MiB (2015) — or, for more than 8 sandboxes when
   * that many slices do not fit below `highBase`, `[ASSUMED]` the largest whole number of MiB that does (31 MiB for 64 sandboxes):
   * the papers' machines had 4–8 sandboxes and give no layout for more.
   */
  sliceBytes: pageAligned(PAGE).optional(),
  /** Explicit slices `{base, bytes}` per sandbox, replacing `kernelBase + i·sliceBytes`. */
  slices: z.array(z.strictObject({ base: pageAligned(), bytes: pageAligned(PAGE) })).optional(),
  /** EPT structures at the top of each slice (10 MiB). */
  eptAreaBytes: pageAligned().default(10 * MiB),
  /** `[ASSUMED]` Bytes of kernel image at the start of each slice (VM-fork copies). */
  kernelImageBytes: pageAligned(PAGE).default(1 * MiB),
  /** `[ASSUMED]` Kernel text + rodata at the start of the image: read+execute only. */
  kernelTextBytes: pageAligned().default(512 * KiB),
  /** `[ASSUMED]` Offset in the image of the shared driver's `.data`/`.bss` pages. */
  driverDataOffset: pageAligned().default(512 * KiB),
  /** `[ASSUMED]` Number of shared-driver data/bss pages (each section in its own page). */
  driverDataPages: int(0, 256).default(2),
  /** Start of the 2–4 GiB region (shared memory and device MMIO). */
  highBase: pageAligned().default(0x8000_0000),
  /** Top of the shared region (`0xA000_0000`). */
  shmTop: pageAligned().default(0xa000_0000),
  /** Shared region bytes; default 4 MiB (2011) or 8 MiB (2015). */
  shmBytes: pageAligned(PAGE).optional(),
  /** Virtual-screen pages below the info page (8). */
  screenPages: int(0, 64).default(8),
  /** The I/O APIC's MMIO page. */
  ioapicBase: pageAligned().default(0xfec0_0000),
})
export type LayoutInput = z.input<typeof schema>

/** A slice of machine memory, bytes. */
export interface Slice {
  readonly base: number
  readonly bytes: number
}

/**
 * Index (1…28) of the private channel of sandboxes `x ≠ y` (0-based ids, N = 8):
 * with a = min, c = max, `((2N − 3)·a − a²)/2 + c`.
 */
export const channelIndex = (x: number, y: number): number => {
  const a = Math.min(x, y)
  const c = Math.max(x, y)
  return ((2 * SHM_MAX_SANDBOXES - 3) * a - a * a) / 2 + c
}

/** The content identity of page `k` of the boot kernel image (the same in every slice). */
export const imageContent = (k: number): readonly [number, number] => {
  const h = Rng.hashString("quest-v kernel image")
  return [Rng.fmix32(h ^ Math.imul(k + 1, 0x9e3779b1)) | 1, Rng.fmix32(~h ^ Math.imul(k + 1, 0x85ebca77)) | 1]
}

const hex = (n: number): string => `0x${n.toString(16)}`

export class MemoryLayout implements FrameGuard {
  readonly kind: LayoutKind
  readonly sandboxes: number
  readonly slices: readonly Slice[]
  readonly eptAreaBytes: number
  readonly kernelImageBytes: number
  readonly kernelTextBytes: number
  readonly driverDataOffset: number
  readonly driverDataPages: number
  readonly kernelBase: number
  readonly highBase: number
  readonly shmBase: number
  readonly shmTop: number
  /** The info page (last page below the top of the shared region). */
  readonly infoPage: number
  /** First byte of the virtual screens (8 pages below the info page). */
  readonly screensBase: number
  /** Lowest channel page (2015), or `screensBase` (2011: no channels). */
  readonly channelsBase: number
  /** The allocatable shared pool: `[shmBase, poolTop)`. */
  readonly poolTop: number
  readonly ioapicBase: number
  private readonly eptFirst: Float64Array
  private readonly eptCount: number

  /** Validates `input` for `sandboxes` sandboxes; refusals name `layout.<field>`. */
  constructor(input: LayoutInput, sandboxes: number, prefix = "layout") {
    const c = parseConfig("MemoryLayout", schema, input, prefix)
    this.kind = c.kind
    this.sandboxes = sandboxes
    const yearSlice = c.kind === "2011" ? 128 * MiB : 256 * MiB
    // Beyond the papers' 8 sandboxes only: a paper-sized machine keeps its year's slices (and errors).
    const fits = sandboxes <= SHM_MAX_SANDBOXES || c.kernelBase + sandboxes * yearSlice <= c.highBase
    const sliceBytes = c.sliceBytes ?? (fits ? yearSlice : Math.max(PAGE, Math.floor((c.highBase - c.kernelBase) / sandboxes / MiB) * MiB))
    const shmBytes = c.shmBytes ?? (c.kind === "2011" ? 4 * MiB : 8 * MiB)
    this.slices = c.slices ?? Array.from({ length: sandboxes }, (_, i) => ({ base: c.kernelBase + i * sliceBytes, bytes: sliceBytes }))
    this.eptAreaBytes = c.eptAreaBytes
    this.kernelImageBytes = c.kernelImageBytes
    this.kernelTextBytes = c.kernelTextBytes
    this.driverDataOffset = c.driverDataOffset
    this.driverDataPages = c.driverDataPages
    this.kernelBase = c.kernelBase
    this.highBase = c.highBase
    this.shmTop = c.shmTop
    this.shmBase = c.shmTop - shmBytes
    this.infoPage = c.shmTop - PAGE
    this.screensBase = this.infoPage - c.screenPages * PAGE
    this.channelsBase = c.kind === "2015" ? this.screensBase - CHANNEL_PAGES * PAGE : this.screensBase
    this.poolTop = this.channelsBase
    this.ioapicBase = c.ioapicBase
    this.eptCount = c.eptAreaBytes / PAGE
    this.eptFirst = Float64Array.from(this.slices, (s) => (s.base + s.bytes - c.eptAreaBytes) / PAGE)
    const at = pathOf(prefix)
    const issues = this.validate([...at, c.slices !== undefined ? "slices" : "sliceBytes"], at)
    if (issues.length > 0) throw new ConfigError("MemoryLayout", issues)
  }

  private validate(slicePath: PropertyKey[], p: PropertyKey[]): Issue[] {
    const issues: Issue[] = []
    const add = (path: PropertyKey[], message: string): void => {
      issues.push({ path, message })
    }
    const n = this.sandboxes
    if (!Number.isInteger(n) || n < 1 || n > MAX_SANDBOXES) add(p, `${n} sandboxes; the layout holds 1..${MAX_SANDBOXES}`)
    else if (this.kind === "2015" && n > SHM_MAX_SANDBOXES) add([...p, "kind"], `${n} sandboxes; the 2015 layout holds 1..${SHM_MAX_SANDBOXES} (SHM_MAX_SANDBOX: its private-channel pages and info-page arrays are sized for 8); use '2011'`)
    if (this.slices.length !== n) add(slicePath, `${this.slices.length} slices for ${n} sandboxes`)
    if (this.kernelTextBytes > this.kernelImageBytes) add([...p, "kernelTextBytes"], `${this.kernelTextBytes} exceeds kernelImageBytes ${this.kernelImageBytes}`)
    const drvEnd = this.driverDataOffset + this.driverDataPages * PAGE
    if (this.driverDataPages > 0 && (this.driverDataOffset < this.kernelTextBytes || drvEnd > this.kernelImageBytes)) {
      add([...p, "driverDataOffset"], `driver pages [${hex(this.driverDataOffset)}, ${hex(drvEnd)}) must lie in the image after the text (${hex(this.kernelTextBytes)}..${hex(this.kernelImageBytes)})`)
    }
    this.slices.forEach((s, i) => {
      const path = slicePath[slicePath.length - 1] === "slices" ? [...slicePath, i] : slicePath
      const end = s.base + s.bytes
      if (s.bytes <= this.eptAreaBytes + this.kernelImageBytes) {
        add(path, `slice ${i} of ${s.bytes} bytes does not exceed eptAreaBytes + kernelImageBytes (${this.eptAreaBytes + this.kernelImageBytes})`)
      }
      if (s.base < this.kernelBase) add(path, `slice ${i} starts at ${hex(s.base)}, inside the shared first ${hex(this.kernelBase)} bytes`)
      if (end > this.highBase) add(path, `slice ${i} ends at ${hex(end)}, above the shared region base ${hex(this.highBase)}`)
      for (let j = 0; j < i; j++) {
        const o = this.slices[j]!
        if (s.base < o.base + o.bytes && o.base < end) add(path, `slice ${i} [${hex(s.base)}, ${hex(end)}) overlaps slice ${j} [${hex(o.base)}, ${hex(o.base + o.bytes)})`)
      }
    })
    if (this.shmBase < this.highBase) add([...p, "shmBytes"], `shared region starts at ${hex(this.shmBase)}, below highBase ${hex(this.highBase)}`)
    if (this.shmTop > this.ioapicBase) add([...p, "shmTop"], `${hex(this.shmTop)} is above the I/O APIC page ${hex(this.ioapicBase)}`)
    if (this.poolTop < this.shmBase) {
      add([...p, "shmBytes"], `${this.shmTop - this.shmBase} bytes cannot hold the info page, screens and channels (${this.shmTop - this.poolTop} bytes)`)
    }
    if (this.ioapicBase < this.highBase || this.ioapicBase >= 2 ** 32) add([...p, "ioapicBase"], `${hex(this.ioapicBase)} must lie in [highBase, 4 GiB)`)
    return issues
  }

  /** First frame of sandbox `s`'s slice. */
  sliceFirstFrame(s: number): number {
    return this.slices[s]!.base / PAGE
  }

  /** Frames in sandbox `s`'s slice (EPT area included). */
  sliceFrames(s: number): number {
    return this.slices[s]!.bytes / PAGE
  }

  /** First frame of sandbox `s`'s EPT area. */
  eptAreaFirstFrame(s: number): number {
    return this.eptFirst[s]!
  }

  /** Frames in each EPT area. */
  get eptAreaFrames(): number {
    return this.eptCount
  }

  /** First frame of sandbox `s`'s copy of the shared driver's data pages. */
  driverDataFrame(s: number): number {
    return (this.slices[s]!.base + this.driverDataOffset) / PAGE
  }

  /** The sandbox whose slice holds `frame`, or -1. */
  ownerOf(frame: number): number {
    const a = frame * PAGE
    for (let s = 0; s < this.slices.length; s++) {
      const sl = this.slices[s]!
      if (a >= sl.base && a < sl.base + sl.bytes) return s
    }
    return -1
  }

  /** True if `frame` belongs to an EPT area. */
  isEptFrame(frame: number): boolean {
    return this.overlaps(frame, 1)
  }

  /** FrameGuard: true if `[first, first + count)` touches an EPT area. */
  overlaps(first: number, count: number): boolean {
    const end = first + count
    const n = this.eptCount
    for (let s = 0; s < this.eptFirst.length; s++) {
      const f = this.eptFirst[s]!
      if (first < f + n && f < end) return true
    }
    return false
  }

  /** One byte per machine frame (`frames` of them): 1 for EPT-area frames (for `Ept.findPageMapping`). */
  eptFrameMarks(frames: number): Uint8Array {
    const marks = new Uint8Array(frames)
    for (const first of this.eptFirst) marks.fill(1, first, first + this.eptCount)
    return marks
  }

  /** Physical address of the private channel page of sandboxes `x ≠ y` (2015 layout). */
  channelPage(x: number, y: number): number {
    if (this.kind !== "2015") throw new RangeError(`MemoryLayout.channelPage: the ${this.kind} layout has no private channels`)
    if (x === y || x < 0 || y < 0 || x >= SHM_MAX_SANDBOXES || y >= SHM_MAX_SANDBOXES) throw new RangeError(`MemoryLayout.channelPage(${x}, ${y}): need two different sandboxes 0..${SHM_MAX_SANDBOXES - 1}`)
    return this.screensBase - channelIndex(x, y) * PAGE
  }

  /** The sandbox pair `[a, c]` (a < c) of the channel page at `address`, or null. */
  channelPair(address: number): readonly [number, number] | null {
    if (this.kind !== "2015" || address < this.channelsBase || address >= this.screensBase) return null
    const index = (this.screensBase - (address - (address % PAGE))) / PAGE
    for (let a = 0; a < SHM_MAX_SANDBOXES; a++) {
      const c = index - ((2 * SHM_MAX_SANDBOXES - 3) * a - a * a) / 2
      if (c > a && c < SHM_MAX_SANDBOXES) return [a, c]
    }
    return null
  }

  /**
   * Fills `ept` with sandbox `s`'s boot mappings (acting as `byCore`, in root mode). The EPT area
   * of every slice stays unmapped.
   */
  buildEpt(ept: Ept, s: number, byCore: Core): void {
    const pages = (bytes: number): number => bytes / PAGE
    // First MiB: BIOS, VGA text; shared by everyone.
    ept.map(byCore, 0, pages(this.kernelBase), 0, Perm.RWX)
    // Own slice minus the EPT area, identity.
    const first = this.sliceFirstFrame(s)
    ept.map(byCore, first, this.sliceFrames(s) - this.eptCount, first, Perm.RWX)
    if (this.kernelTextBytes > 0) ept.protect(byCore, first, pages(this.kernelTextBytes), Perm.RX)
    if (this.driverDataPages > 0 && s !== 0) {
      ept.redirect(byCore, this.driverDataFrame(s), this.driverDataPages, this.driverDataFrame(0))
    }
    // 2-4 GiB: shared memory and device MMIO.
    const high = pages(this.highBase)
    ept.map(byCore, high, (1 << 20) - high, high, Perm.RWX)
    if (this.kind === "2015") {
      ept.protect(byCore, pages(this.shmBase), pages(this.poolTop - this.shmBase), Perm.None)
      for (let a = 0; a < SHM_MAX_SANDBOXES; a++) {
        for (let c = a + 1; c < SHM_MAX_SANDBOXES; c++) {
          ept.protect(byCore, pages(this.channelPage(a, c)), 1, s === a || s === c ? Perm.RW : Perm.None)
        }
      }
      ept.protect(byCore, pages(this.ioapicBase), 1, Perm.R)
    }
  }

  /** Gives every slice its boot image: page k of each copy gets the same content identity. */
  loadImages(memory: PhysicalMemory): void {
    const pages = this.kernelImageBytes / PAGE
    for (let s = 0; s < this.sandboxes; s++) {
      const first = this.sliceFirstFrame(s)
      for (let k = 0; k < pages; k++) {
        const [h1, h2] = imageContent(k)
        memory.setContent(first + k, h1, h2)
      }
    }
  }
}
