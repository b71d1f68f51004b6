/**
 * Pool and Worker: long-lived workers that load a sweep once; threads and processes give the same
 * records as this process (the pool only transports); a sweep file changed under the workers is
 * refused, not run.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Plan from "../../src/sweep/Plan.ts"
import * as Pool from "../../src/sweep/Pool.ts"
import * as RunOne from "../../src/sweep/RunOne.ts"
import * as SweepFile from "../../src/sweep/SweepFile.ts"
import { CHANGED } from "../../src/sweep/Worker.ts"

const SWEEP = {
  name: "pool",
  until: "200ms",
  seeds: [1, 2],
  tasksets: { generator: "randfixedsum", n: 4, utilisation: 0.8, periods: { choices: ["5ms", "10ms", "20ms"] }, count: 3 },
}

const withoutWall = (r: RunOne.RunRecord) => ({ ...r, wallMs: 0 })

describe("Pool", { timeout: 120_000 }, () => {
  for (const runtime of ["worker_threads", "child_process"] as const) {
    it(`${runtime}: the same records as running here, in any batch split`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "qvsim-pool-"))
      const file = join(dir, "pool.json")
      writeFileSync(file, JSON.stringify(SWEEP))
      const loaded = await SweepFile.load(file)
      const plan = Plan.make(loaded)
      const here = plan.runs.map((r) => withoutWall(RunOne.execute(RunOne.context(loaded, plan, "pool.json"), r)))
      const pool = Pool.make(2, runtime)
      try {
        const task = (indices: number[]) => pool.run({ file, fileArg: "pool.json", hash: loaded.hash, indices })
        const batches = await Promise.all([task([5, 0, 3]), task([1]), task([2, 4])])
        const byKey = new Map(batches.flat().map((r) => [r.key, withoutWall(r)]))
        expect(plan.runs.map((r) => byKey.get(r.key))).toEqual(here)
        // The file changed under the workers: refused, naming it.
        writeFileSync(file, JSON.stringify({ ...SWEEP, until: "100ms" }))
        const fresh = Pool.make(1, runtime)
        try {
          await expect(fresh.run({ file, fileArg: "pool.json", hash: loaded.hash, indices: [0] })).rejects.toThrow(CHANGED)
        } finally {
          await fresh.destroy()
        }
      } finally {
        await pool.destroy()
      }
    })
  }
})
