/**
 * The executed schedule: merging, exact window maxima and the PIBS bandwidth check against brute
 * force, and the unit-string rendering; the window property with a broken variant.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Schedule, checkBandwidth, checkWindowBound, maxExecutionInWindow, unitString } from "../src/Schedule.ts"

describe("Schedule recording", () => {
  it("without splitJobs, a thread's next job continues its segment (which keeps its first job)", () => {
    const s = new Schedule(0)
    s.add(0, 5, 0, 0, 1)
    s.add(5, 8, 0, 0, 2)
    expect(s.segments()).toEqual([{ pcpu: 0, start: 0, end: 8, vcpu: 0, thread: 0, job: 1 }])
  })

  it("merges contiguous segments of the same thread and job, refuses overlaps, drops empty ones", () => {
    const s = new Schedule(3, true)
    s.add(0, 5, 0, 0)
    s.add(5, 8, 0, 0)
    s.add(8, 8, 1, 1)
    s.add(8, 9, 1, 1, 4)
    s.add(9, 10, 1, 1, 5) // the next job of the same thread: a segment of its own
    s.add(10, 12, 0, 0)
    expect(s.segments()).toEqual([
      { pcpu: 3, start: 0, end: 8, vcpu: 0, thread: 0, job: -1 },
      { pcpu: 3, start: 8, end: 9, vcpu: 1, thread: 1, job: 4 },
      { pcpu: 3, start: 9, end: 10, vcpu: 1, thread: 1, job: 5 },
      { pcpu: 3, start: 10, end: 12, vcpu: 0, thread: 0, job: -1 },
    ])
    expect(() => s.add(11, 13, 0, 0)).toThrow(/overlaps/)
    expect(s.intervalsOf(0)).toEqual([[0, 8], [10, 12]])
    expect(s.executionOf(0, 4, 11)).toBe(5)
    for (let i = 0; i < 1000; i++) s.add(20 + 2 * i, 21 + 2 * i, 2, 2) // growth
    expect(s.length).toBe(1004)
  })

  it("renders one character per unit", () => {
    const s = new Schedule()
    s.add(0, 3, 0, 0)
    s.add(5, 7, 1, 1)
    expect(unitString(s, 1, 8, ["A", "B"])).toBe("AAA..BB.")
  })

  it("F4 and F6 checks on hand-made schedules", () => {
    expect(checkWindowBound([[0, 4], [10, 14]], 4, 10, 0, 3)).toBeNull()
    expect(checkWindowBound([[0, 4], [5, 14]], 4, 10, 0, 3)).toMatch(/F4: 9ns executed in a window of 1·T = 10ns > \(k\+1\)\(C\+δ\) = 8ns/)
    expect(checkBandwidth([[0, 1], [10, 11]], 1, 10, 10)).toBeNull() // U = 0.1: 2 in [0, 11) ≤ 1.1 + 1
    expect(checkBandwidth([[0, 1], [2, 3]], 1, 10, 10)).toMatch(/F6/) // 2 in [0, 3) > 0.3 + 1
    expect(checkBandwidth([[0, 1], [2, 3]], 1, 10, 10, 10)).toBeNull() // late grants: + U·S
  })
})

/** Disjoint sorted integer intervals. */
const intervals = fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 20 })), { maxLength: 12 })
  .map((gaps) => {
    let t = 0
    return gaps.map(([gap, len]): [number, number] => { t += gap; const iv: [number, number] = [t, t + len]; t += len; return iv })
  })

/** Brute force over every integer window start (windows with integer ends suffice for integer intervals). */
const bruteMax = (iv: Array<[number, number]>, w: number): number => {
  const end = iv.length === 0 ? 0 : iv[iv.length - 1]![1]
  let best = 0
  for (let a = -w; a <= end; a++) {
    let x = 0
    for (const [s, e] of iv) x += Math.max(0, Math.min(e, a + w) - Math.max(s, a))
    best = Math.max(best, x)
  }
  return best
}

/** Broken: only windows aligned on multiples of their length (misses windows that straddle). */
const alignedOnly = (iv: Array<[number, number]>, w: number): number => {
  const end = iv.length === 0 ? 0 : iv[iv.length - 1]![1]
  let best = 0
  for (let a = 0; a <= end; a += w) {
    let x = 0
    for (const [s, e] of iv) x += Math.max(0, Math.min(e, a + w) - Math.max(s, a))
    best = Math.max(best, x)
  }
  return best
}

describe("maxExecutionInWindow is exact", () => {
  const prop = (impl: typeof alignedOnly) => fc.property(intervals, fc.integer({ min: 1, max: 60 }), (iv, w) => impl(iv, w) === bruteMax(iv, w))
  it("equals brute force over every window position", () => {
    fc.assert(prop(maxExecutionInWindow), { numRuns: 300 })
  })
  it("the comparison catches a version that only tries windows aligned on their length", () => {
    expect(fc.check(prop(alignedOnly), { numRuns: 900, endOnFailure: true }).failed).toBe(true)
  })
  it("checkBandwidth agrees with a brute-force scan of every integer window", () => {
    fc.assert(fc.property(intervals, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 5, max: 20 }), (iv, C, T) => {
      const end = iv.length === 0 ? 0 : iv[iv.length - 1]![1]
      let ok = true
      for (let a = 0; a <= end; a++) for (let b = a + 1; b <= end; b++) {
        let x = 0
        for (const [s, e] of iv) x += Math.max(0, Math.min(e, b) - Math.max(s, a))
        if (x * T > C * (b - a) + C * T) ok = false
      }
      return (checkBandwidth(iv, C, T, T) === null) === ok
    }), { numRuns: 200 })
  })
})
