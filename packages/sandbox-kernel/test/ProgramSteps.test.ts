/**
 * Programs written as `ProgramSteps.Steps` (an iterator the kernel resumes from a call site of its
 * own) run exactly as the generator functions they stand for: the same fingerprint and events in a
 * ping-pong over two meta mailboxes (the message-passing protocol), killed at many times or not
 * (a killed thread's program is dropped: `Thread.steps` with it), and the same misuse report when
 * the program throws.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Kernel, Program, ProgramSteps, System, type Config } from "../src/index.ts"
import { pingPongSystem } from "./support.ts"

const MS = 1_000_000

/** One side as a generator function: optionally sends first, then forever: wait for a change of `back`, compute, send on `out`. */
const sideGen = (out: string, back: string, first: boolean, computeNs: number): Program.Program => function* () {
  if (first) yield Program.send(out, { bytes: 4096 })
  for (;;) {
    while (((yield Program.pollUntilChanged(back)) as Program.PollResult).seq < 1) { /* poll again */ }
    yield Program.compute(computeNs)
    yield Program.send(out, { bytes: 4096 })
  }
}

/** The same side as steps. */
class Side extends ProgramSteps.Steps {
  private readonly out: string
  private readonly back: string
  private readonly computeNs: number
  private readonly throwAt: number
  private state: number
  private n = 0
  constructor(out: string, back: string, first: boolean, computeNs: number, throwAt = -1) {
    super()
    this.out = out
    this.back = back
    this.computeNs = computeNs
    this.throwAt = throwAt
    this.state = first ? 0 : 1
  }
  protected step(resumed: unknown): Program.Request | undefined {
    if (++this.n === this.throwAt) throw new Error("broken side")
    if (this.state === 0) {
      this.state = 1
      return Program.send(this.out, { bytes: 4096 })
    }
    if (this.state === 1) {
      this.state = 2
      return Program.pollUntilChanged(this.back)
    }
    if (this.state === 2) {
      if ((resumed as Program.PollResult).seq < 1) return Program.pollUntilChanged(this.back)
      this.state = 3
      return Program.compute(this.computeNs)
    }
    this.state = 1
    return Program.send(this.out, { bytes: 4096 })
  }
}
const sideSteps = (out: string, back: string, first: boolean, computeNs: number, throwAt = -1): Program.Program =>
  () => new Side(out, back, first, computeNs, throwAt)

const pingPong = (steps: boolean, killAtNs: number | null, computeNs: number, throwAt = -1): Config.SystemInput => {
  const side = (out: string, back: string, first: boolean) => steps ? sideSteps(out, back, first, computeNs, throwAt) : sideGen(out, back, first, computeNs)
  return pingPongSystem(side, killAtNs)
}

describe("ProgramSteps", () => {
  it("property: a ping-pong of steps has the generators' fingerprint and events, killed or not", () => {
    fc.assert(fc.property(fc.option(fc.integer({ min: 0, max: 20 * MS }), { nil: null }), fc.integer({ min: 0, max: 50_000 }), (killAt, computeNs) => {
      const gen = new System.System(pingPong(false, killAt, computeNs)).run(20 * MS)
      const steps = new System.System(pingPong(true, killAt, computeNs)).run(20 * MS)
      expect(steps.sim.trace.fingerprint()).toBe(gen.sim.trace.fingerprint())
      expect(steps.sim.events).toBe(gen.sim.events)
      // A killed program is dropped (its thread's `steps` too); a live one is resumed through `steps`.
      const echo = steps.sandboxes[1]!.kernel.threads.find((t) => t.name === "echo")!
      expect("steps" in echo).toBe(true)
      if ("steps" in echo) {
        if (echo.status !== Kernel.ThreadStatus.Exited) expect(echo.steps).toBeInstanceOf(Side)
        else expect(echo.steps).toBeNull()
      }
    }), { numRuns: 12 })
  })

  it("a program that throws is reported as a generator's throw is", () => {
    const run = () => new System.System(pingPong(true, null, 1000, 40)).run(20 * MS)
    expect(run).toThrow(/its program threw: .*broken side/)
  })
})
