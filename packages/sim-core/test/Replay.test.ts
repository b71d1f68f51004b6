import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { describe as describeDiff, firstDifference } from "../src/Diff.ts"
import { ReplaySink } from "../src/Replay.ts"
import { Simulation } from "../src/Simulation.ts"
import { MemorySink, type TraceRecord } from "../src/Trace.ts"

/** A seeded model with random inter-event times and values. */
const model = (seed: number, n: number, sink?: { attach(sim: Simulation): void }): Simulation => {
  const sim = new Simulation(seed)
  const rng = sim.rng("model")
  const k = sim.trace.kind("ev", ["v", "$who"])
  const subj = sim.trace.subject("src")
  sink?.attach(sim)
  let left = n
  const h = sim.register("h", () => {
    sim.trace.emit(k, subj, rng.int(0, 100), sim.trace.symbol(rng.pick(["a", "b"])))
    if (--left > 0) sim.after(rng.int(0, 5), 0, h)
  })
  sim.at(0, 0, h)
  sim.run()
  return sim
}

const recordsOf = (seed: number, n: number): TraceRecord[] => {
  const mem = new MemorySink()
  model(seed, n, { attach: (sim) => sim.trace.attach(mem) })
  return mem.records
}

describe("Diff and Replay", () => {
  it("identical streams have no difference", () => {
    expect(firstDifference(recordsOf(1, 50), recordsOf(1, 50))).toBeNull()
  })

  it("detects any single-record change, at its index, in a diff and in a replay (property)", () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.integer({ min: 1, max: 60 }), fc.nat(), fc.constantFrom("t", "v", "who", "kind", "subject"), (seed, n, which, key) => {
        const stored = recordsOf(seed, n)
        const i = which % stored.length
        const rec = stored[i]!
        const mutated = { ...rec, [key]: typeof rec[key] === "number" ? (rec[key] as number) + 1 : `${rec[key]}x` }
        const edited = stored.map((r, j) => (j === i ? mutated : r))
        const d = firstDifference(edited, recordsOf(seed, n))
        expect(d?.index).toBe(i)
        // Replay: re-run against the edited stored stream.
        let sink!: ReplaySink
        const sim = model(seed, n, { attach: (s) => { sink = new ReplaySink(edited, () => s.stop()); s.trace.attach(sink) } })
        expect(sink.finish()?.index).toBe(i)
        expect(sim.stopReason).toBe("stopped")
      }),
      { numRuns: 200 },
    )
  })

  it("a truncated or extended stored trace is a difference at the first missing record", () => {
    const full = recordsOf(5, 20)
    const short = firstDifference(full.slice(0, 15), full)
    expect(short?.index).toBe(15)
    expect(short?.expected).toBeUndefined()
    let sink!: ReplaySink
    model(5, 20, { attach: (s) => { sink = new ReplaySink([...full, full[0]!], () => s.stop()); s.trace.attach(sink) } })
    expect(sink.finish()?.index).toBe(20)
    expect(describeDiff(short!)).toMatch(/first difference at record 15 .*expected \(end of trace\)/)
  })

  it("the replay check catches a model that is not deterministic (broken variant)", () => {
    let calls = 0
    const flaky = (seed: number): TraceRecord[] => recordsOf(seed + (calls++ % 2), 10)
    const result = fc.check(fc.property(fc.nat(100), (seed) => firstDifference(flaky(seed), flaky(seed)) === null), { numRuns: 300, endOnFailure: true })
    expect(result.failed).toBe(true)
  })
})
