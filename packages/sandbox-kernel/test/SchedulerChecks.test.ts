/**
 * The scheduling invariants in the full system (`kernel.checkInvariants`): they hold at every
 * decision of every core's scheduler over random whole systems (see `systemArb.ts` for the domain),
 * checking changes nothing in a run, and a deliberately broken scheduler inside the system is
 * caught with the time, sandbox, core, VCPU and seed.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Simulation } from "@qvsim/sim-core"
import { PcpuScheduler } from "@qvsim/vcpu-sched"
import { System } from "../src/index.ts"
import { systemArb, toConfig, type SystemDesc } from "./systemArb.ts"

const MS = 1_000_000
const UNTIL = 200 * MS

/** Runs a generated system with checking on; the violation's message, or null. */
const run = (d: SystemDesc, hooks: System.SystemHooks = {}): string | null => {
  try {
    new System.System(toConfig(d, { kernel: { checkInvariants: true } }), hooks).run(UNTIL)
    return null
  } catch (e) {
    if (e instanceof Simulation.SimulationError) return e.message
    throw e
  }
}

/** S2 broken: the first runnable VCPU with budget wins, whatever its period. */
class IgnoresPriority extends PcpuScheduler.PcpuScheduler {
  protected override select(): number {
    const nowNs = this.invocationNs()
    for (const v of this.runnableList()) {
      const vcpu = this.vcpus[v]!
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) return v
    }
    return -1
  }
}

/** S4 broken: an idle PCPU programs no timer. */
class NoIdleTimer extends PcpuScheduler.PcpuScheduler {
  override invoke(nowNs: number): PcpuScheduler.Decision {
    const d = super.invoke(nowNs)
    if (d.vcpu < 0) d.timerAtNs = Infinity
    return d
  }
}

describe("scheduler invariants in the full system", { timeout: 120_000 }, () => {
  it("hold at every decision of random whole systems (compute, sleep, I/O, channels, NIC, faults and recovery, migration)", () => {
    fc.assert(fc.property(systemArb, (d) => {
      const m = run(d)
      if (m !== null) throw new Error(m)
    }), { numRuns: 40 })
  })

  it("regression (FC_SEED=1600997541, seed campaign): a wait beyond the LAPIC's 32-bit count is armed in steps, not refused", () => {
    // The 1 µs-per-32 ms VCPU overruns by up to the 300 µs enforcement latency and pays it back
    // ~300 periods later: the scheduler's next timer is 9.6 s away, 2^32 ticks of 1 ns are 4.29 s.
    const found: SystemDesc = JSON.parse(`{"seed":0,"twoCores":false,"offsetsNs":[0,0,0,0],"driftsPpm":[0,0,0,0],"lapic":{"timerTickNs":1,"timerLatencyNs":0},"virtualization":"questv","scheduler":{"maxRepl":32,"splitAdvancesHead":false,"enforcementLatencyNs":300000,"schedOverheadNs":0,"maxTimerIntervalNs":null,"quantumNs":1000000,"rearmOnBudgetlessWakeup":false,"ties":"rotate","ssPolicy":"quest","ioBackground":"belowAll"},"kernel":{"sleepWakeup":"timerInterrupt","timerIrqCycles":0},"sandboxes":[{"defaults":true,"mains":[{"budgetNs":1000,"periodNs":2000000}],"ios":[],"threads":[]},{"defaults":true,"mains":[{"budgetNs":1000,"periodNs":2000000}],"ios":[],"threads":[]},{"defaults":false,"mains":[{"budgetNs":1000,"periodNs":32000000}],"ios":[],"threads":[{"vcpu":0,"startNs":0,"periodic":{"periodNs":5000000,"lo":293083,"hi":293091},"steps":[{"send":0}]}]}],"channels":[],"ping":{"target":1,"intervalNs":1000000},"fault":null,"migration":null}`)
    found.scheduler["maxTimerIntervalNs"] = Infinity
    expect(run(found)).toBeNull()
    // Over 10 s the core's timer expires early once per 2^32 ns and the scheduler re-arms.
    const sys = new System.System(toConfig(found, { kernel: { checkInvariants: true } })).run(10_000 * MS)
    expect(sys.sim.now).toBe(10_000 * MS)
  })

  it("checking changes nothing: the same fingerprint with checks on and off", () => {
    fc.assert(fc.property(systemArb, (d) => {
      const off = new System.System(toConfig(d)).run(50 * MS)
      const on = new System.System(toConfig(d, { kernel: { checkInvariants: true } })).run(50 * MS)
      expect(on.sim.trace.fingerprint()).toBe(off.sim.trace.fingerprint())
      expect(on.sim.events).toBe(off.sim.events)
    }), { numRuns: 15 })
  })

  it("catch a scheduler that ignores priority, naming time, sandbox, core, VCPU and seed", () => {
    const r = fc.check(fc.property(systemArb, (d) => run(d, { makeScheduler: () => new IgnoresPriority(toConfig(d).scheduler as never) }) === null), { numRuns: 120, endOnFailure: true })
    expect(r.failed).toBe(true)
    const m = run(r.counterexample![0], { makeScheduler: () => new IgnoresPriority(toConfig(r.counterexample![0]).scheduler as never) })
    expect(m).toMatch(/^sandbox \d+ core \d+ VCPU \d+ "[^"]+": F2: VCPU \d+ .* S2 \(ties: (rotate|declaration)(, edf)?\) selects VCPU \d+ .*\(at t=\d+ns, event .*, seed \d+\)$/)
  })

  it("catch an idle core that programs no timer (F10, with the core's held time allowed for)", () => {
    const timed = systemArb.filter((d) => d.scheduler["maxTimerIntervalNs"] !== Infinity)
    const r = fc.check(fc.property(timed, (d) => run(d, { makeScheduler: () => new NoIdleTimer(toConfig(d).scheduler as never) }) === null), { numRuns: 120, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(run(r.counterexample![0], { makeScheduler: () => new NoIdleTimer(toConfig(r.counterexample![0]).scheduler as never) })).toMatch(/F10: the scheduler ran at \d+ns/)
  })
})
