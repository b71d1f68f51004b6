/**
 * A VCPU's thread FIFO (`VcpuSlot`): push, shift and remove behave like an array, across the ring's
 * wrap-around and growth (model-based, random operation sequences).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MainVcpu } from "../src/MainVcpu.ts"
import { VcpuSlot } from "../src/VcpuSlot.ts"

type Op = { kind: "add" } | { kind: "push"; pick: number } | { kind: "shift" } | { kind: "remove"; pick: number }
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant<Op>({ kind: "add" }),
  fc.nat(50).map((pick): Op => ({ kind: "push", pick })),
  fc.constant<Op>({ kind: "shift" }),
  fc.nat(50).map((pick): Op => ({ kind: "remove", pick })),
)

describe("VcpuSlot", () => {
  it("its queue behaves like an array (push at the tail, shift the head, remove any queued thread)", () => {
    fc.assert(fc.property(fc.array(op, { minLength: 20, maxLength: 200 }), (ops) => {
      const slot = new VcpuSlot(new MainVcpu(1, 10))
      const model: number[] = []
      for (const o of ops) {
        if (o.kind === "add") slot.addThread()
        else if (o.kind === "push") {
          // Only threads bound to the VCPU and not queued yet can be pushed (the scheduler's rule).
          // Ids are the scheduler's (global, not 0..threads-1), never 0: a ring cell never written
          // (0) cannot pass for a queued thread (branch sl28's one-thread form had a variant only
          // such ids catch; main's ring growth without its copy is caught either way).
          const free = [...Array(slot.threads).keys()].map((t) => 5 + 3 * t).filter((t) => !model.includes(t))
          if (free.length === 0) continue
          const th = free[o.pick % free.length]!
          slot.push(th)
          model.push(th)
        } else if (o.kind === "shift") {
          if (model.length === 0) continue
          expect(slot.shift()).toBe(model.shift())
        } else {
          if (model.length === 0) continue
          const th = model[o.pick % model.length]!
          slot.remove(th)
          model.splice(model.indexOf(th), 1)
        }
        expect(slot.queued()).toEqual(model)
      }
    }), { numRuns: 300 })
  })

  it("refuses to remove a thread that is not queued", () => {
    const slot = new VcpuSlot(new MainVcpu(1, 10))
    slot.addThread()
    slot.addThread()
    slot.push(0)
    expect(() => slot.remove(1)).toThrow(/not queued/)
  })
})
