/**
 * Shards: `I/N` parsed with errors naming the flag, the shard from Slurm's or Kubernetes'
 * environment, and the split: every run in exactly one shard, shards balanced (a property, shown
 * to catch a broken split).
 */
import { fc, test } from "@fast-check/vitest"
import { describe, expect, it } from "vitest"
import type { Plan, RunSpec } from "../../src/sweep/Plan.ts"
import * as Shards from "../../src/sweep/Shards.ts"

const planOf = (runs: number): Plan => ({
  params: [], points: [[]], pointKeys: [""], overrides: [[]], seeds: [], sets: 0,
  runs: Array.from({ length: runs }, (_, i): RunSpec => ({ index: i, key: `seed=${i}`, point: 0, set: undefined, seed: i })),
})

/** Every run in exactly one of `count` shards, and shard sizes within one of each other. */
const partitions = (select: typeof Shards.select, runs: number, count: number): boolean => {
  const plan = planOf(runs)
  const shards = Array.from({ length: count }, (_, index) => select(plan, { index, count }))
  const keys = shards.flat().map((r) => r.key)
  const sizes = shards.map((s) => s.length)
  return keys.length === runs && new Set(keys).size === runs && Math.max(...sizes) - Math.min(...sizes) <= 1
}
const arb = fc.tuple(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 40 }))

describe("Shards", () => {
  it("I/N: errors name the flag and the value", () => {
    expect(Shards.parse("2/4")).toEqual({ index: 2, count: 4 })
    expect(() => Shards.parse("3/2")).toThrow("--shard 3/2: the index must be below the number of shards (0 to 1)")
    expect(() => Shards.parse("1/0")).toThrow("--shard 1/0: the number of shards must be at least 1")
    expect(() => Shards.parse("a/b")).toThrow(/^--shard a\/b: expected I\/N/)
  })

  it("the environment: a Slurm array task counted from its first index, a Kubernetes completion index with --shards", () => {
    expect(Shards.fromEnv({})).toBeUndefined()
    expect(Shards.fromEnv({ SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "3" })).toMatchObject({ index: 2, count: 4 })
    expect(() => Shards.fromEnv({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4" })).toThrow(/the index must be below the number of shards/)
    expect(() => Shards.fromEnv({ SLURM_ARRAY_TASK_ID: "1" })).toThrow(/SLURM_ARRAY_TASK_COUNT is not a positive integer: pass --shard I\/N/)
    expect(Shards.fromEnv({ JOB_COMPLETION_INDEX: "1" }, 3)).toMatchObject({ index: 1, count: 3 })
    expect(() => Shards.fromEnv({ JOB_COMPLETION_INDEX: "1" })).toThrow(/give the number of shards with --shards N/)
  })

  test.prop([arb])("the split: every run in exactly one shard, sizes within one", ([runs, count]) => {
    expect(partitions(Shards.select, runs, count)).toBe(true)
  })

  it("the property catches a broken split (shard 0 also taking shard 1's first run)", () => {
    const broken: typeof Shards.select = (plan, shard) => {
      const runs = Shards.select(plan, shard)
      const extra = shard !== undefined && shard.index === 0 && shard.count > 1 ? Shards.select(plan, { index: 1, count: shard.count }).slice(0, 1) : []
      return [...runs, ...extra]
    }
    expect(fc.check(fc.property(arb, ([runs, count]) => partitions(broken, runs, count)), { numRuns: 300, endOnFailure: true }).failed).toBe(true)
  })
})
