/**
 * docs/sweeps.md as a user meets it: its first ```json block is a complete sweep that runs here
 * in under 30 s and gives what the page says; every sweep block is the file of docs/sweeps/ it names, and
 * each of them plans (every path and grid value valid).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Plan from "../../src/sweep/Plan.ts"
import * as SweepFile from "../../src/sweep/SweepFile.ts"

const root = join(import.meta.dirname, "../../../..")
const page = readFileSync(join(root, "docs/sweeps.md"), "utf8")
const blocks = [...page.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1]!) as { name: string })
const main = join(import.meta.dirname, "../../src/cli/qvsim.mjs")

describe("docs/sweeps.md", { timeout: 120_000 }, () => {
  it("each sweep block is its file in docs/sweeps/, and plans", async () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    for (const b of blocks) {
      const file = join(root, "docs/sweeps", `${b.name}.json`)
      expect(JSON.parse(readFileSync(file, "utf8")), file).toEqual(b)
      const plan = Plan.make(await SweepFile.load(file))
      expect(plan.runs.length).toBeGreaterThan(0)
    }
  })

  it("the first block runs and shows what the page says", () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-docs-sweep-"))
    writeFileSync(join(dir, "study.json"), JSON.stringify(blocks[0]))
    const r = spawnSync(process.execPath, [main, "sweep", "study.json", "--jobs", "2", "--report", "report.html", "--json"], { cwd: dir, encoding: "utf8" })
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ runs: 90, ran: 90, failed: 0 })
    const rows = readFileSync(join(dir, "out/rm-study/summary.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(","))
    const ratio = (u: string, test: string) => Number(rows.find((c) => c[1] === u && c[2] === "verdict" && c[3] === test)![14])
    // "Liu & Layland and the Main + I/O test stop accepting above 0.724 (8 tasks)".
    expect(ratio("0.7", "liu-layland")).toBe(1)
    expect(ratio("0.75", "liu-layland")).toBe(0)
    expect(ratio("0.75", "main+io")).toBe(0)
    // "RTA and the simulation accept nearly every set up to 0.9 ... and agree set by set".
    expect(ratio("0.9", "rta")).toBeGreaterThanOrEqual(0.8)
    const runs = readFileSync(join(dir, "out/rm-study/runs.jsonl"), "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l))
    expect(runs.filter((x) => x.verdicts.rta !== x.verdicts["no-miss"])).toEqual([])
    const html = readFileSync(join(dir, "report.html"), "utf8")
    expect(html).toContain("Acceptance ratio against utilisation")
    expect(html).toContain("no deadline miss in simulation")
  })
})
