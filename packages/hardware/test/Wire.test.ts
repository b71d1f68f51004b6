import { describe, expect, it } from "vitest"
import { Simulation } from "@qvsim/sim-core"
import { FrameStore } from "../src/FrameStore.ts"
import { Wire, wireTimeNs, type WireEndpoint } from "../src/Wire.ts"
import * as Frame from "../src/Frame.ts"

class Sink implements WireEndpoint {
  readonly got: { t: number; seq: number }[] = []
  readonly rxLatencyNs: number
  readonly mac: number
  private readonly sim: Simulation.Simulation
  private readonly frames: FrameStore
  constructor(sim: Simulation.Simulation, frames: FrameStore, mac: number, rxLatencyNs = 0) {
    this.sim = sim
    this.frames = frames
    this.mac = mac
    this.rxLatencyNs = rxLatencyNs
  }
  receiveFrame(slot: number): void {
    this.got.push({ t: this.sim.now, seq: Frame.icmpSeq(this.frames.bytes, this.frames.offset(slot)) })
    this.frames.free(slot)
  }
}

const setup = (latencyNs = 0) => {
  const sim = new Simulation.Simulation(1)
  const frames = new FrameStore(8)
  const wire = new Wire(sim, frames, { latencyNs, jitterNs: 0 }) // exact times (the jitter: WireJitter.test.ts)
  const frame = (dst: number, seq: number, payload = 56): number => {
    const slot = frames.alloc()
    frames.setLength(slot, Frame.buildEchoRequest(frames.bytes, frames.offset(slot), 0xa, dst, 1, 2, 3, seq, payload))
    return slot
  }
  return { sim, frames, wire, frame }
}

describe("Wire", () => {
  it("charges padding, FCS, preamble and gap: 98 B at 1 Gb/s = 976 ns; 14 B pads to 60", () => {
    expect(wireTimeNs(98, 1e9)).toBe(976)
    expect(wireTimeNs(14, 1e9)).toBe(672)
    expect(wireTimeNs(1514, 1e8)).toBe(123_040)
    expect(wireTimeNs(98, 3e9)).toBe(325) // 976/3 = 325.33 → 325 (half up)
  })

  it("serialises frames on the sender's link and delivers them in order after latency + the receiver's DMA delay", () => {
    const { sim, frames, wire, frame } = setup(500)
    const a = new Sink(sim, frames, 0xa)
    const b = new Sink(sim, frames, 0xb, 100)
    const pa = wire.attach(a)
    wire.attach(b)
    const ends = [0, 1, 2].map((seq) => wire.send(pa, frame(0xb, seq)))
    expect(ends).toEqual([976, 1952, 2928])
    sim.run()
    expect(b.got).toEqual([{ t: 1576, seq: 0 }, { t: 2552, seq: 1 }, { t: 3528, seq: 2 }])
    expect(frames.inUse).toBe(0)
    expect(wire.delivered).toBe(3)
  })

  it("queues two senders' frames at the receiver's port", () => {
    const { sim, frames, wire, frame } = setup()
    const a = new Sink(sim, frames, 0xa)
    const c = new Sink(sim, frames, 0xc)
    const b = new Sink(sim, frames, 0xb)
    const pa = wire.attach(a)
    const pc = wire.attach(c)
    wire.attach(b)
    wire.send(pa, frame(0xb, 1))
    wire.send(pc, frame(0xb, 2))
    sim.run()
    expect(b.got).toEqual([{ t: 976, seq: 1 }, { t: 1952, seq: 2 }])
  })

  it("copies a broadcast to every other port and drops (counts) unknown destinations", () => {
    const { sim, frames, wire, frame } = setup()
    const sinks = [0xa, 0xb, 0xc].map((m) => new Sink(sim, frames, m))
    const ports = sinks.map((s) => wire.attach(s))
    wire.send(ports[0]!, frame(Frame.BROADCAST_MAC, 9))
    wire.send(ports[0]!, frame(0xdead, 10))
    sim.run()
    expect(sinks.map((s) => s.got.length)).toEqual([0, 1, 1])
    expect(wire.unknownDestination).toBe(1)
    expect(wire.sent).toBe(2)
    expect(frames.inUse).toBe(0)
  })

  it("refuses a bad configuration naming the field", () => {
    const sim = new Simulation.Simulation(1)
    expect(() => new Wire(sim, new FrameStore(), { linkBps: 0 })).toThrow(/wire\.linkBps: must be ≥ 1/)
    expect(() => new Wire(sim, new FrameStore(), { latencyNs: -5 })).toThrow(/wire\.latencyNs: must be ≥ 0/)
  })
})
