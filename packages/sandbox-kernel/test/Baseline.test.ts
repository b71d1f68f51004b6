/**
 * The conventional-virtualisation baselines (spec §E6): a hypervisor that takes every device
 * interrupt and injects it (VM exit + injection + VM entry each time), and a Xen-style split driver
 * where a driver domain alone runs the NIC and forwards frames to the guests through event channels.
 */
import { describe, expect, it } from "vitest"
import { Assumptions, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"

const flood = (mode: "questv" | "hypervisor" | "xen", guests = 1, extra: Partial<Config.SystemInput> = {}): System.System =>
  new System.System({
    virtualization: { mode, driverDomain: 3 },
    hosts: Array.from({ length: guests }, (_, i) => ({ kind: "ping" as const, name: `h${i}`, target: i, mode: "flood" as const, count: 500 })),
    ...extra,
  }).run(500_000_000)

describe("hypervisor-mediated interrupts", () => {
  it("every device interrupt exits to the monitor and is injected; the timer does not (exitOn: device)", () => {
    const sys = flood("hypervisor")
    const m = sys.metrics()
    expect(m.hosts[0]!.received).toBe(500)
    for (const s of m.sandboxes) {
      expect(s.vmExits).toBe(s.injections)
      expect(s.injections).toBe(s.interrupts)
      expect(s.interrupts).toBeGreaterThanOrEqual(500)
    }
  })

  it("the round trip grows by the exit, injection and entry of the owner's interrupt", () => {
    // Exact costs (no jitter, skew or TLB walks), so the difference is the hop alone.
    const q = flood("questv", 1, Assumptions.baseline()).metrics().hosts[0]!
    const h = flood("hypervisor", 1, Assumptions.baseline()).metrics().hosts[0]!
    const c = new System.System({}).machine.costs
    const hop = c.ns.vmExit + c.toNs(1_500) + c.ns.vmEntry
    expect(h.minRttNs - q.minRttNs).toBe(hop)
  })

  it("exitOn: all also takes the LAPIC timer through the monitor", () => {
    const sys = new System.System({ virtualization: { mode: "hypervisor", exitOn: "all" }, machine: { cores: 1 } }).run(10_000_000)
    // A tick every 1 ms, each delayed by the exit it takes.
    expect(sys.metrics().sandboxes[0]!.vmExits).toBe(9)
  })
})

describe("Xen-style driver domain", () => {
  it("only the driver domain walks the NIC; each guest's frames reach it through netback/netfront and its replies go back", () => {
    const sys = flood("xen", 2)
    const m = sys.metrics()
    expect(m.hosts.map((h) => h.received)).toEqual([500, 500])
    expect(m.net.map((n) => n.walks > 0)).toEqual([false, false, false, true])
    expect(m.net.map((n) => n.echoReplies)).toEqual([500, 500, 0, 0])
    expect(sys.xen!.forwarded).toEqual([500, 500, 0, 0])
    // Event channels are interrupts: they exit at the guests and at the driver domain.
    expect(m.sandboxes[0]!.vmExits).toBeGreaterThanOrEqual(500)
    expect(m.sandboxes[3]!.vmExits).toBeGreaterThanOrEqual(1000)
  })

  it("a single guest's round trip is longer than under Quest-V and under the hypervisor alone", () => {
    const q = flood("questv").metrics().hosts[0]!
    const h = flood("hypervisor").metrics().hosts[0]!
    const x = flood("xen").metrics().hosts[0]!
    expect(x.meanRttNs).toBeGreaterThan(h.meanRttNs)
    expect(h.meanRttNs).toBeGreaterThanOrEqual(q.meanRttNs)
  })

  it("the NIC may not be shared in the Xen baseline (the configuration names the field)", () => {
    expect(() => new System.System({ virtualization: { mode: "xen", driverDomain: 1 }, nic: { sharers: [0, 1] } })).toThrow(/nic\.sharers: in the Xen baseline only the driver domain \(sandbox1\)/)
  })
})
