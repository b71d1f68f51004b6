/**
 * The machine: cores with their TSCs and local APICs, the I/O APIC, physical memory with the
 * Quest-V layout and one EPT per sandbox, the NIC on the wire, and the cost table — assembled
 * from one validated {@link MachineConfig.MachineConfig}.
 *
 * Guest memory accesses go through the accessing core's loaded EPT: allowed → performed (RAM, or
 * the I/O APIC's registers for its MMIO page); refused → nothing is written and the core takes an
 * EPT-violation VM exit (counted, traced `ept.violation`, the listener told by a Device-class event
 * at the same time). EPT changes (map, protect, redirect — the driver switch) are monitor
 * operations: the acting core must be in VMX root mode.
 *
 * DMA (model §H): the NIC's descriptors point at 2 KiB buffers at the top of the shared pool
 * (`dmaBufferBase`), and the NIC moves bytes through the machine ({@link Nic.DmaPort}): without
 * DMA remapping a bus address is the machine address, so a descriptor pointing anywhere lands
 * anywhere (EPT does not see devices); with `iommu.enabled` every DMA is translated by the NIC's
 * remapping table, which only monitors program (`mapNicBuffers`), and a blocked DMA's fault event
 * is sent to the owner's core (vector `iommu.faultVector`).
 *
 * Protection without virtualisation (`protection: 'pageTables'`, model §H): the same tables are
 * the kernels' own page tables. A user-mode access is checked against its sandbox's table and a
 * refused one is a page fault for that sandbox's kernel (counted, traced `pt.fault`, no VM exit);
 * a kernel-mode access goes through the table too, but where the table refuses it the kernel maps
 * what it needs (it controls the table): the access reaches that physical address. The kernels
 * may change their tables from guest mode.
 *
 * Invariants:
 * - one EPT per sandbox; core c runs sandbox `sandboxOfCore[c]` with that sandbox's EPT loaded;
 * - a refused access changes no frame (`memory.digest()` unchanged) and yields exactly one
 *   EPT-violation exit on the accessing core (F11);
 * - interrupts, IPIs, timers and NIC traffic never cause a VM exit (F15, F17).
 *
 * @module
 */
import { Time, type Simulation, type Trace } from "@qvsim/sim-core"
import * as MachineConfig from "./MachineConfig.ts"
import { CostTable } from "./CostModel.ts"
import { Core, VmExitReason, type CoreListener } from "./Core.ts"
import { Tsc } from "./Tsc.ts"
import { ApicBus, type LocalApic } from "./LocalApic.ts"
import { IoApic, Trigger } from "./IoApic.ts"
import { PhysicalMemory, PAGE_BYTES } from "./PhysicalMemory.ts"
import { MemoryLayout } from "./MemoryLayout.ts"
import { Access, Ept, Perm, qualification } from "./Ept.ts"
import { FrameStore } from "./FrameStore.ts"
import { Wire } from "./Wire.ts"
import { Nic, type DmaPort } from "./Nic.ts"
import { DmaRemapping, NIC_DEVICE } from "./DmaRemapping.ts"
import { Source } from "./LocalApic.ts"

const ADDRESS_SPACE = 2 ** 32

/** Replaceable parts (tests inject deliberately broken models). */
export interface MachineParts {
  /** Builds the DMA remapping unit (e.g. a subclass that forgets a check). */
  readonly makeIommu?: (...args: ConstructorParameters<typeof DmaRemapping>) => DmaRemapping
}

export class Machine implements DmaPort {
  readonly sim: Simulation.Simulation
  readonly config: MachineConfig.MachineConfig
  readonly costs: CostTable
  readonly cores: readonly Core[]
  readonly lapics: readonly LocalApic[]
  readonly apicBus: ApicBus
  readonly ioapic: IoApic
  readonly memory: PhysicalMemory
  readonly layout: MemoryLayout
  /** The EPT of each sandbox (what `boot` builds and loads). */
  epts: readonly Ept[]
  readonly frames: FrameStore
  readonly wire: Wire
  readonly nic: Nic
  /** The DMA remapping unit (VT-d); translating only when `iommu.enabled`. */
  readonly iommu: DmaRemapping
  /** Bus (= machine) address of the NIC's first DMA buffer: the top of the shared pool. */
  readonly dmaBufferBase: number
  /** Bytes the device wrote / read by DMA, and accesses blocked by the remapping unit. */
  dmaBytesWritten = 0
  dmaBytesRead = 0
  dmaBlocked = 0
  /** DMA writes (page pieces) that landed outside the NIC's own buffer frames (a rogue descriptor). */
  dmaWritesOutsideBuffers = 0
  /** Test and experiment hook: every frame a DMA writes (`write`) or reads, once allowed. */
  dmaObserver: ((frame: number, write: boolean) => void) | null = null
  readonly sandboxes: number
  /** Sandbox of each core. */
  readonly sandboxOfCore: readonly number[]
  /** Kernel-mode accesses are unchecked, refusals are page faults (`protection: 'pageTables'`). */
  readonly pageTablesOnly: boolean
  private readonly ioapicFrame: number
  private readonly kindViolation: Trace.RecordKind
  private readonly kindPageFault: Trace.RecordKind

  /** Builds the machine from `input` (validated; see {@link MachineConfig.parse}). */
  constructor(sim: Simulation.Simulation, input: MachineConfig.MachineInput = {}, parts: MachineParts = {}) {
    const config = MachineConfig.parse(input)
    this.sim = sim
    this.config = config
    this.costs = new CostTable(config.cpuHz, config.costs)
    this.sandboxOfCore = config.sandboxOfCore ?? Array.from({ length: config.cores }, (_, i) => i)
    this.sandboxes = MachineConfig.sandboxCount(config)
    const timing = {
      ipiOneWayNs: this.costs.ns.ipiOneWay,
      ipiPollBoundNs: Time.cyclesToNs(config.lapic.ipiPollLimit * config.lapic.ipiPollCycles, config.cpuHz),
    }
    this.apicBus = new ApicBus(sim, config.lapic, timing, MachineConfig.logicalIdScheme(config))
    const cores: Core[] = []
    for (let i = 0; i < config.cores; i++) {
      const core = new Core(sim, i, new Tsc(config.cpuHz, config.clockOffsetNs[i] ?? 0, config.clockDriftPpm[i] ?? 0))
      this.apicBus.attach(core)
      cores.push(core)
    }
    this.cores = cores
    this.lapics = this.apicBus.lapics
    this.ioapic = new IoApic(sim, this.apicBus, config.ioapic)
    this.memory = new PhysicalMemory(ADDRESS_SPACE)
    this.layout = new MemoryLayout(config.layout, this.sandboxes)
    this.epts = Array.from({ length: this.sandboxes }, (_, s) => new Ept(sim, s, this.memory.frames, this.layout))
    this.frames = new FrameStore()
    this.wire = new Wire(sim, this.frames, config.wire)
    this.nic = new Nic(sim, this.ioapic, this.wire, config.nic)
    const iommuArgs = [sim, this.memory.frames, config.iommu, (cycles: number) => this.costs.toNs(cycles)] as const
    this.iommu = parts.makeIommu !== undefined ? parts.makeIommu(...iommuArgs) : new DmaRemapping(...iommuArgs)
    this.dmaBufferBase = this.layout.poolTop - Math.ceil(this.nic.bufferBytes / PAGE_BYTES) * PAGE_BYTES
    if (this.dmaBufferBase < this.layout.shmBase) {
      sim.fail(`Machine: the NIC's ${this.nic.bufferBytes} bytes of DMA buffers do not fit in the shared pool (${this.layout.poolTop - this.layout.shmBase} bytes)`)
    }
    this.nic.attachDma(this, this.dmaBufferBase)
    this.iommu.listener = (f) => {
      if (f.ownerCore >= 0) this.apicBus.send(this.apicBus.maskOf([f.ownerCore]), config.iommu.faultVector, Source.Ipi, 0)
    }
    this.ioapicFrame = this.layout.ioapicBase / PAGE_BYTES
    this.kindViolation = sim.trace.kind("ept.violation", ["gpa", "access"])
    this.kindPageFault = sim.trace.kind("pt.fault", ["gpa", "access"])
    this.pageTablesOnly = config.protection === "pageTables"
    if (this.pageTablesOnly) for (const e of this.epts) e.kernelControlled = true
    if (config.boot.mode === "postBoot") this.boot()
  }

  /** Registers the one listener every core reports to (the kernel, or a test double). */
  setListener(listener: CoreListener): void {
    for (const core of this.cores) core.listener = listener
  }

  /** Cores running sandbox `s`, ascending. */
  coresOf(s: number): number[] {
    const out: number[] = []
    this.sandboxOfCore.forEach((sb, c) => {
      if (sb === s) out.push(c)
    })
    return out
  }

  /** Logical APIC mask of the cores of sandboxes `sandboxes`. */
  sandboxMask(sandboxes: readonly number[]): number {
    return this.apicBus.maskOf(sandboxes.flatMap((s) => this.coresOf(s)))
  }

  /**
   * The post-boot state (spec §D.2): boot images in every slice, the info page (and, 2015, the
   * channel pages) backed with bytes, each sandbox's EPT built by its first core and loaded on
   * its cores, the NIC's line programmed edge-triggered to the sharers, every core in guest mode.
   * `epts` replaces the sandboxes' (empty) EPT objects, e.g. with instrumented or deliberately
   * broken ones in tests.
   */
  boot(epts: readonly Ept[] = this.epts): void {
    const sharers = this.config.boot.nicSharers ?? this.sandboxes
    this.prepareBoot(epts, sharers > 0 ? this.sandboxMask(Array.from({ length: sharers }, (_, s) => s)) : 0)
    for (const core of this.cores) core.vmEntry()
  }

  /**
   * Everything of {@link boot} but the VM entries, with the NIC line's destination given
   * (`nicMask` 0: not programmed): a kernel that does monitor set-up before entering its guests
   * (sandbox-kernel's post-boot state) calls this, then its own set-up, then `vmEntry` per core.
   */
  prepareBoot(epts: readonly Ept[], nicMask: number): void {
    if (epts.length !== this.sandboxes) this.sim.fail(`Machine.boot: ${epts.length} EPTs for ${this.sandboxes} sandboxes`)
    this.epts = epts
    if (this.pageTablesOnly) for (const e of epts) e.kernelControlled = true
    const layout = this.layout
    layout.loadImages(this.memory)
    this.memory.backWithBytes(layout.infoPage / PAGE_BYTES)
    for (let a = layout.channelsBase; a < layout.screensBase; a += PAGE_BYTES) this.memory.backWithBytes(a / PAGE_BYTES)
    for (let s = 0; s < this.sandboxes; s++) layout.buildEpt(this.epts[s]!, s, this.cores[this.coresOf(s)[0]!]!)
    this.cores.forEach((core, c) => core.loadEpt(this.epts[this.sandboxOfCore[c]!]!))
    if (nicMask !== 0) {
      this.ioapic.program(this.nic.irqLine, { vector: this.config.boot.nicVector, trigger: Trigger.Edge, destination: nicMask })
    }
  }

  // ------------------------------------------------------------------ guest accesses

  /**
   * Checks an access of `kind` (Access.Read/Write/Execute) by `core` to guest-physical address
   * `gpa` against the core's EPT: the machine frame, or -1 after raising the EPT violation (a
   * page fault under `protection: 'pageTables'`). `kernel`: the access is made in kernel mode,
   * which only `protection: 'pageTables'` leaves unchecked.
   */
  access(core: number, gpa: number, kind: number, kernel = false): number {
    const c = this.cores[core]!
    // NOTE: one field read (the EPT in force, null in root mode) and one range test on the hot
    // path; the error reports live out of line in `badAccess`.
    const ept = c.guestEpt
    if (ept === null || !(gpa >= 0 && gpa < ADDRESS_SPACE)) return this.badAccess(c, gpa)
    const frame = ept.translate(gpa >>> 12, kind)
    if (frame >= 0) return frame
    // Kernel mode without virtualisation: the kernel maps whatever its table lacks (identity).
    if (kernel && this.pageTablesOnly) return gpa >>> 12
    this.violation(c, gpa, kind)
    return -1
  }

  private badAccess(c: Core, gpa: number): never {
    if (c.inVmxRoot) c.requireGuest("Machine.access")
    return this.sim.fail(`Machine.access: address ${gpa} is outside the 32-bit guest-physical space`)
  }

  private violation(c: Core, gpa: number, kind: number): void {
    if (this.pageTablesOnly) {
      // The sandbox's own kernel takes the page fault: no monitor, no exit.
      c.pageFaults++
      this.sim.trace.emit2(this.kindPageFault, c.subject, gpa, kind)
      return
    }
    c.eptViolations++
    this.sim.trace.emit2(this.kindViolation, c.subject, gpa, kind)
    c.vmExit(VmExitReason.EptViolation, qualification(gpa, kind))
  }

  /**
   * A guest write of `size` bytes (1, 2, 4; inside one page) of `value` at `gpa` by `core`.
   * Returns false — nothing written — on an EPT violation. `kernel`: see {@link access}.
   */
  write(core: number, gpa: number, size: 1 | 2 | 4, value: number, kernel = false): boolean {
    const frame = this.access(core, gpa, Access.Write, kernel)
    if (frame < 0) return false
    // NOTE: `gpa` is inside the 32-bit space (`access` checked it): its page offset is its low 12 bits (no double modulo).
    const offset = gpa & (PAGE_BYTES - 1)
    if (offset + size > PAGE_BYTES) this.sim.fail(`Machine.write: ${size} bytes at ${gpa} cross a page boundary`)
    if (frame === this.ioapicFrame) {
      if (size === 4) this.ioapic.mmioWrite(offset, value) // the I/O APIC decodes 32-bit accesses only
      return true
    }
    this.memory.write(frame, offset, size, value)
    return true
  }

  /**
   * Two 32-bit guest writes side by side by `core`: `v0` at `gpa`, then `v1` at `gpa + 4` (both in
   * one page), as `write(core, gpa, 4, v0)` then `write(core, gpa + 4, 4, v1)`: the second write's
   * check is the first's (same page, same access), so one EPT check serves both. Returns false —
   * nothing written — on an EPT violation. NOTE: a mailbox's size and sequence words at every
   * message-passing send (issue 15).
   */
  writeWords(core: number, gpa: number, v0: number, v1: number): boolean {
    const frame = this.access(core, gpa, Access.Write)
    if (frame < 0) return false
    const offset = gpa & (PAGE_BYTES - 1)
    if (offset + 8 > PAGE_BYTES) this.sim.fail(`Machine.writeWords: 8 bytes at ${gpa} cross a page boundary`)
    if (frame === this.ioapicFrame) {
      this.ioapic.mmioWrite(offset, v0)
      this.ioapic.mmioWrite(offset + 4, v1)
      return true
    }
    this.memory.writeWords(frame, offset, v0, v1)
    return true
  }

  /**
   * A guest read of `size` bytes at `gpa` by `core`: the value (unsigned, little-endian), or -1
   * after an EPT violation. `kernel`: see {@link access}.
   */
  read(core: number, gpa: number, size: 1 | 2 | 4, kernel = false): number {
    const frame = this.access(core, gpa, Access.Read, kernel)
    if (frame < 0) return -1
    const offset = gpa & (PAGE_BYTES - 1)
    if (offset + size > PAGE_BYTES) this.sim.fail(`Machine.read: ${size} bytes at ${gpa} cross a page boundary`)
    if (frame === this.ioapicFrame) return size === 4 ? this.ioapic.mmioRead(offset) : 0
    return this.memory.read(frame, offset, size)
  }

  /**
   * A guest copy of `length` bytes of `src` (from `srcOffset`) to `gpa` by `core`, across pages.
   * Every page is checked first: on a violation (one exit, at the first refused page) nothing is
   * written. Returns whether the copy happened. `kernel`: see {@link access}.
   */
  writeBytes(core: number, gpa: number, src: Uint8Array, srcOffset: number, length: number, kernel = false): boolean {
    if (length === 0) return true
    if (length <= PAGE_BYTES - (gpa & (PAGE_BYTES - 1)) && gpa >= 0 && gpa < ADDRESS_SPACE) {
      // NOTE: inside one page (a mailbox's message, most copies): one translation (issue 15).
      const frame = this.access(core, gpa, Access.Write, kernel)
      if (frame < 0) return false
      if (frame !== this.ioapicFrame) this.memory.writeBytes(frame, gpa & (PAGE_BYTES - 1), src, srcOffset, length)
      return true
    }
    const firstPage = Math.floor(gpa / PAGE_BYTES)
    const lastPage = Math.floor((gpa + length - 1) / PAGE_BYTES)
    for (let p = firstPage; p <= lastPage; p++) {
      if (this.access(core, p === firstPage ? gpa : p * PAGE_BYTES, Access.Write, kernel) < 0) return false
    }
    const ept = this.cores[core]!.ept!
    const unchecked = kernel && this.pageTablesOnly
    let done = 0
    while (done < length) {
      const a = gpa + done
      const offset = a % PAGE_BYTES
      const n = Math.min(length - done, PAGE_BYTES - offset)
      const mapped = ept.translate(Math.floor(a / PAGE_BYTES), Access.Write)
      const frame = mapped < 0 && unchecked ? Math.floor(a / PAGE_BYTES) : mapped
      if (frame !== this.ioapicFrame) this.memory.writeBytes(frame, offset, src, srcOffset + done, n)
      done += n
    }
    return true
  }

  // ------------------------------------------------------------------ monitor operations

  /**
   * The driver switch (spec §D.9): re-points sandbox `sandbox`'s EPT entries for the shared
   * driver's data/bss pages at sandbox `source`'s physical copy. `byCore` must be in root mode.
   */
  driverSwitch(byCore: number, sandbox: number, source: number): void {
    const layout = this.layout
    this.epts[sandbox]!.redirect(this.cores[byCore]!, layout.driverDataFrame(sandbox), layout.driverDataPages, layout.driverDataFrame(source))
  }

  /**
   * Monitor operation: maps the NIC's DMA buffer pages identity, read+write, in its remapping
   * table (`byCore`, in root mode, becomes the device's owner). A no-op without the unit.
   */
  mapNicBuffers(byCore: number): void {
    if (!this.iommu.enabled) return
    const b = this.nicBufferFrames()
    this.iommu.map(this.cores[byCore]!, NIC_DEVICE, b.first, b.count, b.first, Perm.RW)
  }

  /** The frames of the NIC's DMA buffers: `[first, first + count)`. */
  nicBufferFrames(): { readonly first: number; readonly count: number } {
    return { first: this.dmaBufferBase / PAGE_BYTES, count: Math.ceil(this.nic.bufferBytes / PAGE_BYTES) }
  }

  /** DmaPort: the NIC writes `length` bytes at bus `address` (through the remapping unit if enabled). */
  dmaWrite(address: number, src: Uint8Array, offset: number, length: number): number {
    return this.dma(address, length, true, src, offset)
  }

  /** DmaPort: the NIC reads `length` bytes at bus `address`. */
  dmaRead(address: number, length: number): number {
    return this.dma(address, length, false, null, 0)
  }

  private dma(address: number, length: number, write: boolean, src: Uint8Array | null, offset: number): number {
    const firstPage = Math.floor(address / PAGE_BYTES)
    const lastPage = Math.floor((address + length - 1) / PAGE_BYTES)
    const iommu = this.iommu
    let stall = 0
    // NOTE: at most two pages (a buffer is ≤ 2 KiB); both are translated before a byte moves.
    let f0 = firstPage, f1 = lastPage
    if (iommu.enabled) {
      const need = write ? Perm.W : Perm.R
      f0 = iommu.translate(NIC_DEVICE, firstPage, need)
      if (f0 < 0) return this.blocked()
      stall += iommu.lastStallNs
      if (lastPage !== firstPage) {
        f1 = iommu.translate(NIC_DEVICE, lastPage, need)
        if (f1 < 0) return this.blocked()
        stall += iommu.lastStallNs
      }
    }
    const inFirst = Math.min(length, PAGE_BYTES - (address % PAGE_BYTES))
    this.dmaPage(f0, address % PAGE_BYTES, inFirst, write, src, offset)
    if (lastPage !== firstPage) this.dmaPage(f1, 0, length - inFirst, write, src, offset + inFirst)
    if (write) this.dmaBytesWritten += length
    else this.dmaBytesRead += length
    return stall
  }

  private dmaPage(frame: number, at: number, n: number, write: boolean, src: Uint8Array | null, offset: number): void {
    if (this.dmaObserver !== null) this.dmaObserver(frame, write)
    if (!write || frame === this.ioapicFrame || frame >= this.memory.frames) return
    const buffers = this.dmaBufferBase / PAGE_BYTES
    if (frame < buffers || frame >= buffers + Math.ceil(this.nic.bufferBytes / PAGE_BYTES)) this.dmaWritesOutsideBuffers++
    this.memory.writeBytes(frame, at, src!, offset, n)
  }

  private blocked(): number {
    this.dmaBlocked++
    return -1
  }

  /** Digest of sandbox `s`'s slice (16 hex digits): equal before and after ⇔ nothing in it changed. */
  sliceDigest(s: number): string {
    return this.memory.rangeDigest(this.layout.sliceFirstFrame(s), this.layout.sliceFrames(s))
  }

  /** The frame `core`'s EPT maps `gpa` to for `kind`, or -1 — a look-up without side effects (no exit, no trace). */
  probe(core: number, gpa: number, kind: number): number {
    return this.cores[core]!.ept?.translate(Math.floor(gpa / PAGE_BYTES), kind) ?? -1
  }
}
