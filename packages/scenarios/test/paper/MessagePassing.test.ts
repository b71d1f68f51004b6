/**
 * E3 message passing at scale 0.1 (500 exchanges per size, ≈ 8 s; the paper's 5,000 take ≈ 100 s):
 * every claim holds; each is caught on a broken input (Low given Hi's VCPUs, a run cut short, a copy
 * model that disagrees with the mailbox's charges).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { CostModel, MachineConfig } from "@qvsim/hardware"
import { Mailbox, Program, System } from "@qvsim/sandbox-kernel"
import { runAll, type Run } from "../../src/paper/Experiment.ts"
import { CHUNK, echoProgram, messagePassing, messageSystem, ReplyTimes, senderProgram, SIZES, VCPUS } from "../../src/paper/MessagePassing.ts"

const run = (variant: string, input: ReturnType<ReturnType<typeof messageSystem>>, untilNs: number): Run =>
  ({ variant, system: new System.System(input).run(untilNs) })
const until = (scale: number) => messagePassing.variants[0]!.untilNs(scale)

describe("message-passing (E3)", () => {
  const { result } = runAll(messagePassing, { scale: 0.1 })
  const rows = result.tables[0]!.rows

  it("14 sizes, 64 B to 512 KiB; every claim holds", () => {
    expect(rows.map((r) => r["size B"])).toEqual(SIZES)
    expect(SIZES[13]).toBe(512 * 1024)
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
  })

  it("an uninterrupted 4 KiB chunk costs its copies; Low waits longer than Hi for budget (worst cases)", () => {
    const r4k = rows.find((r) => r["size B"] === 4096)!
    expect(Math.abs((r4k["best cycles"] as number) - (r4k["copy cycles"] as number))).toBeLessThan(100)
    const big = rows[13]!
    expect(big["Low worst µs"] as number).toBeGreaterThan(big["Hi worst µs"] as number)
  })

  it("streaming the reply times (the variants' prepare) gives the same analysis as the mailbox's full log, and keeps only the sender's replies", () => {
    const s = 0.02
    const runs = (streamed: boolean): Run[] => messagePassing.variants.map((v) => {
      const system = new System.System(v.system(1, s))
      if (streamed) v.prepare!(system)
      return { variant: v.name, system: system.run(v.untilNs(s)) }
    })
    const logged = runs(false), streamed = runs(true)
    expect(messagePassing.analyse(streamed)).toEqual(messagePassing.analyse(logged))
    for (const r of streamed) {
      const pong = r.system.channels.get("pong") as Mailbox.Mailbox, ping = r.system.channels.get("ping") as Mailbox.Mailbox
      expect(pong.sink).toBeInstanceOf(ReplyTimes)
      expect(pong.observations.length + ping.observations.length).toBe(0)
    }
    const log = (logged[0]!.system.channels.get("pong") as Mailbox.Mailbox).observations
    const replies = (streamed[0]!.system.channels.get("pong") as Mailbox.Mailbox).sink as ReplyTimes
    const fromLog = log.toArray().filter((o) => o.sandbox === 0 && o.seq >= 1).map((o) => o.atNs)
    expect(replies.length).toBe(fromLog.length)
    expect(Array.from({ length: replies.length }, (_, i) => replies.at(i))).toEqual(fromLog)
    expect(replies.at(replies.length)).toBeUndefined()
  })

  it("the priority claim fails when Low's threads get Hi's VCPUs", () => {
    const s = 0.02
    const runs = [run("hi", messageSystem("hi")(1, s), until(s)), run("low", messageSystem("low", VCPUS.hi)(1, s), until(s))]
    expect(messagePassing.analyse(runs).claims[0]!.holds).toBe(false)
  })

  it("the linearity claims fail on runs cut short", () => {
    const s = 0.02
    const runs = [run("hi", messageSystem("hi")(1, s), 20_000_000), run("low", messageSystem("low")(1, s), 20_000_000)]
    const claims = messagePassing.analyse(runs).claims
    expect([claims[1]!.holds, claims[2]!.holds, claims[3]!.holds]).toEqual([false, false, false])
  })

  it("the constant-overhead claim fails when the copy model disagrees with the mailbox's charges", () => {
    const s = 0.01
    const good = [run("hi", messageSystem("hi")(1, s), until(s)), run("low", messageSystem("low")(1, s), until(s))]
    expect(messagePassing.analyse(good).claims[3]!.holds).toBe(true)
    const costly = { machine: { cores: 2, costs: { remoteLineTransfer: 400 } } }
    const broken = [run("hi", { ...messageSystem("hi")(1, s), ...costly }, until(s)), run("low", { ...messageSystem("low")(1, s), ...costly }, until(s))]
    expect(messagePassing.analyse(broken).claims[3]!.holds).toBe(false)
  })

  describe("the sender's and the echo's steps (iterators, not generators) yield what their generator functions yield", () => {
    // The programs as generator functions over the run's chunks (the warm-up's 64 B, then `iterations` messages of each size).
    function* chunks(iterations: number): Generator<number> {
      yield 64
      for (const size of SIZES) for (let i = 0; i < iterations; i++) for (let left = size; left > 0; left -= CHUNK) yield Math.min(CHUNK, left)
    }
    const extra = (costs: CostModel.CostTable) => ({
      write: (b: number) => costs.copyNs(b) - costs.copyNs(1),
      read: (b: number) => costs.copyNs(b) + Math.ceil(b / 64) * costs.ns.remoteLineTransfer - (costs.copyNs(1) + costs.ns.remoteLineTransfer),
    })
    function* sender(iterations: number, costs: CostModel.CostTable): Generator<Program.Request, void, unknown> {
      const x = extra(costs)
      let read = 0
      for (const c of chunks(iterations)) {
        const w = read + x.write(c)
        if (w > 0) yield Program.compute(w)
        yield Program.send("ping", { bytes: 1 })
        while (((yield Program.pollUntilChanged("pong")) as Program.PollResult).seq < 1) { /* poll again */ }
        read = x.read(c)
      }
      if (read > 0) yield Program.compute(read)
      yield Program.sleep(1e15)
    }
    function* echo(iterations: number, costs: CostModel.CostTable): Generator<Program.Request, void, unknown> {
      const x = extra(costs)
      for (const c of chunks(iterations)) {
        while (((yield Program.pollUntilChanged("ping")) as Program.PollResult).seq < 1) { /* poll again */ }
        const work = x.read(c) + x.write(c)
        if (work > 0) yield Program.compute(work)
        yield Program.send("pong", { bytes: 1 })
      }
      yield Program.sleep(1e15)
    }
    const ctx = {} as Program.ThreadContext
    /** Every request of `it`, resumed as the kernel would: a busy-poll returns `stale[i]` unchanged reads (sequence 0) before the change. */
    const drive = (it: Iterator<Program.Request, unknown, unknown>, stale: readonly number[]): unknown[] => {
      const out: unknown[] = []
      let polls = 0, left = -1
      let resumed: unknown
      for (let r = it.next(); r.done !== true; r = it.next(resumed)) {
        const req = r.value
        out.push({ ...req })
        resumed = true
        if (req.op === Program.Op.PollUntilChanged) {
          if (left < 0) left = stale[polls++ % stale.length]!
          resumed = { seq: left > 0 ? 0 : polls, changed: true, bytes: 1, corrupted: false, torn: false, ok: true }
          left--
        }
      }
      out.push("done")
      return out
    }
    const costsArb = fc.record({ copyPerLine: fc.integer({ min: 8, max: 64 }), remoteLineTransfer: fc.integer({ min: 0, max: 400 }), pollCheck: fc.integer({ min: 1, max: 100 }) })
      .map((c) => { const m = MachineConfig.parse({ cores: 2, costs: c }); return new CostModel.CostTable(m.cpuHz, m.costs) })

    it("the same requests in the same order, at any costs and any number of stale polls (property)", () => {
      fc.assert(fc.property(fc.integer({ min: 2, max: 3 }), costsArb, fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 5 }), (iterations, costs, stale) => {
        expect(drive(senderProgram(iterations, costs)(ctx), stale)).toEqual(drive(sender(iterations, costs), stale))
        expect(drive(echoProgram(iterations, costs)(ctx), stale)).toEqual(drive(echo(iterations, costs), stale))
      }), { numRuns: 25 })
    })
  })
})
