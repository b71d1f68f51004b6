/**
 * The `manycore` built-in (issue 15): 64 sandboxes on 64 cores (x2APIC addressing), the NIC shared
 * by all of them — hosts pinging sandboxes 37 and 63, beyond the Quest driver's 4 sharers, get
 * their replies — a mailbox ring every sandbox writes and reads, and one driver fault recovered.
 */
import { describe, expect, it } from "vitest"
import * as Builtins from "../src/Builtins.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"
import { manycore } from "../src/builtins/manycore.ts"

describe("manycore built-in", () => {
  it("runs 64 sandboxes: every sandbox's thread completes jobs, every pinger is answered, the fault is recovered", () => {
    const s = parseScenario(Builtins.find("manycore")!, "manycore")
    const metrics = Runner.run(s, { seed: 1, untilNs: 1_500_000_000 }).metrics
    const m = (path: string): unknown => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], metrics)
    const completed = Array.from({ length: 64 }, (_, i) => m(`system.sandboxes.sandbox${i}.threads.app.jobsCompleted`) as number)
    // Sandbox 9's re-initialisation runs on its Main VCPU (about a second), so its thread lags.
    expect(completed.filter((n, i) => i !== 9 && n < 140)).toEqual([])
    expect(completed[9]).toBeGreaterThan(0)
    for (const p of [0, 37, 63]) {
      const sent = m(`system.hosts.pinger${p}.sent`) as number
      expect(sent).toBeGreaterThan(100)
      expect(m(`system.hosts.pinger${p}.received`) as number).toBeGreaterThan(0.8 * sent)
    }
    expect(m("system.recoveries")).toBe(1)
    // Every sandbox takes the NIC's interrupts (each one a sharer), not only sandboxes 0-3.
    const interrupts = Array.from({ length: 64 }, (_, i) => m(`system.sandboxes.sandbox${i}.interrupts`) as number)
    expect(Math.min(...interrupts)).toBeGreaterThan(150) // 3 pingers × 150 requests, less sandbox 9's recovery
  })

  it("refuses a machine bigger than the model at load, naming the field", () => {
    const big = (machine: Record<string, unknown>) => () => parseScenario({ name: "big", duration: "1s", system: { machine } } as never, "big")
    expect(big({ cores: 65 })).toThrow(/system\.machine\.cores: must be ≤ 64 \(got 65\)/)
    expect(big({ cores: 16, layout: { kind: "2015" } })).toThrow(/system\.machine\.layout\.kind: 16 sandboxes; the 2015 layout holds 1\.\.8/)
    expect(big({ cores: 64 })).not.toThrow()
  })

  it("refuses a host aimed at a sandbox that does not share the NIC (it would silently receive nothing)", () => {
    const decl = (sharers: string[]) => () => parseScenario({
      name: "nic", duration: "1s",
      system: { machine: { cores: 2 }, nic: { sharers }, hosts: [{ kind: "ping", target: "sandbox1", interval: "10ms" }], sandboxes: [{}, {}] },
    } as never, "nic")
    expect(decl(["sandbox0"])).toThrow(/system\.hosts\[0\]\.target: sandbox1 does not share the NIC \(nic\.sharers: \[sandbox0\]\)/)
    expect(decl(["sandbox0", "sandbox1"])).not.toThrow()
  })

  it("manycore(n) builds the same shape for 3..64 sandboxes and refuses others", () => {
    expect(parseScenario(manycore(4), "m4").system).toBeDefined()
    expect(() => manycore(2)).toThrow(/3\.\.64/)
    expect(() => manycore(65)).toThrow(/3\.\.64/)
  })

  it("with the boot phase, each sandbox of a 16-core x2APIC machine joins the NIC's destination as it registers", () => {
    const s = parseScenario({
      name: "boot16",
      duration: "1s",
      system: {
        machine: { cores: 16 },
        boot: { phase: true },
        hosts: [5, 9, 15].map((t) => ({ kind: "ping", name: `p${t}`, target: `sandbox${t}`, interval: "10ms" })),
        sandboxes: Array.from({ length: 16 }, () => ({})),
      },
    } as never, "boot16")
    const metrics = Runner.run(s, { seed: 1, untilNs: 600_000_000 }).metrics as { system: { hosts: Record<string, { sent: number; received: number }> } }
    for (const p of ["p5", "p9", "p15"]) {
      const h = metrics.system.hosts[p]!
      expect(h.received, p).toBeGreaterThan(h.sent / 2)
    }
  })
})
