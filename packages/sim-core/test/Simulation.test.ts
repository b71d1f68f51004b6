import { describe, expect, it } from "vitest"
import { EventClass, Simulation, SimulationError } from "../src/Simulation.ts"
import * as Time from "../src/Time.ts"

describe("Simulation", () => {
  it("runs events in (time, class, seq) order and exposes now and events", () => {
    const sim = new Simulation(1)
    const log: string[] = []
    const h = sim.register("log", (a0) => log.push(`${sim.now}:${a0}`))
    sim.at(10, EventClass.Workload, h, 1)
    sim.at(10, EventClass.Device, h, 2)
    sim.at(5, EventClass.Probe, h, 3)
    sim.at(10, EventClass.Device, h, 4)
    expect(sim.run()).toBe("empty")
    expect(log).toEqual(["5:3", "10:2", "10:4", "10:1"])
    expect(sim.events).toBe(4)
    expect(sim.now).toBe(10)
  })

  it("stops at a time limit and leaves the clock there; resumes after", () => {
    const sim = new Simulation(1)
    let n = 0
    const tick = sim.register("tick", () => { n++; sim.after(Time.ms(1), EventClass.Timer, tick) })
    sim.at(0, EventClass.Timer, tick)
    expect(sim.run({ untilNs: Time.ms(10) })).toBe("until")
    expect(n).toBe(11) // t = 0, 1, ..., 10 ms inclusive
    expect(sim.now).toBe(Time.ms(10))
    expect(sim.run({ maxEvents: 3 })).toBe("maxEvents")
    expect(n).toBe(14)
    expect(sim.stopReason).toBe("maxEvents")
  })

  it("stop() ends the run after the current event", () => {
    const sim = new Simulation(1)
    const h = sim.register("h", (a0) => { if (a0 === 2) sim.stop() })
    for (let i = 0; i < 5; i++) sim.at(i, 0, h, i)
    expect(sim.run()).toBe("stopped")
    expect(sim.now).toBe(2)
  })

  it("cancelled events never run", () => {
    const sim = new Simulation(1)
    const ran: number[] = []
    const h = sim.register("h", (a0) => ran.push(a0))
    const a = sim.at(1, 0, h, 1)
    sim.at(2, 0, h, 2)
    expect(sim.cancel(a)).toBe(true)
    expect(sim.isPending(a)).toBe(false)
    sim.run()
    expect(ran).toEqual([2])
  })

  it("refuses to schedule in the past, with time, event and seed in the error", () => {
    const sim = new Simulation(42)
    const bad = sim.register("bad", () => { sim.at(sim.now - 1, 0, bad) })
    sim.at(100, 0, bad)
    let error: unknown
    try { sim.run() } catch (e) { error = e }
    expect(error).toBeInstanceOf(SimulationError)
    const err = error as SimulationError
    expect(err.timeNs).toBe(100)
    expect(err.event).toBe("bad")
    expect(err.seed).toBe(42)
    expect(err.message).toMatch(/at 99ns.*t=100ns.*seed 42/)
  })

  it("refuses a fractional time", () => {
    const sim = new Simulation(1)
    const h = sim.register("h", () => {})
    expect(() => sim.after(0.5, 0, h)).toThrow(/integer/)
  })

  it("named random streams are reproducible by seed", () => {
    const a = new Simulation(9).rng("x").nextU32()
    expect(new Simulation(9).rng("x").nextU32()).toBe(a)
    expect(new Simulation(10).rng("x").nextU32()).not.toBe(a)
  })
})
