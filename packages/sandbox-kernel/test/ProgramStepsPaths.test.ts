/**
 * `ProgramSteps.Steps` through every kernel path a program's iterator meets (review of b93e148):
 * the same system run with each thread's generator as is, and wrapped in a `Steps` (one reused
 * `{ value, done }`, resumed from `Thread.steps`' call site), has the same fingerprint and events.
 * Over `systemArb`'s random systems (migration: `Threads.adopt` hands the same iterator to a new
 * thread record; kills; reboots and recoveries; channels, I/O, look-ahead merges), and a fork/waitpid
 * storm whose parent and children are steps (`Program.fork` calls the child's factory per child).
 * The comparison is sensitive: a broken `Steps` that hands out the previous compute instead of
 * the current one (as a result read after the next `next()` would) differs on some system.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Program, ProgramSteps, System, type Config } from "../src/index.ts"
import { systemArb, toConfig } from "./systemArb.ts"

const MS = 1_000_000
const US = 1_000

/** A generator function's iterator as a `Steps`: the same requests, each step one `next` of the generator. */
class Wrapped extends ProgramSteps.Steps {
  private readonly g: Generator<Program.Request, unknown, unknown>
  constructor(g: Generator<Program.Request, unknown, unknown>) {
    super()
    this.g = g
  }
  protected step(resumed: unknown): Program.Request | undefined {
    const r = this.g.next(resumed)
    return r.done === true ? undefined : r.value
  }
}

/** Broken: of two computes in a row, hands out the first one's again (a stale request, as a result held across `next()` would read). */
class OneLate extends Wrapped {
  private prev: Program.Request | undefined = undefined
  protected override step(resumed: unknown): Program.Request | undefined {
    const req = super.step(resumed)
    const out = this.prev !== undefined && req !== undefined && req.op === Program.Op.Compute && this.prev.op === Program.Op.Compute ? this.prev : req
    this.prev = req
    return out
  }
}

type Wrap = (g: Generator<Program.Request, unknown, unknown>) => Generator<Program.Request, unknown, unknown>
const wrapProgram = (p: Program.Program, wrap: Wrap): Program.Program => (ctx) => wrap(p(ctx))

/** `input` with every thread's program made by `wrap` (forked children's programs are the programs' own business). */
const wrapAll = (input: Config.SystemInput, wrap: Wrap): Config.SystemInput => ({
  ...input,
  sandboxes: (input.sandboxes ?? []).map((sb) => ({
    ...sb,
    ...(sb.threads === undefined ? {} : { threads: sb.threads.map((t) => ({ ...t, program: wrapProgram(t.program as Program.Program, wrap) })) }),
  })),
})

const asSteps: Wrap = (g) => new Wrapped(g)

describe("ProgramSteps through the kernel's paths", () => {
  it("property: any generated system (migration, kills, reboots, channels) runs the same with its programs as steps", () => {
    let migrations = 0, faults = 0
    fc.assert(fc.property(systemArb, (d) => {
      const input = toConfig(d)
      const gen = new System.System(input).run(60 * MS)
      const steps = new System.System(wrapAll(input, asSteps)).run(60 * MS)
      expect(steps.sim.trace.fingerprint()).toBe(gen.sim.trace.fingerprint())
      expect(steps.sim.events).toBe(gen.sim.events)
      migrations += gen.migrations().filter((m) => m.attachNs >= 0).length
      if (d.fault !== null) faults++
    }), { numRuns: 40 })
    // The runs went through the paths of interest.
    expect(migrations).toBeGreaterThan(0)
    expect(faults).toBeGreaterThan(0)
  })

  it("a fork/waitpid loop whose parent and children are steps runs as the generators do", () => {
    const child = (n: number): Program.Program => function* () {
      yield Program.compute(n * 10 * US)
      yield Program.syscall(100)
      yield Program.exit(n % 7)
    }
    const parent = (wrap: Wrap | null): Program.Program => function* () {
      let codes = 0
      for (let i = 1; ; i++) {
        const c = wrap === null ? child(i) : wrapProgram(child(i), wrap)
        const pid = (yield Program.fork(c, { pages: 4 })) as number
        yield Program.compute(20 * US)
        codes += (yield Program.waitpid(pid)) as number
        if (codes < 0) yield Program.exit(1)
      }
    }
    const system = (wrap: Wrap | null): Config.SystemInput => ({
      machine: { cores: 1 },
      sandboxes: [{ threads: [{ name: "p", vcpu: 0, program: wrap === null ? parent(null) : wrapProgram(parent(wrap), wrap) }] }],
    })
    const gen = new System.System(system(null)).run(50 * MS)
    const steps = new System.System(system(asSteps)).run(50 * MS)
    expect(gen.sim.events).toBeGreaterThan(200)
    expect(steps.sandboxes[0]!.kernel.threads.length).toBeGreaterThan(10) // the children's records
    expect(steps.sim.trace.fingerprint()).toBe(gen.sim.trace.fingerprint())
    expect(steps.sim.events).toBe(gen.sim.events)
  })

  it("catches a steps program that hands out a stale request (the broken variant differs on some system)", () => {
    // NOTE: 200 runs, stopping at the first failure. At 40 runs (and shrinking) it missed at 36 of
    // FC_SEEDs 1..500 (7 %, a CI flake); the first differing system came at run 70 at the latest
    // there (mean 16), so a caught variant still costs ~16 runs of two 60 ms systems.
    const r = fc.check(fc.property(systemArb, (d) => {
      const input = toConfig(d)
      const gen = new System.System(input).run(60 * MS)
      const late = new System.System(wrapAll(input, (g) => new OneLate(g))).run(60 * MS)
      return late.sim.trace.fingerprint() === gen.sim.trace.fingerprint()
    }), { numRuns: 200, endOnFailure: true })
    expect(r.failed).toBe(true)
  })
})
