/**
 * The policy registry (`Policy.ts`): the built-ins, name rules, a built-in cannot be replaced, a
 * user's policy can be registered again (a scenario file evaluated twice), and the scheduler builds
 * Main VCPUs through it (a policy whose VCPU reports another name is refused).
 */
import { describe, expect, it } from "vitest"
import { sporadicTask } from "../src/Analysis.ts"
import { MainVcpu } from "../src/MainVcpu.ts"
import { resolveOptions } from "../src/Options.ts"
import { PcpuScheduler } from "../src/PcpuScheduler.ts"
import * as Policy from "../src/Policy.ts"

const toy = (name: string, says = name): Policy.VcpuPolicy => ({
  name,
  description: "a sporadic server under another name (test)",
  create: (p, ctx) => Object.assign(new MainVcpu(p.budgetNs, p.periodNs, ctx.createdAtNs, { rule: ctx.rule, deadlineNs: p.deadlineNs }), { policy: says }),
  analysis: sporadicTask,
  migration: null,
  optionValues: {},
})

describe("Policy registry", () => {
  it("holds the built-ins in order, with their analyses and migrations", () => {
    expect(Policy.names().slice(0, 3)).toEqual(["sporadic", "posixNaive", "deferrable"])
    expect(Policy.get("sporadic").analysis).toBe(sporadicTask)
    expect(Policy.get("posixNaive").analysis).toBeNull()
    expect(Policy.get("posixNaive").migration).toBeNull()
    expect(() => Policy.get("edf")).toThrow(/no VCPU policy "edf" \(registered: sporadic, posixNaive, deferrable/)
  })
  it("refuses bad names, the I/O VCPUs' name, and another object under a built-in name", () => {
    expect(() => Policy.register(toy("2fast"))).toThrow(/name "2fast" must match/)
    expect(() => Policy.register(toy("pibs"))).toThrow(/not be "pibs"/)
    expect(() => Policy.register(toy("sporadic"))).toThrow(/"sporadic" is a built-in policy; give yours another name/)
    expect(() => Policy.register({ name: "x" } as never)).toThrow(/expected a VcpuPolicy/)
  })
  it("a user's policy: registered once, usable by name in options and per VCPU; registering it again replaces it", () => {
    const a = Policy.register(toy("test-toy"))
    expect(Policy.get("test-toy")).toBe(a)
    expect(resolveOptions({ policy: "test-toy" }).policy).toBe("test-toy")
    const s = new PcpuScheduler()
    const v = s.addMainVcpu(1, 10, 0, { policy: "test-toy" })
    expect(s.vcpus[v]!.policy).toBe("test-toy")
    expect(Policy.of(s.vcpus[v]!)).toBe(a)
    const b = Policy.register(toy("test-toy"))
    expect(Policy.get("test-toy")).toBe(b)
  })
  it("the scheduler refuses a policy whose VCPU reports another name, and a VCPU computing another priority rule", () => {
    Policy.register(toy("test-liar", "sporadic"))
    expect(() => new PcpuScheduler().addMainVcpu(1, 10, 0, { policy: "test-liar" })).toThrow(/policy "test-liar" built a VCPU that says it is "sporadic"/)
    expect(() => new PcpuScheduler({ priority: "edf" }).addVcpu(new MainVcpu(1, 10))).toThrow(/computes its priority for 'rm', the PCPU orders by 'edf'/)
  })
})
