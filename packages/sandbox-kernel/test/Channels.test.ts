/**
 * Channels (spec §D.8): the 2011 mailboxes in the isolation experiment's shape (E4: a sender every
 * 50 ms, receivers polling at 100, 800, 1000 ms see the sequence advance by 2, 16, 20), corruption
 * by a wild write, EPT privacy (F14), the 2015 private channels (polling thread, sleep-and-retry
 * sender, recv), and F20 (mailbox monotonicity; private channels never torn when the type is written
 * last, and a torn read exhibited when it is written first).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Assumptions, Mailbox, PrivateChannel, Program, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"
import { MS, US } from "./support.ts"

const sender = (names: readonly string[]): Program.Program => Program.periodic(function* () {
  for (const n of names) yield Program.send(n, { bytes: 64 })
})
const receiver = (name: string): Program.Program => Program.periodic(function* () {
  yield Program.poll(name)
})

/** The isolation experiment's channels and threads (paper §4.5, spec §E4). */
const isolation = (extra: Partial<Config.SystemInput> = {}): Config.SystemInput => ({
  channels: [
    { kind: "mailbox", name: "1to0", between: [1, 0] },
    { kind: "mailbox", name: "1to2", between: [1, 2] },
    { kind: "mailbox", name: "1to3", between: [1, 3] },
  ],
  sandboxes: [
    { threads: [{ name: "rx", vcpu: 0, program: receiver("1to0"), periodic: { periodNs: 100 * MS, offsetNs: 25 * MS } }] },
    { threads: [{ name: "tx", vcpu: 0, program: sender(["1to0", "1to2", "1to3"]), periodic: { periodNs: 50 * MS } }] },
    { threads: [{ name: "rx", vcpu: 0, program: receiver("1to2"), periodic: { periodNs: 800 * MS, offsetNs: 25 * MS } }] },
    { threads: [{ name: "rx", vcpu: 0, program: receiver("1to3"), periodic: { periodNs: 1000 * MS, offsetNs: 25 * MS } }] },
  ],
  ...extra,
})

const seqsOf = (sys: System.System, channel: string): number[] =>
  (sys.channels.get(channel) as Mailbox.Mailbox).observations.toArray().map((o) => o.seq)

describe("2011 mailboxes", () => {
  it("isolation shape: receivers polling every 100, 800, 1000 ms see the sequence advance by 2, 16, 20", () => {
    const sys = new System.System(isolation()).run(5100 * MS)
    const steps = (l: number[]) => l.slice(1).map((x, i) => x - l[i]!)
    expect(seqsOf(sys, "1to0")[0]).toBe(1)
    expect(new Set(steps(seqsOf(sys, "1to0")))).toEqual(new Set([2]))
    expect(new Set(steps(seqsOf(sys, "1to2")))).toEqual(new Set([16]))
    expect(new Set(steps(seqsOf(sys, "1to3")))).toEqual(new Set([20]))
    expect(seqsOf(sys, "1to0").length).toBe(51)
    // Channel traffic never involves a monitor.
    expect(sys.metrics().sandboxes.map((s) => s.vmExits)).toEqual([0, 0, 0, 0])
  })

  it("a wild write by the receiver's sandbox corrupts only its own channel: 0xFF once, then the sequence resumes; the others' traces are unchanged", () => {
    const clean = new System.System(isolation()).run(1000 * MS)
    const faulty = new System.System(isolation({
      faults: [{ kind: "wildWrite", atNs: 410 * MS, sandbox: 0, writes: [{ channel: "1to0" }, { sandbox: 2, offset: 1 << 20 }, { sandbox: 3, offset: 0 }] }],
    })).run(1000 * MS)
    const seqs = seqsOf(faulty, "1to0")
    expect(seqs).toContain(0xff)
    expect(seqs.filter((s) => s === 0xff).length).toBe(1)
    expect(faulty.faultRecords()[0]!.writes.map((w) => w.ok)).toEqual([true, false, false])
    for (const k of [1, 2, 3]) expect(faulty.fingerprintOf(k)).toBe(clean.fingerprintOf(k))
    expect(faulty.fingerprintOf(0)).not.toBe(clean.fingerprintOf(0))
  })

  it("F14: only the two parties map a channel's page; anyone else's access is an EPT violation", () => {
    let gpa = 0
    const spy: Program.Program = function* () {
      yield Program.sleep(1 * MS)
      yield Program.write(gpa, 1)
      yield Program.read(gpa)
      yield Program.sleep(1e12)
    }
    const sys = new System.System(isolation({ sandboxes: [{}, {}, { threads: [{ name: "spy", vcpu: 0, program: spy }] }, {}] }))
    gpa = (sys.channels.get("1to0") as Mailbox.Mailbox).dataGpa
    sys.run(10 * MS)
    expect(sys.metrics().sandboxes[2]!.eptViolations).toBe(2)
    for (let s = 0; s < 4; s++) {
      const mapped = sys.machine.probe(sys.machine.coresOf(s)[0]!, gpa, 2) >= 0
      expect(mapped).toBe(s === 0 || s === 1)
    }
  })

  it("a program naming a channel its sandbox is not a party of fails the run with the names", () => {
    const sys = new System.System(isolation({ sandboxes: [{}, {}, { threads: [{ name: "x", vcpu: 0, program: function* () { yield Program.send("1to0") } }] }, {}] }))
    expect(() => sys.run(10 * MS)).toThrow(/sandbox 2 thread "x": no channel "1to0"/)
  })

  it("ping-pong through a meta-status mailbox: the copy grows with the size", () => {
    const roundTrip = (bytes: number): number => {
      const rtts: number[] = []
      const ping: Program.Program = function* () {
        let last = 0
        for (let i = 0; i < 20; i++) {
          const t0 = (yield Program.now()) as number
          yield Program.send("pp", { bytes })
          last += 2
          for (;;) {
            const r = (yield Program.poll("pp")) as Program.PollResult
            if (r.seq === last) break
          }
          rtts.push(((yield Program.now()) as number) - t0)
        }
        yield Program.sleep(1e12)
      }
      const pong: Program.Program = function* () {
        for (let answered = 0; answered < 20;) {
          const r = (yield Program.poll("pp")) as Program.PollResult
          if (r.changed && r.seq % 2 === 1) {
            yield Program.send("pp", { bytes })
            answered++
          }
        }
        yield Program.sleep(1e12)
      }
      const mains = [{ budgetNs: 50 * MS, periodNs: 100 * MS }]
      const sys = new System.System({
        machine: { cores: 2 },
        channels: [{ kind: "mailbox", name: "pp", between: [0, 1], bytes: 4096 }],
        sandboxes: [{ vcpus: mains, threads: [{ name: "ping", vcpu: 0, program: ping }] }, { vcpus: mains, threads: [{ name: "pong", vcpu: 0, program: pong }] }],
      })
      sys.run(50 * MS)
      expect(rtts.length).toBe(20)
      return rtts[10]!
    }
    const small = roundTrip(64), large = roundTrip(4096)
    expect(large).toBeGreaterThan(small)
  })
})

describe("busy-polling without an event per poll", () => {
  const pingPong = (spin: boolean, bytes: number) => {
    const rtts: number[] = []
    const wait = function* (): Generator<Program.Request, Program.PollResult, unknown> {
      if (spin) return (yield Program.pollUntilChanged("pp")) as Program.PollResult
      for (;;) {
        const r = (yield Program.poll("pp")) as Program.PollResult
        if (r.changed) return r
      }
    }
    const ping: Program.Program = function* () {
      for (let i = 0; i < 30; i++) {
        const t0 = (yield Program.now()) as number
        yield Program.send("pp", { bytes })
        yield* wait()
        rtts.push(((yield Program.now()) as number) - t0)
      }
      yield Program.sleep(1e12)
    }
    const pong: Program.Program = function* () {
      for (let i = 0; i < 30; i++) {
        yield* wait()
        yield Program.compute(3 * US)
        yield Program.send("pp", { bytes })
        yield* wait() // its own write
      }
      yield Program.sleep(1e12)
    }
    const mains = [{ budgetNs: 50 * MS, periodNs: 100 * MS }]
    const sys = new System.System({
      machine: { cores: 2 },
      channels: [{ kind: "mailbox", name: "pp", between: [0, 1], bytes: 4096 }],
      sandboxes: [{ vcpus: mains, threads: [{ name: "ping", vcpu: 0, program: ping }] }, { vcpus: mains, threads: [{ name: "pong", vcpu: 0, program: pong }] }],
    }).run(20 * MS)
    return { rtts, events: sys.sim.events }
  }

  it("pollUntilChanged gives the same round trips as an explicit poll loop, with far fewer events", () => {
    for (const bytes of [64, 4096]) {
      const loop = pingPong(false, bytes), spin = pingPong(true, bytes)
      expect(spin.rtts.length).toBe(30)
      expect(spin.rtts).toEqual(loop.rtts)
      expect(spin.events * 5).toBeLessThan(loop.events)
    }
  })
})

describe("2015 private channels", () => {
  // Exact costs (Assumptions.baseline): with copy jitter the first send may race the polling thread's first round into a torn read.
  const twoSandboxes = (prog: Program.Program, options: Config.SystemInput["channelOptions"] = {}): System.System =>
    new System.System(Assumptions.baseline({
      machine: { cores: 2, layout: { kind: "2015" } },
      channelOptions: options,
      channels: [{ kind: "private", name: "c", between: [0, 1] }],
      sandboxes: [{ threads: [{ name: "s", vcpu: 0, program: prog }] }, {}],
    }))

  it("the peer's polling thread takes each message within its poll period; a sender finding the half occupied sleeps and retries", () => {
    const results: boolean[] = []
    const times: number[] = []
    const prog: Program.Program = function* () {
      for (let i = 0; i < 3; i++) {
        results.push((yield Program.send("c", { bytes: 100, type: 7 })) as boolean)
        times.push((yield Program.now()) as number)
      }
      yield Program.sleep(1e12)
    }
    const sys = twoSandboxes(prog).run(400 * MS)
    const ch = sys.channels.get("c") as PrivateChannel.PrivateChannel
    expect(results).toEqual([true, true, true])
    expect(ch.received.map((m) => [m.sandbox, m.seq, m.type, m.bytes, m.torn])).toEqual([[1, 1, 7, 100, false], [1, 2, 7, 100, false], [1, 3, 7, 100, false]])
    // The 2nd and 3rd sends each waited for a 50 ms retry.
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(50 * MS)
    expect(times[2]! - times[1]!).toBeGreaterThanOrEqual(50 * MS)
    // The polling thread runs on its own VCPU (10 ms, 1000 ms) in the receiving sandbox.
    expect(sys.sandbox(1).config.vcpus.at(-1)).toMatchObject({ name: "chan-rx", budgetNs: 10 * MS, periodNs: 1000 * MS })
  })

  it("a sender gives up after the configured attempts when nobody empties the half", () => {
    const results: boolean[] = []
    const prog: Program.Program = function* () {
      yield Program.sleep(1 * MS) // after the polling thread's first round at t = 0
      for (let i = 0; i < 2; i++) results.push((yield Program.send("c", { bytes: 8 })) as boolean)
      yield Program.sleep(1e12)
    }
    const sys = new System.System({
      machine: { cores: 2, layout: { kind: "2015" } },
      channelOptions: { sendAttempts: 3, sendRetryNs: 5 * MS, receiverPollNs: 10_000 * MS },
      channels: [{ kind: "private", name: "c", between: [0, 1] }],
      sandboxes: [{ threads: [{ name: "s", vcpu: 0, program: prog }] }, {}],
    }).run(100 * MS)
    expect(results).toEqual([true, false])
    expect((sys.channels.get("c") as PrivateChannel.PrivateChannel).failedSends[0]).toBe(1)
  })

  it("recv returns the messages the polling thread took, then null", () => {
    const got: unknown[] = []
    const rx: Program.Program = function* () {
      yield Program.sleep(120 * MS)
      for (let i = 0; i < 3; i++) got.push((yield Program.recv("c")) as Program.Message | null)
      yield Program.sleep(1e12)
    }
    const tx: Program.Program = function* () {
      yield Program.send("c", { bytes: 10, type: 3 })
      yield Program.sleep(1e12)
    }
    new System.System({
      machine: { cores: 2 },
      channels: [{ kind: "private", name: "c", between: [0, 1] }],
      sandboxes: [{ threads: [{ name: "tx", vcpu: 0, program: tx }] }, { threads: [{ name: "rx", vcpu: 0, program: rx }] }],
    }).run(200 * MS)
    expect(got.length).toBe(3)
    expect(got[0]).toMatchObject({ type: 3, bytes: 10, seq: 1, torn: false })
    expect(got.slice(1)).toEqual([null, null])
  })
})

// ---------------------------------------------------------------------------- F20

interface TornCase {
  readonly bytes: number
  readonly sendEveryUs: number
  readonly pollEveryUs: number
  readonly pollCompute: number
  readonly seed: number
}

const tornArb: fc.Arbitrary<TornCase> = fc.record({
  bytes: fc.integer({ min: 256, max: PrivateChannel.MAX_PAYLOAD }),
  sendEveryUs: fc.integer({ min: 20, max: 400 }),
  pollEveryUs: fc.integer({ min: 1, max: 30 }),
  pollCompute: fc.integer({ min: 0, max: 2000 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** Torn reads seen by a busy-polling receiver of a stream of large messages. */
const tornReads = (c: TornCase, typeBeforePayload: boolean): number => {
  const tx: Program.Program = function* () {
    for (;;) {
      yield Program.send("c", { bytes: c.bytes })
      yield Program.compute(c.sendEveryUs * US)
    }
  }
  const rx: Program.Program = function* () {
    for (;;) {
      yield Program.poll("c")
      yield Program.compute(c.pollEveryUs * US + c.pollCompute)
    }
  }
  const mains = [{ budgetNs: 90 * MS, periodNs: 100 * MS }]
  const sys = new System.System({
    seed: c.seed,
    machine: { cores: 2 },
    channelOptions: { typeBeforePayload, sendRetryNs: 20 * US },
    channels: [{ kind: "private", name: "c", between: [0, 1] }],
    sandboxes: [{ vcpus: mains, threads: [{ name: "tx", vcpu: 0, program: tx }] }, { vcpus: mains, threads: [{ name: "rx", vcpu: 0, program: rx }] }],
  }).run(15 * MS)
  const ch = sys.channels.get("c") as PrivateChannel.PrivateChannel
  if (ch.received.length === 0) throw new Error("no message was received")
  return ch.torn[1]!
}

interface MonoCase {
  readonly sendMs: number
  readonly polls: readonly number[]
  readonly corruptAtMs: number
  readonly budgetMs: number
  readonly seed: number
}

const monoArb: fc.Arbitrary<MonoCase> = fc.record({
  sendMs: fc.integer({ min: 5, max: 60 }),
  polls: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 3 }),
  corruptAtMs: fc.integer({ min: -1, max: 900 }),
  budgetMs: fc.integer({ min: 1, max: 50 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** F20 on mailboxes: per reader, successive statuses (ignoring 0 = empty and 0xFF = corrupted) advance mod 256 by < 128. */
const monotonic = (c: MonoCase): string | null => {
  if (c.polls.some((p) => p / c.sendMs >= 100)) return null // > 127 messages per poll would alias mod 256 by construction
  const n = c.polls.length + 1
  const vcpus = [{ budgetNs: c.budgetMs * MS, periodNs: 50 * MS }]
  const sys = new System.System({
    seed: c.seed,
    machine: { cores: n },
    channels: c.polls.map((_, i) => ({ kind: "mailbox" as const, name: `m${i + 1}`, between: [0, i + 1] as [number, number] })),
    sandboxes: [
      { vcpus, threads: [{ name: "tx", vcpu: 0, program: sender(c.polls.map((_, i) => `m${i + 1}`)), periodic: { periodNs: c.sendMs * MS } }] },
      ...c.polls.map((p, i) => ({ vcpus, threads: [{ name: "rx", vcpu: 0, program: receiver(`m${i + 1}`), periodic: { periodNs: p * MS, offsetNs: 3 * MS } }] })),
    ],
    faults: c.corruptAtMs < 0 ? [] : [{ kind: "wildWrite", atNs: c.corruptAtMs * MS, sandbox: 1, writes: [{ channel: "m1" }] }],
  }).run(1000 * MS)
  for (let i = 0; i < c.polls.length; i++) {
    const seqs = (sys.channels.get(`m${i + 1}`) as Mailbox.Mailbox).observations.toArray().filter((o) => !o.corrupted && o.seq !== 0).map((o) => o.seq)
    for (let j = 1; j < seqs.length; j++) {
      const d = (seqs[j]! - seqs[j - 1]! + 256) % 256
      if (d === 0 || d >= 128) return `reader ${i + 1}: ${seqs[j - 1]} then ${seqs[j]}`
    }
  }
  return null
}

describe("F20 channel reads", () => {
  it("property (mailboxes): a polling receiver never sees the sequence go backwards, corruptions aside", () => {
    fc.assert(fc.property(monoArb, (c) => monotonic(c) === null), { numRuns: 20 })
  })

  it("property (private channels, type written last): a receiver never reads a half-written message", () => {
    fc.assert(fc.property(tornArb, (c) => tornReads(c, false) === 0), { numRuns: 15 })
  })

  it("with the type written first (faithful), fast-check exhibits a torn read", () => {
    const r = fc.check(fc.property(tornArb, (c) => tornReads(c, true) === 0), { numRuns: 90, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(tornReads(r.counterexample![0], true)).toBeGreaterThan(0)
  })
})
