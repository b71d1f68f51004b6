/**
 * The wire's forwarding jitter (`wire.jitterNs`, issue 13): each frame arrives a uniform draw in
 * [0, jitterNs] after its exact time, never before the frame scheduled at its port before it (the
 * switch's output queue is FIFO), and the draws are the seed's (stream `wire/jitter`). The property
 * is shown to catch a wire that jitters without keeping the port's order.
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Simulation } from "@qvsim/sim-core"
import { FrameStore } from "../src/FrameStore.ts"
import { Wire, type WireEndpoint } from "../src/Wire.ts"
import * as Frame from "../src/Frame.ts"

class Sink implements WireEndpoint {
  readonly got: { t: number; seq: number }[] = []
  readonly rxLatencyNs = 0
  readonly mac: number
  private readonly sim: Simulation.Simulation
  private readonly frames: FrameStore
  constructor(sim: Simulation.Simulation, frames: FrameStore, mac: number) {
    this.sim = sim
    this.frames = frames
    this.mac = mac
  }
  receiveFrame(slot: number): void {
    this.got.push({ t: this.sim.now, seq: Frame.icmpSeq(this.frames.bytes, this.frames.offset(slot)) })
    this.frames.free(slot)
  }
}

/** A wire that jitters each frame but forgets the port's order (the broken variant). */
class UnorderedWire extends Wire {
  protected override arrivalAt(_to: number, exactNs: number): number {
    return exactNs + this.jitterRng.int(0, this.config.jitterNs)
  }
}

interface Case { readonly seed: number; readonly jitterNs: number; readonly sends: ReadonlyArray<{ readonly atNs: number; readonly from: number; readonly payload: number }> }

/** Sends every frame of `c` from ports 0/1 to port 2; returns the arrivals at port 2, in arrival order. */
const run = (c: Case, jitterNs: number, W: typeof Wire = Wire): { t: number; seq: number }[] => {
  const sim = new Simulation.Simulation(c.seed)
  const frames = new FrameStore(64)
  const wire = new W(sim, frames, { jitterNs })
  const a = new Sink(sim, frames, 0xa), b = new Sink(sim, frames, 0xb), dst = new Sink(sim, frames, 0xc)
  wire.attach(a)
  wire.attach(b)
  wire.attach(dst)
  const h = sim.register("send", (i) => {
    const s = c.sends[i]!
    const slot = frames.alloc()
    frames.setLength(slot, Frame.buildEchoRequest(frames.bytes, frames.offset(slot), s.from === 0 ? 0xa : 0xb, 0xc, 1, 2, 3, i, s.payload))
    wire.send(s.from, slot)
  })
  c.sends.forEach((s, i) => sim.at(s.atNs, Simulation.EventClass.Workload, h, i))
  sim.run()
  return dst.got
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 0, max: 1_000_000 }),
  jitterNs: fc.integer({ min: 1, max: 5_000 }),
  sends: fc.array(fc.record({ atNs: fc.integer({ min: 0, max: 20_000 }), from: fc.integer({ min: 0, max: 1 }), payload: fc.integer({ min: 8, max: 1_000 }) }), { minLength: 1, maxLength: 20 }),
})

const jitterHolds = (W: typeof Wire) => (c: Case): void => {
  const exact = new Map(run(c, 0).map((r) => [r.seq, r.t]))
  const got = run(c, c.jitterNs, W)
  expect(got.length).toBe(c.sends.length)
  // In the order they were scheduled at the port, within [exact, exact + jitter].
  for (let i = 0; i < got.length; i++) {
    const e = exact.get(got[i]!.seq)!
    expect(got[i]!.t).toBeGreaterThanOrEqual(e)
    expect(got[i]!.t).toBeLessThanOrEqual(e + c.jitterNs)
    if (i > 0) expect(got[i]!.t).toBeGreaterThanOrEqual(got[i - 1]!.t)
  }
  // The exact run's order per port is kept (FIFO at the output queue).
  expect(got.map((r) => r.seq)).toEqual(run(c, 0).map((r) => r.seq))
}

describe("Wire jitter", () => {
  it("property: every frame arrives within [exact, exact + jitterNs], in the port's order", () => {
    fc.assert(fc.property(caseArb, jitterHolds(Wire)), { numRuns: 150 })
  })

  it("the property catches a wire whose jitter reorders frames to one port", () => {
    expect(() => fc.assert(fc.property(caseArb, jitterHolds(UnorderedWire)), { numRuns: 900, endOnFailure: true })).toThrow()
  })

  it("the same seed draws the same arrivals; another seed others; jitter 0 draws nothing", () => {
    const sends = Array.from({ length: 30 }, (_, i) => ({ atNs: i * 10_000, from: 0, payload: 56 }))
    const c = { seed: 5, jitterNs: 2_000, sends }
    expect(run(c, 2_000)).toEqual(run(c, 2_000))
    expect(run({ ...c, seed: 6 }, 2_000)).not.toEqual(run(c, 2_000))
    const offsets = run(c, 2_000).map((r, i) => r.t - run(c, 0)[i]!.t)
    expect(new Set(offsets).size).toBeGreaterThan(20)
    // Mean offset about half the jitter (uniform), well inside [0, 2,000].
    const mean = offsets.reduce((x, y) => x + y, 0) / offsets.length
    expect(mean).toBeGreaterThan(600)
    expect(mean).toBeLessThan(1_400)
  })
})
