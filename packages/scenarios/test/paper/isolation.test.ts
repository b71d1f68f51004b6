/**
 * `isolation` (paper §4.5, Figure 10): at paper size (50 observations per receiver, ≈ 50 s
 * simulated) every claim holds — receivers see steps 2, 16, 20; the faulty driver's writes into
 * sandboxes 1–3 trap; only sandbox 0's services are interrupted and it recovers; sandboxes 1–3 keep
 * their per-sandbox fingerprints. Each claim is shown to fail on deliberately broken runs: an EPT
 * that lets the wild writes through, no fault at all, a sender whose sequence skips, a NIC shared
 * by all four sandboxes (F19's shared-device clause). The SMP Quest variants (one kernel over the
 * four cores) run the same workload and fault: the writes land, cores 1–3 stop when they next use
 * their corrupted run queues; the claim fails when the SMP kernel never reads its shared state.
 * The `faulty-no-vt` variant (model §H): without
 * virtualisation the kernel-mode writes and a corrupted page table are not contained, a user-mode
 * wild write is; the claim fails when the no-VT run keeps the EPT (qvsim's old `mode: 'none'`).
 */
import { describe, expect, it } from "vitest"
import { compile, type TopLevelSpec } from "vega-lite"
import { Ept, type Machine } from "@qvsim/hardware"
import { Mailbox, Smp, type Kernel } from "@qvsim/sandbox-kernel"
import { runAll } from "../../src/paper/Experiment.ts"
import { cellText } from "../../src/Experiments.ts"
import { isolation } from "../../src/paper/isolation.ts"
import { find } from "../../src/paper/registry.ts"
import { claim, runWith } from "./support.ts"

/** An EPT that lets refused writes through to the identity frame (a broken variant). */
class LeakyEpt extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    if (f >= 0 || need !== Ept.Access.Write) return f
    return this.guard.overlaps(gpn, 1) ? -1 : gpn
  }
}

/** A mailbox whose writer's sequence advances by 2 (a broken variant). */
class SkippingMailbox extends Mailbox.Mailbox {
  override takeSeq(s: number): number {
    super.takeSeq(s)
    return super.takeSeq(s)
  }
}



/** An SMP kernel that never reads its run queues' memory (a broken variant: corrupted shared state has no effect). */
class BlindSmp extends Smp.Smp {
  override mayInvoke(_p: Kernel.Pcpu): boolean {
    return true
  }
}

const SMP_CLAIM = "the same driver fault in SMP Quest"
const INTERRUPTED = "message passing and ICMP service are interrupted"
const UNAFFECTED = "sandboxes 1, 2 and 3 are unaffected"
const EPT = "the faulty driver's writes"
const STEPS = "a receiver polling every P ms"
const RECOVERS = "sandbox 0 recovers"
const NOVT = "without hardware virtualisation"

describe("isolation at paper size", () => {
  const { runs, result } = runAll(isolation)

  // Its wall time is a figure, not a test: `npm run bench -- builtins isolation`.
  it("is registered", () => {
    expect(find("isolation")).toBe(isolation)
  })

  it("every claim holds", () => {
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
    expect(result.claims.length).toBe(7)
  })

  it("without virtualisation: the three kernel-mode writes into sandboxes 1–3 land with no exit, the user-mode one is a page fault in sandbox 0", () => {
    const rows = result.tables[2]!.rows.filter((r) => r["variant"] === "faulty-no-vt")
    expect(rows.map((r) => r["VM exits"])).toEqual([0, 0, 0, 0])
    expect(rows.map((r) => r["of which refused"])).toEqual([0, 0, 0, 0])
    const noVt = runs.find((r) => r.variant === "faulty-no-vt")!.system
    expect(noVt.machine.pageTablesOnly).toBe(true)
    expect(noVt.machine.cores.map((c) => c.pageFaults)).toEqual([1, 0, 0, 0])
    expect(claim(result.claims, NOVT).detail).toMatch(/3 of 3 kernel-mode writes .* landed/)
  })

  it("receivers record 50 observations with steps P/50 = 2, 16, 20 (sandbox 0's faulty run: one corrupted read)", () => {
    const rows = result.tables[0]!.rows.filter((r) => r["variant"] !== "smp-faulty")
    for (const row of rows) expect(row["observations"]).toBe(50)
    const get = (variant: string, receiver: string) => rows.find((r) => r["variant"] === variant && r["receiver"] === receiver)!
    // A list cell, shown run-length encoded.
    expect(cellText(get("fault-free", "sandbox 0")["steps seen"])).toBe("2×49")
    expect(get("fault-free", "sandbox 0")["steps seen"]).toEqual(Array(49).fill(2))
    expect(get("fault-free", "sandbox 2")["steps seen"]).toEqual(Array(49).fill(16))
    expect(get("fault-free", "sandbox 3")["steps seen"]).toEqual(Array(49).fill(20))
    expect(get("faulty", "sandbox 2")["steps seen"]).toEqual(Array(49).fill(16))
    expect(get("faulty", "sandbox 3")["steps seen"]).toEqual(Array(49).fill(20))
    expect(get("faulty", "sandbox 0")["corrupted reads"]).toBe(1)
    // Receiver 3's 50th observation: 49 polls after the first, at 25 ms.
    expect(get("fault-free", "sandbox 3")["last (ms)"]).toBeCloseTo(49_025, 0)
  })

  it("three writes into sandboxes 1–3 trap to sandbox 0's monitor; no exit anywhere else", () => {
    const rows = result.tables[2]!.rows.filter((r) => r["variant"] === "faulty")
    expect(rows.map((r) => r["EPT violations"])).toEqual([3, 0, 0, 0])
    expect(rows.map((r) => r["of which refused"])).toEqual([0, 1, 1, 1])
    expect(result.tables[2]!.rows.filter((r) => r["variant"] === "fault-free").every((r) => r["VM exits"] === 0)).toBe(true)
  })

  it("per-sandbox fingerprints: sandbox 0's differs, 1–3 equal the fault-free run's", () => {
    const fp = result.tables[3]!.rows
    expect(fp.map((r) => r["trace equal"])).toEqual([false, true, true, true])
    const [clean, faulty] = runs
    for (const s of [1, 2, 3]) expect(faulty!.system.fingerprintOf(s)).toBe(clean!.system.fingerprintOf(s))
  })

  it("ICMP: only sandbox 0 answers; in the faulty run its replies stop for a second", () => {
    const rows = result.tables[1]!.rows.filter((r) => !String(r["variant"]).startsWith("smp"))
    for (const r of rows) expect([r["replies by sandbox 1"], r["replies by sandbox 2"], r["replies by sandbox 3"]]).toEqual([0, 0, 0])
    // The ping interval, give or take the wire's and the handlers' jitter (µs).
    expect(rows[0]!["longest reply gap (ms)"]).toBeCloseTo(500, 1)
    expect(rows[1]!["longest reply gap (ms)"]).toBeGreaterThan(750)
  })

  it("the plot is a valid Vega-Lite spec", () => {
    expect(() => compile(result.plot as unknown as TopLevelSpec)).not.toThrow()
  })

  it("SMP Quest: every write lands; cores 1–3 stop at their next use of their run queue, core 0 goes on; receivers 2 and 3 stop, receiver 0 reads the corruption, the pings go unanswered", () => {
    const smp = result.tables.find((t) => t.title.startsWith("SMP Quest"))!.rows.filter((r) => r["variant"] === "smp-faulty")
    expect(smp.map((r) => r["why"])).toEqual([null, "its run queue is corrupted", "its run queue is corrupted", "its run queue is corrupted"])
    // Each stops after the fault, within the longest interval before its scheduler next runs (its next release, ≤ 1 s).
    for (const r of smp.slice(1)) expect(Number(r["after the fault (ms)"])).toBeGreaterThanOrEqual(0)
    for (const r of smp.slice(1)) expect(Number(r["after the fault (ms)"])).toBeLessThan(1000)
    const rows = result.tables[0]!.rows.filter((r) => r["variant"] === "smp-faulty")
    expect(rows.map((r) => Number(r["observations"]) < 50)).toEqual([true, true, true])
    expect(rows[0]!["corrupted reads"]).toBe(1)
    const icmp = result.tables[1]!.rows.find((r) => r["variant"] === "smp-faulty")!
    expect(Number(icmp["lost"])).toBeGreaterThan(0)
    const clean = result.tables[0]!.rows.filter((r) => r["variant"] === "smp-fault-free")
    expect(clean.map((r) => cellText(r["steps seen"]))).toEqual(["2×49", "16×49", "20×49"])
  })
})

describe("isolation: each claim can fail", () => {
  it("an EPT that lets the wild writes through breaks containment: the EPT and 'unaffected' claims fail", () => {
    const runs = runWith(isolation, 0.2, (_v, input) => input, { makeEpt: (s: number, m: Machine.Machine) => new LeakyEpt(m.sim, s, m.memory.frames, m.layout) })
    const r = isolation.analyse(runs)
    expect(claim(r.claims, EPT).holds).toBe(false)
    expect(claim(r.claims, UNAFFECTED).holds).toBe(false)
    expect(claim(r.claims, UNAFFECTED).detail).toMatch(/memory slices equal for \[\]/)
  })

  it("a no-VT run that keeps the EPT (qvsim's old mode 'none') contains everything: the no-VT claim fails", () => {
    const runs = runWith(isolation, 0.2, (v, input) => (v === "faulty-no-vt" ? { ...input, virtualization: { mode: "questv" } } : input))
    const c = claim(isolation.analyse(runs).claims, NOVT)
    expect(c.holds).toBe(false)
    expect(c.detail).toMatch(/0 of 3 kernel-mode writes/)
    expect(c.detail).toMatch(/did not reach sandbox 2/)
  })

  it("without the fault nothing is interrupted and nothing recovers: those claims fail", () => {
    const runs = runWith(isolation, 0.2, (_v, input) => ({ ...input, faults: [] }))
    const r = isolation.analyse(runs)
    expect(claim(r.claims, INTERRUPTED).holds).toBe(false)
    expect(claim(r.claims, RECOVERS).holds).toBe(false)
    expect(claim(r.claims, EPT).holds).toBe(false)
    expect(claim(r.claims, UNAFFECTED).holds).toBe(true)
  })

  it("a sender whose sequence skips breaks the P/50 steps", () => {
    const runs = runWith(isolation, 0.2, (_v, input) => input, { mailboxClass: SkippingMailbox })
    const r = isolation.analyse(runs)
    expect(claim(r.claims, STEPS).holds).toBe(false)
    expect(claim(r.claims, INTERRUPTED).holds).toBe(false) // the fault-free baseline is disturbed too
  })

  it("an SMP kernel that never reads its shared state: the same fault stops no core, the SMP claim fails", () => {
    const runs = runWith(isolation, 0.2, (_v, input) => input, { smpClass: BlindSmp })
    const r = isolation.analyse(runs)
    expect(claim(r.claims, SMP_CLAIM).holds).toBe(false)
    expect(claim(r.claims, SMP_CLAIM).detail).toMatch(/cores stopped: none/)
  })

  it("with the NIC shared by all four sandboxes, the per-sandbox fingerprints of 1–3 differ (device-level events, F19)", () => {
    const runs = runWith(isolation, 0.2, (_v, input) => ({ ...input, nic: {} }))
    const r = isolation.analyse(runs)
    const c = claim(r.claims, UNAFFECTED)
    expect(c.holds).toBe(false)
    expect(c.detail).toMatch(/fingerprints equal for sandboxes \[\]/)
    // Their timelines are no longer identical either: each NIC interrupt they take costs a drawn
    // time, and the faulty sandbox's changed traffic changes the draws (§D.13).
  })
})

describe("the plot's sequence numbers", () => {
  it("unwrapSeqs: a wrap of the mod-255 counter continues upwards; a corrupted read keeps the previous value", async () => {
    const { unwrapSeqs } = await import("../../src/paper/isolationPlot.ts")
    const p = (seq: number, corrupted = false) => ({ seq, corrupted })
    expect(unwrapSeqs([p(250), p(252), p(254), p(1), p(3)])).toEqual([250, 252, 254, 256, 258])
    expect(unwrapSeqs([p(1), p(3), p(255, true), p(7)])).toEqual([1, 3, 3, 7])
    // A step of 16 across the wrap (the 800 ms receiver): 245 → 6 is +16.
    expect(unwrapSeqs([p(229), p(245), p(6)])).toEqual([229, 245, 261])
  })
})
