/**
 * Review of `npm run bench`'s compile cache priming (scripts/bench-prime.mjs, 0fd0353..ebae47c),
 * two hazards beyond benchPrime.test.ts, on fixtures in a temporary folder:
 * - a stale cache: a module edited after priming (same length, its modification time put back)
 *   runs as edited — Node keys a cache entry by the file's path and checks a CRC32 of its source,
 *   not its time stamp — and only that module is stripped again;
 * - evaluation: a CommonJS module imported by a primed `.ts` graph is not run either (Node runs an
 *   imported CommonJS module at the graph's evaluation, which the stop module cuts off).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const dir = mkdtempSync(join(tmpdir(), "qvsim-bench-prime-edit-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const prime = (cache: string, file: string) =>
  spawnSync(process.execPath, [join(root, "scripts", "bench-prime.mjs"), join(dir, file)], { encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: cache } })
const run = (cache: string, file: string) => {
  const log = join(dir, `log-${Math.random().toString(36).slice(2)}.jsonl`)
  const r = spawnSync(process.execPath, [`--require=${join(root, "scripts", "bench-process.cjs")}`, join(dir, file)], { encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: cache, QVSIM_BENCH_LOG: log } })
  expect(r.status, r.stderr).toBe(0)
  const line = JSON.parse(readFileSync(log, "utf8").trim()) as { stripped: boolean }
  return { out: r.stdout.trim(), stripped: line.stripped }
}

describe("bench compile cache priming: no stale code, nothing evaluated", () => {
  it("a module edited after priming runs as edited (same length, old time stamp)", () => {
    const cache = join(dir, "cache")
    const value = join(dir, "value.ts")
    writeFileSync(value, "export const v: string = \"old\"\n")
    writeFileSync(join(dir, "main.ts"), "import { v } from \"./value.ts\"\nconst out: string = v\nconsole.log(out)\n")
    expect(prime(cache, "main.ts").status).toBe(0)
    expect(run(cache, "main.ts")).toEqual({ out: "old", stripped: false })
    const { atime, mtime } = statSync(value)
    writeFileSync(value, "export const v: string = \"new\"\n")
    utimesSync(value, atime, mtime)
    expect(run(cache, "main.ts")).toEqual({ out: "new", stripped: true }) // value.ts stripped again, not served from the cache
    expect(run(cache, "main.ts")).toEqual({ out: "new", stripped: false }) // and cached as edited
  })

  it("a CommonJS module imported by the primed graph is not run", () => {
    const cache = join(dir, "cache-cjs")
    const marker = join(dir, "cjs.ran")
    writeFileSync(join(dir, "side.cjs"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran"); exports.x = 1\n`)
    writeFileSync(join(dir, "usesCjs.ts"), "import { x } from \"./side.cjs\"\nconst y: number = x\nconsole.log(y)\n")
    const p = prime(cache, "usesCjs.ts")
    expect(p.status, p.stdout + p.stderr).toBe(0)
    expect(existsSync(marker)).toBe(false)
    expect(run(cache, "usesCjs.ts")).toEqual({ out: "1", stripped: false })
    expect(existsSync(marker)).toBe(true)
  })
})
