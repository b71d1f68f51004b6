import { describe, expect, it } from "vitest"
import { Simulation, Time } from "@qvsim/sim-core"
import { FrameStore } from "../src/FrameStore.ts"
import { Wire } from "../src/Wire.ts"
import { PingHost } from "../src/PingHost.ts"
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

  it("refuses a bad configuration naming the field", () => {
    const { sim, wire } = setup()
    expect(() => new PingHost(sim, wire, { targetIp: "192.168.2" })).toThrow(/pingHost\.targetIp: "192\.168\.2" is not a dotted-quad/)
    expect(() => new PingHost(sim, wire, { intervalNs: 0 })).toThrow(/pingHost\.intervalNs: must be ≥ 1/)
    expect(() => new PingHost(sim, wire, { mode: "burst" as never })).toThrow(/pingHost\.mode/)
  })
})
