/**
 * The determinism contract, enforced on the source: no wall clock and no unseeded randomness in
 * simulation code (sim-core, hardware, vcpu-sched, sandbox-kernel).
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"

const root = join(import.meta.dirname, "../../..")
const simulationPackages = ["sim-core", "hardware", "vcpu-sched", "sandbox-kernel"]
const forbidden = /\b(Math\.random|Date\.now|performance\.now|new\s+Date)\s*\(/

const sourceFiles = (dir: string): string[] => {
  let out: string[] = []
  let entries: string[] = []
  try { entries = readdirSync(dir) } catch { return out }
  for (const name of entries) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out = out.concat(sourceFiles(path))
    else if (name.endsWith(".ts")) out.push(path)
  }
  return out
}

/** Lines of `text` that use a forbidden API outside comments. */
export const offences = (text: string): string[] =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " "))
    .split("\n")
    .map((line, i) => [line.replace(/\/\/.*$/, ""), i] as const)
    .filter(([line]) => forbidden.test(line))
    .map(([line, i]) => `${i + 1}: ${line.trim()}`)

describe("determinism", () => {
  it("simulation code never reads a wall clock or unseeded randomness", () => {
    const found: string[] = []
    const files = simulationPackages.flatMap((p) => sourceFiles(join(root, "packages", p, "src")))
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      for (const o of offences(readFileSync(file, "utf8"))) found.push(`${relative(root, file)}:${o}`)
    }
    expect(found).toEqual([])
  })

  it("the scan catches each forbidden call (broken variants)", () => {
    for (const bad of ["const x = Math.random()", "let t = Date.now()", "performance.now ()", "const d = new Date()"]) {
      expect(offences(`ok()\n${bad}\n`)).toHaveLength(1)
    }
    expect(offences("// Math.random() in a comment\n/* Date.now() */ ok()")).toEqual([])
  })
})
