/**
 * The NIC's transmit ring, a layer of the device (`NicCore` → `NicDma` → `NicRx` → `NicTx` →
 * `Nic`; `Nic.ts` describes the device): 64 descriptors (by default) the host fills in ring order
 * (`txAcquire`, write `txSlot(i)`, `txSubmit`), sent one after the other at link speed, each
 * completing (TxOk) after its wire time, and reusable once the host cleans it (`txClean`).
 *
 * Invariants: descriptors complete in ring order, each after its wire time (plus its DMA stall);
 * a descriptor whose buffer read the remapping unit blocks completes with an error (TxErr) and
 * nothing is sent; nothing is transmitted while the device is down (a submit is refused, counted).
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import type { Wire } from "./Wire.ts"
import { ETH_HEADER } from "./Frame.ts"
import { Isr, TxState, type InterruptLine, type NicConfig } from "./NicConfig.ts"
import { NicRx } from "./NicRx.ts"

export abstract class NicTx extends NicRx {
  /** The wire port the NIC is plugged into (`Nic` plugs it in last). */
  abstract readonly port: number
  protected readonly txStates: Uint8Array
  private readonly txBuffer: Int32Array
  protected txPost = 0
  protected txNext = 0
  protected txCleanIdx = 0
  protected transmitting = false

  protected constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, config: NicConfig) {
    super(sim, line, wire, config)
    this.txStates = new Uint8Array(config.txRing)
    this.txBuffer = new Int32Array(config.txRing)
    for (let i = 0; i < config.txRing; i++) this.txBuffer[i] = this.frames.alloc()
  }

  /** The TX descriptor the host may fill next, or -1 (ring full of uncleaned descriptors, or down). */
  txAcquire(): number {
    if (!this.up) return -1
    return this.txStates[this.txPost] === TxState.Free ? this.txPost : -1
  }

  /** The TX descriptor the host posts next (whether free or not). */
  get txNextPost(): number {
    return this.txPost
  }

  /** The FrameStore slot of TX descriptor `i`'s buffer (write the frame there before `txSubmit`). */
  txSlot(i: number): number {
    return this.txBuffer[i]!
  }

  /** State of TX descriptor `i` (see {@link TxState}). */
  txState(i: number): TxState {
    return this.txStates[i] as TxState
  }

  /**
   * Hands TX descriptor `i` (from `txAcquire`) holding a `length`-byte frame to the NIC.
   * Returns false if the NIC went down since (the frame is not sent; counted).
   */
  txSubmit(i: number, length: number): boolean {
    if (!this.up) {
      this.txRefusedDown++
      return false
    }
    if (i !== this.txPost || this.txStates[i] !== TxState.Free) this.sim.fail(`Nic.txSubmit(${i}): not the descriptor txAcquire returned (${this.txAcquire()})`)
    if (length < ETH_HEADER || length > this.config.maxFrameBytes) this.sim.fail(`Nic.txSubmit: frame length ${length} must be ${ETH_HEADER}..${this.config.maxFrameBytes}`)
    this.frames.setLength(this.txBuffer[i]!, length)
    this.txStates[i] = TxState.Posted
    this.txPost = i + 1 === this.txRingSize ? 0 : i + 1
    if (!this.transmitting) this.startTx()
    return true
  }

  private startTx(): void {
    const i = this.txNext
    if (this.txStates[i] !== TxState.Posted) {
      this.transmitting = false
      return
    }
    const length = this.frames.length(this.txBuffer[i]!)
    let stall = 0
    if (this.dma !== null) {
      stall = this.dma.dmaRead(this.txAddr[i]!, length)
      if (stall < 0) {
        // Blocked by the remapping unit: the descriptor completes with an error, nothing is sent.
        this.txDmaBlocked++
        this.txStates[i] = TxState.Done
        this.txNext = i + 1 === this.txRingSize ? 0 : i + 1
        this.setStatus(Isr.TxErr)
        this.startTx()
        return
      }
    }
    this.transmitting = true
    const end = this.wire.reserve(this.port, length)
    this.sim.at(end + stall, Simulation.EventClass.Device, this.txDoneHandler, i, this.generation)
  }

  protected txDone(i: number, generation: number): void {
    // A reset during the transmission aborted the frame: it never reaches the wire's far end.
    if (generation !== this.generation) return
    this.wire.route(this.port, this.frames.clone(this.txBuffer[i]!), this.sim.now)
    this.txStates[i] = TxState.Done
    this.txNext = i + 1 === this.txRingSize ? 0 : i + 1
    this.txFrames++
    this.sim.trace.emit2(this.kindTx, this.subject, i, this.frames.length(this.txBuffer[i]!))
    this.setStatus(Isr.TxOk)
    this.startTx()
  }

  /** Reclaims completed TX descriptors in ring order; returns how many (the master's TX clean). */
  txClean(): number {
    let n = 0
    while (this.txStates[this.txCleanIdx] === TxState.Done) {
      this.txStates[this.txCleanIdx] = TxState.Free
      this.txCleanIdx = this.txCleanIdx + 1 === this.txRingSize ? 0 : this.txCleanIdx + 1
      n++
    }
    return n
  }

  /** TX descriptors posted and not yet sent. */
  txPending(): number {
    let n = 0
    for (let i = 0; i < this.txRingSize; i++) if (this.txStates[i] === TxState.Posted) n++
    return n
  }
}
