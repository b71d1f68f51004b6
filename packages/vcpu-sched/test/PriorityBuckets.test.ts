/**
 * `internal/PriorityBuckets.ts` on its own (not through `RunnableSet`, which leaves the buckets for
 * the position tree once a priority finds no bucket): random appends and removals over up to 12
 * priorities, so that all `MAX_BUCKETS` buckets fill, empty and are reused for a new priority, with
 * S2's 'rotate' walk (`select`) checked against the linear walk of the list in append order: the
 * same choice, exactly the same VCPUs refreshed in the same order. Catches a `byPrio` not re-sorted
 * when an emptied bucket takes a new priority (the merge then skips an eligible bucket).
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MAX_BUCKETS, PriorityBuckets } from "../src/internal/PriorityBuckets.ts"
import type { Vcpu } from "../src/Vcpu.ts"

// Few VCPUs and many priorities: buckets empty often, and new priorities keep arriving.
const N = 12

type Op =
  | { readonly kind: "add"; readonly v: number; readonly priority: number }
  | { readonly kind: "remove"; readonly v: number }
  | { readonly kind: "select"; readonly budgets: readonly boolean[] }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("add" as const), v: fc.nat(N - 1), priority: fc.integer({ min: 1, max: 16 }).map((p) => p * 1000) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("remove" as const), v: fc.nat(N - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("select" as const), budgets: fc.array(fc.boolean(), { minLength: N, maxLength: N }) }) },
)
// size "max": fast-check's default size draws arrays of about 10 ops, too few to fill the buckets.
const ops = fc.array(op, { minLength: 1, maxLength: 400, size: "max" })

/** A stand-in VCPU: its budget after a refresh is fixed by the test; refreshes are logged. */
const fakeVcpu = (id: number, log: number[]): Vcpu & { budgetAfterRefresh: number } => ({
  kind: "main", policy: "fake", rule: "rm", budgetCapNs: 1, periodNs: 1, priority: 1, budgetNs: 0, budgetAfterRefresh: 0,
  refresh(_nowNs: number) { log.push(id); this.budgetNs = this.budgetAfterRefresh },
  peekBudget() { return this.budgetAfterRefresh },
  nextEventNs(_nowNs: number) { return -1 },
  endTimeslice() {},
  unblock() {},
})

/** S2 over the list in order, ties 'rotate': refresh only VCPUs strictly better than the best so far. */
const linearSelect = (list: readonly number[], vcpus: readonly Vcpu[]): number => {
  let best = -1, bestP = Infinity
  for (const v of list) {
    const vcpu = vcpus[v]!
    if (vcpu.priority < bestP) {
      vcpu.refresh(0)
      if (vcpu.budgetNs > 0) { best = v; bestP = vcpu.priority }
    }
  }
  return best
}

/** Runs `seq` on buckets from `make` and on a plain list; the first disagreement, or null. `reused` counts adds that took an emptied bucket. */
const disagreement = (seq: readonly Op[], make: () => PriorityBuckets, stats = { reused: 0 }): string | null => {
  const b = make(), ref: number[] = []
  b.reserve(N)
  const bLog: number[] = [], refLog: number[] = []
  const bVcpus = Array.from({ length: N }, (_, v) => fakeVcpu(v, bLog))
  const refVcpus = Array.from({ length: N }, (_, v) => fakeVcpu(v, refLog))
  for (const [i, o] of seq.entries()) {
    const at = `op ${i} ${JSON.stringify(o)}`
    switch (o.kind) {
      case "add": {
        if (ref.includes(o.v)) continue
        const listed = new Set(ref.map((v) => refVcpus[v]!.priority))
        const inside = b as unknown as { k: number; bprio: Float64Array }
        const isNew = inside.k === MAX_BUCKETS && !inside.bprio.includes(o.priority)
        if (!b.add(o.v, o.priority)) {
          // Refused only when every bucket is in use by a listed priority.
          if (listed.size < MAX_BUCKETS || listed.has(o.priority)) return `${at}: refused with ${listed.size} priorities listed`
          continue
        }
        if (isNew) stats.reused++
        bVcpus[o.v]!.priority = refVcpus[o.v]!.priority = o.priority
        ref.push(o.v)
        break
      }
      case "remove":
        if (!ref.includes(o.v)) continue
        b.remove(o.v)
        ref.splice(ref.indexOf(o.v), 1)
        break
      case "select": {
        for (let v = 0; v < N; v++) bVcpus[v]!.budgetAfterRefresh = refVcpus[v]!.budgetAfterRefresh = o.budgets[v] ? 1 : 0
        bLog.length = refLog.length = 0
        const x = b.select(bVcpus, 0)
        const y = linearSelect(ref, refVcpus)
        if (x !== y) return `${at}: the buckets select ${x}, the list ${y} (R = [${ref.map((v) => `${v}@${refVcpus[v]!.priority}`).join(", ")}])`
        if (bLog.join() !== refLog.join()) return `${at}: the buckets refresh [${bLog.join(", ")}], the list [${refLog.join(", ")}]`
        break
      }
    }
    const out = new Int32Array(ref.length)
    b.order(out, ref.length)
    if (out.join() !== ref.join()) return `${at}: order [${out.join(", ")}] ≠ [${ref.join(", ")}]`
  }
  return null
}

/** Broken: `byPrio` sorted only when a fresh bucket is opened, not when an emptied one takes a new priority. */
class NoResortOnReuse extends PriorityBuckets {
  override add(v: number, priority: number): boolean {
    const k = this.k
    let b = 0
    while (b < k && this.bprio[b] !== priority) b++
    if (b < k || k < MAX_BUCKETS) return super.add(v, priority)
    // Reuse: as the real add, then put back the previous order.
    const before = this.byPrio.slice()
    const ok = super.add(v, priority)
    this.byPrio.set(before)
    return ok
  }
}

describe("PriorityBuckets: S2's 'rotate' walk = the linear walk of the list", () => {
  it("with buckets filled, emptied and reused for new priorities (property)", () => {
    const stats = { reused: 0 }
    fc.assert(fc.property(ops, (seq) => {
      const d = disagreement(seq, () => new PriorityBuckets(), stats)
      if (d !== null) throw new Error(d)
    }), { numRuns: 300 })
    // The runs did reach the reuse of emptied buckets.
    expect(stats.reused).toBeGreaterThan(0)
  })

  it("catches a byPrio not re-sorted when an emptied bucket takes a new priority", () => {
    const r = fc.check(fc.property(ops, (seq) => disagreement(seq, () => new NoResortOnReuse()) === null), { numRuns: 300 })
    expect(r.failed).toBe(true)
  })
})
