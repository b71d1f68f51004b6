import { describe, expect, it } from "vitest"
import { Simulation, Time } from "@qvsim/sim-core"
import { logicalId, ApicBus } from "../src/LocalApic.ts"
import { machineWith } from "./support.ts"

describe("LocalApic timer", () => {
  it("fires once, delay after arming, delivering vector 0x3E to its own core only", () => {
    const { sim, machine, recorder } = machineWith()
    sim.run({ untilNs: 500 })
    machine.lapics[2]!.armTimer(Time.us(250))
    expect(machine.lapics[2]!.timerDeadlineNs).toBe(250_500)
    sim.run()
    expect(recorder.interrupts).toEqual([{ t: 250_500, core: 2, vector: 0x3e }])
    expect(machine.lapics[2]!.timerArmed).toBe(false)
  })

  it("re-arming replaces the pending expiry; cancel disarms", () => {
    const { sim, machine, recorder } = machineWith()
    const l = machine.lapics[0]!
    l.armTimer(1_000)
    l.armTimer(3_000)
    l.armTimer(2_000)
    sim.run()
    expect(recorder.interrupts.map((d) => d.t)).toEqual([2_000])
    l.armTimer(1_000)
    expect(l.cancelTimer()).toBe(true)
    expect(l.cancelTimer()).toBe(false)
    sim.run()
    expect(recorder.interrupts).toHaveLength(1)
  })

  it("rounds the delay up to whole ticks and adds the timer latency", () => {
    const { sim, machine, recorder } = machineWith({ lapic: { timerTickNs: 8, timerLatencyNs: 100 } })
    machine.lapics[1]!.armTimer(1_001)
    sim.run()
    expect(recorder.interrupts).toEqual([{ t: 1_008 + 100, core: 1, vector: 0x3e }])
  })

  it("refuses a delay beyond the 32-bit count and a negative delay", () => {
    const { machine } = machineWith({ lapic: { timerTickNs: 1, timerMaxTicks: 1000 } })
    expect(() => machine.lapics[0]!.armTimer(1001)).toThrow(/exceed the 32-bit count/)
    expect(() => machine.lapics[0]!.armTimer(-1)).toThrow(/must be an integer ≥ 0/)
  })
})

describe("IPIs", () => {
  it("arrive one way after 646 cycles (303 ns at 2.13 GHz), at every core of the logical mask", () => {
    const { sim, machine, recorder } = machineWith()
    const busy = machine.lapics[1]!.sendIpi(machine.apicBus.maskOf([0, 3]), 240)
    expect(busy).toBe(303)
    expect(machine.costs.ns.ipiOneWay).toBe(303)
    sim.run()
    expect(recorder.interrupts).toEqual([{ t: 303, core: 0, vector: 240 }, { t: 303, core: 3, vector: 240 }])
  })

  it("follow the cost model: a round trip of 2 one-way latencies; a costlier IPI arrives later", () => {
    const { sim, machine, recorder } = machineWith({ costs: { ipiOneWay: 2130 } })
    const l = machine.lapics
    recorder.interrupt = (core, vector) => {
      recorder.interrupts.push({ t: sim.now, core, vector })
      if (vector === 240) l[core]!.sendIpiToCore(0, 241)
    }
    l[0]!.sendIpiToCore(2, 240)
    sim.run()
    expect(recorder.interrupts).toEqual([{ t: 1_000, core: 2, vector: 240 }, { t: 2_000, core: 0, vector: 241 }])
  })

  it("bound the sender's delivery poll by the poll limit", () => {
    const { machine } = machineWith({ costs: { ipiOneWay: 10_000_000 }, lapic: { ipiPollLimit: 1000, ipiPollCycles: 20 } })
    expect(machine.lapics[0]!.sendIpi(2, 64)).toBe(Time.cyclesToNs(20_000, 2_130_000_000))
  })

  it("a self-interrupt arrives at its own core after the delay the kernel chose", () => {
    const { sim, machine, recorder } = machineWith()
    machine.lapics[2]!.selfInterrupt(0x90, 1_234)
    machine.lapics[3]!.selfInterrupt(0x91)
    sim.run()
    expect(recorder.log).toEqual(["irq 3 145 @0", "irq 2 144 @1234"])
  })

  it("never cause VM exits", () => {
    const { sim, machine } = machineWith()
    for (let i = 0; i < 50; i++) machine.lapics[i % 4]!.sendIpi(0xff, 64 + (i % 100))
    sim.run()
    expect(machine.cores.map((c) => c.vmExits)).toEqual([0, 0, 0, 0])
  })
})

describe("interrupt acceptance", () => {
  it("holds vectors at or below the TPR class and delivers them, highest first, when the TPR drops", () => {
    const { sim, machine, recorder } = machineWith({ lapic: { tpr: 0x50 } })
    const l = machine.lapics[0]!
    for (const v of [0x41, 0x60, 0x55, 0x4f]) l.sendIpiToCore(0, v)
    sim.run()
    expect(recorder.interrupts.map((d) => d.vector)).toEqual([0x60])
    expect(l.pending).toBe(3)
    l.setTpr(0x40)
    sim.run()
    expect(recorder.interrupts.map((d) => d.vector)).toEqual([0x60, 0x55])
    l.setTpr(0)
    sim.run()
    expect(recorder.interrupts.map((d) => d.vector)).toEqual([0x60, 0x55, 0x4f, 0x41])
  })

  it("holds interrupts while the guest disabled them, coalescing a repeated vector (one IRR bit)", () => {
    const { sim, machine, recorder } = machineWith()
    const c = machine.cores[3]!
    c.setInterruptsEnabled(false)
    machine.lapics[0]!.sendIpiToCore(3, 0x70)
    machine.lapics[1]!.sendIpiToCore(3, 0x70)
    machine.lapics[2]!.sendIpiToCore(3, 0x71)
    sim.run({ untilNs: 10_000 })
    expect(recorder.interrupts).toEqual([])
    expect(c.lapic.coalesced).toBe(1)
    c.setInterruptsEnabled(true)
    sim.run()
    expect(recorder.interrupts).toEqual([{ t: 10_000, core: 3, vector: 0x71 }, { t: 10_000, core: 3, vector: 0x70 }])
  })

  it("assigns flat logical IDs as the 2011 and 2015 code do", () => {
    expect([0, 1, 2, 3, 7].map((i) => logicalId(i, "2011"))).toEqual([1, 2, 4, 8, 0x80])
    expect([0, 1, 2, 6, 7].map((i) => logicalId(i, "2015"))).toEqual([2, 4, 8, 0x80, 1])
    const { machine } = machineWith({ layout: { kind: "2015" } })
    expect(machine.lapics.map((l) => l.logicalId)).toEqual([2, 4, 8, 16])
    expect(machine.apicBus.coresIn(0x0a)).toEqual([0, 2])
  })

  it("refuses a bad LAPIC configuration naming the field", () => {
    const sim = new Simulation.Simulation(1)
    expect(() => new ApicBus(sim, { timerVector: 3 }, { ipiOneWayNs: 1, ipiPollBoundNs: 1 })).toThrow(/lapic\.timerVector: must be ≥ 16/)
    expect(() => new ApicBus(sim, { timerTickNs: 0 }, { ipiOneWayNs: 1, ipiPollBoundNs: 1 })).toThrow(/lapic\.timerTickNs: must be ≥ 1/)
  })
})
