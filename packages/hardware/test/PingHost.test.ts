import { describe, expect, it } from "vitest"
import { Simulation, Time } from "@qvsim/sim-core"
import { FrameStore } from "../src/FrameStore.ts"
import { Wire } from "../src/Wire.ts"
import { PingHost, WINDOW } from "../src/PingHost.ts"
import { RELATIVE_ERROR } from "../src/LogHistogram.ts"
import { EchoHost } from "../src/EchoHost.ts"
import { MemorySinkKinds } from "./trace.ts"

const WIRE_98 = 976 // ns for a 98-byte frame at 1 Gb/s

const setup = () => {
  const sim = new Simulation.Simulation(3)
  const frames = new FrameStore(16)
  const wire = new Wire(sim, frames, { jitterNs: 0 }) // exact times
  return { sim, frames, wire }
}

describe("PingHost against a trivially echoing peer", () => {
  it("interval mode: one request per interval, RTT = two wire times + the peer's delay", () => {
    const { sim, frames, wire } = setup()
    const echo = new EchoHost(sim, wire, { delayNs: 5_000 })
    const ping = new PingHost(sim, wire, { targetMac: echo.mac, intervalNs: Time.ms(3), count: 10, startNs: Time.ms(1) })
    const kinds = new MemorySinkKinds(sim)
    ping.start()
    sim.run()
    const s = ping.stats()
    expect(s).toMatchObject({ sent: 10, received: 10, lost: 0, outstanding: 0, late: 0, duplicates: 0, corrupt: 0 })
    expect(s.minRttNs).toBe(2 * WIRE_98 + 5_000)
    expect(s.maxRttNs).toBe(2 * WIRE_98 + 5_000)
    expect(ping.sendTimeNs(0)).toBe(Time.ms(1))
    expect(ping.sendTimeNs(9)).toBe(Time.ms(1) + 9 * Time.ms(3))
    expect(kinds.count("host.echo.request")).toBe(10)
    expect(kinds.count("host.echo.reply")).toBe(10)
    expect(echo.replies).toBe(10)
    expect(frames.inUse).toBe(0)
  })

  it("flood mode sends the next request on each reply", () => {
    const { sim, wire } = setup()
    const echo = new EchoHost(sim, wire)
    const ping = new PingHost(sim, wire, { targetMac: echo.mac, mode: "flood", count: 1000 })
    ping.start()
    sim.run()
    expect(ping.stats()).toMatchObject({ sent: 1000, received: 1000, lost: 0 })
    // Back to back: request k leaves as reply k-1 arrives.
    expect(ping.sendTimeNs(999)).toBe(999 * 2 * WIRE_98)
  })

  it("flood mode moves on after floodIntervalNs when replies stop; unanswered requests are lost after timeoutNs", () => {
    const { sim, wire } = setup()
    const silent = new EchoHost(sim, wire, { ip: "192.168.2.99" }) // answers another IP: never this ping
    const ping = new PingHost(sim, wire, { targetMac: silent.mac, mode: "flood", floodIntervalNs: Time.ms(10), timeoutNs: Time.ms(50), count: 20 })
    ping.start()
    sim.run({ untilNs: Time.ms(100) })
    const s = ping.stats()
    expect(s.sent).toBe(11) // t = 0, 10, ..., 100 ms (run includes events at untilNs)
    expect(s.received).toBe(0)
    expect(s.lost).toBe(6) // sent at ≤ 50 ms
    expect(s.outstanding).toBe(5)
    expect(ping.lostSeqs()).toEqual([0, 1, 2, 3, 4, 5])
    expect(silent.ignored).toBe(10) // the 100 ms request is still on the wire
    expect(Number.isNaN(s.meanRttNs)).toBe(true)
  })

  it("reports late replies (after timeoutNs) with their RTT, and counts them as received", () => {
    const { sim, wire } = setup()
    const slow = new EchoHost(sim, wire, { delayNs: Time.ms(20) })
    const ping = new PingHost(sim, wire, { targetMac: slow.mac, intervalNs: Time.ms(5), timeoutNs: Time.ms(10), count: 4 })
    ping.start()
    sim.run()
    const s = ping.stats()
    expect(s).toMatchObject({ sent: 4, received: 4, late: 4, lost: 0 })
    expect(ping.rttNs(2)).toBe(Time.ms(20) + 2 * WIRE_98)
  })

  it("unwraps 16-bit ICMP sequence numbers beyond 65,536 requests", () => {
    const { sim, wire } = setup()
    const echo = new EchoHost(sim, wire)
    const ping = new PingHost(sim, wire, { targetMac: echo.mac, mode: "flood", count: 70_000 })
    ping.start()
    sim.run()
    expect(ping.stats()).toMatchObject({ sent: 70_000, received: 70_000, duplicates: 0, unexpected: 0 })
    expect(ping.rttNs(69_999)).toBe(2 * WIRE_98)
  })

  it("long runs in flat memory: beyond the 65,536-request window the statistics stream (exact count, sum, min, max; quantiles within 2^-7)", () => {
    const sim = new Simulation.Simulation(3)
    const wire = new Wire(sim, new FrameStore(16), { jitterNs: 5_000 }) // RTTs spread over ~10 µs
    const echo = new EchoHost(sim, wire)
    const ping = new PingHost(sim, wire, { targetMac: echo.mac, mode: "flood", count: 150_000 })
    const traced = new MemorySinkKinds(sim, true) // every RTT, from the host's reply records
    ping.start()
    sim.run()
    const rtts = traced.records.filter((r) => r.kind === "host.echo.reply").map((r) => r["rttNs"] as number)
    expect(rtts.length).toBe(150_000)
    const s = ping.stats()
    expect(s).toMatchObject({ sent: 150_000, received: 150_000, lost: 0, outstanding: 0, duplicates: 0, quantilesExact: false })
    const sorted = [...rtts].sort((a, b) => a - b)
    expect(s.minRttNs).toBe(sorted[0])
    expect(s.maxRttNs).toBe(sorted[sorted.length - 1])
    expect(s.meanRttNs).toBe(rtts.reduce((a, r) => a + r, 0) / rtts.length)
    for (const [p, est] of [[0.5, s.p50RttNs], [0.99, s.p99RttNs]] as const) {
      const exact = sorted[Math.ceil(p * sorted.length) - 1]!
      expect(est).toBeLessThanOrEqual(exact)
      expect(exact).toBeLessThan(est * (1 + RELATIVE_ERROR))
    }
    // The last WINDOW requests are still answerable per sequence number; older ones throw, never a wrong answer.
    expect(ping.rttNs(149_999)).toBe(rtts[149_999])
    expect(ping.sendTimeNs(150_000 - WINDOW)).toBeGreaterThan(0)
    expect(() => ping.rttNs(150_000 - WINDOW - 1)).toThrow(/only the last 65536 requests are kept/)
    expect(() => ping.rtts()).toThrow(RangeError)
  })

  it("while every request is in the window, quantiles are exact (nearest rank over all RTTs)", () => {
    const sim = new Simulation.Simulation(3)
    const wire = new Wire(sim, new FrameStore(16), { jitterNs: 5_000 })
    const echo = new EchoHost(sim, wire)
    const ping = new PingHost(sim, wire, { targetMac: echo.mac, mode: "flood", count: 5_000 })
    ping.start()
    sim.run()
    const sorted = ping.rtts().sort()
    const s = ping.stats()
    expect(s.quantilesExact).toBe(true)
    expect(s.p50RttNs).toBe(sorted[2_499])
    expect(s.p99RttNs).toBe(sorted[4_949])
  })

  it("a request that leaves the window unanswered is lost at once (no reply could be matched to it)", () => {
    const { sim, wire } = setup()
    const silent = new EchoHost(sim, wire, { ip: "192.168.2.99" })
    const ping = new PingHost(sim, wire, { targetMac: silent.mac, mode: "flood", floodIntervalNs: 1_000, timeoutNs: Time.ms(1_000), count: 70_000 })
    ping.start()
    sim.run()
    const s = ping.stats()
    // 70 ms of requests, all within their 1 s timeout: only the 4,464 pushed out of the window are lost.
    expect(s).toMatchObject({ sent: 70_000, received: 0, lost: 70_000 - WINDOW, outstanding: WINDOW })
    expect(ping.lostSeqs()).toEqual(Array.from({ length: 70_000 - WINDOW }, (_, i) => i))
    sim.run({ untilNs: Time.ms(2_000) })
    expect(ping.stats()).toMatchObject({ lost: 70_000, outstanding: 0 })
    expect(ping.lostSeqs().length).toBe(70_000)
  })

  it("refuses a bad configuration naming the field", () => {
    const { sim, wire } = setup()
    expect(() => new PingHost(sim, wire, { targetIp: "192.168.2" })).toThrow(/pingHost\.targetIp: "192\.168\.2" is not a dotted-quad/)
    expect(() => new PingHost(sim, wire, { intervalNs: 0 })).toThrow(/pingHost\.intervalNs: must be ≥ 1/)
    expect(() => new PingHost(sim, wire, { mode: "burst" as never })).toThrow(/pingHost\.mode/)
  })
})
