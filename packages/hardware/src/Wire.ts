/**
 * The Ethernet between the machine's NIC and the external hosts: a switch with one full-duplex
 * port per attached endpoint, each at its link speed, forwarding by destination MAC.
 *
 * A frame of L bytes occupies a link for `wireTimeNs(L)` = (max(L, 60) + 4 FCS + 8 preamble +
 * 12 inter-frame gap) · 8 bits at the port's rate, rounded half up. Sending starts when the
 * sender's port is free; the frame reaches the receiver when both its own transmission and the
 * receiver's port (busy with earlier frames to it) allow, plus the switch latency and the
 * receiver's `rxLatencyNs` (e.g. the NIC's DMA), plus a per-frame jitter in [0, `jitterNs`]
 * (stream `wire/jitter`). Output queues are unbounded.
 *
 * Invariants:
 * - a frame is delivered exactly once to each matching endpoint (unicast: the port with that MAC;
 *   broadcast: every other port, each a copy), never to its sender, or dropped and counted when
 *   no port has its MAC; nothing is lost silently;
 * - per (sender, receiver) pair, frames arrive in the order sent;
 * - arrivals are Device-class events carrying `(slot, port)`: no object per frame.
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type Rng, type Trace } from "@qvsim/sim-core"
import type { FrameStore } from "./FrameStore.ts"
import { BROADCAST_MAC, MIN_FRAME, dstMac } from "./Frame.ts"
import { durationNs, int, parseConfig } from "./internal/config.ts"

/** Wire options. */
export const schema = z.strictObject({
  /** Switch + cable latency added to every frame, ns (`[ASSUMED]` 0: set per experiment). */
  latencyNs: durationNs().default(0),
  /** Default link speed of host ports, bit/s (1 Gb/s). */
  linkBps: int(1).default(1_000_000_000),
  /**
   * `[ASSUMED]` Jitter of the switch's forwarding latency, ns: each frame arrives a uniform draw in
   * [0, jitterNs] later (stream `wire/jitter`), never before an earlier frame to the same port (the
   * output queue is FIFO). Default 1,000 ns, range 0–5,000 ns (measurement on similar hardware,
   * order of magnitude: store-and-forward latency of commodity gigabit switches varies by a few
   * hundred ns to a few µs with queue state and internal arbitration).
   */
  jitterNs: durationNs().default(1_000),
})
export type WireInput = z.input<typeof schema>
export type WireConfig = z.output<typeof schema>

/** Something plugged into the wire. */
export interface WireEndpoint {
  /** Its MAC address (48-bit). */
  readonly mac: number
  /** Extra delay between the end of reception and `receiveFrame` (DMA), ns. */
  readonly rxLatencyNs: number
  /** Takes ownership of the frame in `slot`. */
  receiveFrame(slot: number): void
}

/** Bytes a frame of `length` bytes occupies on the wire (padding, FCS, preamble, gap). */
export const wireBytes = (length: number): number => Math.max(length, MIN_FRAME) + 4 + 8 + 12

/** Nanoseconds a frame of `length` bytes occupies a `bps` link (rounded half up). */
export const wireTimeNs = (length: number, bps: number): number => {
  const bits = wireBytes(length) * 8
  // Exact: 2 · bits · 1e9 + bps stays far below 2^53 for any Ethernet frame.
  return Math.floor((2 * bits * 1_000_000_000 + bps) / (2 * bps))
}

export class Wire {
  readonly config: WireConfig
  readonly frames: FrameStore
  /** Frames handed to the wire. */
  sent = 0
  /** Frames delivered to an endpoint (a broadcast counts once per receiver). */
  delivered = 0
  /** Frames dropped because no port has their destination MAC. */
  unknownDestination = 0
  private readonly endpoints: WireEndpoint[] = []
  private readonly bps: number[] = []
  private readonly txFreeAt: number[] = []
  private readonly rxFreeAt: number[] = []
  /** Latest arrival scheduled at each port (jitter never reorders frames to one port). */
  protected readonly lastArrivalAt: number[] = []
  protected readonly jitterRng: Rng.RngStream
  private readonly sim: Simulation.Simulation
  private readonly arriveHandler: number
  private readonly subject: Trace.Subject
  private readonly kindDrop: Trace.RecordKind

  /** Validates `input` (refusals name `wire.<field>`). */
  constructor(sim: Simulation.Simulation, frames: FrameStore, input: WireInput = {}, prefix = "wire") {
    const config = parseConfig("Wire", schema, input, prefix)
    this.sim = sim
    this.frames = frames
    this.config = config
    this.arriveHandler = sim.register("wire.arrive", (slot, port) => {
      this.delivered++
      this.endpoints[port]!.receiveFrame(slot)
    })
    this.subject = sim.trace.subject("wire", -1)
    this.kindDrop = sim.trace.kind("wire.drop", ["port", "length"])
    this.jitterRng = sim.rng("wire/jitter")
  }

  /** Plugs `endpoint` in at `bps` (default: the wire's link speed); returns its port number. */
  attach(endpoint: WireEndpoint, bps = this.config.linkBps): number {
    if (!Number.isSafeInteger(bps) || bps <= 0) throw new RangeError(`Wire.attach: link speed ${bps} bit/s must be a positive integer`)
    this.endpoints.push(endpoint)
    this.bps.push(bps)
    this.txFreeAt.push(0)
    this.rxFreeAt.push(0)
    this.lastArrivalAt.push(0)
    return this.endpoints.length - 1
  }

  /** The port whose endpoint has `mac`, or -1. */
  portOf(mac: number): number {
    for (let p = 0; p < this.endpoints.length; p++) if (this.endpoints[p]!.mac === mac) return p
    return -1
  }

  /**
   * Sends the frame in `slot` (its ownership passes to the wire) from port `from` as soon as the
   * port is free. Returns the time the sender's transmission ends (its link is busy until then).
   */
  send(from: number, slot: number): number {
    const txEnd = this.reserve(from, this.frames.length(slot))
    this.route(from, slot, txEnd)
    return txEnd
  }

  /**
   * Occupies port `from` for a frame of `length` bytes, from when the port is free; returns the
   * time its transmission ends. A device that may abort a frame (a NIC reset) reserves first and
   * hands the frame over with {@link route} only once it is fully sent.
   */
  reserve(from: number, length: number): number {
    const start = Math.max(this.sim.now, this.txFreeAt[from]!)
    const txEnd = start + wireTimeNs(length, this.bps[from]!)
    this.txFreeAt[from] = txEnd
    return txEnd
  }

  /**
   * Forwards the frame in `slot` (ownership passes to the wire), whose transmission on port `from`
   * ends at `txEnd` (≥ now), to the port(s) of its destination MAC.
   */
  route(from: number, slot: number, txEnd: number): void {
    const frames = this.frames
    const length = frames.length(slot)
    this.sent++
    const dst = dstMac(frames.bytes, frames.offset(slot))
    if (dst === BROADCAST_MAC) {
      let first = true
      for (let p = 0; p < this.endpoints.length; p++) {
        if (p === from) continue
        this.forward(first ? slot : frames.clone(slot), length, p, txEnd)
        first = false
      }
      if (first) this.drop(from, slot, length)
      return
    }
    const to = this.portOf(dst)
    if (to < 0 || to === from) this.drop(from, slot, length)
    else this.forward(slot, length, to, txEnd)
  }

  /**
   * When a frame due at port `to` at `exactNs` arrives: plus its jitter, and never before the frame
   * scheduled there last (FIFO). Broken test variants override this.
   */
  protected arrivalAt(to: number, exactNs: number): number {
    const jitter = this.config.jitterNs
    let at = jitter === 0 ? exactNs : exactNs + this.jitterRng.int(0, jitter)
    if (at < this.lastArrivalAt[to]!) at = this.lastArrivalAt[to]!
    this.lastArrivalAt[to] = at
    return at
  }

  /** Schedules the frame's arrival at port `to`. */
  private forward(slot: number, length: number, to: number, txEnd: number): void {
    const egressEnd = Math.max(txEnd, this.rxFreeAt[to]! + wireTimeNs(length, this.bps[to]!))
    this.rxFreeAt[to] = egressEnd
    const at = this.arrivalAt(to, egressEnd + this.config.latencyNs + this.endpoints[to]!.rxLatencyNs)
    this.sim.at(at, Simulation.EventClass.Device, this.arriveHandler, slot, to)
  }

  private drop(from: number, slot: number, length: number): void {
    this.unknownDestination++
    this.sim.trace.emit2(this.kindDrop, this.subject, from, length)
    this.frames.free(slot)
  }
}
