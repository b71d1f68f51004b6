/**
 * The campaign tool: the dispatcher lists and refuses; the seed campaign derives its seeds
 * deterministically from the master seed, reads fast-check's failure text, and, run end to end on
 * a fixture project, reports a deliberately failing property under exactly the seeds it fails
 * for, with its shrunk counterexample, and exits 1.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseFlags, UsageError } from "../campaign/lib/cli.ts"
import { deriveSeeds, summarizeFailure, Tally, type Row } from "../campaign/lib/seedResults.ts"
import { importsFastCheck } from "../campaign/lib/seedRunner.ts"
import { sometimes } from "./fixtures/campaign/sometimes.ts"

const root = join(import.meta.dirname, "..", "..")
const esc = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
const campaign = (...args: string[]) => spawnSync(process.execPath, ["scripts/campaign.ts", ...args], { cwd: root, encoding: "utf8" })

describe("npm run campaign", () => {
  it("lists the campaigns with no argument; refuses an unknown campaign or flag with one line, exit 2", () => {
    const list = campaign()
    expect(list.status).toBe(0)
    expect(list.stdout).toMatch(/^ {2}seeds {8}every property test/m)
    const unknown = campaign("nosuch")
    expect([unknown.status, unknown.stderr.trim()]).toEqual([2, `campaign: unknown campaign "nosuch" (known: ${list.stdout.match(/^ {2}(\S+)/gm)!.map((l) => l.trim()).join(", ")})`])
    for (const [args, msg] of [[["seeds"], "--count: required"], [["seeds", "--count", "0"], '--count "0": expected an integer in [1, 1000000]'], [["seeds", "--count", "2", "--jobz", "2"], "--jobz: unknown flag"], [["seeds", "--count", "2", "--seed", "7"], "--seed 7: give either --count"], [["seeds", "--seed", "x"], '--seed "x": expected an integer'],
      // The tool's own tests are left out unless named: here nothing is left.
      [["seeds", "--count", "1", "--filter", "scripts/test/"], "--project (all) --filter scripts/test/: no test file that imports fast-check"]] as const) {
      const r = campaign(...args)
      expect(r.status).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toContain(msg)
    }
  })

  it("parses --name value, --name=value and comma-separated repeatable flags", () => {
    const spec = { count: { kind: "int", min: 1, max: 9, help: "" }, project: { kind: "strings", help: "" }, out: { kind: "string", help: "" }, isolate: { kind: "bool", help: "" } } as const
    expect(parseFlags(spec, ["--count=3", "--project", "a,b", "--project", "c", "--out", "x"])).toEqual({ count: 3, project: ["a", "b", "c"], out: "x", isolate: false })
    expect(parseFlags(spec, ["--isolate", "--count", "2"])).toMatchObject({ count: 2, isolate: true })
    expect(() => parseFlags(spec, ["--isolate=yes"])).toThrow("--isolate: takes no value")
    expect(() => parseFlags(spec, ["--count", "1.5"])).toThrow(UsageError)
    expect(() => parseFlags(spec, ["--out"])).toThrow("--out: missing value")
  })
})

describe("seed campaign bookkeeping", () => {
  it("derives the same distinct seeds from the same master seed, a prefix for a smaller count, others for another master", () => {
    const a = deriveSeeds(42, 500)
    expect(deriveSeeds(42, 500)).toEqual(a)
    expect(new Set(a).size).toBe(500)
    expect(a.every((s) => Number.isInteger(s) && s >= 0 && s < 2 ** 31)).toBe(true)
    expect(deriveSeeds(42, 20)).toEqual(a.slice(0, 20))
    expect(deriveSeeds(43, 20)).not.toEqual(a.slice(0, 20))
    // Pinned: a change here changes every campaign's seeds (old reports would no longer replay).
    expect(deriveSeeds(1, 3)).toEqual([113940457, 2087346084, 289114772])
  })

  it("reads fast-check's failure text: reason, shrunk counterexample, path", () => {
    let text = ""
    try {
      fc.assert(fc.property(fc.nat(), (n) => {
        if (n > 5) throw new Error(`too big: ${n}`)
      }), { seed: 7 })
    } catch (e) {
      text = `${(e as Error).message}\nCaused by: ${((e as Error).cause as Error).message}`
    }
    const s = summarizeFailure(text)
    expect(s).toMatchObject({ counterexample: "[6]", reason: "too big: 6" })
    expect(s.shrinks).toBeGreaterThan(0)
    expect(s.path).toMatch(/^\d+(:\d+)*$/)
    expect(summarizeFailure("expected false to be true // Object.is equality")).toEqual({ counterexample: null, path: null, shrinks: null, reason: "expected false to be true // Object.is equality" })
  })

  it("tallies seeds run and failures per test; examples that read no seed and pass are left out", () => {
    const t = new Tally()
    const o = (name: string, state: "passed" | "failed" | "skipped", seeded: boolean) => ({ project: "p", file: "f.ts", name, state, seeded, ...(state === "failed" ? { error: "boom" } : {}) })
    t.add(1, [o("prop", "passed", true), o("example", "passed", false), o("broken example", "failed", false)])
    t.add(2, [o("prop", "failed", true), o("example", "skipped", false), o("broken example", "skipped", false)])
    expect(t.report().map((r: Row) => [r.name, r.seedsRun, r.failures.map((f) => f.seed)])).toEqual([["broken example", 1, [1]], ["prop", 2, [2]]])
    expect([t.seedsDone, t.failureCount]).toEqual([2, 2])
  })

  it("picks the test files that import fast-check, directly or through relative imports", () => {
    expect(importsFastCheck(join(root, "packages/sandbox-kernel/test/Isolation.test.ts"))).toBe(true)
    expect(importsFastCheck(join(root, "packages/vcpu-sched/test/Examples.test.ts"))).toBe(importsFastCheck(join(root, "packages/vcpu-sched/test/support.ts")) && readFileSync(join(root, "packages/vcpu-sched/test/Examples.test.ts"), "utf8").includes("./support.ts"))
    expect(importsFastCheck(join(root, "packages/scenarios/test/Cli.test.ts"))).toBe(false)
  })
})

describe("seed campaign, end to end on a fixture project", () => {
  it("reports the failing properties under exactly their failing seeds, with counterexamples, and exits 1", () => {
    const master = 5
    const seeds = deriveSeeds(master, 4)
    const sometimesFails = seeds.filter((seed) => fc.check(sometimes, { seed, numRuns: 1 }).failed)
    // The fixture's master seed is chosen so that "some seeds" means some, not none or all.
    expect(sometimesFails.length).toBeGreaterThan(0)
    expect(sometimesFails.length).toBeLessThan(seeds.length)
    const dir = mkdtempSync(join(tmpdir(), "campaign-"))
    try {
      const out = join(dir, "r.json")
      const r = campaign("seeds", "--count", "4", "--master-seed", String(master), "--jobs", "2", "--config", "scripts/test/fixtures/campaign/vitest.config.ts", "--filter", "props,examples", "--out", out)
      expect(r.status, r.stderr).toBe(1)
      expect(r.stdout).toContain(`master seed ${master}, 4 seeds, 2 runner(s)`)
      const rows = (JSON.parse(readFileSync(out, "utf8")) as { rows: Row[] }).rows
      const byName = new Map(rows.map((row) => [row.name, row]))
      expect([...byName.keys()].sort()).toEqual(["a failing example", "fails for every seed", "fails for some seeds", "holds for every seed"])
      // The example reads no seed: it ran in each runner's first (discovery) run only, under two
      // different seeds (which two depends on which runner was ready first).
      expect(byName.get("a failing example")).toMatchObject({ seeded: false, seedsRun: 2 })
      const exampleSeeds = byName.get("a failing example")!.failures.map((f) => f.seed)
      expect(new Set(exampleSeeds).size).toBe(2)
      expect(exampleSeeds.every((seed) => seeds.includes(seed))).toBe(true)
      expect(byName.get("holds for every seed")).toMatchObject({ seedsRun: 4, failures: [] })
      expect(byName.get("fails for every seed")!.failures.map((f) => f.seed).sort()).toEqual([...seeds].sort())
      expect(byName.get("fails for some seeds")!.failures.map((f) => f.seed).sort()).toEqual([...sometimesFails].sort())
      expect(byName.get("fails for some seeds")!.seedsRun).toBe(4)
      // The listing names each failing seed with fast-check's shrunk counterexample and the replay command.
      for (const seed of sometimesFails) {
        const shrunk = JSON.stringify(fc.check(sometimes, { seed, numRuns: 1 }).counterexample)
        const expected = esc(`- seed ${seed}: Property failed by returning false\n    counterexample (shrunk `) + String.raw`\d+` +
          esc(`×): ${shrunk}\n    replay: FC_SEED=${seed} npx vitest run --project fixture scripts/test/fixtures/campaign/props.fixture.ts\n`)
        expect(r.stdout).toMatch(new RegExp(expected))
      }
      expect(r.stdout.match(/counterexample \(shrunk \d+×\): \[0\]/g)).toHaveLength(4)
      expect(r.stdout).toMatch(/4 of 4 seeds in \d+ s wall on 2 runner\(s\) \(2 test files\): \d+ seeds\/h; 3 properties/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("counts a seed whose run never ends as failed, kills that runner with its worker, and goes on with a new one", () => {
    const [a, b] = [5, 6]
    const r = campaign("seeds", "--seed", `${a},${b}`, "--jobs", "1", "--seed-timeout", "2", "--config", "scripts/test/fixtures/campaign/vitest.config.ts", "--filter", "hang")
    expect(r.status, r.stderr).toBe(1)
    expect(r.stdout).toContain("seed campaign: 2 given seed(s), 1 runner(s)")
    expect(r.stdout).toContain(`[1/2] seed ${a} TIMED OUT after 2 s (runner 0 restarted)`)
    expect(r.stdout).toContain(`[2/2] seed ${b} TIMED OUT after 2 s (runner 0 restarted)`)
    expect(r.stdout).toContain(`replay: FC_SEED=${b} npx vitest run\n`)
    expect(r.stdout).toMatch(/2 of 2 seeds in \d+ s wall/)
    expect(r.stderr).toBe("")
  })
})
