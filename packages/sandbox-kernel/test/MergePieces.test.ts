/**
 * Merged CPU pieces (kernel option `mergePieces`, issue 15): a thread's consecutive CPU pieces run
 * as one event where no event can come between them (a poll's copy and the next compute; a
 * busy-poll's first check and its spin). It is a shortcut of the simulation, not of the model:
 * every record keeps its time, so a run's fingerprint is the same with it on and off — over random
 * whole systems (compute, syscalls, sends and polls, I/O, faults with killed threads, recovery,
 * migration), and in a ping-pong killed at many times — with fewer events.
 *
 * (A kill that is queued before a piece starts prevents its merge: the look-ahead merges only when
 * no event is queued before the piece's end. `Dispatch.endAtBoundary` covers a kill scheduled after
 * the merge within the same instant: no run here reaches it (removing it changes none of them).)
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Program, System, type Config } from "../src/index.ts"
import { systemArb, toConfig } from "./systemArb.ts"
import { pingPongSystem } from "./support.ts"

const MS = 1_000_000

const run = (input: Config.SystemInput, merge: boolean, untilNs: number): System.System =>
  new System.System({ ...input, kernel: { ...input.kernel, mergePieces: merge } }).run(untilNs)

/** A ping-pong over two meta mailboxes (the message-passing protocol), each side computing after each reply. */
const pingPong = (killAtNs: number | null, readComputeNs: number): Config.SystemInput => {
  const awaitChange = function* (channel: string): Generator<Program.Request, void, Program.PollResult> {
    const req = Program.pollUntilChanged(channel)
    for (;;) if ((yield req).seq >= 1) return
  }
  const side = (out: string, back: string, first: boolean): Program.Program => function* () {
    if (first) yield Program.send(out, { bytes: 4096 })
    for (;;) {
      yield* awaitChange(back)
      yield Program.compute(readComputeNs)
      yield Program.send(out, { bytes: 4096 })
    }
  }
  return pingPongSystem(side, killAtNs)
}

describe("merged CPU pieces", { timeout: 120_000 }, () => {
  it("property: the same fingerprint with merging on and off, never more events", () => {
    let merged = 0, runs = 0
    fc.assert(fc.property(systemArb, (d) => {
      const on = run(toConfig(d), true, 60 * MS)
      const off = run(toConfig(d), false, 60 * MS)
      expect(on.sim.trace.fingerprint()).toBe(off.sim.trace.fingerprint())
      expect(on.sim.events).toBeLessThanOrEqual(off.sim.events)
      runs++
      if (on.sim.events < off.sim.events) merged++
    }), { numRuns: 60 })
    // The domain exercises the merging: about a quarter of its systems have fewer events with it.
    expect(merged).toBeGreaterThanOrEqual(runs / 10)
  })

  it("a ping-pong: the same records with about 40 % fewer events", () => {
    const on = run(pingPong(null, 300), true, 20 * MS)
    const off = run(pingPong(null, 300), false, 20 * MS)
    expect(on.sim.trace.fingerprint()).toBe(off.sim.trace.fingerprint())
    const sent = (on.channels.get("pong") as { sent: number[] }).sent[1]!
    expect(sent).toBeGreaterThan(1000)
    expect(on.sim.events).toBeLessThan(0.7 * off.sim.events)
  })

  it("a program's own state at the end of a run is as without merging (no step past the run's time limit)", () => {
    // A program that counts its computes in a variable: read after the run, the count must be the
    // computes that finished by then (the look-ahead must not step the program past the limit).
    const counted = (merge: boolean, untilNs: number): number => {
      let done = 0
      const program: Program.Program = function* () {
        for (;;) {
          yield Program.compute(10_000)
          done++
        }
      }
      run({ machine: { cores: 1 }, sandboxes: [{ vcpus: [{ name: "v", budgetNs: 50 * MS, periodNs: 100 * MS }], threads: [{ name: "t", vcpu: "v", program }] }] }, merge, untilNs)
      return done
    }
    for (const until of [1 * MS, 1 * MS + 5_000, 7 * MS + 123]) expect(counted(true, until), `until ${until}`).toBe(counted(false, until))
  })

  it("a thread killed at 40 times around its pieces exits where it would without merging", () => {
    for (let i = 0; i < 40; i++) {
      const at = 2 * MS + i * 137
      const on = run(pingPong(at, 50), true, 3 * MS)
      const off = run(pingPong(at, 50), false, 3 * MS)
      expect(on.sim.trace.fingerprint(), `kill at ${at} ns`).toBe(off.sim.trace.fingerprint())
    }
  })
})
