/**
 * Regression: a VM exit taken in interrupt context (the isolation experiment's faulty driver makes
 * wild writes from its interrupt handler) used to leave the interrupt segment open across the
 * monitor's, so recording the schedule threw "segment overlaps" and the monitor's time was counted
 * in the interrupt time too. Now the interrupt segment is closed at the exit and reopened after.
 */
import { System } from "@qvsim/sandbox-kernel"
import { describe, expect, it } from "vitest"
import { isolation } from "../src/paper/isolation.ts"

describe("schedule recording across a VM exit in interrupt context", () => {
  it("records disjoint segments per core, with the monitor's time outside the interrupt's", () => {
    const faulty = isolation.variants.find((v) => v.name === "faulty")!
    const sys = new System.System({ ...faulty.system(1, 1), recordSchedule: true })
    sys.run(faulty.untilNs(1))
    const segs = sys.segments()
    expect(segs.some((s) => s.thread === -3)).toBe(true) // the monitor ran (EPT violations)
    const byCore = new Map<number, typeof segs>()
    for (const s of segs) byCore.set(s.pcpu, [...(byCore.get(s.pcpu) ?? []), s])
    for (const list of byCore.values()) {
      for (let i = 1; i < list.length; i++) expect(list[i]!.start).toBeGreaterThanOrEqual(list[i - 1]!.end)
    }
    const m = sys.metrics().sandboxes[0]!
    const irq = segs.filter((s) => s.pcpu === 0 && s.thread === -2).reduce((a, s) => a + s.end - s.start, 0)
    expect(irq).toBe(m.irqNs)
  })
})
