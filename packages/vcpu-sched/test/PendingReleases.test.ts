/**
 * A harness thread's pending releases (`PendingReleases.ts`: the first in a field, a backlog in a
 * ring made at the first backlog) against a plain array, on random sequences of releases and
 * starts: the same length and the same `at(i)` for every pending release after each step, the same
 * value from each `shift`. The sequences are long and push-heavy, so backlogs grow past the ring's
 * first capacity, shrink, grow again, and the ring's live part wraps around its end (which no
 * harness test reaches: an overloaded run's `unfinishedJobs` rarely lands on a wrapped ring).
 * Caught: a ring whose `at` forgets the wrap, a ring that grows without unwrapping, and a release
 * onto an empty list put in the ring once a backlog has made it.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Ring } from "../src/internal/Ring.ts"
import { PendingReleases } from "../src/PendingReleases.ts"

/** true: a release (at the next time); false: the next job starts (when one is pending). */
const steps = fc.array(fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 2, arbitrary: fc.constant(false) }), { minLength: 1, maxLength: 400, size: "max" })

/** Plays `ops` on a `PendingReleases` and an array: the first disagreement (null: none) and the longest list seen. */
const play = (ops: readonly boolean[]): { error: string | null; longest: number } => {
  const p = new PendingReleases(), model: number[] = []
  let time = 0, longest = 0
  for (const [k, release] of ops.entries()) {
    if (release) {
      time += 1 + (k % 7) // release times increase (as in a run), not all by the same step
      p.push(time)
      model.push(time)
    } else if (model.length > 0) {
      const got = p.shift(), want = model.shift()!
      if (got !== want) return { error: `step ${k}: shift gave ${got}, expected ${want}`, longest }
    }
    longest = Math.max(longest, model.length)
    if (p.length !== model.length) return { error: `step ${k}: length ${p.length}, expected ${model.length}`, longest }
    for (let i = 0; i < model.length; i++) {
      if (p.at(i) !== model[i]) return { error: `step ${k}: at(${i}) = ${p.at(i)}, expected ${model[i]} (of ${model.length})`, longest }
    }
  }
  return { error: null, longest }
}

const property = () => fc.property(steps, (ops) => { expect(play(ops).error).toBeNull() })

describe("PendingReleases", () => {
  it("agrees with an array: length, every pending release, each shift (backlogs past the ring's capacity, wrapped)", () => {
    let longest = 0
    fc.assert(fc.property(steps, (ops) => {
      const r = play(ops)
      longest = Math.max(longest, r.longest)
      expect(r.error).toBeNull()
    }), { numRuns: 200 })
    expect(longest).toBeGreaterThan(16) // backlogs outgrow the ring's first capacity (4) several times
  })

  it("a backlog whose ring wraps, then grows while wrapped", () => {
    // 5 releases: the first, and 4 in the ring (full at its first capacity); 2 starts: the ring's
    // head moves to slot 2; 2 releases go to slots 0 and 1 (wrapped); 1 more grows the ring.
    const ops = [true, true, true, true, true, false, false, true, true, true]
    expect(play(ops).error).toBeNull()
  })

  it("the property catches a ring whose `at` forgets the wrap", () => {
    const at = Ring.prototype.at
    Ring.prototype.at = function (this: Ring, i: number): number {
      const self = this as unknown as { buf: Float64Array; head: number }
      return self.buf[self.head + i]!
    }
    try {
      expect(fc.check(property(), { numRuns: 200, endOnFailure: true }).failed).toBe(true)
    } finally {
      Ring.prototype.at = at
    }
  })

  it("the property catches a ring that grows without unwrapping (copies its array as it lies)", () => {
    const grow = (Ring.prototype as unknown as { grow: () => void }).grow
    ;(Ring.prototype as unknown as { grow: () => void }).grow = function (this: unknown): void {
      const self = this as { buf: Float64Array }
      const next = new Float64Array(self.buf.length * 2)
      next.set(self.buf)
      self.buf = next
    }
    try {
      expect(fc.check(property(), { numRuns: 200, endOnFailure: true }).failed).toBe(true)
    } finally {
      ;(Ring.prototype as unknown as { grow: () => void }).grow = grow
    }
  })

  it("the property catches a release onto an empty list put in the ring once the ring exists", () => {
    const push = PendingReleases.prototype.push
    PendingReleases.prototype.push = function (this: PendingReleases, timeNs: number): void {
      const self = this as unknown as { first: number; more: Ring | null; length: number }
      if (self.length === 0 && self.more === null) self.first = timeNs
      else (self.more ??= new Ring()).push(timeNs)
      self.length++
    }
    try {
      expect(fc.check(property(), { numRuns: 200, endOnFailure: true }).failed).toBe(true)
    } finally {
      PendingReleases.prototype.push = push
    }
  })
})
