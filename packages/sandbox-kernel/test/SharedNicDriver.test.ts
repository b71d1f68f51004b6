/**
 * The shared NIC driver and the network stacks (spec §D.7): pings answered end to end through the
 * I/O APIC broadcast, early vs late demultiplexing costs, bottom halves on the NET I/O VCPU, the
 * transmit-enable flag, the master's TX cleaning, and F16 (recycling only after every sharer passed
 * a descriptor, each frame at most once per sharer — exactly once in the ideal mode —, replies
 * only by the owner, acknowledgement and TX clean-up only by the master), with a test showing the
 * property catches a driver that recycles a descriptor as soon as the first sharer passed it.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Assumptions, Program, SharedNicDriver, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"
import { MS, US, configOf, sandboxArb } from "./support.ts"

describe("pings through the shared driver", () => {
  it("every sharer takes the interrupt, only the owner answers, the last walker recycles, the master acknowledges", () => {
    // Without the modelled delivery order and jitter: the master walks first and acknowledges each
    // status before the next one is set, so no edge is merged (with them, see Arbitration.test.ts).
    const sys = new System.System(Assumptions.baseline({ hosts: [{ kind: "ping", target: 2, intervalNs: 10 * MS, count: 20 }] }))
    sys.run(300 * MS)
    const m = sys.metrics()
    expect(m.hosts[0]!.received).toBe(20)
    expect(m.net.map((n) => n.echoReplies)).toEqual([0, 0, 20, 0])
    // Every request and every TX completion interrupts all four sharers.
    expect(m.sandboxes.map((s) => s.interrupts)).toEqual([40, 40, 40, 40])
    expect(m.net.map((n) => n.acks)).toEqual([40, 0, 0, 0])
    expect(m.net.map((n) => n.recycled).reduce((a, b) => a + b)).toBe(20)
    expect(m.sandboxes.map((s) => s.vmExits)).toEqual([0, 0, 0, 0])
  })

  it("early demultiplexing saves the non-owners the stack's receive cost", () => {
    const irq = (demux: "early" | "late") => {
      const sys = new System.System({ nic: { demux }, hosts: [{ kind: "ping", target: 0, intervalNs: 3 * MS, count: 50 }] })
      sys.run(200 * MS)
      return sys.metrics().sandboxes.map((s) => s.irqNs)
    }
    const late = irq("late")
    const early = irq("early")
    // Each non-owner saves the stack's receive cost of 50 requests (2,347 ns each at 2.13 GHz) ...
    for (const s of [1, 2, 3]) expect(late[s]! - early[s]!).toBeGreaterThan(50 * 2000)
    // ... and the whole machine spends less time in the handler (the RX lock is held for less).
    expect(early.reduce((a, b) => a + b)).toBeLessThan(late.reduce((a, b) => a + b))
  })

  it("interrupts directed to one sandbox (Quest without broadcast) reach only it", () => {
    const sys = new System.System({ nic: { sharers: [1] }, hosts: [{ kind: "ping", target: 1, intervalNs: 3 * MS, count: 30 }] })
    sys.run(200 * MS)
    const m = sys.metrics()
    expect(m.sandboxes.map((s) => s.interrupts)).toEqual([0, 60, 0, 0])
    expect(m.hosts[0]!.received).toBe(30)
  })

  it("bottom halves run on the NET I/O VCPU: the reply waits for its budget, the top half is short", () => {
    const run = (rxInBottomHalf: boolean) => {
      const sys = new System.System({ recordSchedule: true, nic: { rxInBottomHalf }, hosts: [{ kind: "ping", target: 0, intervalNs: 5 * MS, count: 20 }] })
      sys.run(150 * MS)
      return sys
    }
    const top = run(false), bottom = run(true)
    expect(bottom.metrics().hosts[0]!.received).toBe(20)
    expect(bottom.metrics().sandboxes[0]!.irqNs).toBeLessThan(top.metrics().sandboxes[0]!.irqNs)
    const netVcpu = 6 // p11 set: 4 Main, then I/O usb, ata, net
    const svc = bottom.sandbox(0).kernel.threads.find((t) => t.name === "io:io-net")!
    expect(bottom.segments().some((s) => s.pcpu === 0 && s.thread === svc.tid && s.vcpu === netVcpu)).toBe(true)
  })

  it("bottom halves inherit the period of the Main VCPU nic.bottomHalfRequesterVcpu names (by name; an index, deprecated, alike)", () => {
    // The NET I/O VCPU inherits 5 ms from "fast" or 100 ms from "slow": its budget replenishes differently.
    const vcpus = [
      { name: "slow", budget: "20ms", period: "100ms" },
      { name: "fast", budget: "1ms", period: "5ms" },
      { name: "net", kind: "io" as const, budget: "1ms", period: "10ms", device: "net" as const },
    ]
    const run = (bottomHalfRequesterVcpu: string | number) => {
      const sys = new System.System({ machine: { cores: 1 }, sandboxes: [{ vcpus }], nic: { rxInBottomHalf: true, bottomHalfRequesterVcpu }, hosts: [{ kind: "ping", target: "sandbox0", interval: "2ms", count: 40 }] })
      sys.run(120 * MS)
      return sys.sim.trace.fingerprint()
    }
    expect(run("fast")).toBe(run(1))
    expect(run("slow")).toBe(run(0))
    expect(run("fast")).not.toBe(run("slow"))
    // Not a Main VCPU of any sharer: refused, naming the field.
    expect(() => new System.System({ machine: { cores: 1 }, sandboxes: [{ vcpus }], nic: { bottomHalfRequesterVcpu: "net" } })).toThrow(/nic\.bottomHalfRequesterVcpu: no sandbox sharing the NIC has a Main VCPU named "net"/)
  })

  it("a sandbox whose transmit-enable flag is off answers nothing (hot standby)", () => {
    const sys = new System.System({ sandboxes: [{}, { transmitEnabled: false }, {}, {}], hosts: [{ kind: "ping", target: 1, intervalNs: 5 * MS, count: 10 }] })
    sys.run(100 * MS)
    const m = sys.metrics()
    expect(m.hosts[0]!.received).toBe(0)
    expect(m.net[1]!.txDisabled).toBe(10)
  })

  it("a flood ping keeps one request in flight; RTT covers entry, stack receive and transmit", () => {
    const sys = new System.System({ hosts: [{ kind: "ping", target: 0, mode: "flood", count: 200 }] })
    sys.run(100 * MS)
    const h = sys.metrics().hosts[0]!
    expect(h.received).toBe(200)
    const c = sys.machine.costs.ns
    expect(h.minRttNs).toBeGreaterThan(c.interruptEntry + c.stackRx + c.stackTx)
  })
})

describe("a sharer whose driver is broken (regression: a full ring)", () => {
  it("holds recycling back until the ring is full; the others' walks end after one lap, frames are dropped by the NIC, nothing leaks", () => {
    const sys = new System.System({
      machine: { nic: { rxRing: 16 } },
      nic: { master: 1, sharers: [0, 1, 2, 3] },
      hosts: [{ kind: "ping", target: 1, intervalNs: 300 * US, count: 200 }],
      faults: [{ kind: "corruptDriver", atNs: 5 * MS, sandbox: 0, detection: "never" }],
    }).run(100 * MS)
    const m = sys.metrics()
    expect(m.nic.rxOverruns).toBeGreaterThan(0)
    expect(m.hosts[0]!.received).toBeLessThan(200)
    // Frames alive: the NIC's own buffers (16 RX + 64 TX) and nothing handed out and lost.
    expect(sys.machine.frames.inUse).toBeLessThanOrEqual(16 + 64 + 4)
  })
})

// ---------------------------------------------------------------------------- F16

interface F16Case {
  readonly sharers: readonly number[]
  readonly master: number
  readonly ring: number
  readonly mode: "faithful" | "ideal"
  readonly demux: "early" | "late"
  readonly bottom: boolean
  readonly stackRxCycles: number
  readonly hosts: ReadonlyArray<{ readonly target: number; readonly intervalUs: number; readonly count: number }>
  readonly hypercaller: number
  readonly seed: number
  readonly sandboxes: Parameters<typeof configOf>[0]["sandboxes"]
}

const f16Arb: fc.Arbitrary<F16Case> = fc
  .subarray([0, 1, 2, 3], { minLength: 1 })
  .chain((sharers) =>
    fc.record({
      sharers: fc.constant(sharers),
      master: fc.constantFrom(...sharers),
      ring: fc.constantFrom(4, 8, 16, 256),
      mode: fc.constantFrom("faithful" as const, "ideal" as const),
      demux: fc.constantFrom("early" as const, "late" as const),
      bottom: fc.boolean(),
      stackRxCycles: fc.integer({ min: 500, max: 60_000 }),
      hosts: fc.array(fc.record({ target: fc.constantFrom(...sharers), intervalUs: fc.integer({ min: 60, max: 2000 }), count: fc.integer({ min: 10, max: 80 }) }), { minLength: 1, maxLength: 3 }),
      hypercaller: fc.integer({ min: -1, max: 3 }),
      seed: fc.integer({ min: 0, max: 1e6 }),
      sandboxes: fc.array(sandboxArb, { minLength: 4, maxLength: 4 }),
    }),
  )

const f16Config = (c: F16Case): Config.SystemInput => {
  const base = configOf({ seed: c.seed, sandboxes: c.sandboxes })
  const hyper: Program.Program = function* () {
    for (;;) {
      yield Program.hypercall(2)
      yield Program.compute(150 * US)
    }
  }
  return {
    ...base,
    machine: { cores: 4, nic: { rxRing: c.ring }, costs: { stackRx: c.stackRxCycles } },
    nic: { sharers: [...c.sharers], master: c.master, mode: c.mode, demux: c.demux, rxInBottomHalf: c.bottom },
    monitor: { hypercallCycles: 40_000 },
    sandboxes: base.sandboxes!.map((sb, k) => (k === c.hypercaller ? { ...sb, threads: [...(sb.threads ?? []), { name: "hyper", vcpu: 0, program: hyper }] } : sb)),
    hosts: c.hosts.map((h, i) => ({ kind: "ping" as const, name: `h${i}`, target: h.target, intervalNs: h.intervalUs * US, count: h.count })),
  }
}

/** Runs a case with the F16 checks wired into the driver's hooks; null or the first violation. */
const f16 = (c: F16Case, hooks: System.SystemHooks = {}): string | null => {
  const sys = new System.System(f16Config(c), hooks)
  const d = sys.driver
  let violation: string | null = null
  const seen: number[][] = [[], [], [], []]
  d.onGiveBack = (s, pos) => {
    if (violation === null && d.someoneAtOrBehind(s, pos)) violation = `sandbox ${s} gave back position ${pos} before every sharer passed it (cursors ${d.cursor.join(",")})`
  }
  d.onDeliver = (s, seq) => {
    const l = seen[s]!
    if (violation === null && l.length > 0 && seq <= l[l.length - 1]!) violation = `sandbox ${s} got frame ${seq} after frame ${l[l.length - 1]}`
    l.push(seq)
  }
  sys.run(60 * MS)
  if (violation !== null) return violation
  const m = sys.metrics()
  for (let s = 0; s < 4; s++) {
    const n = m.net[s]!
    if (s !== c.master && (n.acks !== 0 || n.txCleaned !== 0)) return `non-master ${s} acknowledged or cleaned TX`
    if (!c.hosts.some((h) => h.target === s) && (n.echoReplies !== 0 || n.rxForUs !== 0)) return `sandbox ${s} answered frames not addressed to it`
    if (!c.sharers.includes(s) && seen[s]!.length > 0) return `non-sharer ${s} received frames`
    if (c.mode === "ideal" && c.demux === "late" && c.sharers.includes(s)) {
      const l = seen[s]!
      for (let i = 0; i < l.length; i++) if (l[i] !== i) return `ideal mode: sandbox ${s} missed frame ${i}`
    }
  }
  const replies = m.net.reduce((a, n) => a + n.echoReplies, 0)
  if (replies > m.nic.rxFrames) return `${replies} replies for ${m.nic.rxFrames} frames`
  return null
}

/** A driver that gives a descriptor back as soon as the first sharer passed it (broken). */
class EagerDriver extends SharedNicDriver.SharedNicDriver {
  protected override mayRecycle(): boolean {
    return true
  }
}

describe("F16 shared RX ring", () => {
  it("property: recycling after every sharer, frames at most once per sharer (exactly once in the ideal mode), owner-only replies, master-only acknowledgement", () => {
    fc.assert(fc.property(f16Arb, (c) => f16(c) === null), { numRuns: 40 })
  })

  it("the property catches a driver that recycles a descriptor before every sharer passed it", () => {
    const hooks: System.SystemHooks = { makeDriver: (...a) => new EagerDriver(...a) }
    const r = fc.check(fc.property(f16Arb, (c) => f16(c, hooks) === null), { numRuns: 120, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f16(r.counterexample![0], hooks)).toMatch(/gave back|missed|after frame/)
  })

  it("faithful fast-forward: a sharer that joins late starts at the furthest cursor; its skipped frames are counted, not duplicated", () => {
    const sys = new System.System({ nic: { sharers: [0, 1] }, hosts: [{ kind: "ping", target: 0, intervalNs: 1 * MS, count: 40 }] })
    sys.run(20 * MS)
    sys.driver.cursor[1] = 0 // as if sandbox 1's cursor were stale (a re-registration)
    sys.run(60 * MS)
    const n = sys.metrics().net
    expect(n[0]!.echoReplies).toBe(40)
    expect(n[1]!.frames).toBeLessThanOrEqual(40)
  })
})
