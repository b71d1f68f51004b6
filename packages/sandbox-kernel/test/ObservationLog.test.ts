/** The mailbox observation log: typed columns (in chunks) that read back exactly what was added, in order. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { ObservationLog, type Observation } from "../src/ObservationLog.ts"

describe("ObservationLog", () => {
  it("reads back every observation added, in order, across growth (property)", () => {
    const obs = fc.record({ sandbox: fc.nat(65_535), localNs: fc.maxSafeInteger(), atNs: fc.oneof(fc.nat(), fc.double({ min: 0, noNaN: true })), seq: fc.integer({ min: -1, max: 2 ** 40 }), corrupted: fc.boolean() })
    fc.assert(
      fc.property(fc.array(obs, { maxLength: 300 }), (added: Observation[]) => {
        const log = new ObservationLog()
        for (const o of added) log.add(o.sandbox, o.localNs, o.atNs, o.seq, o.corrupted)
        expect(log.length).toBe(added.length)
        expect(log.toArray()).toEqual(added)
        added.forEach((o, i) => {
          expect([log.sandbox(i), log.localNs(i), log.atNs(i), log.seq(i), log.corrupted(i)]).toEqual([o.sandbox, o.localNs, o.atNs, o.seq, o.corrupted])
        })
      }),
    )
  })

  it("spans chunks: 200,000 observations read back in order", () => {
    const log = new ObservationLog()
    for (let i = 0; i < 200_000; i++) log.add(i % 7, 3 * i, 2 * i, i, i % 11 === 0)
    expect(log.length).toBe(200_000)
    for (const i of [0, 65_535, 65_536, 131_072, 199_999]) expect(log.get(i)).toEqual({ sandbox: i % 7, localNs: 3 * i, atNs: 2 * i, seq: i, corrupted: i % 11 === 0 })
  })

  it("refuses an index outside the log", () => {
    const log = new ObservationLog()
    log.add(1, 2, 3, 4, false)
    expect(log.get(0)).toEqual({ sandbox: 1, localNs: 2, atNs: 3, seq: 4, corrupted: false })
    expect(() => log.get(1)).toThrow(RangeError)
    expect(() => log.get(-1)).toThrow(RangeError)
    expect(() => log.get(0.5)).toThrow(RangeError)
  })
})
