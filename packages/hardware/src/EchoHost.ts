/**
 * A trivially echoing host on the wire: it answers every ICMP echo request addressed to its IP
 * with the reply, `delayNs` later, and ignores (frees, counts) everything else. The peer a
 * {@link PingHost} is tested against, with no NIC or kernel in between.
 *
 * Invariants: one reply per request to its IP, in arrival order; every received frame is either
 * turned into a reply (its slot reused) or freed.
 *
 * @module
 */
import { z } from "zod"
import { Simulation } from "@qvsim/sim-core"
import type { Wire, WireEndpoint } from "./Wire.ts"
import * as Frame from "./Frame.ts"
import { durationNs, ipv4, mac, parseConfig } from "./internal/config.ts"

export const schema = z.strictObject({
  name: z.string().min(1, "must not be empty").default("echo"),
  mac: mac().default(0x0200_0000_00ec),
  ip: ipv4().prefault("192.168.2.11"),
  /** Time from a request's arrival to its reply's transmission, ns. */
  delayNs: durationNs().default(0),
})
export type EchoHostInput = z.input<typeof schema>
export type EchoHostConfig = z.output<typeof schema>

export class EchoHost implements WireEndpoint {
  readonly config: EchoHostConfig
  readonly mac: number
  readonly rxLatencyNs = 0
  readonly port: number
  replies = 0
  ignored = 0
  private readonly sim: Simulation.Simulation
  private readonly wire: Wire
  private readonly replyHandler: number

  /** Validates `input` (refusals name `echoHost.<field>`) and plugs the host into `wire`. */
  constructor(sim: Simulation.Simulation, wire: Wire, input: EchoHostInput = {}, prefix = "echoHost") {
    const config = parseConfig("EchoHost", schema, input, prefix)
    this.sim = sim
    this.wire = wire
    this.config = config
    this.mac = config.mac
    this.port = wire.attach(this)
    this.replyHandler = sim.register(`host:${config.name}.reply`, (slot) => this.wire.send(this.port, slot))
  }

  receiveFrame(slot: number): void {
    const frames = this.wire.frames
    const o = frames.offset(slot)
    const length = frames.length(slot)
    if (!Frame.isEchoRequestFor(frames.bytes, o, length, this.config.ip) || !Frame.echoToReply(frames.bytes, o, length)) {
      this.ignored++
      frames.free(slot)
      return
    }
    this.replies++
    if (this.config.delayNs === 0) this.wire.send(this.port, slot)
    else this.sim.after(this.config.delayNs, Simulation.EventClass.Device, this.replyHandler, slot)
  }
}
