/**
 * `npm run bench`'s compile cache priming (scripts/bench-prime.mjs) and process report
 * (scripts/bench-process.cjs), on fixture modules in a temporary folder: priming loads and strips
 * a module graph without evaluating any of it; afterwards a run of the graph with the same cache
 * strips nothing (Node's TypeScript stripper, amaro, is never loaded, so V8's ArrayBufferDetaching
 * protector is not invalidated by it), where a run with a cold cache strips; a file whose import
 * cannot be resolved is reported and the others are still primed.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const dir = mkdtempSync(join(tmpdir(), "qvsim-bench-prime-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A module that records its evaluation by writing a marker file, and has types to strip. */
const fixture = (name: string, imports: string[]): void =>
  writeFileSync(join(dir, `${name}.ts`), `${imports.map((i) => `import "./${i}.ts"`).join("\n")}
import { writeFileSync } from "node:fs"
const marker: string = ${JSON.stringify(join(dir, `${name}.ran`))}
writeFileSync(marker, "ran")
`)
fixture("leaf", [])
fixture("entry", ["leaf"])
fixture("broken", ["missing"])
fixture("other", [])

const prime = (cache: string, ...files: string[]) =>
  spawnSync(process.execPath, [join(root, "scripts", "bench-prime.mjs"), ...files.map((f) => join(dir, `${f}.ts`))], { encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: cache } })

interface Line { thread: string; cache: string | null; stripped: boolean; code: number | null }
const run = (cache: string, file: string): Line[] => {
  const log = join(dir, `log-${Math.random().toString(36).slice(2)}.jsonl`)
  const r = spawnSync(process.execPath, [`--require=${join(root, "scripts", "bench-process.cjs")}`, join(dir, `${file}.ts`)], { encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: cache, QVSIM_BENCH_LOG: log } })
  expect(r.status, r.stderr).toBe(0)
  return readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line)
}

describe("bench compile cache priming", () => {
  it("primes a graph without evaluating it; a run then strips nothing, a cold run strips", () => {
    const cache = join(dir, "cache")
    const p = prime(cache, "entry")
    expect(p.status, p.stderr).toBe(0)
    expect(JSON.parse(p.stdout)).toMatchObject({ files: 1, failed: [] })
    expect(existsSync(join(dir, "entry.ran")) || existsSync(join(dir, "leaf.ran"))).toBe(false)

    const warm = run(cache, "entry")
    expect(existsSync(join(dir, "entry.ran")) && existsSync(join(dir, "leaf.ran"))).toBe(true)
    expect(warm).toEqual([expect.objectContaining({ thread: "main", stripped: false, code: 0 })])
    expect(warm[0]!.cache).toContain(cache)

    const cold = run(join(dir, "cold-cache"), "entry")
    expect(cold).toEqual([expect.objectContaining({ thread: "main", stripped: true, code: 0 })])
  })

  it("reports a file whose import cannot be resolved and still primes the others, exit 1", () => {
    const cache = join(dir, "cache2")
    const p = prime(cache, "broken", "other")
    expect(p.status).toBe(1)
    const out = JSON.parse(p.stdout) as { files: number; failed: Array<{ file: string; error: string }> }
    expect(out.files).toBe(2)
    expect(out.failed.map((f) => f.file.endsWith("broken.ts"))).toEqual([true])
    expect(existsSync(join(dir, "other.ran"))).toBe(false)
    expect(run(cache, "other")).toEqual([expect.objectContaining({ stripped: false })])
  })
})
