/**
 * The scenarios package reads the wall clock only at its edge, `src/cli/`: the CLI and the pool
 * workers' entries (`cli/sweepWorker.mjs`, `cli/robustWorker.mjs`), which hand a clock to what they run. Experiments, robust studies,
 * sweeps, reports and loading never read it themselves (a record's `wallMs` comes from the clock it
 * is given), so their results are pure functions of their inputs.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"

const src = join(import.meta.dirname, "../src")
const forbidden = /\b(Date\.now|performance\.now|new\s+Date)\s*\(/

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return name === "cli" ? [] : files(path)
    return name.endsWith(".ts") || name.endsWith(".mjs") ? [path] : []
  })

/** Lines of `text` that read the wall clock outside comments. */
const offences = (text: string): string[] =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .split("\n")
    .map((line, i) => [line.replace(/\/\/.*$/, ""), i] as const)
    .filter(([line]) => forbidden.test(line))
    .map(([line, i]) => `${i + 1}: ${line.trim()}`)

describe("wall clock only at the edges", () => {
  it("no module of scenarios/src outside cli/ reads it", () => {
    const all = files(src)
    expect(all.some((f) => f.endsWith("robust/Campaign.ts"))).toBe(true)
    const found = all.flatMap((f) => offences(readFileSync(f, "utf8")).map((o) => `${relative(src, f)}:${o}`))
    expect(found).toEqual([])
  })

  it("the scan catches a read (broken variant) and ignores comments", () => {
    expect(offences("const start = performance.now()")).toHaveLength(1)
    expect(offences("const t = Date.now ()")).toHaveLength(1)
    expect(offences("// performance.now() in a comment\n/* Date.now() */ ok()")).toEqual([])
  })
})
