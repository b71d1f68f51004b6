/**
 * E3 message passing at scale 0.1 (500 exchanges per size, ≈ 8 s; the paper's 5,000 take ≈ 100 s):
 * every claim holds; each is caught on a broken input (Low given Hi's VCPUs, a run cut short, a copy
 * model that disagrees with the mailbox's charges).
 */
import { describe, expect, it } from "vitest"
import { Mailbox, System } from "@qvsim/sandbox-kernel"
import { runAll, type Run } from "../../src/paper/Experiment.ts"
import { messagePassing, messageSystem, ReplyTimes, SIZES, VCPUS } from "../../src/paper/MessagePassing.ts"

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
})
