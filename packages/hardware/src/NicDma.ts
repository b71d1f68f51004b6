/**
 * The NIC's DMA addressing (model §H), a layer of the device (`NicCore` → `NicDma` → `NicRx` →
 * `NicTx` → `Nic`): once attached to a `DmaPort`, each descriptor holds the bus address of a
 * 2 KiB buffer — RX `i` at `bufferBase + i·2048`, TX `j` after the RX buffers — or wherever the
 * driver pointed it (`setRxAddress`, `setTxAddress`: a faulty driver may point anywhere in the
 * 32-bit bus space). The rings use these addresses for their DMA (`NicRx`, `NicTx`).
 *
 * Invariants: every address is an integer with its whole buffer below 2^32; without a port the
 * device moves no bytes (`dma` is null); a reset points every descriptor at its own buffer again.
 *
 * @module
 */
import type { Simulation } from "@qvsim/sim-core"
import type { Wire } from "./Wire.ts"
import { BUFFER_BYTES, type DmaPort, type InterruptLine, type NicConfig } from "./NicConfig.ts"
import { NicCore } from "./NicCore.ts"

export abstract class NicDma extends NicCore {
  /** The path to machine memory, null until attached. */
  protected dma: DmaPort | null = null
  private bufferBase = 0
  protected readonly rxAddr: Float64Array
  protected readonly txAddr: Float64Array

  protected constructor(sim: Simulation.Simulation, line: InterruptLine, wire: Wire, config: NicConfig) {
    super(sim, line, wire, config)
    this.rxAddr = new Float64Array(config.rxRing)
    this.txAddr = new Float64Array(config.txRing)
  }

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

  protected initAddresses(): void {
    for (let i = 0; i < this.rxRingSize; i++) this.rxAddr[i] = this.rxBufferAddress(i)
    for (let i = 0; i < this.txRingSize; i++) this.txAddr[i] = this.txBufferAddress(i)
  }
}
