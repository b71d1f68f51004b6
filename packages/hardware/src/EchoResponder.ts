/**
 * A minimal interrupt-driven echo responder on the machine side — a test double, NOT the Quest-V
 * shared driver. It drives the device models end to end (host → wire → NIC → I/O APIC broadcast
 * → local APICs → cores → TX → wire → host) for tests and benchmarks, at zero CPU cost.
 *
 * Every core in the NIC's destination mask receives the interrupt (counted per core); the master
 * core acknowledges the status, cleans completed TX descriptors and walks the RX ring from its
 * cursor while descriptors are host-owned: an echo request to one of `ips` is copied into a TX
 * descriptor, turned into its reply and sent; every descriptor is then given back.
 *
 * Invariants: each received frame is looked at exactly once and recycled at once; a request that
 * finds the TX ring full is dropped and counted (`txFull`).
 *
 * @module
 */
import type { CoreListener } from "./Core.ts"
import type { Nic } from "./Nic.ts"
import * as Frame from "./Frame.ts"

export interface EchoResponderOptions {
  /** The vector the NIC's I/O APIC entry delivers. */
  readonly vector: number
  /** The core that handles the ring (the master). */
  readonly master?: number
  /** IPs answered (default: 192.168.2.11, sandbox 0's). */
  readonly ips?: readonly number[]
}

export class EchoResponder implements CoreListener {
  readonly nic: Nic
  readonly vector: number
  readonly master: number
  private readonly ips: readonly number[]
  /** NIC interrupts seen per core. */
  readonly interruptsPerCore: number[]
  /** Interrupts of other vectors seen. */
  otherInterrupts = 0
  /** Echo replies handed to the NIC. */
  replies = 0
  /** Frames that were not echo requests to `ips`. */
  ignored = 0
  /** Requests dropped because the TX ring was full. */
  txFull = 0
  /** VM exits seen (a fault-free run has none). */
  vmExits = 0
  private cursor = 0

  constructor(nic: Nic, cores: number, options: EchoResponderOptions) {
    this.nic = nic
    this.vector = options.vector
    this.master = options.master ?? 0
    this.ips = options.ips ?? [Frame.sandboxIp(0)]
    this.interruptsPerCore = new Array<number>(cores).fill(0)
  }

  workDone(): void {}

  vmExit(): void {
    this.vmExits++
  }

  interrupt(core: number, vector: number): void {
    if (vector !== this.vector) {
      this.otherInterrupts++
      return
    }
    this.interruptsPerCore[core]!++
    if (core !== this.master) return
    const nic = this.nic
    nic.ackInterrupt(nic.isr)
    nic.txClean()
    const frames = nic.frames
    let i = this.cursor
    while (!nic.rxOwnedByNic(i)) {
      this.answer(nic, frames.bytes, nic.rxSlot(i), nic.rxLength(i))
      nic.rxGiveBack(i)
      i = i + 1 === nic.rxRingSize ? 0 : i + 1
    }
    this.cursor = i
  }

  private answer(nic: Nic, bytes: Uint8Array, slot: number, length: number): void {
    const frames = nic.frames
    const o = frames.offset(slot)
    const dst = Frame.demuxIp(bytes, o, length)
    if (!this.ips.includes(dst) || !Frame.isEchoRequestFor(bytes, o, length, dst)) {
      this.ignored++
      return
    }
    const t = nic.txAcquire()
    if (t < 0) {
      this.txFull++
      return
    }
    const tx = nic.txSlot(t)
    frames.copy(slot, tx)
    Frame.echoToReply(frames.bytes, frames.offset(tx), length)
    nic.txSubmit(t, length)
    this.replies++
  }
}
