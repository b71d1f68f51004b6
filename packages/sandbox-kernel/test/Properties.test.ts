/**
 * The remaining isolation invariants of spec §F as properties over random systems, each shown to
 * catch a broken variant: F12 (kernel text read-only; 2015 layout: I/O APIC writes exit and take
 * effect only when not blacklisted), F13 (no EPT maps an EPT-structure page, also after channels,
 * recoveries and migrations), F14 (a channel page is accessible to its pair only), F15 (one NIC
 * interrupt = one delivery on every sharer's core, none elsewhere, no VM exit).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Ept, IoApic, type Machine } from "@qvsim/hardware"
import { Program, System } from "../src/index.ts"
import { MS, US } from "./support.ts"

const PAGE = 4096

// ---------------------------------------------------------------------------- F12

/** An EPT that lets writes reach read+execute pages (kernel text) — broken. */
class WritableTextEpt extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    if (need === Ept.Access.Write) {
      const f = super.translate(gpn, Ept.Access.Read | Ept.Access.Execute)
      if (f >= 0) return f
    }
    return super.translate(gpn, need)
  }
}

const f12Arb = fc.record({
  n: fc.integer({ min: 1, max: 4 }),
  writes: fc.array(fc.record({ s: fc.integer({ min: 0, max: 3 }), page: fc.integer({ min: 0, max: 127 }), word: fc.integer({ min: 0, max: 1023 }) }), { minLength: 1, maxLength: 10 }),
})

/** F12 (kernel text): every write to a text page exits and changes nothing. */
const f12 = (c: { n: number; writes: ReadonlyArray<{ s: number; page: number; word: number }> }, hooks: System.SystemHooks = {}): string | null => {
  const results: boolean[][] = Array.from({ length: c.n }, () => [])
  const sandboxes = Array.from({ length: c.n }, (_, s) => {
    const mine = c.writes.filter((w) => w.s % c.n === s)
    const prog: Program.Program = function* (ctx) {
      for (const w of mine) results[s]!.push((yield Program.write(ctx.sliceBase + w.page * PAGE + w.word * 4, 0xabcd)) as boolean)
      yield Program.sleep(1e12)
    }
    return { threads: [{ name: "w", vcpu: 0, program: prog }] }
  })
  const sys = new System.System({ machine: { cores: c.n }, sandboxes }, hooks)
  const before = sys.machine.memory.digest()
  sys.run(5 * MS)
  for (let s = 0; s < c.n; s++) {
    if (results[s]!.some((ok) => ok)) return `sandbox ${s} wrote its kernel text`
    if (sys.metrics().sandboxes[s]!.eptViolations !== results[s]!.length) return `sandbox ${s}: ${sys.metrics().sandboxes[s]!.eptViolations} exits for ${results[s]!.length} text writes`
  }
  if (sys.machine.memory.digest() !== before) return "machine memory changed"
  return null
}

describe("F12 read-only enforcement", () => {
  it("property: writes to kernel text always exit and never change memory", () => {
    fc.assert(fc.property(f12Arb, (c) => f12(c) === null), { numRuns: 30 })
  })

  it("the property catches an EPT that lets writes reach read+execute pages", () => {
    const hooks: System.SystemHooks = { makeEpt: (s: number, m: Machine.Machine) => new WritableTextEpt(m.sim, s, m.memory.frames, m.layout) }
    const r = fc.check(fc.property(f12Arb, (c) => f12(c, hooks) === null), { numRuns: 90, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f12(r.counterexample![0], hooks)).toMatch(/wrote its kernel text|memory changed/)
  })

  it("2015 layout: an I/O APIC write always exits; with I/O partitioning it takes effect only when the register is not denied", () => {
    const reg = IoApic.Register.RedirectionBase + 2 * 5 // line 5, low dword
    const writer: Program.Program = function* () {
      const base = 0xfec0_0000
      yield Program.write(base + IoApic.Mmio.RegisterSelect, reg)
      yield Program.write(base + IoApic.Mmio.Window, 0x1_0031) // masked, vector 0x31
      yield Program.sleep(1e12)
    }
    const run = (monitor: Record<string, unknown>) => {
      const sys = new System.System({ machine: { cores: 2, layout: { kind: "2015" } }, sandboxes: [{ threads: [{ name: "w", vcpu: 0, program: writer }], monitor }, {}] }).run(5 * MS)
      return { exits: sys.metrics().sandboxes[0]!.eptViolations, vector: sys.machine.ioapic.entry(5).vector }
    }
    expect(run({})).toEqual({ exits: 2, vector: 0 })
    expect(run({ ioPartitioning: true })).toEqual({ exits: 2, vector: 0x31 })
    expect(run({ ioPartitioning: true, ioapicDeny: [reg] })).toEqual({ exits: 2, vector: 0 })
  })
})

// ---------------------------------------------------------------------------- F13

const f13Arb = fc.record({
  n: fc.integer({ min: 2, max: 4 }),
  layout: fc.constantFrom("2011" as const, "2015" as const),
  channels: fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 }), fc.boolean()), { maxLength: 3 }),
  recovery: fc.constantFrom("none" as const, "local" as const, "remote" as const),
  migrate: fc.boolean(),
})

/** F13: no EPT reaches any EPT-structure frame. */
const f13 = (c: fc.Arbitrary<unknown> extends never ? never : { n: number; layout: "2011" | "2015"; channels: ReadonlyArray<readonly [number, number, boolean]>; recovery: "none" | "local" | "remote"; migrate: boolean }, hooks: System.SystemHooks = {}): string | null => {
  const channels = c.channels
    .map(([a, b, priv], i) => ({ a: a % c.n, b: b % c.n, priv, i }))
    .filter((x) => x.a !== x.b)
    .filter((x, j, all) => !x.priv || all.findIndex((y) => y.priv && ((y.a === x.a && y.b === x.b) || (y.a === x.b && y.b === x.a))) === j)
    .map((x) => (x.priv ? { kind: "private" as const, name: `c${x.i}`, between: [x.a, x.b] as [number, number] } : { kind: "mailbox" as const, name: `c${x.i}`, between: [x.a, x.b] as [number, number] }))
  const mover: Program.Program = function* () {
    yield Program.compute(1 * MS)
    yield Program.migrate(1)
    yield Program.sleep(1e12)
  }
  const sys = new System.System({
    machine: { cores: c.n, layout: { kind: c.layout } },
    channels,
    sandboxes: Array.from({ length: c.n }, (_, s) => (s === 0 && c.migrate ? { threads: [{ name: "m", vcpu: 1, program: mover }] } : {})),
    faults: c.recovery === "none" ? [] : [{ kind: "trigger", atNs: 2 * MS, sandbox: 0, recovery: c.recovery }],
  }, hooks).run(400 * MS)
  const m = sys.machine
  const marked = new Uint8Array(m.memory.frames)
  for (let k = 0; k < c.n; k++) marked.fill(1, m.layout.eptAreaFirstFrame(k), m.layout.eptAreaFirstFrame(k) + m.layout.eptAreaFrames)
  for (let s = 0; s < c.n; s++) {
    const g = m.epts[s]!.findPageMapping(marked)
    if (g >= 0) return `sandbox ${s}'s EPT maps guest page ${g} onto an EPT area`
  }
  return null
}

/** An EPT built with its own EPT area mapped (a broken construction that bypasses the guard). */
const selfMapping = (s: number, m: Machine.Machine): Ept.Ept => {
  const e = new Ept.Ept(m.sim, s, m.memory.frames, Ept.noGuard)
  const build = m.layout.buildEpt.bind(m.layout)
  m.layout.buildEpt = (ept, sb, core) => {
    build(ept, sb, core)
    if (ept === e) ept.map(core, m.layout.eptAreaFirstFrame(sb), 1, m.layout.eptAreaFirstFrame(sb), Ept.Perm.R)
  }
  return e
}

describe("F13 EPT self-protection", () => {
  it("property: no EPT maps an EPT-structure page, after channel set-up, recoveries and migrations", () => {
    fc.assert(fc.property(f13Arb, (c) => f13(c) === null), { numRuns: 20 })
  })

  it("the property catches an EPT whose construction maps its own structures", () => {
    const hooks: System.SystemHooks = { makeEpt: (s, m) => (s === 1 ? selfMapping(s, m) : undefined) }
    const r = fc.check(fc.property(f13Arb, (c) => f13(c, hooks) === null), { numRuns: 15, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f13(r.counterexample![0], hooks)).toMatch(/EPT area/)
  })
})

// ---------------------------------------------------------------------------- F14

const f14Arb = fc.record({
  layout: fc.constantFrom("2011" as const, "2015" as const),
  pair: fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })).filter(([a, b]) => a !== b),
  kind: fc.constantFrom("mailbox" as const, "private" as const),
  offsets: fc.array(fc.integer({ min: 0, max: 1023 }), { minLength: 1, maxLength: 4 }),
})

/** F14: every sandbox's access to the channel page succeeds iff it is one of the pair. */
const f14 = (c: { layout: "2011" | "2015"; pair: readonly [number, number]; kind: "mailbox" | "private"; offsets: readonly number[] }, hooks: System.SystemHooks = {}): string | null => {
  let gpa = 0
  const results: boolean[][] = [[], [], [], []]
  const sandboxes = [0, 1, 2, 3].map((s) => ({
    threads: [{
      name: "probe", vcpu: 0, program: function* () {
        yield Program.sleep(1 * MS)
        for (const o of c.offsets) results[s]!.push((yield Program.read(gpa + o * 4)) !== -1)
        yield Program.sleep(1e12)
      } as Program.Program,
    }],
  }))
  const sys = new System.System({ machine: { layout: { kind: c.layout } }, channels: [{ kind: c.kind, name: "c", between: [c.pair[0], c.pair[1]] }], sandboxes }, hooks)
  const ch = sys.channels.get("c")!
  gpa = "dataGpa" in ch ? ch.dataGpa : ch.pageGpa
  sys.run(5 * MS)
  for (let s = 0; s < 4; s++) {
    const party = c.pair.includes(s)
    if (results[s]!.some((ok) => ok !== party)) return `sandbox ${s} (${party ? "party" : "outsider"}) got ${results[s]!.join(",")}`
  }
  return null
}

/** An EPT that lets reads through to any frame (broken). */
class ReadAllEpt extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    return f >= 0 || need !== Ept.Access.Read || this.guard.overlaps(gpn, 1) ? f : gpn
  }
}

describe("F14 channel privacy", () => {
  it("property: a channel's page is accessible to its two sandboxes only (both layouts, both kinds)", () => {
    fc.assert(fc.property(f14Arb, (c) => f14(c) === null), { numRuns: 25 })
  })

  it("the property catches an EPT that lets outsiders read the page", () => {
    const hooks: System.SystemHooks = { makeEpt: (s, m) => new ReadAllEpt(m.sim, s, m.memory.frames, m.layout) }
    const r = fc.check(fc.property(f14Arb, (c) => f14(c, hooks) === null), { numRuns: 75, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f14(r.counterexample![0], hooks)).toMatch(/outsider/)
  })
})

// ---------------------------------------------------------------------------- F15

const f15Arb = fc.record({
  sharers: fc.subarray([0, 1, 2, 3], { minLength: 1 }),
  intervalUs: fc.integer({ min: 200, max: 3000 }),
  count: fc.integer({ min: 1, max: 40 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** F15: each interrupt message reaches every sharer exactly once and no other core; no VM exit. */
const f15 = (c: { sharers: readonly number[]; intervalUs: number; count: number; seed: number }, hooks: System.SystemHooks = {}): string | null => {
  const sys = new System.System({
    seed: c.seed,
    nic: { sharers: [...c.sharers] },
    hosts: [{ kind: "ping", target: c.sharers[0]!, intervalNs: c.intervalUs * US, count: c.count }],
  }, hooks).run((c.count * c.intervalUs + 5_000) * US)
  const messages = sys.machine.ioapic.messages
  const m = sys.metrics()
  for (let s = 0; s < 4; s++) {
    const want = c.sharers.includes(s) ? messages : 0
    if (m.net[s]!.irqs !== want) return `sandbox ${s} took ${m.net[s]!.irqs} NIC interrupts for ${messages} messages (${c.sharers.includes(s) ? "sharer" : "not a sharer"})`
    if (m.sandboxes[s]!.vmExits !== 0) return `sandbox ${s} took a VM exit`
  }
  return null
}

describe("F15 interrupt multicast", () => {
  it("property: one delivery per interrupt on every sharer's core, none elsewhere, no VM exit", () => {
    fc.assert(fc.property(f15Arb, (c) => f15(c) === null), { numRuns: 30 })
  })

  it("the property catches an I/O APIC entry programmed to every core", () => {
    const hooks: System.SystemHooks = { nicMask: (m) => m.apicBus.maskOf(m.cores.map((c) => c.index)) }
    const r = fc.check(fc.property(f15Arb, (c) => f15(c, hooks) === null), { numRuns: 90, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f15(r.counterexample![0], hooks)).toMatch(/not a sharer/)
  })
})
