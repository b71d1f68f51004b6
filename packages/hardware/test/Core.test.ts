import { describe, expect, it } from "vitest"
import { Simulation, Time } from "@qvsim/sim-core"
import { Core, VmExitReason } from "../src/Core.ts"
import { Tsc } from "../src/Tsc.ts"
import { ApicBus } from "../src/LocalApic.ts"
import { Ept } from "../src/Ept.ts"
import { Recorder } from "./support.ts"

const HZ = 2_130_000_000

/** Two cores in guest mode on an empty EPT, with a recording listener. */
const setup = () => {
  const sim = new Simulation.Simulation(1)
  const bus = new ApicBus(sim, {}, { ipiOneWayNs: 303, ipiPollBoundNs: 10_000 })
  const rec = new Recorder(sim)
  const cores = [0, 1].map((i) => {
    const core = new Core(sim, i, new Tsc(HZ))
    bus.attach(core)
    core.listener = rec
    core.loadEpt(new Ept(sim, i, 1 << 20))
    core.vmEntry()
    return core
  })
  return { sim, bus, rec, cores }
}

describe("Core", () => {
  it("reports a piece of work when it completes, with its tag", () => {
    const { sim, rec, cores } = setup()
    cores[0]!.startWork(Time.us(10), 42)
    expect(cores[0]!.busy).toBe(true)
    sim.run()
    expect(rec.completions).toEqual([{ t: 10_000, core: 0, tag: 42 }])
    expect(cores[0]!.busy).toBe(false)
    expect(cores[0]!.completed).toBe(1)
  })

  it("can be interrupted: preempt returns the ns left and no completion follows", () => {
    const { sim, rec, cores } = setup()
    const c = cores[0]!
    c.startWork(Time.us(10), 1)
    sim.run({ untilNs: 4_000 })
    expect(c.preempt()).toBe(6_000)
    expect(c.preempt()).toBe(-1)
    sim.run()
    expect(rec.completions).toEqual([])
    expect(c.preemptions).toBe(1)
  })

  it("accounts busy and idle time: busy + idle = now", () => {
    const { sim, cores } = setup()
    const c = cores[1]!
    sim.run({ untilNs: 1_000 })
    c.startWork(3_000, 0)
    sim.run({ untilNs: 2_500 })
    expect(c.busyNs()).toBe(1_500)
    sim.run({ untilNs: 10_000 })
    expect(c.busyNs()).toBe(3_000)
    expect(c.idleNs()).toBe(7_000)
    c.startWork(5_000, 0)
    sim.run({ untilNs: 12_000 })
    c.preempt()
    expect(c.busyNs() + c.idleNs()).toBe(12_000)
    expect(c.busyNs()).toBe(5_000)
  })

  it("executes one thing at a time: starting work while busy is refused", () => {
    const { cores } = setup()
    cores[0]!.startWork(100, 0)
    expect(() => cores[0]!.startWork(100, 1)).toThrow(/already running work tagged 0/)
    expect(() => cores[1]!.startWork(-1, 1)).toThrow(/must be an integer number of ns/)
  })

  it("reports work ending at t before a timer expiring at t", () => {
    const { sim, rec, cores } = setup()
    cores[0]!.lapic.armTimer(1_000)
    cores[0]!.startWork(1_000, 7)
    sim.run()
    expect(rec.log).toEqual(["done 0 7 @1000", "irq 0 62 @1000"])
  })

  it("takes a VM exit into root mode, tells the listener by an event, and holds interrupts until VM entry", () => {
    const { sim, rec, cores } = setup()
    const c = cores[0]!
    c.vmExit(VmExitReason.Vmcall, 5)
    expect(c.inVmxRoot).toBe(true)
    expect(rec.exits).toEqual([])
    c.lapic.sendIpiToCore(0, 0x40)
    sim.run()
    expect(rec.exits).toEqual([{ t: 0, core: 0, reason: VmExitReason.Vmcall, qualification: 5 }])
    expect(rec.interrupts).toEqual([])
    expect(c.lapic.pending).toBe(1)
    sim.run({ untilNs: 2_000 })
    c.vmEntry()
    sim.run()
    expect(rec.interrupts).toEqual([{ t: 2_000, core: 0, vector: 0x40 }])
    expect(c.vmExits).toBe(1)
    expect(() => c.vmEntry()).toThrow(/VM entry while already in guest mode/)
  })

  it("reads its own clock: TSC with offset", () => {
    const sim = new Simulation.Simulation(1)
    const c = new Core(sim, 0, new Tsc(HZ, 1_000_000_000))
    expect(c.localNs()).toBe(1_000_000_000)
    expect(c.rdtsc()).toBe(HZ)
  })
})
