import { describe, expect, it } from "vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const src = join(import.meta.dirname, "..", "src")
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]))

describe("simulation code", () => {
  it("reads no wall clock and draws no unseeded randomness", () => {
    for (const f of files(src)) {
      expect(readFileSync(f, "utf8"), f).not.toMatch(/Math\.random|Date\.now|performance\.now|new Date\(/)
    }
  })

  it("imports only sim-core, zod and its own modules", () => {
    for (const f of files(src)) {
      for (const m of readFileSync(f, "utf8").matchAll(/from "([^"]+)"/g)) {
        expect(m[1], f).toMatch(/^(\.{1,2}\/|@qvsim\/sim-core$|zod$)/)
      }
    }
  })
})
