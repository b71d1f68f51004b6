/**
 * The NIC's receive ring, a layer of the device (`NicCore` → `NicDma` → `NicRx` → `NicTx` →
 * `Nic`; `Nic.ts` describes the device): 256 descriptors (by default) the NIC fills in ring order
 * with the frames arriving from the wire, each handed to the host exactly once per frame (owner
 * bit cleared) and given back by the driver (`rxGiveBack`).
 *
 * Invariants: the NIC writes only NIC-owned descriptors; a frame finding the next descriptor
 * host-owned is dropped (overrun), counted and traced, as are frames arriving while the device is
 * down, frames of a bad length and frames whose DMA the remapping unit blocks — `rxArrivals =
 * rxFrames + rxOverruns + rxDroppedDown + rxDroppedBad + rxDmaBlocked`, no frame lost silently. A
 * stalled DMA (an IOTLB miss) completes later, in arrival order: a frame behind a pending
 * completion waits for it even without a stall of its own, so descriptors turn host-owned in ring
 * order, numbered (`rxSeq`) in arrival order.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import type { Wire, WireEndpoint } from "./Wire.ts"
import { ETH_HEADER } from "./Frame.ts"
import { Isr, type InterruptLine, type NicConfig } from "./NicConfig.ts"
import { NicDma } from "./NicDma.ts"

export abstract class NicRx extends NicDma implements WireEndpoint {
  // NOTE: descriptor rings as parallel typed arrays (no object per descriptor or frame).
  /** Owner of each descriptor: 1 the NIC (free), 2 the NIC (DMA in flight), 0 the host. */
  protected readonly rxOwn: Uint8Array
  private readonly rxBuffer: Int32Array
  private readonly rxLen: Int32Array
  private readonly rxSeqs: Float64Array
  private readonly rxArrival: Float64Array
  protected rxFill = 0
  /** The frame (FrameStore slot) of each descriptor whose DMA is in flight, else -1. */
  protected readonly rxPendingSlot: Int32Array
  protected rxDmaBusyUntil = 0
  /** RX DMA completions scheduled and not yet done (a frame must queue behind them, even with no stall). */
  protected rxPending = 0

  protected constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, config: NicConfig) {
    super(sim, line, wire, config)
    this.rxOwn = new Uint8Array(config.rxRing).fill(1)
    this.rxBuffer = new Int32Array(config.rxRing)
    this.rxLen = new Int32Array(config.rxRing)
    this.rxSeqs = new Float64Array(config.rxRing).fill(-1)
    this.rxArrival = new Float64Array(config.rxRing).fill(-1)
    for (let i = 0; i < config.rxRing; i++) this.rxBuffer[i] = this.frames.alloc()
    this.rxPendingSlot = new Int32Array(config.rxRing).fill(-1)
  }

  /** True while RX descriptor `i` belongs to the NIC (free for a new frame, or its DMA in flight). */
  rxOwnedByNic(i: number): boolean {
    return this.rxOwn[i] !== 0
  }

  /** The FrameStore slot holding descriptor `i`'s buffer (the frame once host-owned). */
  rxSlot(i: number): number {
    return this.rxBuffer[i]!
  }

  /** Length of the frame in descriptor `i`, bytes. */
  rxLength(i: number): number {
    return this.rxLen[i]!
  }

  /** Sequence number (0, 1, 2, … in arrival order since construction) of the frame in descriptor `i`. */
  rxSeq(i: number): number {
    return this.rxSeqs[i]!
  }

  /** Time the frame in descriptor `i` was written, ns. */
  rxArrivalNs(i: number): number {
    return this.rxArrival[i]!
  }

  /** The descriptor the NIC fills next. */
  get rxNext(): number {
    return this.rxFill
  }

  /** RX descriptors currently owned by the host. */
  rxHostOwned(): number {
    let n = 0
    for (let i = 0; i < this.rxRingSize; i++) if (this.rxOwn[i] === 0) n++
    return n
  }

  /** Returns descriptor `i` to the NIC (the driver recycles it). */
  rxGiveBack(i: number): void {
    if (this.rxOwn[i] !== 0) this.sim.fail(`Nic.rxGiveBack(${i}): descriptor already owned by the NIC`)
    this.rxOwn[i] = 1
  }

  /** May the NIC write descriptor `i`? Only if it owns it. (Broken test variants override this.) */
  protected canFill(i: number): boolean {
    return this.rxOwn[i] === 1
  }

  /**
   * Must a DMA due at `doneAt` complete through a scheduled event rather than now? When it stalls,
   * and whenever an earlier completion is still pending (even one due at this instant).
   * (A broken test variant forgets the pending ones.)
   */
  protected completesLater(doneAt: number, now: number): boolean {
    return doneAt > now || this.rxPending > 0
  }

  /** WireEndpoint: a frame has arrived (DMA done); takes ownership of `slot`. */
  receiveFrame(slot: number): void {
    const frames = this.frames
    const length = frames.length(slot)
    this.rxArrivals++
    if (!this.up) {
      this.rxDroppedDown++
      this.dropped(this.reasons.down, slot, length)
      return
    }
    if (length < ETH_HEADER || length > this.config.maxFrameBytes) {
      this.rxDroppedBad++
      this.dropped(this.reasons.bad, slot, length)
      this.setStatus(Isr.RxErr)
      return
    }
    const i = this.rxFill
    if (!this.canFill(i)) {
      this.rxOverruns++
      this.dropped(this.reasons.overrun, slot, length)
      this.setStatus(Isr.RxDescUnavailable | Isr.RxFifoOverflow)
      return
    }
    const dma = this.dma
    if (dma !== null) {
      const stall = dma.dmaWrite(this.rxAddr[i]!, frames.bytes, frames.offset(slot), length)
      if (stall < 0) {
        // Blocked by the remapping unit: the frame is lost, the descriptor stays the NIC's.
        this.rxDmaBlocked++
        this.dropped(this.reasons.dma, slot, length)
        this.setStatus(Isr.RxErr)
        return
      }
      const now = this.sim.now
      const doneAt = Math.max(now, this.rxDmaBusyUntil) + stall
      // The DMA completes later (an IOTLB miss, or behind one): in arrival order. A completion due
      // now but not yet done (its event still queued at this instant) also holds this frame back:
      // filling at once would hand the host descriptor i before descriptor i − 1.
      if (this.completesLater(doneAt, now)) {
        this.rxDmaBusyUntil = doneAt
        this.rxOwn[i] = 2
        this.rxPendingSlot[i] = slot
        this.rxPending++
        this.rxFill = i + 1 === this.rxRingSize ? 0 : i + 1
        this.sim.at(doneAt, Simulation.EventClass.Device, this.rxDoneHandler, i, this.generation)
        return
      }
    }
    this.rxFill = i + 1 === this.rxRingSize ? 0 : i + 1
    this.fill(i, slot, length)
  }

  protected rxDmaDone(i: number, generation: number): void {
    if (generation !== this.generation) return
    const slot = this.rxPendingSlot[i]!
    this.rxPendingSlot[i] = -1
    this.rxPending--
    this.fill(i, slot, this.frames.length(slot))
  }

  /** Descriptor `i` receives the frame in `slot` (its DMA done): host-owned, traced, RxOk. */
  private fill(i: number, slot: number, length: number): void {
    const frames = this.frames
    frames.copy(slot, this.rxBuffer[i]!)
    frames.free(slot)
    this.rxLen[i] = length
    this.rxSeqs[i] = this.rxFrames
    this.rxArrival[i] = this.sim.now
    this.rxOwn[i] = 0
    this.sim.trace.emit3(this.kindRx, this.subject, i, length, this.rxFrames)
    this.rxFrames++
    this.setStatus(Isr.RxOk)
  }

  private dropped(reason: number, slot: number, length: number): void {
    this.sim.trace.emit2(this.kindDrop, this.subject, reason, length)
    this.frames.free(slot)
  }
}
