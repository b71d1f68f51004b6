/**
 * Fault recovery (spec §D.9): Table 1's phases recorded with their cycles for local and remote
 * recovery, detection by EPT violation or explicit trigger, the remote target taking the service
 * over (I/O APIC re-targeted, master role, the failed sandbox's IP), the reboot baseline; F21
 * (outage ≥ the sum of the phases, equal when the recovering sandbox is otherwise idle) caught on a
 * recovery that skips a phase's time; F19 with recovery (sandboxes sharing nothing with the failed
 * one keep their traces); F20's mailbox part caught on a channel re-initialisation that resets the
 * writer's sequence.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Ept, type Machine } from "@qvsim/hardware"
import { Mailbox, Program, Recovery, System } from "../src/index.ts"
import type { Config, Options } from "../src/index.ts"
import { MS, US, configOf, sandboxArb, type SandboxDesc } from "./support.ts"

const TABLE1_LOCAL = [["vmExit", 707], ["driverSwitch", 12_427], ["vmEntry", 823], ["driverReinit", 134_244_605], ["networkReinit", 68_750_060]]
const TABLE1_REMOTE = [["vmExit", 707], ["ipiRoundTrip", 1_291], ["vmEntry", 823], ["driverReinit", 134_244_605], ["networkReinit", 68_750_060]]

/** A sandbox whose first Main VCPU has its whole period as budget (so guest phases are never budget-limited). */
const roomy = { vcpus: [{ budgetNs: 100 * MS, periodNs: 100 * MS }, { budgetNs: 20 * MS, periodNs: 100 * MS }, { kind: "io" as const, budgetNs: 1 * MS, periodNs: 10 * MS, device: "net" as const }] }

const outageOf = (r: Recovery.RecoveryRecord): number => r.endNs - r.phases[0]!.startNs
/** The phases' durations in this run (their cycles varied by recovery.phaseJitter); `sys` kept for the call sites. */
const sumNs = (_sys: System.System, r: Recovery.RecoveryRecord): number => r.phases.reduce((a, p) => a + p.ns, 0)

describe("Table 1 phases", () => {
  for (const [mode, table] of [["local", TABLE1_LOCAL], ["remote", TABLE1_REMOTE]] as const) {
    it(`${mode} recovery records the paper's phases and cycles; idle, the outage is their sum`, () => {
      const sys = new System.System({
        sandboxes: [roomy, roomy, roomy, roomy],
        faults: [{ kind: "trigger", atNs: 10 * MS, sandbox: 0, recovery: mode }],
      }).run(500 * MS)
      const r = sys.recoveries()[0]!
      expect(r.phases.map((p) => [p.phase, p.cycles])).toEqual(table)
      expect(r.phases.reduce((a, p) => a + p.cycles, 0)).toBe(mode === "local" ? 203_008_622 : 202_997_486)
      expect(r.phases.map((p) => p.sandbox)).toEqual(mode === "local" ? [0, 0, 0, 0, 0] : [0, 0, 1, 1, 1])
      expect(outageOf(r)).toBe(sumNs(sys, r))
      expect(r.detectedNs).toBe(10 * MS)
      // Each phase lasts its cycles' ns ± recovery.phaseJitter (5 %): ≈ 95.3 ms at 2.13 GHz in all.
      for (const p of r.phases) expect(Math.abs(p.ns - sys.machine.costs.toNs(p.cycles))).toBeLessThanOrEqual(Math.floor(0.05 * sys.machine.costs.toNs(p.cycles)))
      expect(Math.abs(outageOf(r) - 95.3e6)).toBeLessThan(0.05 * 95.3e6)
    })
  }

  it("recovery times have a distribution: the outage varies with the seed (recovery.phaseJitter); without it, Table 1's sum exactly", () => {
    const outage = (seed: number, input: Config.SystemInput = {}) => {
      const sys = new System.System({ seed, ...input, sandboxes: [roomy, roomy, roomy, roomy], faults: [{ kind: "trigger", atNs: 10 * MS, sandbox: 0, recovery: "local" }] }).run(500 * MS)
      return outageOf(sys.recoveries()[0]!)
    }
    const seeds = [1, 2, 3, 4, 5, 6].map((s) => outage(s))
    expect(new Set(seeds).size).toBe(6)
    const exact = new System.System({}).machine.costs.toNs(203_008_622)
    for (const o of seeds) expect(Math.abs(o - exact)).toBeLessThan(0.05 * exact)
    // Within rounding of each phase's ns: Table 1's 203,008,622 cycles.
    expect(Math.abs(outage(1, { recovery: { phaseJitter: 0 } }) - exact)).toBeLessThanOrEqual(3)
  })

  it("on a budget-limited recovery VCPU (20 ms per 100 ms) the guest phases queue behind the budget", () => {
    const sys = new System.System({ faults: [{ kind: "trigger", atNs: 10 * MS, sandbox: 0, recovery: "local" }] }).run(800 * MS)
    const r = sys.recoveries()[0]!
    expect(outageOf(r)).toBeGreaterThan(4 * sumNs(sys, r))
  })

  it("phase lists and cycles come from configuration; bad lists are refused naming the option", () => {
    const sys = new System.System({
      sandboxes: [roomy, roomy, roomy, roomy],
      recovery: { local: ["vmExit", "vmEntry", { phase: "driverReinit", cycles: 1000 }, "channelReinit"] },
      faults: [{ kind: "trigger", atNs: 1 * MS, sandbox: 2, recovery: "local" }],
    }).run(100 * MS)
    expect(sys.recoveries()[0]!.phases.map((p) => [p.phase, p.cycles])).toEqual([["vmExit", 707], ["vmEntry", 823], ["driverReinit", 1000], ["channelReinit", 100_000]])
    expect(() => new System.System({ recovery: { local: ["vmExit", "driverReinit"] } })).toThrow(/recovery\.local: needs exactly one vmEntry/)
    expect(() => new System.System({ recovery: { remote: ["vmExit", "driverSwitch", "ipiRoundTrip", "vmEntry"] } })).toThrow(/recovery\.remote: driverSwitch is a local-recovery phase/)
    expect(() => new System.System({ faults: [{ kind: "trigger", atNs: 0, sandbox: 0, recovery: "remote", target: 0 }] })).toThrow(/faults\.0\.target: .* another sandbox/)
  })
})

describe("faults detected and services recovered", () => {
  it("a corrupted driver's wild write into another sandbox traps; local recovery starts at once and the remaining writes are abandoned", () => {
    const sys = new System.System({
      sandboxes: [roomy, {}, {}, {}],
      hosts: [{ kind: "ping", name: "p", target: 0, intervalNs: 20 * MS, count: 25 }],
      faults: [{ kind: "corruptDriver", atNs: 101 * MS, sandbox: 0, detection: "eptViolation", recovery: "local", writes: [{ sandbox: 0, offset: 1 << 20 }, { sandbox: 2, offset: 0 }, { sandbox: 3, offset: 0 }] }],
    }).run(600 * MS)
    const f = sys.faultRecords()[0]!
    expect(f.writes.map((w) => w.ok)).toEqual([true, false])
    const r = sys.recoveries()[0]!
    expect(r.detectedNs).toBe(f.writes[1]!.atNs)
    const h = sys.metrics().hosts[0]!
    // Requests during the outage (≈ 95 ms, a request every 20 ms) go unanswered; the service comes back.
    expect(h.received).toBeGreaterThanOrEqual(25 - 6)
    expect(h.received).toBeLessThan(25)
    expect(sys.metrics().net[0]!.echoReplies).toBe(h.received)
  })

  it("remote recovery: the target answers for the failed sandbox's IP, becomes master, and the I/O APIC no longer interrupts the failed sandbox", () => {
    const sys = new System.System({
      sandboxes: [{}, roomy, {}, {}],
      hosts: [{ kind: "ping", name: "p", target: 0, intervalNs: 10 * MS, count: 60 }],
      faults: [{ kind: "corruptDriver", afterReplies: { host: "p", replies: 10 }, sandbox: 0, detection: "trigger", detectAfterNs: 2 * MS, recovery: "remote", target: 1 }],
    }).run(800 * MS)
    const m = sys.metrics()
    expect(m.nic.master).toBe(1)
    expect(m.net[0]!.echoReplies).toBe(10)
    expect(m.net[1]!.echoReplies).toBe(m.hosts[0]!.received - 10)
    expect(m.hosts[0]!.received).toBeGreaterThan(40)
    const mask = sys.machine.ioapic.destinationMask(sys.machine.nic.irqLine)
    expect(sys.machine.apicBus.coresIn(mask)).toEqual([1, 2, 3])
    expect(sys.stacks[1]!.ips.length).toBe(2)
  })

  it("the reboot baseline takes every sandbox's service down for the reboot time", () => {
    const sys = new System.System({
      recovery: { rebootNs: 300 * MS },
      hosts: [{ kind: "ping", name: "a", target: 0, intervalNs: 10 * MS, count: 80 }, { kind: "ping", name: "b", target: 3, intervalNs: 10 * MS, count: 80 }],
      faults: [{ kind: "trigger", atNs: 100 * MS, sandbox: 0, recovery: "reboot" }],
    }).run(900 * MS)
    const r = sys.recoveries()[0]!
    expect(outageOf(r)).toBe(300 * MS)
    for (const h of sys.metrics().hosts) {
      expect(h.received).toBeLessThanOrEqual(80 - 29)
      expect(h.received).toBeGreaterThan(80 - 33)
    }
  })
})

// ---------------------------------------------------------------------------- F21

interface F21Case {
  readonly n: number
  readonly s: number
  readonly mode: "local" | "remote" | "reboot"
  readonly local: readonly Options.PhaseInput[]
  readonly remote: readonly Options.PhaseInput[]
  readonly atMs: number
  readonly busy: readonly SandboxDesc[] | null
  readonly seed: number
}

const cyclesArb = fc.integer({ min: 1000, max: 40_000_000 })
const guestArb = fc.subarray(["driverReinit", "networkReinit", "channelReinit"] as const).chain((names) =>
  fc.tuple(...names.map((n) => cyclesArb.map((cycles) => ({ phase: n, cycles })))),
)
const localArb = fc.record({ exit: fc.boolean(), sw: fc.boolean(), entry: cyclesArb, guest: guestArb }).map((x): Options.PhaseInput[] => [
  ...(x.exit ? ["vmExit" as const] : []), ...(x.sw ? ["driverSwitch" as const] : []), { phase: "vmEntry", cycles: x.entry }, ...x.guest,
])
const remoteArb = fc.record({ ipi: fc.integer({ min: 1291, max: 50_000 }), entry: cyclesArb, guest: guestArb }).map((x): Options.PhaseInput[] => [
  "vmExit", { phase: "ipiRoundTrip", cycles: x.ipi }, { phase: "vmEntry", cycles: x.entry }, ...x.guest,
])

const f21Arb: fc.Arbitrary<F21Case> = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    s: fc.integer({ min: 0, max: n - 1 }),
    mode: fc.constantFrom("local" as const, "remote" as const, "reboot" as const),
    local: localArb,
    remote: remoteArb,
    atMs: fc.integer({ min: 1, max: 50 }),
    busy: fc.option(fc.array(sandboxArb, { minLength: n, maxLength: n }), { nil: null }),
    seed: fc.integer({ min: 0, max: 1e6 }),
  }),
)

/** F21 on one case: null, or how it failed. */
const f21 = (c: F21Case, hooks: System.SystemHooks = {}): string | null => {
  const base = c.busy === null ? null : configOf({ seed: c.seed, sandboxes: c.busy })
  const cfg: Config.SystemInput = {
    seed: c.seed,
    machine: { cores: c.n },
    recovery: { local: [...c.local], remote: [...c.remote], rebootNs: 40 * MS, vcpu: 0 },
    // Idle: every sandbox has a full-budget first VCPU and nothing else to do. Busy: random workloads and pings.
    sandboxes: base === null ? Array.from({ length: c.n }, () => roomy) : base.sandboxes,
    hosts: base === null ? [] : [{ kind: "ping", target: c.s, intervalNs: 700 * US }],
    faults: [{ kind: "trigger", atNs: c.atMs * MS, sandbox: c.s, recovery: c.mode }],
  }
  const sys = new System.System(cfg, hooks).run((c.atMs + 400) * MS)
  const r = sys.recoveries()[0]
  if (r === undefined || r.endNs < 0) return null // still in progress at the horizon: nothing to check
  const expected = c.mode === "reboot" ? 40 * MS : sumNs(sys, r)
  const out = outageOf(r)
  if (out < expected) return `outage ${out} ns < phase sum ${expected} ns`
  if (c.busy === null && out !== expected) return `idle, yet outage ${out} ns ≠ phase sum ${expected} ns`
  return null
}

/** A recovery that skips the time of its driver re-initialisation (a broken variant). */
class HastyRecovery extends Recovery.Recovery {
  override phaseNs(phase: Recovery.Phase, ns: number): number {
    return phase.phase === "driverReinit" || phase.phase === "vmEntry" ? 0 : ns
  }
}

describe("F21 recovery accounting", () => {
  it("property: outage ≥ the sum of the configured phases, equal when the recovering sandbox is otherwise idle", () => {
    fc.assert(fc.property(f21Arb, (c) => f21(c) === null), { numRuns: 30 })
  })

  it("the property catches a recovery that skips a phase's time", () => {
    const hooks: System.SystemHooks = { recoveryClass: HastyRecovery }
    const r = fc.check(fc.property(f21Arb, (c) => f21(c, hooks) === null), { numRuns: 90, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f21(r.counterexample![0], hooks)).toMatch(/outage/)
  })
})

// ---------------------------------------------------------------------------- F19 with recovery

interface F19RCase {
  readonly sandboxes: readonly SandboxDesc[]
  readonly sharers: readonly number[]
  readonly s: number
  readonly mode: "local" | "remote"
  readonly channelPeer: number
  readonly atMs: number
  readonly seed: number
}

const f19rArb: fc.Arbitrary<F19RCase> = fc
  .record({ sandboxes: fc.array(sandboxArb, { minLength: 4, maxLength: 4 }), sharers: fc.subarray([0, 1, 2, 3], { minLength: 2 }), seed: fc.integer({ min: 0, max: 1e6 }) })
  .chain((x) =>
    fc.record({
      sandboxes: fc.constant(x.sandboxes),
      sharers: fc.constant(x.sharers),
      seed: fc.constant(x.seed),
      s: fc.constantFrom(...x.sharers),
      mode: fc.constantFrom("local" as const, "remote" as const),
      channelPeer: fc.integer({ min: 0, max: 3 }),
      atMs: fc.integer({ min: 5, max: 60 }),
    }),
  )

const victim = Program.periodic(function* (ctx) {
  const v = (yield Program.read(ctx.dataBase)) as number
  yield Program.compute(v === 0 ? 1 * MS : 3 * MS)
})

const f19rConfig = (c: F19RCase, faulty: boolean): Config.SystemInput => {
  const base = configOf({ seed: c.seed, sandboxes: c.sandboxes })
  const peer = c.channelPeer === c.s ? (c.s + 1) % 4 : c.channelPeer
  const target = c.sharers.find((x) => x !== c.s)!
  return {
    ...base,
    nic: { sharers: [...c.sharers] },
    recovery: { local: ["vmExit", "driverSwitch", "vmEntry", "driverReinit", "networkReinit", "channelReinit"] },
    channels: [{ kind: "mailbox", name: "m", between: [c.s, peer] }],
    sandboxes: base.sandboxes!.map((sb) => ({ ...sb, threads: [...(sb.threads ?? []), { name: "victim", vcpu: 0, program: victim, periodic: { periodNs: 25 * MS } }] })),
    hosts: c.sharers.map((x) => ({ kind: "ping" as const, target: x, intervalNs: 4 * MS })),
    faults: faulty
      ? [{
        kind: "corruptDriver" as const, atNs: c.atMs * MS, sandbox: c.s, detection: "eptViolation" as const, recovery: c.mode,
        ...(c.mode === "remote" ? { target } : {}),
        writes: [{ channel: "m" }, ...[0, 1, 2, 3].map((k) => ({ sandbox: k, offset: 1 << 20 }))],
      }]
      : [],
  }
}

/** Sandboxes that share nothing with the failed one: not a NIC sharer, not its channel peer, not the recovery target. */
const unaffected = (c: F19RCase): number[] => {
  const peer = c.channelPeer === c.s ? (c.s + 1) % 4 : c.channelPeer
  return [0, 1, 2, 3].filter((k) => k !== c.s && !c.sharers.includes(k) && k !== peer)
}

const f19r = (c: F19RCase, hooks: System.SystemHooks = {}): string | null => {
  const clean = new System.System(f19rConfig(c, false), hooks).run(200 * MS)
  const faulty = new System.System(f19rConfig(c, true), hooks).run(200 * MS)
  for (const k of unaffected(c)) if (clean.fingerprintOf(k) !== faulty.fingerprintOf(k)) return `sandbox ${k}'s trace changed`
  return null
}

class LeakyEpt extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    if (f >= 0 || need !== Ept.Access.Write) return f
    return this.guard.overlaps(gpn, 1) ? -1 : gpn
  }
}

describe("F19 with recovery", () => {
  it("property: a driver fault and its local or remote recovery leave the sandboxes that share nothing with it unchanged", () => {
    fc.assert(fc.property(f19rArb, (c) => f19r(c) === null), { numRuns: 20 })
  })

  it("example: the detection really starts a recovery (the wild write into another sandbox traps)", () => {
    const c: F19RCase = { sandboxes: [0, 1, 2, 3].map(() => ({ mains: [{ budgetNs: 20 * MS, periodNs: 100 * MS }], ios: 1, threads: [] })), sharers: [0, 1], s: 0, mode: "remote", channelPeer: 1, atMs: 20, seed: 1 }
    const sys = new System.System(f19rConfig(c, true)).run(200 * MS)
    expect(sys.recoveries().map((r) => [r.mode, r.source, r.target])).toEqual([["remote", 0, 1]])
  })

  it("the property catches an EPT that lets the corrupted driver's wild writes through", () => {
    const hooks: System.SystemHooks = { makeEpt: (s: number, m: Machine.Machine) => new LeakyEpt(m.sim, s, m.memory.frames, m.layout) }
    // The first counterexample is enough (62 % of cases are one: 93 of 150 sampled); shrinking one
    // took over the test's 60 s under some seeds (seed campaign 20261206, seed 1122248506).
    const r = fc.check(fc.property(f19rArb, (c) => unaffected(c).length === 0 || f19r(c, hooks) === null), { numRuns: 120, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f19r(r.counterexample![0], hooks)).toMatch(/trace changed/)
  })
})

// ---------------------------------------------------------------------------- F20 (mailboxes) with channel recovery

/** A mailbox whose re-initialisation also restarts its writers' sequence numbers (a broken variant). */
class ForgetfulMailbox extends Mailbox.Mailbox {
  override reinitialise(...a: Parameters<Mailbox.Mailbox["reinitialise"]>): boolean {
    this.nextSeq.fill(1)
    return super.reinitialise(...a)
  }
}

const monoAcrossRecovery = (c: { sendMs: number; pollMs: number; atMs: number; seed: number }, hooks: System.SystemHooks = {}): string | null => {
  const tx = Program.periodic(function* () { yield Program.send("m", { bytes: 64 }) })
  const rx = Program.periodic(function* () { yield Program.poll("m") })
  const sys = new System.System({
    seed: c.seed,
    machine: { cores: 2 },
    recovery: { local: ["vmExit", "vmEntry", { phase: "channelReinit", cycles: 10_000 }] },
    channels: [{ kind: "mailbox", name: "m", between: [1, 0] }],
    sandboxes: [
      { threads: [{ name: "rx", vcpu: 0, program: rx, periodic: { periodNs: c.pollMs * MS, offsetNs: 2 * MS } }] },
      { threads: [{ name: "tx", vcpu: 0, program: tx, periodic: { periodNs: c.sendMs * MS } }] },
    ],
    faults: [{ kind: "wildWrite", atNs: c.atMs * MS, sandbox: 0, writes: [{ channel: "m" }, { sandbox: 1, offset: 0 }], recovery: "local" }],
  }, hooks).run(800 * MS)
  const seqs = (sys.channels.get("m") as Mailbox.Mailbox).observations.toArray().filter((o) => !o.corrupted && o.seq !== 0).map((o) => o.seq)
  for (let j = 1; j < seqs.length; j++) {
    const d = (seqs[j]! - seqs[j - 1]! + 256) % 256
    if (d === 0 || d >= 128) return `${seqs[j - 1]} then ${seqs[j]}`
  }
  return null
}

const monoArb = fc.record({ sendMs: fc.integer({ min: 2, max: 30 }), pollMs: fc.integer({ min: 2, max: 60 }), atMs: fc.integer({ min: 50, max: 500 }), seed: fc.integer({ min: 0, max: 1e6 }) })

describe("F20 mailboxes across a channel recovery", () => {
  it("property: the receiver's sequence never goes backwards when its sandbox re-initialises the channel", () => {
    fc.assert(fc.property(monoArb, (c) => monoAcrossRecovery(c) === null), { numRuns: 20 })
  })

  it("the property catches a re-initialisation that restarts the writer's sequence", () => {
    const hooks: System.SystemHooks = { mailboxClass: ForgetfulMailbox }
    const r = fc.check(fc.property(monoArb, (c) => monoAcrossRecovery(c, hooks) === null), { numRuns: 60, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(monoAcrossRecovery(r.counterexample![0], hooks)).toMatch(/then/)
  })
})
