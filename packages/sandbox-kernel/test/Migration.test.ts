/**
 * Thread migration (spec §D.10): detach, IPI, offset, preemptible address-space copy by the
 * monitor, attach with the replenishment list shifted by the clock offset; refusals; and F18 (the
 * migrated list keeps F1 and its order, and every chunk stays eligible at the same global time up to
 * the uncompensated IPI latency and the clocks' drift), caught on a migration without the shift.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Migration, Program, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"
import { MS, US } from "./support.ts"

const migrant = (to: number, atNs: number, log: number[] = []): Program.Program => function* () {
  yield Program.compute(atNs)
  log.push((yield Program.now()) as number)
  const ok = (yield Program.migrate(to)) as boolean
  log.push(ok ? 1 : 0, (yield Program.now()) as number)
  for (;;) yield Program.compute(1 * MS)
}

describe("migration", () => {
  it("the thread continues in the destination on a VCPU with the same (C, T); the offset includes the IPI latency", () => {
    const log: number[] = []
    const sys = new System.System({
      machine: { cores: 2, clockOffsetNs: [0, 7 * MS] },
      recordSchedule: true,
      sandboxes: [{ threads: [{ name: "m", vcpu: 1, program: migrant(1, 5 * MS, log) }] }, {}],
    }).run(300 * MS)
    const r = sys.migrations()[0]!
    expect([r.from, r.to, r.destVcpu]).toEqual([0, 1, 1])
    expect(r.trueOffsetNs).toBe(7 * MS)
    expect(r.offsetNs).toBe(7 * MS + sys.machine.costs.ns.ipiOneWay)
    expect(r.attachNs).toBeGreaterThan(r.requestNs)
    expect(log[1]).toBe(1)
    const m = sys.metrics().sandboxes
    expect(m[0]!.threads.find((t) => t.name === "m")!.status).toBe("migrated")
    expect(m[1]!.threads.find((t) => t.name === "m")!.status).toBe("runnable")
    // It keeps executing in sandbox 1 on VCPU 1, within its budget of 20 ms per 100 ms.
    const after = sys.segments().filter((s) => s.pcpu === 1 && s.vcpu === 1 && s.thread >= 0 && s.start >= r.attachNs)
    expect(after.reduce((a, s) => a + s.end - s.start, 0)).toBeGreaterThan(20 * MS)
    // Hypercall 1: the copy exits to the destination's monitor (migrations are not steady state).
    expect(m[1]!.vmExits).toBe(r.copyPieces)
    expect(m[0]!.vmExits).toBe(0)
  })

  it("the copy pauses before the migration thread's budget runs out and resumes in its next period", () => {
    const sys = new System.System({
      machine: { cores: 2 },
      migration: { pageCycles: 200_000 },
      sandboxes: [{ threads: [{ name: "m", vcpu: 1, program: migrant(1, 1 * MS), pages: 2000 }] }, {}],
    }).run(2000 * MS)
    const r = sys.migrations()[0]!
    // 2000 pages × 200,000 cycles ≈ 188 ms of copy, at most 20 ms − 0.7 ms per 100 ms period.
    expect(r.copyPieces).toBeGreaterThanOrEqual(10)
    expect(r.attachNs).toBeGreaterThan(900 * MS)
  })

  it("refusals: no VCPU with the same (C, T) in the destination; the destination's slot occupied", () => {
    const log: number[] = []
    const other: Config.SystemInput["sandboxes"] = [{ vcpus: [{ budgetNs: 5 * MS, periodNs: 50 * MS }, { budgetNs: 1 * MS, periodNs: 10 * MS }] }]
    const sys = new System.System({ machine: { cores: 2 }, sandboxes: [{ threads: [{ name: "m", vcpu: 1, program: migrant(1, 1 * MS, log) }] }, ...other!] }).run(50 * MS)
    expect(log[1]).toBe(0)
    expect(sys.migration.refused).toBe(1)
    const two = new System.System({
      machine: { cores: 2 },
      sandboxes: [{ threads: [{ name: "a", vcpu: 1, program: migrant(1, 1 * MS) }, { name: "b", vcpu: 2, program: migrant(1, 1 * MS) }] }, {}],
    }).run(300 * MS)
    expect(two.migrations().length).toBe(1)
    expect(two.migration.refused).toBe(1)
  })
})

describe("migration asks the VCPU's policy", () => {
  const mains = (...vs: Array<{ budgetNs: number; periodNs: number; policy?: string }>) => vs.map((v) => ({ kind: "main" as const, ...v }))
  it("a deferrable server's thread moves to a deferrable VCPU with the same (C, T), its period start shifted; another policy is no match", () => {
    const log: number[] = []
    const sys = new System.System({
      machine: { cores: 2, clockOffsetNs: [0, 3 * MS] },
      sandboxes: [
        { vcpus: mains({ budgetNs: 5 * MS, periodNs: 20 * MS }, { budgetNs: 10 * MS, periodNs: 50 * MS, policy: "deferrable" }), threads: [{ name: "m", vcpu: 1, program: migrant(1, 1 * MS, log) }] },
        { vcpus: mains({ budgetNs: 5 * MS, periodNs: 20 * MS }, { budgetNs: 10 * MS, periodNs: 50 * MS }, { budgetNs: 10 * MS, periodNs: 50 * MS, policy: "deferrable" }) },
      ],
    }).run(300 * MS)
    expect(log[1]).toBe(1)
    const r = sys.migrations()[0]!
    expect(r.destVcpu).toBe(2)
    expect(r.sourceQueue).toEqual([[0, 10 * MS]]) // the period that started at creation, C
    expect(r.destQueue).toEqual([[r.offsetNs, 10 * MS]]) // shifted by the offset
  })
  it("a naive POSIX server's thread is refused (the policy has no migration)", () => {
    const log: number[] = []
    const sys = new System.System({
      machine: { cores: 2 },
      sandboxes: [
        { vcpus: mains({ budgetNs: 5 * MS, periodNs: 20 * MS }, { budgetNs: 10 * MS, periodNs: 50 * MS, policy: "posixNaive" }), threads: [{ name: "m", vcpu: 1, program: migrant(1, 1 * MS, log) }] },
        { vcpus: mains({ budgetNs: 5 * MS, periodNs: 20 * MS }, { budgetNs: 10 * MS, periodNs: 50 * MS, policy: "posixNaive" }) },
      ],
    }).run(100 * MS)
    expect(log[1]).toBe(0)
    expect(sys.migration.refused).toBe(1)
  })
})

// ---------------------------------------------------------------------------- F18

interface F18Case {
  readonly offsets: readonly number[]
  readonly drifts: readonly number[]
  readonly budgetMs: number
  readonly periodMs: number
  readonly atUs: number
  readonly burst: readonly number[]
  readonly to: number
  readonly seed: number
}

const f18Arb: fc.Arbitrary<F18Case> = fc.record({
  offsets: fc.array(fc.integer({ min: 0, max: 800 * MS }), { minLength: 3, maxLength: 3 }),
  drifts: fc.array(fc.constantFrom(0, 0, 40, -25, 100), { minLength: 3, maxLength: 3 }),
  budgetMs: fc.integer({ min: 1, max: 8 }),
  periodMs: fc.integer({ min: 10, max: 40 }),
  atUs: fc.integer({ min: 100, max: 60_000 }),
  burst: fc.array(fc.integer({ min: 50, max: 3000 }), { minLength: 1, maxLength: 4 }),
  to: fc.integer({ min: 1, max: 2 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
})

/** F18 on one case: null, or the first violation. */
const f18 = (c: F18Case, hooks: System.SystemHooks = {}): string | null => {
  const work = c.burst.map((us) => Program.compute(us * US))
  const pause = Program.sleep(1 * MS)
  const prog: Program.Program = function* () {
    yield Program.compute(c.atUs * US)
    yield Program.migrate(c.to)
    for (;;) {
      for (const w of work) yield w
      yield pause
    }
  }
  const vcpus = [{ budgetNs: c.budgetMs * MS, periodNs: c.periodMs * MS }, { budgetNs: 1 * MS, periodNs: 5 * MS }]
  const sys = new System.System({
    seed: c.seed,
    machine: { cores: 3, clockOffsetNs: [...c.offsets], clockDriftPpm: [...c.drifts] },
    migration: { vcpu: 1 },
    sandboxes: [{ vcpus, threads: [{ name: "m", vcpu: 0, program: prog }] }, { vcpus }, { vcpus }],
  }, hooks).run(Math.ceil((c.atUs * US * c.periodMs) / c.budgetMs) + 400 * MS) // the compute before the request runs at C/T
  const r = sys.migrations()[0]
  if (r === undefined || r.attachNs < 0) return "the migration did not complete"
  const src = sys.machine.cores[r.from]!.tsc, dst = sys.machine.cores[r.to]!.tsc
  const C = c.budgetMs * MS
  const q = r.destQueue
  if (q.reduce((a, [, b]) => a + b, 0) !== C) return `F1: amounts sum to ${q.reduce((a, [, b]) => a + b, 0)}, not C = ${C}`
  for (let i = 0; i < q.length; i++) {
    if (!(q[i]![1] > 0)) return `F1: amount ${q[i]![1]}`
    if (i > 0 && q[i]![0] < q[i - 1]![0]) return "F1: the list is not sorted"
    if (q[i]![1] !== r.sourceQueue[i]![1]) return "the chunks changed order or amount"
  }
  // Every chunk becomes eligible at the same global time as before, or later by at most the
  // uncompensated IPI latency (plus the drift accumulated between the migration and the chunk).
  const lat = sys.machine.costs.ns.ipiOneWay
  const driftPpb = Math.abs(c.drifts[r.from]! - c.drifts[r.to]!) * 1000
  for (let i = 0; i < q.length; i++) {
    const gs = src.globalAt(r.sourceQueue[i]![0]), gd = dst.globalAt(q[i]![0])
    if (gs <= r.attachNs && gd <= r.attachNs) continue // eligible already, before and after
    const slack = Math.ceil(Math.abs(gs - r.requestNs) * driftPpb / 1e9) + 2
    if (gd < gs - slack || gd > gs + lat + slack) return `chunk ${i}: eligible at ${gd} ns after the migration, ${gs} ns before`
  }
  return null
}

/** A migration that installs the saved list without the clock shift (a broken variant). */
class UnshiftedMigration extends Migration.Migration {
  protected override shift(): number {
    return 0
  }
}

describe("F18 clock independence across a migration", () => {
  it("property: the migrated list keeps F1 and its order, each chunk at the same global time (± IPI latency, drift)", () => {
    fc.assert(fc.property(f18Arb, (c) => f18(c) === null), { numRuns: 40 })
  })

  it("the property catches a migration without the clock shift", () => {
    const hooks: System.SystemHooks = { migrationClass: UnshiftedMigration }
    const r = fc.check(fc.property(f18Arb, (c) => f18(c, hooks) === null), { numRuns: 120, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(f18(r.counterexample![0], hooks)).toMatch(/eligible at/)
  })
})
