/**
 * The network interface (spec §D.7): a Realtek 8169-family device — an RX ring of 256 and a TX
 * ring of 64 descriptors, DMA of received frames into host-owned descriptors, an interrupt
 * status register driving one interrupt line, transmission at link speed with completion
 * interrupts, and a chip reset that takes the device down for a configurable time.
 *
 * This is the DEVICE only. The shared driver (per-sandbox RX cursors, recycling once every sharer
 * passed a descriptor, master-only TX completion, demultiplexing) belongs to the sandbox kernel;
 * it uses the descriptor API here: `rxOwnedByNic(i)`, the frame in `rxSlot(i)` (`rxLength`,
 * `rxSeq`, `rxArrivalNs`), `rxGiveBack(i)`; `txAcquire()`, write `txSlot(i)`, `txSubmit(i, len)`,
 * `txClean()`; `isr`, `ackInterrupt(bits)`, `setInterruptMask(bits)`; `reset()`.
 *
 * Interrupt line: asserted while `isr & imr ≠ 0` (the 8169's INTx). Quest-V programs the line's
 * I/O APIC entry as edge-triggered, so a new interrupt fires only when the line goes from idle to
 * asserted: frames arriving before the interrupt status is acknowledged do not interrupt again
 * (the handler must walk the ring), and if nobody acknowledges, nothing interrupts any more.
 *
 * Invariants:
 * - the NIC writes only NIC-owned RX descriptors and hands each one to the host exactly once per
 *   frame (owner bit cleared); a frame finding the next descriptor host-owned is dropped
 *   (overrun), counted and traced — `rxArrivals = rxFrames + rxOverruns + rxDroppedDown +
 *   rxDroppedBad` always: no frame is lost silently;
 * - frames fill descriptors in ring order; TX descriptors complete in ring order, each after its
 *   wire time, and are reusable only after the host cleans them;
 * - while down (reset), arriving frames are dropped (counted) and nothing is transmitted (a frame
 *   being sent when the reset comes is aborted); coming up leaves the device as the driver's
 *   initialisation does: rings fresh (every descriptor pointing at its own buffer), interrupt mask set.
 *
 * DMA (model §H): once attached to a {@link DmaPort} (the machine does it), each descriptor holds
 * the bus address of its 2 KiB buffer (RX `i` at `bufferBase + i·2048`, TX `j` after the RX
 * buffers) and the device really moves the bytes: a received frame is written at its RX
 * descriptor's address, a transmitted one is read from its TX descriptor's address — wherever the
 * driver pointed them (`setRxAddress`, `setTxAddress`). The port decides: without DMA remapping
 * the access lands on that machine address; with it the access may stall (an IOTLB miss: the RX
 * descriptor completes later, in arrival order: a frame behind a pending completion waits for it even
 * without a stall of its own, so descriptors turn host-owned in ring order, numbered (`rxSeq`) in
 * arrival order) or be blocked (a remapping fault: an RX frame is
 * dropped and the descriptor stays NIC-owned, so the next frame meets it again; a TX descriptor
 * completes with an error and nothing is sent). Then `rxArrivals = rxFrames + rxOverruns +
 * rxDroppedDown + rxDroppedBad + rxDmaBlocked`.
 *
 * The class is built in layers, one concept per file: `NicConfig.ts` (options, registers'
 * bits, ports), `NicCore.ts` (registers and the interrupt line), `NicDma.ts` (descriptor bus
 * addresses), `NicRx.ts`, `NicTx.ts` (the rings), and here the device itself with its reset.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import type { Wire } from "./Wire.ts"
import { Isr, schema, TxState, type InterruptLine, type NicInput } from "./NicConfig.ts"
import { NicTx } from "./NicTx.ts"
import { parseConfig } from "./internal/config.ts"

export { BUFFER_BYTES, Isr, schema, TxState, type DmaPort, type InterruptLine, type NicConfig, type NicInput } from "./NicConfig.ts"

export class Nic extends NicTx {
  /** The wire port this NIC is plugged into. */
  readonly port: number

  /** Validates `input` (refusals name `nic.<field>`) and plugs the NIC into `wire`. */
  constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, input: NicInput = {}, prefix = "nic") {
    super(sim, line, wire, parseConfig("Nic", schema, input, prefix))
    this.port = wire.attach(this, this.config.linkBps)
  }

  /**
   * Chip reset: the device goes down now for `resetNs` + `linkUpNs`. Unconsumed RX frames and unsent TX frames
   * are discarded (counted); when it comes up the rings are fresh (every RX descriptor NIC-owned,
   * fill pointers at 0), the mask is `interruptMask`, and LinkChange is set in the status.
   */
  reset(): void {
    this.resets++
    this.generation++
    for (let i = 0; i < this.rxRingSize; i++) {
      if (this.rxOwn[i] === 0) this.rxDiscardedByReset++
      if (this.rxPendingSlot[i]! >= 0) {
        // A DMA in flight is abandoned with its frame (lost as if it arrived while down).
        this.rxDroppedDown++
        this.frames.free(this.rxPendingSlot[i]!)
        this.rxPendingSlot[i] = -1
      }
    }
    this.rxOwn.fill(1)
    this.rxFill = 0
    this.rxDmaBusyUntil = 0
    this.rxPending = 0
    if (this.dma !== null) this.initAddresses()
    for (let i = 0; i < this.txRingSize; i++) if (this.txStates[i] === TxState.Posted) this.txDiscardedByReset++
    this.txStates.fill(TxState.Free)
    this.txPost = 0
    this.txNext = 0
    this.txCleanIdx = 0
    this.transmitting = false
    this.up = false
    this.isr = 0
    this.imr = 0
    this.updateLine()
    this.sim.trace.emit(this.kindReset, this.subject, this.config.resetNs)
    this.sim.after(this.config.resetNs + this.config.linkUpNs, Simulation.EventClass.Device, this.upHandler, this.generation)
  }

  protected comeUp(generation: number): void {
    if (generation !== this.generation) return
    this.up = true
    this.imr = this.config.interruptMask
    this.sim.trace.emit(this.kindUp, this.subject)
    this.setStatus(Isr.LinkChange)
  }
}
