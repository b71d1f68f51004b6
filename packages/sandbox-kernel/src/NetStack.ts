/**
 * A sandbox's network stack instance (spec §D.1, §D.7): its IP address `192.168.2.(11 + s)` (plus
 * aliases a remote recovery adds), ICMP echo service, and transmission through the shared driver
 * with the sandbox's transmit-enable flag (info page): when it is off, frames are silently dropped.
 *
 * Frames reach the stack as FrameStore slots the driver copied out of the RX ring; the stack owns
 * them and frees (or reuses for the reply) each exactly once.
 *
 * Invariants: only frames addressed to one of the stack's IPs are answered (late demultiplexing
 * drops the others at the IP layer; early demultiplexing never hands them over); while the stack
 * is down (its network re-initialisation in a recovery) every frame is dropped and counted; every
 * echo reply is traced in the sandbox's scope (`net.echo`).
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Frame, type FrameStore, type Nic } from "@qvsim/hardware"

export class NetStack {
  readonly sandbox: number
  /** Addresses this stack answers for (unsigned 32-bit), its own first. */
  readonly ips: number[]
  /** False during network re-initialisation (or after the stack was given up). */
  up = true
  /** The info page's transmit-enable flag. */
  transmitEnabled: boolean
  // statistics
  /** Frames handed to the stack (owner or late-demux). */
  rxFrames = 0
  /** Frames for one of its IPs. */
  rxForUs = 0
  /** Frames dropped at the IP layer (not ours). */
  rxNotOurs = 0
  /** Frames dropped while the stack was down. */
  rxWhileDown = 0
  echoReplies = 0
  /** Replies dropped by the transmit-enable flag. */
  txDisabled = 0
  /** Replies dropped because the TX ring had no free descriptor (or the NIC was down). */
  txNoDescriptor = 0
  /** Where replies go instead of the NIC (a Xen-style guest hands them to its driver domain), or null. */
  txRedirect: ((slot: number, length: number) => boolean) | null = null
  private readonly frames: FrameStore.FrameStore
  private readonly nic: Nic.Nic
  private readonly trace: Trace.Trace
  private readonly subject: Trace.Subject
  private readonly kEcho: Trace.RecordKind

  constructor(sandbox: number, ip: number, nic: Nic.Nic, trace: Trace.Trace, transmitEnabled = true) {
    this.sandbox = sandbox
    this.ips = [ip]
    this.nic = nic
    this.frames = nic.frames
    this.transmitEnabled = transmitEnabled
    this.trace = trace
    this.subject = trace.subject(`sandbox${sandbox}/net`, sandbox)
    this.kEcho = trace.kind("net.echo", ["seq", "src"])
  }

  /** True if `ip` is one of this stack's addresses. */
  owns(ip: number): boolean {
    const ips = this.ips
    for (let i = 0; i < ips.length; i++) if (ips[i] === ip) return true
    return false
  }

  /**
   * Receive processing of the frame in `slot` (owned by the stack from now on): an echo request
   * for us is turned into its reply and transmitted; everything else is dropped. Returns true when
   * a reply was handed to the NIC.
   */
  receive(slot: number): boolean {
    const frames = this.frames
    const o = frames.offset(slot)
    const length = frames.length(slot)
    this.rxFrames++
    if (!this.up) {
      this.rxWhileDown++
      frames.free(slot)
      return false
    }
    const dst = Frame.demuxIp(frames.bytes, o, length)
    if (dst < 0 || !this.owns(dst)) {
      this.rxNotOurs++
      frames.free(slot)
      return false
    }
    this.rxForUs++
    if (!Frame.isEchoRequestFor(frames.bytes, o, length, dst) || !Frame.echoToReply(frames.bytes, o, length)) {
      frames.free(slot)
      return false
    }
    const seq = Frame.icmpSeq(frames.bytes, o)
    const sent = this.transmit(slot, length)
    if (sent) {
      this.echoReplies++
      this.trace.emit2(this.kEcho, this.subject, seq, Frame.ipDst(frames.bytes, o) & 0xff)
    }
    return sent
  }

  /** Transmits the frame in `slot` (consumed) through the shared driver's TX path. */
  transmit(slot: number, length: number): boolean {
    const frames = this.frames
    if (!this.transmitEnabled) {
      this.txDisabled++
      frames.free(slot)
      return false
    }
    if (this.txRedirect !== null) return this.txRedirect(slot, length)
    const nic = this.nic
    const t = nic.txAcquire()
    if (t < 0) {
      this.txNoDescriptor++
      frames.free(slot)
      return false
    }
    frames.copy(slot, nic.txSlot(t))
    frames.free(slot)
    if (!nic.txSubmit(t, length)) {
      this.txNoDescriptor++
      return false
    }
    return true
  }

  /** Transmits `slot` on the NIC itself, bypassing `txRedirect` (the Xen driver domain's netback). */
  transmitRaw(slot: number, length: number): boolean {
    const redirect = this.txRedirect
    this.txRedirect = null
    const ok = this.transmit(slot, length)
    this.txRedirect = redirect
    return ok
  }

  /** True if the frame in `slot` is an echo request to one of our IPs (what the stack would answer). */
  wouldAnswer(slot: number): boolean {
    const frames = this.frames
    const o = frames.offset(slot)
    const length = frames.length(slot)
    const dst = Frame.demuxIp(frames.bytes, o, length)
    return this.up && dst >= 0 && this.owns(dst) && Frame.isEchoRequestFor(frames.bytes, o, length, dst)
  }
}
