/**
 * The I/O APIC (spec §D.6): one redirection entry per interrupt line — vector, trigger mode,
 * destination mode and destination, mask — and the delivery of device interrupts to local APICs.
 *
 * Quest-V programs the shared NIC's line in logical destination mode with the OR of the sharers'
 * logical IDs (on an x2APIC bus: the bus's destination handle, kept whole in the high dword as an
 * interrupt-remapped x2APIC entry keeps a 32-bit destination) and forces **edge** trigger: one device interrupt then reaches each core in the
 * mask exactly once (interrupt broadcast, F15). Remote recovery re-targets the entry at run time
 * (`setDestination`).
 *
 * Invariants:
 * - `raise(line)` on an unmasked edge entry delivers exactly one interrupt to every core in the
 *   destination and none elsewhere, `irqLatencyNs` later plus each core's own draw in
 *   [0, `deliverySkewNs`] (stream `ioapic/delivery`), with no VM exit (F15); a masked edge
 *   interrupt is lost and counted (`maskedDrops`), as on hardware;
 * - a level entry delivers on assertion unless its remote-IRR bit is set; an EOI of its vector
 *   clears remote IRR and re-delivers if the line is still asserted (how level mode misbehaves
 *   under multicast: the first core's EOI re-triggers while the others still handle it);
 * - the register file is the single source of truth: `program`, `setDestination` and MMIO writes
 *   all go through the 32-bit redirection registers (`IOREDTBL` layout of the 82093AA).
 *
 * @module
 */
import { z } from "zod"
import type { Rng, Simulation, Trace } from "@qvsim/sim-core"
import { Source, type ApicBus } from "./LocalApic.ts"
import { int, durationNs, isVector, parseConfig } from "./internal/config.ts"

export const Trigger = { Edge: 0, Level: 1 } as const
export type Trigger = (typeof Trigger)[keyof typeof Trigger]

export const DestinationMode = { Physical: 0, Logical: 1 } as const
export type DestinationMode = (typeof DestinationMode)[keyof typeof DestinationMode]

/** I/O APIC options. */
export const schema = z.strictObject({
  /** Redirection entries (the 82093AA has 24). */
  lines: int(1, 240).default(24),
  /** Delay from a line's interrupt to its arrival at the local APICs (spec `irqLatency`: a parameter; default 0). */
  irqLatencyNs: durationNs().default(0),
  /**
   * `[ASSUMED]` Spread of one interrupt message's arrival over its destination cores, ns: each core
   * of the destination gets it `irqLatencyNs` + a uniform draw in [0, deliverySkewNs] (stream
   * `ioapic/delivery`), so the order in which a broadcast reaches the cores — and so which sharer
   * takes the shared driver's RX lock first — is the hardware's, not the cores' index order.
   * Default 200 ns, range 0–1,000 ns (order of magnitude: on Nehalem an I/O APIC message reaches
   * each local APIC through the uncore, tens to hundreds of ns per hop, and the architecture
   * defines no order among the destinations). 0: every core at once, in core order (the old model).
   */
  deliverySkewNs: durationNs().default(200),
})
export type IoApicInput = z.input<typeof schema>
export type IoApicConfig = z.output<typeof schema>

/** A redirection entry as the driver writes it. */
export interface Entry {
  readonly vector: number
  readonly trigger?: Trigger
  readonly destinationMode?: DestinationMode
  /** Logical destination (flat mask or x2APIC handle, see LocalApic) or APIC ID = core index (physical mode). */
  readonly destination: number
  readonly masked?: boolean
}

// Low dword of IOREDTBL: vector 0-7, delivery mode 8-10, destination mode 11, delivery status
// 12, polarity 13, remote IRR 14, trigger 15, mask 16. High dword: destination in bits 24-31.
const LOW_DEST_LOGICAL = 1 << 11
const LOW_REMOTE_IRR = 1 << 14
const LOW_LEVEL = 1 << 15
const LOW_MASKED = 1 << 16
const LOW_WRITABLE = 0x1_afff // everything except delivery status (12) and remote IRR (14)

/** Register indices (through IOREGSEL/IOWIN). */
export const Register = { Id: 0x00, Version: 0x01, Arbitration: 0x02, RedirectionBase: 0x10 } as const
/** MMIO offsets within the I/O APIC page. */
export const Mmio = { RegisterSelect: 0x00, Window: 0x10 } as const
/** Physical base of the I/O APIC page. */
export const MMIO_BASE = 0xfec0_0000

export class IoApic {
  readonly config: IoApicConfig
  readonly lines: number
  /** Low / high dwords of each redirection entry. */
  private readonly low: Uint32Array
  private readonly high: Uint32Array
  /** Current level of each input line (1 = asserted). */
  private readonly level: Uint8Array
  private id = 0
  private selected = 0
  /** Interrupts accepted from devices (`raise` or rising edge / assertion). */
  raised = 0
  /** Interrupt messages sent to the local APICs (one per raise, whatever the mask). */
  messages = 0
  /** Edge interrupts lost on a masked entry. */
  maskedDrops = 0
  /** Level assertions ignored because remote IRR was set. */
  levelCoalesced = 0
  protected readonly bus: ApicBus
  protected readonly sim: Simulation.Simulation
  private readonly subject: Trace.Subject
  private readonly kindRaise: Trace.RecordKind
  private readonly kindProgram: Trace.RecordKind
  private readonly deliveryRng: Rng.RngStream

  /** Validates `input` (refusals name `ioapic.<field>`); every entry starts masked. */
  constructor(sim: Simulation.Simulation, bus: ApicBus, input: IoApicInput = {}, prefix = "ioapic") {
    const config = parseConfig("IoApic", schema, input, prefix)
    this.sim = sim
    this.bus = bus
    this.config = config
    this.lines = config.lines
    this.low = new Uint32Array(this.lines).fill(LOW_MASKED)
    this.high = new Uint32Array(this.lines)
    this.level = new Uint8Array(this.lines)
    this.subject = sim.trace.subject("ioapic", -1)
    this.kindRaise = sim.trace.kind("ioapic.raise", ["line", "vector", "destMask"])
    this.kindProgram = sim.trace.kind("ioapic.program", ["line", "low", "high"])
    this.deliveryRng = sim.rng("ioapic/delivery")
  }

  private checkLine(api: string, line: number): void {
    if (!Number.isInteger(line) || line < 0 || line >= this.lines) this.sim.fail(`IoApic.${api}: line ${line} is not 0..${this.lines - 1}`)
  }

  /** Programs line `line` (the whole entry). */
  program(line: number, entry: Entry): void {
    this.checkLine("program", line)
    if (!isVector(entry.vector)) this.sim.fail(`IoApic.program: line ${line}: vector ${entry.vector} must be 16..255`)
    const logical = (entry.destinationMode ?? DestinationMode.Logical) === DestinationMode.Logical
    const valid = logical ? this.bus.isDestination(entry.destination) : Number.isInteger(entry.destination) && entry.destination >= 0 && entry.destination <= 255
    if (!valid) this.sim.fail(`IoApic.program: line ${line}: destination ${entry.destination} must be ${logical && this.bus.x2apic ? "a destination of the x2APIC bus" : "0..255"}`)
    const low = entry.vector |
      (logical ? LOW_DEST_LOGICAL : 0) |
      ((entry.trigger ?? Trigger.Edge) === Trigger.Level ? LOW_LEVEL : 0) |
      (entry.masked === true ? LOW_MASKED : 0)
    this.writeEntry(line, low, this.highOf(entry.destination))
  }

  /** The high dword holding `destination`: bits 56–63 (xAPIC), or all 32 bits (x2APIC). */
  private highOf(destination: number): number {
    return this.bus.x2apic ? destination >>> 0 : (destination & 0xff) << 24
  }

  /** The destination field of high dword `high`. */
  private destinationOf(high: number): number {
    return this.bus.x2apic ? high : high >>> 24
  }

  /** Re-targets line `line` to `destination` (remote recovery, sharer registration). */
  setDestination(line: number, destination: number): void {
    this.checkLine("setDestination", line)
    this.writeEntry(line, this.low[line]!, this.highOf(destination))
  }

  /** Masks or unmasks line `line`; unmasking an asserted level line delivers it. */
  setMasked(line: number, masked: boolean): void {
    this.checkLine("setMasked", line)
    this.writeEntry(line, masked ? this.low[line]! | LOW_MASKED : this.low[line]! & ~LOW_MASKED, this.high[line]!)
  }

  private writeEntry(line: number, low: number, high: number): void {
    const keep = this.low[line]! & LOW_REMOTE_IRR
    this.low[line] = ((low & LOW_WRITABLE) | keep) >>> 0
    this.high[line] = (this.bus.x2apic ? high : high & 0xff00_0000) >>> 0
    this.sim.trace.emit3(this.kindProgram, this.subject, line, this.low[line]!, this.high[line]!)
    if (this.level[line] === 1) this.levelCheck(line)
  }

  /** The entry of `line`, decoded. */
  entry(line: number): Required<Entry> & { readonly remoteIrr: boolean } {
    this.checkLine("entry", line)
    const low = this.low[line]!
    return {
      vector: low & 0xff,
      trigger: (low & LOW_LEVEL) !== 0 ? Trigger.Level : Trigger.Edge,
      destinationMode: (low & LOW_DEST_LOGICAL) !== 0 ? DestinationMode.Logical : DestinationMode.Physical,
      destination: this.destinationOf(this.high[line]!),
      masked: (low & LOW_MASKED) !== 0,
      remoteIrr: (low & LOW_REMOTE_IRR) !== 0,
    }
  }

  /** The logical destination line `line` delivers to now (physical mode: the core with that APIC ID). */
  destinationMask(line: number): number {
    const dest = this.destinationOf(this.high[line]!)
    if ((this.low[line]! & LOW_DEST_LOGICAL) !== 0) return dest
    return this.bus.lapics[dest]?.destination ?? 0
  }

  /**
   * One device interrupt on `line` (an edge, or a pulse on a level line): delivers the entry's
   * vector once to every core in its destination.
   */
  raise(line: number): void {
    this.checkLine("raise", line)
    const low = this.low[line]!
    this.raised++
    if ((low & LOW_MASKED) !== 0) {
      this.maskedDrops++
      return
    }
    if ((low & LOW_LEVEL) !== 0) {
      if ((low & LOW_REMOTE_IRR) !== 0) {
        this.levelCoalesced++
        return
      }
      this.low[line] = (low | LOW_REMOTE_IRR) >>> 0
    }
    this.deliver(line, low & 0xff, this.destinationMask(line))
  }

  /** Drives input `line` to `asserted`: an edge entry fires on the rising edge, a level entry while asserted. */
  setLine(line: number, asserted: boolean): void {
    this.checkLine("setLine", line)
    const was = this.level[line] === 1
    this.level[line] = asserted ? 1 : 0
    if (!asserted || was) return
    if ((this.low[line]! & LOW_LEVEL) === 0) this.raise(line)
    else this.levelCheck(line)
  }

  /** True while input `line` is asserted. */
  lineAsserted(line: number): boolean {
    return this.level[line] === 1
  }

  private levelCheck(line: number): void {
    const low = this.low[line]!
    if ((low & LOW_LEVEL) === 0 || (low & (LOW_MASKED | LOW_REMOTE_IRR)) !== 0) return
    this.raised++
    this.low[line] = (low | LOW_REMOTE_IRR) >>> 0
    this.deliver(line, low & 0xff, this.destinationMask(line))
  }

  /** End of interrupt for `vector` (broadcast by a local APIC): clears remote IRR of level entries with it. */
  eoi(vector: number): void {
    for (let line = 0; line < this.lines; line++) {
      const low = this.low[line]!
      if ((low & LOW_REMOTE_IRR) === 0 || (low & 0xff) !== vector) continue
      this.low[line] = (low & ~LOW_REMOTE_IRR) >>> 0
      if (this.level[line] === 1) this.levelCheck(line)
    }
  }

  /** Sends one interrupt message of `vector` to the cores in logical destination `mask`. Broken test variants override this. */
  protected deliver(line: number, vector: number, mask: number): void {
    this.messages++
    this.sim.trace.emit3(this.kindRaise, this.subject, line, vector, mask)
    const skew = this.config.deliverySkewNs
    if (skew === 0) {
      this.bus.send(mask, vector, Source.IoApic, this.config.irqLatencyNs)
      return
    }
    // One message per destination core, each with its own arrival time (in core order: the draws'
    // order); only the destination's cores are visited.
    const lapics = this.bus.lapics, rng = this.deliveryRng, targets = this.bus.targets(mask)
    for (let i = 0; i < targets.length; i++) {
      this.bus.send(lapics[targets[i]!]!.destination, vector, Source.IoApic, this.config.irqLatencyNs + rng.int(0, skew))
    }
  }

  /** Reads register `index` (ID, version, arbitration, redirection dwords). */
  readRegister(index: number): number {
    if (index === Register.Id) return (this.id << 24) >>> 0
    if (index === Register.Version) return (((this.lines - 1) << 16) | 0x11) >>> 0
    if (index === Register.Arbitration) return (this.id << 24) >>> 0
    const n = index - Register.RedirectionBase
    if (n < 0 || n >= 2 * this.lines) return 0xffff_ffff
    return (n & 1) === 0 ? this.low[n >>> 1]! : this.high[n >>> 1]!
  }

  /** Writes register `index`; read-only bits and unknown registers are ignored, as on hardware. */
  writeRegister(index: number, value: number): void {
    if (index === Register.Id) {
      this.id = (value >>> 24) & 0xf
      return
    }
    const n = index - Register.RedirectionBase
    if (n < 0 || n >= 2 * this.lines) return
    const line = n >>> 1
    if ((n & 1) === 0) this.writeEntry(line, value, this.high[line]!)
    else this.writeEntry(line, this.low[line]!, value)
  }

  /** A 32-bit MMIO write at `offset` in the I/O APIC page (IOREGSEL at 0x00, IOWIN at 0x10). */
  mmioWrite(offset: number, value: number): void {
    if (offset === Mmio.RegisterSelect) this.selected = value & 0xff
    else if (offset === Mmio.Window) this.writeRegister(this.selected, value >>> 0)
  }

  /** A 32-bit MMIO read at `offset`. */
  mmioRead(offset: number): number {
    if (offset === Mmio.RegisterSelect) return this.selected
    if (offset === Mmio.Window) return this.readRegister(this.selected)
    return 0
  }

  /** The register an IOWIN access would reach now. */
  get selectedRegister(): number {
    return this.selected
  }
}

/**
 * The per-sandbox I/O APIC register blacklist of the 2013+ monitors (spec §D.4, F12). Under the
 * 2015 layout the I/O APIC page is read-only in every EPT, so each guest write exits; the monitor
 * performs it only if the (register, sandbox) pair is not blacklisted. {@link emulateWrite} is
 * that check (the exit, the single step and their costs belong to the monitor model).
 */
export class RegisterBlacklist {
  private readonly denied = new Set<number>()

  /** Forbids `sandbox` to write register `index`. */
  deny(sandbox: number, index: number): void {
    this.denied.add(sandbox * 256 + index)
  }

  /** True if `sandbox` may write register `index`. */
  allows(sandbox: number, index: number): boolean {
    return !this.denied.has(sandbox * 256 + index)
  }

  /**
   * Performs a trapped guest MMIO write of `sandbox` if allowed: IOREGSEL writes always are (they
   * only select); an IOWIN write is performed only if the selected register is not blacklisted
   * for `sandbox`. Returns whether the write took effect.
   */
  emulateWrite(ioapic: IoApic, sandbox: number, offset: number, value: number): boolean {
    if (offset === Mmio.Window && !this.allows(sandbox, ioapic.selectedRegister)) return false
    ioapic.mmioWrite(offset, value)
    return offset === Mmio.RegisterSelect || offset === Mmio.Window
  }
}
