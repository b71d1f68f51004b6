/**
 * The catch campaign: its fit and table, and, run end to end on a fixture project
 * (`fixtures/catches/`), a weak catch (a property failing in 1 run of 20, run 20 times) reported
 * with exactly the seeds at which its configured runs miss (computed here with the same property)
 * and exit 1, strong catches (fc.check and fc.assert) with no miss, a holding property not swept,
 * a catch that misses at its file's seed reported as a failed test, and bad flags exit 2 naming
 * the flag.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { fit, type CatchRecord } from "../campaign/catches/Record.ts"
import { formatTable, worstFirst } from "../campaign/catches/Table.ts"
import { COMMON_RUNS, RARE_RUNS, rare } from "./fixtures/catches/properties.ts"

const root = join(import.meta.dirname, "..", "..")
const config = "scripts/test/fixtures/catches/vitest.config.ts"
const SEEDS = 200
const campaign = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, ["scripts/campaign.ts", "catches", ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env } })

/** The table's rows as cells (columns are separated by two spaces or more). */
const rows = (stdout: string): string[][] => {
  const lines = stdout.split("\n")
  const head = lines.findIndex((l) => l.startsWith("file "))
  const out: string[][] = []
  for (let i = head + 1; i < lines.length && lines[i]!.trim() !== ""; i++) out.push(lines[i]!.trim().split(/ {2,}/))
  return out
}

const record = (numRuns: number, firstFailure: number[]): CatchRecord =>
  ({ file: "f.ts", project: "p", test: "t", call: 1, kind: "check", numRuns, seeds: firstFailure.length, mult: 10, firstFailure, firstAtFileSeed: 1, ms: 0 })

describe("catch campaign bookkeeping", () => {
  it("counts a miss when the first failure is after the configured runs or never; fits a geometric per-run probability", () => {
    const r = fit(record(10, [3, 11, -1, 10]))
    expect([r.misses, r.latest]).toEqual([2, 11])
    // 3 failures over 3 + 11 + 100 (censored) + 10 trials.
    expect(r.perRun).toBeCloseTo(3 / 124, 12)
    expect(r.missPerCi).toBeCloseTo((1 - 3 / 124) ** 10, 12)
    expect(fit(record(10, [1, 1])).missPerCi).toBe(0)
  })

  it("sorts worst first: observed misses, then fitted miss probability", () => {
    const table = formatTable(worstFirst([fit({ ...record(10, [5, 5]), test: "strong" }), fit({ ...record(10, [5, -1]), test: "weak" }), fit({ ...record(10, [9, 2]), test: "middle" })]))
    expect(table.split("\n").slice(1).map((l) => l.split(/ {2,}/)[1])).toEqual(["weak", "middle", "strong"])
  })
})

describe("npm run campaign -- catches (fixture project)", () => {
  // The seeds at which the weak catch's configured runs find no failure; the file seed: the first that catches.
  const missAt = (s: number): boolean => !fc.check(rare, { seed: s, numRuns: RARE_RUNS }).failed
  const expected: number[] = []
  for (let s = 1; s <= SEEDS; s++) if (missAt(s)) expected.push(s)
  let fileSeed = 1
  while (missAt(fileSeed)) fileSeed++

  it("reports the weak catch with exactly its missing seeds and exit 1, the strong ones with none, the holding property not at all", () => {
    expect(expected.length).toBeGreaterThan(20)
    const r = campaign({ FC_SEED: String(fileSeed) }, "--config", config, "--project", "fixture", "--seeds", String(SEEDS))
    expect(r.status, r.stdout + r.stderr).toBe(1)
    const t = rows(r.stdout)
    expect(t.map((c) => [c[1], c[2], c[3], c[4], c[5]])).toEqual([
      ["weak catch: a rarely failing property, few runs", "1 check", String(RARE_RUNS), String(SEEDS), String(expected.length)],
      ["strong catches: a common failure, many runs", "1 check", String(COMMON_RUNS), String(SEEDS), "0"],
      ["strong catches: a common failure, many runs", "2 assert", String(COMMON_RUNS), String(SEEDS), "0"],
    ])
    // Fitted P(miss) for the weak catch near 0.95^20 = 0.36; the strong ones' below 1e-20.
    expect(Number(t[0]![7])).toBeGreaterThan(0.2)
    expect(Number(t[0]![7])).toBeLessThan(0.5)
    expect(t.slice(1).every((c) => c[7] === "<1e-30" || Number(c[7]) < 1e-20)).toBe(true)
    expect(r.stdout).toContain(`${expected.length} of ${SEEDS} seeds find no failure in ${RARE_RUNS} runs (at seeds ${expected.slice(0, 10).join(", ")}, ...)`)
    expect(r.stdout).toContain(`replay (the test then fails): FC_SEED=${expected[0]} npx vitest run --project fixture scripts/test/fixtures/catches/catches.fixture.ts`)
    expect(r.stdout).toContain("3 catch(es) in 1 test file(s), 1 missed at their configured runs, 0 test(s) failed")
  })

  it("exits 0 when no catch misses; a catch that misses at its file's seed is a failed test, exit 1", () => {
    const strong = campaign({ FC_SEED: String(fileSeed) }, "--config", config, "--project", "fixture", "--seeds", "50", "--test", "strong|holds")
    expect(strong.status, strong.stdout + strong.stderr).toBe(0)
    expect(rows(strong.stdout)).toHaveLength(2)
    const missed = campaign({ FC_SEED: String(expected[0]) }, "--config", config, "--project", "fixture", "--seeds", "5", "--test", "weak")
    expect(missed.status).toBe(1)
    expect(missed.stdout).toContain("no catch (no fast-check call failed at its file's seed)")
    expect(missed.stdout).toContain("FAILED at its file's seed (a catch that missed there, or a real failure): scripts/test/fixtures/catches/catches.fixture.ts > weak catch: a rarely failing property, few runs")
  })

  it("a bad flag exits 2 with one line naming it", () => {
    for (const [args, msg] of [[["--seeds", "0"], '--seeds "0": expected an integer in [1, 100000]'], [["--mult", "x"], '--mult "x": expected an integer'], [["--runs", "3"], "--runs: unknown flag"],
      [["--test", "("], '--test "(": not a regular expression'], [["--config", "nosuch.ts"], '--config "nosuch.ts": no such file'],
      [["--config", config, "--project", "fixture", "--filter", "nosuch"], "--project fixture --filter nosuch: no test file"]] as const) {
      const r = campaign({}, ...args)
      expect(r.status, r.stdout + r.stderr).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toContain(msg)
    }
  })
})
