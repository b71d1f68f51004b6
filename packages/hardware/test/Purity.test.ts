import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const src = join(import.meta.dirname, "..", "src")
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))

// What hardware may import (sim-core, zod, its own modules) is checked for every package at once by
// packages/scenarios/test/Layering.test.ts.
describe("simulation code", () => {
  it("reads no wall clock and draws no unseeded randomness", () => {
    for (const f of files(src)) {
      expect(readFileSync(f, "utf8"), f).not.toMatch(/Math\.random|Date\.now|performance\.now|new Date\(/)
    }
  })
})
