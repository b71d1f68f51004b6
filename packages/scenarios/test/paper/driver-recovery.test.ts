/**
 * `driver-recovery` (paper §4.1, Figure 6, Table 1): at paper size (50 replies, recovery after the
 * 20th) every claim holds and the configured phases (Table 1, an input) reach the recovery records;
 * each claim is shown to fail on runs of a deliberately changed configuration (phase cycles, a short
 * reboot, a starved remote target).
 */
import { describe, expect, it } from "vitest"
import { compile, type TopLevelSpec } from "vega-lite"
import { runAll } from "../../src/paper/Experiment.ts"
import { driverRecovery, TABLE1, TABLE1_TOTALS } from "../../src/paper/driver-recovery.ts"
import { find } from "../../src/paper/registry.ts"
import { claim, runWith } from "./support.ts"

const MS = 1_000_000



describe("driver-recovery at paper size", () => {
  const { runs, result } = runAll(driverRecovery)

  it("is registered", () => {
    expect(find("driver-recovery")).toBe(driverRecovery)
  })

  it("every claim holds", () => {
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
    expect(result.claims.map((c) => c.id)).toEqual(["reinitDominates", "muchShorterThanReboot", "localLikeRemote", "smpRebootOnly"])
  })

  it("the configured Table 1 reaches the recovery records (an input shown as such, not a claim)", () => {
    expect(driverRecovery.inputs!.filter((i) => i.name.startsWith("Table 1")).map((i) => i.value)).toEqual([707, 12_427, 1_291, 823, 134_244_605, 68_750_060])
    const t = result.tables[0]!
    expect(t.columns).toEqual(["phase", "local", "remote", "reboot", "smp"])
    for (const row of TABLE1) {
      const r = t.rows.find((x) => x["phase"] === row.label)!
      // null: the phase does not apply to that variant (Table 1's N/A; an empty CSV cell, "—" in text).
      expect(r["local"]).toBe(row.local ?? null)
      expect(r["remote"]).toBe(row.remote ?? null)
    }
    const total = t.rows.find((x) => x["phase"] === "Total")!
    expect(total["local"]).toBe(203_008_622)
    expect(total["remote"]).toBe(202_997_486)
    expect(TABLE1_TOTALS).toEqual({ local: 203_008_622, remote: 202_997_486 })
  })

  it("down-time: online recovery ≈ 95 ms of phases (stretched by the 20 % recovery VCPU), no reply lost; the reboot loses 20", () => {
    const rows = Object.fromEntries(result.tables[1]!.rows.map((r) => [r["variant"], r]))
    expect(rows["local"]!["phase sum (ms)"]).toBeCloseTo(95.3, 1)
    expect(rows["remote"]!["phase sum (ms)"]).toBeCloseTo(95.3, 1)
    for (const v of ["local", "remote"]) {
      expect(rows[v]!["outage (ms)"]).toBeGreaterThanOrEqual(95.3)
      expect(rows[v]!["outage (ms)"]).toBeLessThan(500)
      expect(rows[v]!["lost replies"]).toBe(0)
      expect(rows[v]!["replies"]).toBe(50)
    }
    expect(rows["reboot"]!["outage (ms)"]).toBe(10_000)
    expect(rows["reboot"]!["lost replies"]).toBe(20)
    // SMP Quest: the same reboot, the same losses; every core's heartbeat stops for it (measured).
    expect(rows["smp"]!["outage (ms)"]).toBe(10_000)
    expect(rows["smp"]!["lost replies"]).toBe(20)
    const gaps = result.tables[2]!.rows.map((r) => Number(r["longest heartbeat gap (ms)"]))
    expect(gaps.length).toBe(4)
    for (const g of gaps) expect(g).toBeGreaterThanOrEqual(10_000)
    // ... and starts again once the machine is up (the restarted heartbeat's first job comes within
    // two of its 100 ms periods: its release at the restart, its 1 ms of CPU on a fresh budget).
    for (const g of gaps) expect(g).toBeLessThan(10_200)
    // The recovery starts right after the 20th reply.
    for (const r of runs) {
      const rec = r.system.recoveries()[0]!
      const host = r.system.hosts[0]!
      const reply20 = host.sendTimeNs(19) + host.rttNs(19)
      expect(rec.detectedNs - reply20).toBeGreaterThanOrEqual(0)
      expect(rec.detectedNs - reply20).toBeLessThan(10_000)
    }
  })

  it("the plot is a valid Vega-Lite spec: one panel per variant with requests and replies", () => {
    expect(() => compile(result.plot as unknown as TopLevelSpec)).not.toThrow()
    const panels = result.plot!["vconcat"] as Array<{ layer: Array<{ data: { values: Array<{ series: string }> } }> }>
    expect(panels.length).toBe(4)
    for (const p of panels) expect(new Set(p.layer[1]!.data.values.map((v) => v.series))).toEqual(new Set(["ICMP request", "echo reply"]))
  })

  it("is deterministic: same seed, same fingerprints", () => {
    const again = runAll(driverRecovery, { scale: 0.2 })
    const twice = runAll(driverRecovery, { scale: 0.2 })
    expect(again.runs.map((r) => r.system.sim.trace.fingerprint())).toEqual(twice.runs.map((r) => r.system.sim.trace.fingerprint()))
  })
})

describe("driver-recovery: each claim can fail", () => {
  it("the re-initialisation share fails when re-initialisation is cheap next to the other phases", () => {
    const runs = runWith(driverRecovery, 0.2, (v, input) => (v === "local"
      ? { ...input, recovery: { local: ["vmExit", "driverSwitch", "vmEntry", { phase: "driverReinit", cycles: 1_000 }, { phase: "networkReinit", cycles: 1_000 }] } }
      : input))
    const r = driverRecovery.analyse(runs)
    expect(claim(r.claims, "re-initialisation").holds).toBe(false)
    expect(claim(r.claims, "re-initialisation").threshold!.measured).toBeLessThan(50)
  })

  it("'much shorter than a reboot' fails when the reboot is short", () => {
    const runs = runWith(driverRecovery, 0.2, (v, input) => (v === "reboot" ? { ...input, recovery: { rebootNs: 300 * MS } } : input))
    const r = driverRecovery.analyse(runs)
    expect(claim(r.claims, "the down-time of online recovery").holds).toBe(false)
    expect(claim(r.claims, "re-initialisation").holds).toBe(true)
  })

  it("the SMP claim fails when SMP Quest's reboot is short (300 ms: the online recovery is no longer ≤ 10 % of it)", () => {
    const runs = runWith(driverRecovery, 0.2, (v, input) => (v === "smp" ? { ...input, recovery: { rebootNs: 300 * MS } } : input))
    const r = driverRecovery.analyse(runs)
    expect(claim(r.claims, "in SMP Quest").holds).toBe(false)
    expect(claim(r.claims, "the down-time of online recovery").holds).toBe(true)
  })

  it("'local and remote similar' fails when the remote target's recovery VCPU is starved", () => {
    const runs = runWith(driverRecovery, 0.2, (v, input) => (v === "remote"
      ? { ...input, sandboxes: [{}, { vcpus: [{ budget: 2 * MS, period: 100 * MS }] }, {}, {}] }
      : input))
    const r = driverRecovery.analyse(runs)
    expect(claim(r.claims, "local and remote").holds).toBe(false)
    expect(claim(r.claims, "re-initialisation").holds).toBe(true)
  })
})
