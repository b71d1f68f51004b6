/**
 * The NIC's registers and interrupt line, the base of the device's layers (`NicCore` →
 * `NicDma` → `NicRx` → `NicTx` → `Nic`, one concept each; `Nic.ts` describes the device):
 * configuration, counters, the interrupt status and mask registers, and the line they drive —
 * asserted while `isr & imr ≠ 0` (the 8169's INTx), counted each time it goes from idle to
 * asserted. It also owns the trace records and the event handlers of the layers above, created
 * here in one fixed order (the order is part of the run's fingerprint).
 *
 * @module
 */
import type { Simulation, Trace } from "@qvsim/sim-core"
import type { FrameStore } from "./FrameStore.ts"
import type { Wire } from "./Wire.ts"
import type { InterruptLine, NicConfig } from "./NicConfig.ts"

export abstract class NicCore {
  readonly config: NicConfig
  readonly mac: number
  readonly rxLatencyNs: number
  readonly rxRingSize: number
  readonly txRingSize: number
  readonly irqLine: number
  readonly frames: FrameStore

  /** Interrupt status register (bits of `Isr`). */
  isr = 0
  /** Interrupt mask register. */
  imr: number
  /** False while a reset keeps the device down. */
  up = true
  /** Bumped by every reset: events of an older generation are void. */
  generation = 0

  // Counters.
  rxArrivals = 0
  rxFrames = 0
  rxOverruns = 0
  rxDroppedDown = 0
  rxDroppedBad = 0
  rxDiscardedByReset = 0
  txFrames = 0
  txDiscardedByReset = 0
  txRefusedDown = 0
  /** RX frames whose DMA the remapping unit blocked (dropped). */
  rxDmaBlocked = 0
  /** TX descriptors whose buffer read the remapping unit blocked (not sent). */
  txDmaBlocked = 0
  /** Times the interrupt line went from idle to asserted. */
  interrupts = 0
  resets = 0

  private asserted = false
  protected readonly sim: Simulation.Simulation
  private readonly line: InterruptLine
  protected readonly wire: Wire
  protected readonly txDoneHandler: number
  protected readonly upHandler: number
  protected readonly rxDoneHandler: number
  protected readonly subject: Trace.Subject
  protected readonly kindRx: Trace.RecordKind
  protected readonly kindDrop: Trace.RecordKind
  protected readonly kindTx: Trace.RecordKind
  protected readonly kindReset: Trace.RecordKind
  protected readonly kindUp: Trace.RecordKind
  protected readonly reasons: Record<"down" | "bad" | "overrun" | "dma", number>

  /** `config` validated by the caller (`Nic`'s constructor). */
  protected constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, config: NicConfig) {
    this.sim = sim
    this.line = line
    this.wire = wire
    this.frames = wire.frames
    this.config = config
    this.mac = config.mac
    this.rxLatencyNs = config.rxDmaNs
    this.rxRingSize = config.rxRing
    this.txRingSize = config.txRing
    this.irqLine = config.irqLine
    this.imr = config.interruptMask
    const trace = sim.trace
    this.subject = trace.subject("nic", -1)
    this.kindRx = trace.kind("nic.rx", ["desc", "length", "seq"])
    this.kindDrop = trace.kind("nic.drop", ["$reason", "length"])
    this.kindTx = trace.kind("nic.tx", ["desc", "length"])
    this.kindReset = trace.kind("nic.reset", ["downNs"])
    this.kindUp = trace.kind("nic.up", [])
    this.reasons = { down: trace.symbol("down"), bad: trace.symbol("bad-length"), overrun: trace.symbol("overrun"), dma: trace.symbol("dma-blocked") }
    this.txDoneHandler = sim.register("nic.txDone", (desc, gen) => this.txDone(desc, gen))
    this.upHandler = sim.register("nic.up", (gen) => this.comeUp(gen))
    this.rxDoneHandler = sim.register("nic.rxDmaDone", (desc, gen) => this.rxDmaDone(desc, gen))
  }

  /** TX descriptor `i`'s frame has left (event of generation `generation`). */
  protected abstract txDone(i: number, generation: number): void
  /** The reset of generation `generation` is over. */
  protected abstract comeUp(generation: number): void
  /** RX descriptor `i`'s delayed DMA has completed. */
  protected abstract rxDmaDone(i: number, generation: number): void

  protected setStatus(bits: number): void {
    this.isr |= bits
    this.updateLine()
  }

  protected updateLine(): void {
    const asserted = (this.isr & this.imr) !== 0
    if (asserted === this.asserted) return
    this.asserted = asserted
    if (asserted) this.interrupts++
    this.line.setLine(this.irqLine, asserted)
  }

  /** True while the interrupt line is asserted. */
  get lineAsserted(): boolean {
    return this.asserted
  }

  /** Acknowledges status `bits` (write-1-to-clear); the line drops when nothing unmasked is left. */
  ackInterrupt(bits: number): void {
    this.isr &= ~bits
    this.updateLine()
  }

  /** Sets the interrupt mask register. */
  setInterruptMask(bits: number): void {
    this.imr = bits & 0xffff
    this.updateLine()
  }
}
