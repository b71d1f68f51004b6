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
 * @module
 */
import { z } from "zod"
import { Simulation, type Trace } from "@qvsim/sim-core"
import type { FrameStore } from "./FrameStore.ts"
import type { Wire, WireEndpoint } from "./Wire.ts"
import { ETH_HEADER, MAX_FRAME } from "./Frame.ts"
import { durationNs, int, mac, parseConfig } from "./internal/config.ts"

/** Interrupt status / mask bits (8169 `IntrStatus` / `IntrMask`). */
export const Isr = {
  RxOk: 0x0001,
  RxErr: 0x0002,
  TxOk: 0x0004,
  TxErr: 0x0008,
  RxDescUnavailable: 0x0010,
  LinkChange: 0x0020,
  RxFifoOverflow: 0x0040,
} as const

/** TX descriptor states. */
export const TxState = { Free: 0, Posted: 1, Done: 2 } as const
export type TxState = (typeof TxState)[keyof typeof TxState]

/** Bytes of each descriptor's DMA buffer (two per 4 KiB page). */
export const BUFFER_BYTES = 2048

/**
 * The path from the device to machine memory (the machine, through its DMA remapping unit). The
 * bytes move when the access is allowed; its stall (an IOTLB miss) delays only when the device
 * sees it complete.
 */
export interface DmaPort {
  /** Writes `length` bytes of `src` from `offset` at bus `address`: the stall in ns (≥ 0), or -1 (blocked, nothing written). */
  dmaWrite(address: number, src: Uint8Array, offset: number, length: number): number
  /** Reads `length` bytes at bus `address`: the stall in ns (≥ 0), or -1 (blocked). */
  dmaRead(address: number, length: number): number
}

/** Where something that raises interrupts plugs in (the I/O APIC). */
export interface InterruptLine {
  setLine(line: number, asserted: boolean): void
}

/** NIC options (spec §D.7, §D.11). */
export const schema = z.strictObject({
  /** RX descriptors (`[SRC drivers/net/r8169.c]` 256). */
  rxRing: int(1, 1024).default(256),
  /** TX descriptors (`[SRC drivers/net/r8169.c]` 64). */
  txRing: int(1, 1024).default(64),
  /** The one MAC address (Realtek OUI 00:e0:4c). */
  mac: mac().default(0x00e0_4c00_0001),
  /** `[ASSUMED]` I/O APIC input line of the NIC's INTx (a PCI line, 16..23). */
  irqLine: int(0, 239).default(16),
  /** Link speed, bit/s (`[ASSUMED]` 1 Gb/s: the 8169 family is gigabit; the paper gives no rate). */
  linkBps: int(1).default(1_000_000_000),
  /** Delay from the end of a frame's reception to its descriptor being host-owned (DMA), ns. */
  rxDmaNs: durationNs().default(0),
  /** `[ASSUMED]` How long a chip reset keeps the device down, ns (1 ms: the bound drivers poll the reset bit for). */
  resetNs: durationNs().default(1_000_000),
  /**
   * `[ASSUMED]` After a reset, how much longer the link carries no frame (the driver's
   * initialisation restarts auto-negotiation, `BMCR_ANRESTART` in Quest's r8169.c), ns. Default 0
   * (the paper's Table 1 re-initialisation is all it gives, and its Figure 6 shows online recovery
   * well inside the 500 ms ping interval), range 0–3 s (datasheet/standard: IEEE 802.3 1000BASE-T
   * auto-negotiation with its link-fail-inhibit timer of 750–1,000 ms and training, commonly
   * measured at 2–3 s).
   */
  linkUpNs: durationNs().default(0),
  /** Longest frame accepted, bytes without FCS. */
  maxFrameBytes: int(ETH_HEADER, 2048).default(MAX_FRAME),
  /** Interrupt mask after initialisation (and after every reset). */
  interruptMask: int(0, 0xffff).default(Isr.RxOk | Isr.RxErr | Isr.TxOk | Isr.TxErr | Isr.RxDescUnavailable | Isr.RxFifoOverflow),
})
export type NicInput = z.input<typeof schema>
export type NicConfig = z.output<typeof schema>

export class Nic implements WireEndpoint {
  readonly config: NicConfig
  readonly mac: number
  readonly rxLatencyNs: number
  readonly rxRingSize: number
  readonly txRingSize: number
  readonly irqLine: number
  readonly frames: FrameStore
  /** The wire port this NIC is plugged into. */
  readonly port: number

  /** Interrupt status register (bits of {@link Isr}). */
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

  // NOTE: descriptor rings as parallel typed arrays (no object per descriptor or frame).
  protected readonly rxOwn: Uint8Array
  private readonly rxBuffer: Int32Array
  private readonly rxLen: Int32Array
  private readonly rxSeqs: Float64Array
  private readonly rxArrival: Float64Array
  private rxFill = 0
  private readonly txStates: Uint8Array
  private readonly txBuffer: Int32Array
  private txPost = 0
  private txNext = 0
  private txCleanIdx = 0
  private transmitting = false
  private asserted = false
  // DMA (null until attached): bus address of each descriptor's buffer, and RX completions in flight.
  private dma: DmaPort | null = null
  private bufferBase = 0
  private readonly rxAddr: Float64Array
  private readonly txAddr: Float64Array
  private readonly rxPendingSlot: Int32Array
  private rxDmaBusyUntil = 0
  /** RX DMA completions scheduled and not yet done (a frame must queue behind them, even with no stall). */
  private rxPending = 0

  private readonly sim: Simulation.Simulation
  private readonly line: InterruptLine
  private readonly wire: Wire
  private readonly txDoneHandler: number
  private readonly upHandler: number
  private readonly rxDoneHandler: number
  private readonly subject: Trace.Subject
  private readonly kindRx: Trace.RecordKind
  private readonly kindDrop: Trace.RecordKind
  private readonly kindTx: Trace.RecordKind
  private readonly kindReset: Trace.RecordKind
  private readonly kindUp: Trace.RecordKind
  private readonly reasons: Record<"down" | "bad" | "overrun" | "dma", number>

  /** Validates `input` (refusals name `nic.<field>`) and plugs the NIC into `wire`. */
  constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, input: NicInput = {}, prefix = "nic") {
    const config = parseConfig("Nic", schema, input, prefix)
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
    this.rxOwn = new Uint8Array(config.rxRing).fill(1)
    this.rxBuffer = new Int32Array(config.rxRing)
    this.rxLen = new Int32Array(config.rxRing)
    this.rxSeqs = new Float64Array(config.rxRing).fill(-1)
    this.rxArrival = new Float64Array(config.rxRing).fill(-1)
    for (let i = 0; i < config.rxRing; i++) this.rxBuffer[i] = this.frames.alloc()
    this.txStates = new Uint8Array(config.txRing)
    this.txBuffer = new Int32Array(config.txRing)
    for (let i = 0; i < config.txRing; i++) this.txBuffer[i] = this.frames.alloc()
    this.rxAddr = new Float64Array(config.rxRing)
    this.txAddr = new Float64Array(config.txRing)
    this.rxPendingSlot = new Int32Array(config.rxRing).fill(-1)
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
    this.port = wire.attach(this, config.linkBps)
  }

  // ---------------------------------------------------------------- DMA

  /**
   * Connects the device to machine memory through `port`; the buffers start at bus address
   * `bufferBase` (RX descriptors first, then TX, {@link BUFFER_BYTES} each) and every descriptor
   * points at its own buffer.
   */
  attachDma(port: DmaPort, bufferBase: number): void {
    this.dma = port
    this.bufferBase = bufferBase
    this.initAddresses()
  }

  /** Bytes of DMA buffers the rings need (RX then TX). */
  get bufferBytes(): number {
    return (this.rxRingSize + this.txRingSize) * BUFFER_BYTES
  }

  /** Bus address of RX descriptor `i`'s own buffer. */
  rxBufferAddress(i: number): number {
    return this.bufferBase + i * BUFFER_BYTES
  }

  /** Bus address of TX descriptor `i`'s own buffer. */
  txBufferAddress(i: number): number {
    return this.bufferBase + (this.rxRingSize + i) * BUFFER_BYTES
  }

  /** The bus address RX descriptor `i` points at now. */
  rxAddress(i: number): number {
    return this.rxAddr[i]!
  }

  /** The bus address TX descriptor `i` points at now. */
  txAddress(i: number): number {
    return this.txAddr[i]!
  }

  /** The driver points RX descriptor `i` at bus `address` (a faulty driver: anywhere). */
  setRxAddress(i: number, address: number): void {
    this.checkAddress("setRxAddress", i, this.rxRingSize, address)
    this.rxAddr[i] = address
  }

  /** The driver points TX descriptor `i` at bus `address`. */
  setTxAddress(i: number, address: number): void {
    this.checkAddress("setTxAddress", i, this.txRingSize, address)
    this.txAddr[i] = address
  }

  private checkAddress(api: string, i: number, ring: number, address: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= ring) this.sim.fail(`Nic.${api}: descriptor ${i} is not 0..${ring - 1}`)
    if (!Number.isInteger(address) || address < 0 || address + BUFFER_BYTES > 2 ** 32) this.sim.fail(`Nic.${api}: address ${address} leaves the 32-bit bus space`)
  }

  private initAddresses(): void {
    for (let i = 0; i < this.rxRingSize; i++) this.rxAddr[i] = this.rxBufferAddress(i)
    for (let i = 0; i < this.txRingSize; i++) this.txAddr[i] = this.txBufferAddress(i)
  }

  // ---------------------------------------------------------------- RX

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

  private rxDmaDone(i: number, generation: number): void {
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
    this.sim.trace.emit(this.kindRx, this.subject, i, length, this.rxFrames)
    this.rxFrames++
    this.setStatus(Isr.RxOk)
  }

  private dropped(reason: number, slot: number, length: number): void {
    this.sim.trace.emit(this.kindDrop, this.subject, reason, length)
    this.frames.free(slot)
  }

  // ---------------------------------------------------------------- TX

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

  private txDone(i: number, generation: number): void {
    // A reset during the transmission aborted the frame: it never reaches the wire's far end.
    if (generation !== this.generation) return
    this.wire.route(this.port, this.frames.clone(this.txBuffer[i]!), this.sim.now)
    this.txStates[i] = TxState.Done
    this.txNext = i + 1 === this.txRingSize ? 0 : i + 1
    this.txFrames++
    this.sim.trace.emit(this.kindTx, this.subject, i, this.frames.length(this.txBuffer[i]!))
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

  // ---------------------------------------------------------------- interrupts

  private setStatus(bits: number): void {
    this.isr |= bits
    this.updateLine()
  }

  private updateLine(): void {
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

  // ---------------------------------------------------------------- reset

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

  private comeUp(generation: number): void {
    if (generation !== this.generation) return
    this.up = true
    this.imr = this.config.interruptMask
    this.sim.trace.emit(this.kindUp, this.subject)
    this.setStatus(Isr.LinkChange)
  }
}
