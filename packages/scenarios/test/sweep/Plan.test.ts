/**
 * Plan, Tasksets and RunOne: the keyed runs of a sweep (order, keys, the grid checked before
 * anything runs), generated task sets (a pure function of their key), and one run's record.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Plan from "../../src/sweep/Plan.ts"
import * as Results from "../../src/sweep/Results.ts"
import * as RunOne from "../../src/sweep/RunOne.ts"
import * as SweepFile from "../../src/sweep/SweepFile.ts"
import * as Tasksets from "../../src/sweep/Tasksets.ts"
import type { SweepInput } from "../../src/sweep/Sweep.ts"

const dir = mkdtempSync(join(tmpdir(), "qvsim-plan-"))
let n = 0
const loadSweep = async (input: SweepInput | Record<string, unknown>) => {
  const file = join(dir, `s${n++}.json`)
  writeFileSync(file, JSON.stringify(input))
  return SweepFile.load(file)
}
const planOf = async (input: SweepInput | Record<string, unknown>) => Plan.make(await loadSweep(input))
const errorOf = async (input: Record<string, unknown>): Promise<string> => {
  try {
    await planOf(input)
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
  return "no error"
}

const TASKSETS = {
  generator: "uunifast", n: 4, utilisation: { from: 0.5, to: 0.9, step: 0.2 },
  periods: { distribution: "log-uniform", min: "10ms", max: "100ms", granularity: "1ms" }, count: 3,
} as const

describe("Plan", () => {
  it("runs in canonical order (point, set, seed), keys naming point, set and seed", async () => {
    const p = await planOf({ name: "t", until: "100ms", tasksets: TASKSETS, seeds: { from: 1, count: 2 } })
    expect(p.params.map((x) => x.path)).toEqual(["tasksets.n", "tasksets.utilisation"])
    expect(p.points).toEqual([[4, 0.5], [4, 0.7], [4, 0.9]])
    expect(p.runs).toHaveLength(3 * 3 * 2)
    expect(p.runs.slice(0, 3).map((r) => r.key)).toEqual([
      "tasksets.n=4,tasksets.utilisation=0.5,set=0,seed=1",
      "tasksets.n=4,tasksets.utilisation=0.5,set=0,seed=2",
      "tasksets.n=4,tasksets.utilisation=0.5,set=1,seed=1",
    ])
    expect(new Set(p.runs.map((r) => r.key)).size).toBe(p.runs.length)
    expect(p.runs.every((r, i) => r.index === i)).toBe(true)
  })

  it("a grid over a built-in: cartesian by default, the seed list defaulting to the scenario's", async () => {
    const p = await planOf({ name: "g", base: "rm-periodic", grid: { "pcpus[0].vcpus[4].budget": ["30ms", "36ms"], "scheduler.quantum": { from: "1ms", to: "3ms", step: "1ms" } } })
    expect(p.points).toHaveLength(6)
    expect(p.seeds).toEqual([1])
    expect(p.runs[0]!.key).toBe(`pcpus[0].vcpus[4].budget=30000000,scheduler.quantum=1000000,seed=1`)
    // Durations written with units become integer ns (numbers in the summary, `_ns` in the column).
    expect(p.params.map((x) => x.durationNs)).toEqual([true, true])
  })

  it("bad grids: one line naming the path and value, before anything runs", async () => {
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[4].budgt": [1] } })).toMatch(/^ScenarioError: grid pcpus\[0\]\.vcpus\[4\]\.budgt: pcpus\[0\]\.vcpus\[4\] has no field "budgt"/)
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[4].budget": ["soon"] } })).toMatch(/^ScenarioError: grid pcpus\[0\]\.vcpus\[4\]\.budget: invalid value "soon"/)
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[9].budget": ["1ms"] } })).toMatch(/^ScenarioError: grid pcpus\[0\]\.vcpus\[9\]\.budget: pcpus\[0\]\.vcpus has 5 elements/)
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[4].budget": [] } })).toMatch(/^ScenarioError: invalid sweep .*: grid\.pcpus\[0\]\.vcpus\[4\]\.budget: an axis needs at least one value/)
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { "pcpus[0].vcpus[4].budget": ["300ms"] } })).toMatch(/grid point pcpus\[0\]\.vcpus\[4\]\.budget=300000000: invalid scenario .*budget 300000000ns exceeds the period/)
    expect(await errorOf({ name: "b", base: "rm-periodic", grid: { seed: [1, 1] } })).toMatch(/the point seed=1 appears twice/)
    expect(await errorOf({ name: "b", base: "no-such-scenario" })).toMatch(/base: unknown scenario "no-such-scenario"/)
    expect(await errorOf({ name: "b" })).toMatch(/base: a sweep needs a base scenario or tasksets/)
    expect(await errorOf({ name: "b", tasksets: { ...TASKSETS, utilisation: 2 }, until: "1s" })).toMatch(/tasksets\.utilisation: 2 > 1 with uunifast/)
  })

  it("a .ts sweep file (defineSweep) with a scenario file as base, relative to the sweep file", async () => {
    const loaded = await SweepFile.load(join(import.meta.dirname, "../fixtures/seed-sweep.ts"))
    expect(loaded.baseSpec).toBe(join(import.meta.dirname, "../fixtures/two-sources.ts"))
    const p = Plan.make(loaded)
    expect(p.runs.map((r) => r.key)).toEqual([
      "sources[0].jitter=0,seed=3", "sources[0].jitter=0,seed=4", "sources[0].jitter=100000,seed=3", "sources[0].jitter=100000,seed=4",
    ])
    const ctx = RunOne.context(loaded, p, "seed-sweep.ts")
    const records = p.runs.map((r) => RunOne.execute(ctx, r))
    expect(records.every((r) => r.ok && r.simTimeNs === 100_000_000)).toBe(true)
    expect(new Set(records.map((r) => r.fingerprint)).size).toBe(4)
  })

  it("an experiment variant as base: its system is built per run seed", async () => {
    const loaded = await loadSweep({ name: "v", base: { experiment: "isolation", variant: "faulty", scale: 0.01 }, seeds: [1, 2], until: "50ms" })
    expect(loaded.baseSpec).toBe("isolation/faulty")
    const p = Plan.make(loaded)
    expect(p.runs.map((r) => r.key)).toEqual(["seed=1", "seed=2"])
    const ctx = RunOne.context(loaded, p, "v.json")
    const [a, b] = p.runs.map((r) => RunOne.execute(ctx, r))
    expect(a!.ok && b!.ok).toBe(true)
    expect([a!.seed, b!.seed]).toEqual([1, 2])
    expect(loaded.baseInput(2).seed).toBe(2)
    expect(loaded.baseInput(1).seed).toBe(1)
    expect(RunOne.execute(ctx, p.runs[0]!).fingerprint).toBe(a!.fingerprint)
  })
})

/** TASKSETS as validated (durations in ns), as `draw` takes them. */
const PARSED = { ...TASKSETS, periods: { distribution: "log-uniform", min: 10_000_000, max: 100_000_000, granularity: 1_000_000 } } as const

describe("Tasksets", () => {
  it("a set is a pure function of (seed, generator, n, U, index): integer (C, T), C ≤ T, Σ C/T ≈ U", () => {
    const a = Tasksets.draw(PARSED, 10, 0.7, 3)
    expect(Tasksets.draw(PARSED, 10, 0.7, 3)).toEqual(a)
    expect(Tasksets.draw(PARSED, 10, 0.7, 4)).not.toEqual(a)
    expect(Tasksets.draw({ ...PARSED, seed: 2 }, 10, 0.7, 3)).not.toEqual(a)
    for (const t of a) expect(Number.isSafeInteger(t.budgetNs) && t.budgetNs >= 1 && t.budgetNs <= t.periodNs && t.periodNs % 1_000_000 === 0).toBe(true)
    const u = a.reduce((s, t) => s + t.budgetNs / t.periodNs, 0)
    expect(Math.abs(u - 0.7)).toBeLessThan(0.01)
    for (const generator of ["uunifast-discard", "randfixedsum"] as const) {
      const s = Tasksets.draw({ ...PARSED, generator }, 5, 0.9, 0)
      expect(s).toHaveLength(5)
    }
    expect(Tasksets.draw({ ...PARSED, periods: { choices: [10_000_000, 20_000_000] } }, 6, 0.5, 0).every((t) => [10_000_000, 20_000_000].includes(t.periodNs))).toBe(true)
  })

  it("each set is one PCPU: a Main VCPU and a periodic thread per task", () => {
    const s = Tasksets.scenarioOf({ name: "x", duration: "1s" }, [{ budgetNs: 1, periodNs: 10 }, { budgetNs: 2, periodNs: 20 }])
    expect(s.pcpus).toEqual([{
      name: "pcpu0",
      vcpus: [{ name: "t1", budget: 1, period: 10 }, { name: "t2", budget: 2, period: 20 }],
      threads: [
        { name: "task1", vcpu: "t1", arrivals: { kind: "periodic", period: 10 }, job: [{ compute: 1 }] },
        { name: "task2", vcpu: "t2", arrivals: { kind: "periodic", period: 20 }, job: [{ compute: 2 }] },
      ],
    }])
  })
})

describe("RunOne", () => {
  it("a run's record: fingerprint, metrics filtered, verdicts of the analyses and of the simulation", async () => {
    const loaded = await loadSweep({ name: "r", until: "1s", tasksets: TASKSETS, measure: { metrics: ["pcpus.*.threads.*.missed", "analysis.**"] } })
    const p = Plan.make(loaded)
    const ctx = RunOne.context(loaded, p, "r.json")
    const r = RunOne.execute(ctx, p.runs[0]!)
    expect(r.ok).toBe(true)
    expect(r.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(Object.keys(r.metrics!).sort()).toEqual(["analysis.pcpu0.utilisation", ...[1, 2, 3, 4].map((i) => `pcpus.pcpu0.threads.task${i}.missed`)].sort())
    expect(Object.keys(r.verdicts!)).toEqual(["liu-layland", "hyperbolic", "rta", "main+io", "no-miss"])
    expect(r.verdicts!["rta"]).toBe(true)
    // The same key gives the same record (less wall time).
    const again = RunOne.execute(ctx, p.runs[0]!)
    expect({ ...again, wallMs: 0 }).toEqual({ ...r, wallMs: 0 })
  })

  it("a run that throws is a failed record with the error and the replay line, never a throw", async () => {
    const base = join(import.meta.dirname, "../fixtures/throwing-system.ts")
    const loaded = await loadSweep({ name: "f", base, seeds: { from: 1, count: 6 } })
    const p = Plan.make(loaded)
    const records = p.runs.map((r) => RunOne.execute(RunOne.context(loaded, p, "my sweep.json"), r))
    const failed = records.filter((r) => !r.ok)
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.length).toBeLessThan(records.length)
    expect(failed[0]!.error).toMatch(/^ProgramError: .*thread "flaky": its program threw: flaky thread gave up/)
    expect(failed[0]!.replay).toBe(`qvsim sweep 'my sweep.json' --only seed=${failed[0]!.seed}`)
    expect(failed[0]!.fingerprint).toBeUndefined()
  })

  it("a measure.metrics pattern that matches nothing is named in a warning", async () => {
    const loaded = await loadSweep({ name: "w", base: "rm-periodic", until: "50ms", measure: { metrics: ["pcpus.*.invocations", "pcpus.*.invocation"] } })
    const p = Plan.make(loaded)
    const records = p.runs.map((r) => RunOne.execute(RunOne.context(loaded, p, "w.json"), r))
    expect(Results.unmatched(loaded, records)).toEqual([expect.stringMatching(/^measure\.metrics: "pcpus\.\*\.invocation" matched no metric of any run/)])
  })

  it("metric patterns: * one part, ** any parts", () => {
    const m = RunOne.matcher(["pcpus.*.invocations", "a.**"])
    expect(m("pcpus.pcpu0.invocations")).toBe(true)
    expect(m("pcpus.pcpu0.threads.invocations")).toBe(false)
    expect(m("a.b.c.d")).toBe(true)
    expect(RunOne.matcher(undefined)("anything")).toBe(true)
  })
})
