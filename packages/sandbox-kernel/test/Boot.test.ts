/**
 * Boot (spec §D.2): the post-boot state by default (every core in its guest at t = 0, no VM exit),
 * and the optional boot phase — shared initialisation, each core's VM fork in turn, each sandbox's
 * own initialisation, NIC registration growing the I/O APIC destination, threads starting when
 * their sandbox is ready.
 */
import { describe, expect, it } from "vitest"
import { Program, System } from "../src/index.ts"
import { MS } from "./support.ts"

describe("boot", () => {
  it("post-boot state: every core in its guest at t = 0 with its EPT, the NIC line to the sharers, no exit", () => {
    const sys = new System.System({})
    expect(sys.machine.cores.every((c) => !c.inVmxRoot && c.ept === sys.machine.epts[c.index])).toBe(true)
    expect(sys.machine.apicBus.coresIn(sys.machine.ioapic.destinationMask(sys.machine.nic.irqLine))).toEqual([0, 1, 2, 3])
    expect(sys.boots.map((b) => b.readyNs)).toEqual([0, 0, 0, 0])
  })

  it("boot phase: cores enter their guests in turn; sandboxes register with the NIC and start their threads when ready", () => {
    const started: number[] = []
    const prog: Program.Program = function* () {
      started.push((yield Program.now()) as number)
      yield Program.sleep(1e12)
    }
    const sys = new System.System({
      boot: { phase: true },
      sandboxes: [0, 1, 2, 3].map(() => ({ threads: [{ name: "t", vcpu: 0, program: prog }] })),
      hosts: [{ kind: "ping", target: 3, intervalNs: 10 * MS, count: 20 }],
    })
    const b = sys.boots
    // Shared init ≈ 50 ms; each VM fork (256 pages + EPT) ≈ 2.1 ms; each sandbox's init ≈ 10 ms.
    expect(b[0]!.entryNs).toBeGreaterThan(50 * MS)
    for (let s = 1; s < 4; s++) expect(b[s]!.entryNs - b[s - 1]!.entryNs).toBe(b[1]!.entryNs - b[0]!.entryNs)
    for (const x of b) expect(x.readyNs - x.entryNs).toBe(10 * MS)
    sys.run(b[1]!.entryNs - 1)
    expect(sys.machine.cores.map((c) => c.inVmxRoot)).toEqual([false, true, true, true])
    sys.run(250 * MS)
    expect(started).toEqual(b.map((x) => x.readyNs))
    const m = sys.metrics()
    // Requests that arrived before sandbox 3 registered waited in the RX ring until its driver walked it.
    expect(m.hosts[0]!.received).toBe(20)
    expect(sys.hosts[0]!.rttNs(0)).toBeGreaterThanOrEqual(b[3]!.readyNs)
    expect(sys.hosts[0]!.rttNs(19)).toBeLessThan(1 * MS)
    expect(m.sandboxes.map((s) => s.vmExits)).toEqual([0, 0, 0, 0])
    expect(sys.machine.apicBus.coresIn(sys.machine.ioapic.destinationMask(sys.machine.nic.irqLine))).toEqual([0, 1, 2, 3])
  })
})
