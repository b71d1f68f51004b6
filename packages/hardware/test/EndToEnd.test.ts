import { describe, expect, it } from "vitest"
import { Simulation, Time } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { PingHost } from "../src/PingHost.ts"
import { EchoResponder } from "../src/EchoResponder.ts"
import * as Frame from "../src/Frame.ts"

const setup = (input: ConstructorParameters<typeof Machine>[1] = {}) => {
  const sim = new Simulation.Simulation(11)
  const machine = new Machine(sim, input)
  const echo = new EchoResponder(machine.nic, machine.cores.length, { vector: machine.config.boot.nicVector })
  machine.setListener(echo)
  return { sim, machine, echo }
}

describe("host → wire → NIC → I/O APIC broadcast → cores → TX → host", () => {
  it("30 pings 3 ms apart: every sharer gets one RX and one TX interrupt per ping, no VM exit, nothing leaked", () => {
    const { sim, machine, echo } = setup({ ioapic: { irqLatencyNs: 500, deliverySkewNs: 0 }, wire: { jitterNs: 0 } }) // exact times
    const baseline = machine.frames.inUse
    const ping = new PingHost(sim, machine.wire, { intervalNs: Time.ms(3), count: 30 })
    ping.start()
    sim.run()
    expect(ping.stats()).toMatchObject({ sent: 30, received: 30, lost: 0, late: 0, corrupt: 0 })
    // Request on the wire, interrupt latency, reply on the wire.
    expect(ping.rttNs(7)).toBe(976 + 500 + 976)
    expect(echo.interruptsPerCore).toEqual([60, 60, 60, 60])
    expect(machine.nic.interrupts).toBe(60)
    expect(machine.cores.map((c) => c.vmExits)).toEqual([0, 0, 0, 0])
    expect(machine.frames.inUse).toBe(baseline)
  })

  it("only the cores in the NIC's destination mask see its interrupts; re-targeting moves them", () => {
    const { sim, machine, echo } = setup({ boot: { nicSharers: 2 } })
    const ping = new PingHost(sim, machine.wire, { intervalNs: Time.ms(1), count: 4 })
    ping.start()
    sim.run({ untilNs: Time.ms(2) - 1 })
    expect(echo.interruptsPerCore).toEqual([4, 4, 0, 0])
    machine.ioapic.setDestination(machine.nic.irqLine, machine.sandboxMask([0, 3]))
    sim.run()
    expect(echo.interruptsPerCore).toEqual([8, 4, 0, 4])
    expect(ping.stats().received).toBe(4)
  })

  it("loses no frame silently under a flood the ring cannot hold: overruns are counted and the host sees them as lost", () => {
    const { sim, machine } = setup({ nic: { rxRing: 4 } })
    // Nobody services the NIC: a listener that ignores every interrupt.
    machine.setListener({ workDone: () => {}, interrupt: () => {}, vmExit: () => {} })
    const hosts = [0, 1, 2].map((k) => new PingHost(sim, machine.wire, { name: `h${k}`, mac: 0x0200_0000_0100 + k, ip: `192.168.2.${100 + k}`, intervalNs: Time.us(10), count: 5, timeoutNs: Time.ms(1) }))
    for (const h of hosts) h.start()
    sim.run({ untilNs: Time.ms(2) })
    const nic = machine.nic
    expect(nic.rxArrivals).toBe(15)
    expect(nic.rxFrames).toBe(4)
    expect(nic.rxOverruns).toBe(11)
    expect(hosts.reduce((n, h) => n + h.stats().lost, 0)).toBe(15)
  })

  it("answers each sandbox's IP only when asked to (a frame for another address is ignored)", () => {
    const { sim, machine, echo } = setup()
    const ping = new PingHost(sim, machine.wire, { targetIp: Frame.formatIp(Frame.sandboxIp(2)), count: 3, intervalNs: Time.ms(1), timeoutNs: Time.ms(5) })
    ping.start()
    sim.run({ untilNs: Time.ms(10) })
    expect(echo.ignored).toBe(3)
    expect(ping.stats()).toMatchObject({ sent: 3, received: 0, lost: 3 })
  })
})
