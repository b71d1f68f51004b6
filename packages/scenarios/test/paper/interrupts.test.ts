/**
 * `interrupts` (paper §4.3, Figure 8) at paper size: 30,000 pings 3 ms apart (≈ 90 s simulated;
 * about 3–5 s of wall time for the three variants). The broadcast and monitor claims hold, with
 * the exact interrupt counts; RTTs have a distribution; Quest-V's extra RTT is what its broadcast
 * and EPT cost (§D.13) — only the demultiplexing check without those mechanisms — so whether it is
 * "almost negligible" against our 3 % is a verdict on the assumed constants, not checked here; each
 * claim is shown to fail on a deliberately changed configuration (at scale 0.01).
 */
import { describe, expect, it } from "vitest"
import { compile, type TopLevelSpec } from "vega-lite"
import { runAll } from "../../src/paper/Experiment.ts"
import { interrupts } from "../../src/paper/interrupts.ts"
import { find } from "../../src/paper/registry.ts"
import { Assumptions } from "@qvsim/sandbox-kernel"
import { claim, runWith } from "./support.ts"

const SCALE = 1
const N = 30_000



const NEGLIGIBLE = "the performance difference"
const EARLY = "in Quest-V every core"
const MONITOR = "Quest-V does not require"

describe(`interrupts at scale ${SCALE} (${N.toLocaleString("en-US")} pings)`, () => {
  const { result } = runAll(interrupts, { scale: SCALE })
  const rtt = Object.fromEntries(result.tables[0]!.rows.map((r) => [r["variant"], r]))
  const per = (variant: string) => result.tables[1]!.rows.filter((r) => r["variant"] === variant)

  it("is registered", () => {
    expect(find("interrupts")).toBe(interrupts)
  })

  it("the broadcast and monitor claims hold; 'almost negligible' is computed from the measured RTTs", () => {
    for (const start of [EARLY, MONITOR]) { const c = claim(result.claims, start); expect(c.holds, `${c.text}: ${c.detail}`).toBe(true) }
    expect(claim(result.claims, NEGLIGIBLE).detail).toContain(`${Number(rtt["questv-broadcast"]!["mean RTT (µs)"]).toFixed(3)} µs`)
    expect(result.claims.length).toBe(3)
  })

  it("round-trip times have a distribution (p50 ≤ p99 ≤ max, min < max) in every variant", () => {
    for (const v of ["quest-directed", "questv-broadcast", "questv-broadcast-late"]) {
      const r = rtt[v]!
      expect(Number(r["min RTT (µs)"])).toBeLessThan(Number(r["max RTT (µs)"]))
      expect(Number(r["p50 RTT (µs)"])).toBeLessThanOrEqual(Number(r["p99 RTT (µs)"]))
      expect(Number(r["p99 RTT (µs)"])).toBeLessThanOrEqual(Number(r["max RTT (µs)"]))
    }
  })

  it("every request is answered; the owner takes one RX and one TX-completion interrupt per ping in every variant", () => {
    for (const v of ["quest-directed", "questv-no-ept-directed", "questv-broadcast", "questv-broadcast-late"]) {
      expect(rtt[v]!["requests"]).toBe(N)
      expect(rtt[v]!["replies"]).toBe(N)
      expect(rtt[v]!["lost"]).toBe(0)
      expect(rtt[v]!["interrupts at the owner"]).toBe(2 * N)
    }
    // SMP Quest is one kernel (one row): every NIC interrupt at core 0.
    expect(per("quest-directed").map((r) => r["interrupts"])).toEqual([2 * N])
    expect(per("questv-no-ept-directed").map((r) => r["interrupts"])).toEqual([2 * N, 0, 0, 0])
    expect(per("questv-broadcast").map((r) => r["interrupts"])).toEqual([2 * N, 2 * N, 2 * N, 2 * N])
    expect(per("questv-broadcast").map((r) => r["frames to its stack"])).toEqual([N, 0, 0, 0])
    expect(per("questv-broadcast-late").map((r) => r["frames to its stack"])).toEqual([N, N, N, N])
  })

  it("Quest-V's extra RTT is what its broadcast and EPT cost: without those mechanisms (Assumptions.baseline) only the owner's demultiplexing check (100 cycles ≈ 47 ns; SMP Quest's kernel lock on the RX handler: 60 cycles ≈ 28 ns)", () => {
    const mean = (t: ReturnType<typeof interrupts.analyse>["tables"][number], v: string) => Number(t.rows.find((r) => r["variant"] === v)!["mean RTT (µs)"])
    const before = interrupts.analyse(runWith(interrupts, 0.01, (_v, input) => Assumptions.baseline(input))).tables[0]!
    expect(mean(before, "questv-broadcast") - mean(before, "questv-no-ept-directed")).toBeCloseTo(0.047, 3)
    expect(mean(before, "quest-directed") - mean(before, "questv-no-ept-directed")).toBeCloseTo(0.028, 3)
    // With them: the RX lock's atomic and line transfer, waiting for the sharers that walk first, TLB walks under EPT.
    const now = result.tables[0]!
    expect(mean(now, "questv-broadcast") - mean(now, "questv-no-ept-directed")).toBeGreaterThan(0.047 + 0.05)
  })

  it("the plot is a valid Vega-Lite spec", () => {
    expect(() => compile(result.plot as unknown as TopLevelSpec)).not.toThrow()
  })
})

describe("interrupts: each claim can fail", () => {
  it("'almost negligible' fails when Quest's directed handler is very costly", () => {
    const r = interrupts.analyse(runWith(interrupts, 0.01, (v, input) => (v === "quest-directed" ? { ...input, machine: { costs: { interruptEntry: 50_000 } } } : input)))
    expect(claim(r.claims, NEGLIGIBLE).holds).toBe(false)
    expect(claim(r.claims, MONITOR).holds).toBe(true)
  })

  it("hypervisor-mediated interrupts in place of Quest-V's: the monitor claim and 'almost negligible' fail", () => {
    const r = interrupts.analyse(runWith(interrupts, 0.01, (v, input) => (v === "questv-broadcast" ? { ...input, virtualization: { mode: "hypervisor" } } : input)))
    expect(claim(r.claims, MONITOR).holds).toBe(false)
    expect(claim(r.claims, NEGLIGIBLE).holds).toBe(false)
  })

  it("late demultiplexing in place of early: the non-owners' processing is not discontinued", () => {
    const r = interrupts.analyse(runWith(interrupts, 0.01, (v, input) => (v === "questv-broadcast" ? { ...input, nic: { demux: "late" } } : input)))
    expect(claim(r.claims, EARLY).holds).toBe(false)
  })
})
