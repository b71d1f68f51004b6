/**
 * Experiments and system scenarios through the `qvsim` CLI, on a fixture experiment of our own
 * (test/fixtures/tiny-experiment.ts), not the paper's: results files, claims (a false one is
 * reported, exit 0), --json, one variant as a scenario, trace → replay identical.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const fixtures = join(import.meta.dirname, "fixtures")
const tiny = join(fixtures, "tiny-experiment.ts")

const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-exp-"))

describe("qvsim with experiments and systems", { timeout: 60_000 }, () => {
  it("run <experiment> prints aligned tables and ✓/✗ claims, writes <table id>.csv (with its CSVW metadata) and results.json, exits 0 with a failing claim", () => {
    const out = fresh()
    const r = qvsim(["run", tiny, "--out", out, "--report", join(out, "report.html")])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^Worker jobs$/m)
    expect(r.stdout).toMatch(/^variant\s+jobs\s+cpuMs\s+max response, ms$/m)
    expect(r.stdout).toMatch(/✓ the heavy variant uses more CPU/)
    expect(r.stdout).toMatch(/✗ both variants use the same CPU/)
    expect(r.stdout).toMatch(/1 of 2 claims do NOT hold/)
    expect(readdirSync(out).sort()).toEqual(["qvsim-run.json", "report.html", "results.json", "worker_jobs.csv", "worker_jobs.csv-metadata.json"])
    expect(JSON.parse(readFileSync(join(out, "qvsim-run.json"), "utf8"))).toMatchObject({ experiment: "tiny", seed: 3, scale: 1, files: ["report.html", "results.json", "worker_jobs.csv", "worker_jobs.csv-metadata.json"] })
    // Keys in snake_case with the unit last ("max response, ms" → max_response_ms; cpuMs → cpu_ms).
    expect(readFileSync(join(out, "worker_jobs.csv"), "utf8").split("\n")[0]).toBe("variant,jobs,cpu_ms,max_response_ms")
    const json = JSON.parse(readFileSync(join(out, "results.json"), "utf8"))
    expect(json.experiment).toBe("tiny")
    expect(json.seed).toBe(3)
    expect(json.tables[0].id).toBe("worker_jobs")
    expect(json.tables[0].rows.map((x: { variant: string }) => x.variant)).toEqual(["light", "heavy"])
    expect(json.tables[0].columns.map((c: { title: string }) => c.title)).toEqual(["variant", "jobs", "cpuMs", "max response, ms"])
    expect(json.claims.map((c: { holds: boolean }) => c.holds)).toEqual([true, false])
    const html = readFileSync(join(out, "report.html"), "utf8")
    expect(html).toContain("both variants use the same CPU")
    expect(html).toMatch(/<svg/)
  })

  it("an experiment whose variant names another seed exits 2 naming it, before writing anything (plain and --robust)", () => {
    const broken = join(fixtures, "own-seed-experiment.ts")
    for (const extra of [[], ["--robust", "--samples", "2"]]) {
      const out = join(fresh(), "out")
      const r = qvsim(["run", broken, "--out", out, ...extra])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr).toMatch(/own-seed\/other: system\.seed is \d+, not the run's seed \d+/)
      expect(existsSync(out)).toBe(false)
    }
  })

  it("--json prints {experiment, seed, scale, wallMs, out, inputs, tables, claims, metrics} only; --seed changes the runs", () => {
    const out = fresh()
    const r = qvsim(["run", tiny, "--out", out, "--json", "--seed", "4"])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout)
    expect(Object.keys(j).sort()).toEqual(["claims", "experiment", "inputs", "metrics", "out", "scale", "seed", "tables", "wallMs"])
    expect(j.out).toBe(out)
    expect(j.seed).toBe(4)
  })

  it("--traces writes one replayable trace per variant; run <experiment>/<variant> is the same run", () => {
    const out = fresh()
    expect(qvsim(["run", tiny, "--out", out, "--traces", "heavy", "--json"]).code).toBe(0)
    expect(existsSync(join(out, "heavy.trace.jsonl"))).toBe(true)
    expect(existsSync(join(out, "light.trace.jsonl"))).toBe(false)
    const head = JSON.parse(readFileSync(join(out, "heavy.trace.jsonl"), "utf8").split("\n")[0]!)
    // The experiment's file named relative to the trace, with its content hash (replay checks it before importing).
    expect(head.scenario.source).toBe(`${relative(out, tiny)}/heavy`)
    expect(head.scenario.file.sha256).toMatch(/^[0-9a-f]{16}$/)
    const replay = qvsim(["replay", join(out, "heavy.trace.jsonl")])
    expect(replay.stdout).toMatch(/^identical: /)
    expect(replay.code).toBe(0)
    // The same variant run alone: same records.
    const t = join(out, "alone.jsonl")
    const one = qvsim(["run", `${tiny}/heavy`, "--trace", t, "--json"])
    expect(one.code).toBe(0)
    expect(JSON.parse(one.stdout).scenario).toBe("tiny-heavy")
    expect(qvsim(["diff", t, join(out, "heavy.trace.jsonl")]).code).toBe(0)
  })

  it("run <experiment>/<variant> takes the run flags; replay works; bad variants and misplaced flags are one-line errors", () => {
    const out = fresh()
    const r = qvsim(["run", `${tiny}/light`, "--trace", join(out, "t.jsonl"), "--schedule", join(out, "s.json"), "--perfetto", join(out, "p.json"), "--until", "50ms", "--seed", "8"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/scenario\s+tiny-light \(seed 8\)/)
    expect(JSON.parse(readFileSync(join(out, "s.json"), "utf8"))[0]).toMatchObject({ pcpu: "core0" })
    expect(readFileSync(join(out, "p.json"), "utf8")).toContain('"sandbox0"')
    expect(qvsim(["replay", join(out, "t.jsonl")]).code).toBe(0)
    const bad = qvsim(["run", `${tiny}/nope`])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toMatch(/^qvsim: experiment tiny has no variant "nope" \(variants: light, heavy\)$/)
    const misplaced = qvsim(["run", tiny, "--trace", join(out, "x.jsonl")])
    expect(misplaced.code).toBe(2)
    expect(misplaced.stderr).toMatch(/--trace applies to one run/)
  })

  it("a system scenario from JSON and from TS: run --trace, replay identical, check per sandbox core", () => {
    const out = fresh()
    for (const file of ["mailbox-ping.json", "mailbox-ping.ts"]) {
      const t = join(out, `${file}.jsonl`)
      const r = qvsim(["run", join(fixtures, file), "--trace", t, "--report", join(out, `${file}.html`)])
      expect(r.code).toBe(0)
      const replay = qvsim(["replay", t])
      expect(replay.code).toBe(0)
      expect(replay.stdout).toMatch(/^identical: [\d,]+ records of mailbox-ping/)
    }
    // The default (p11) VCPU set reserves 4 × 20 % + 3 × 10 % = 110 % of a core: over the necessary condition.
    const c = qvsim(["check", join(fixtures, "mailbox-ping.json")])
    expect(c.code).toBe(1)
    expect(c.stdout).toMatch(/^sandbox0\/core0: utilisation 1\.1000/m)
    expect(c.stdout).toMatch(/^sandbox1\/core1: utilisation/m)
    expect(c.stderr).toMatch(/unschedulable: sandbox0\/core0: utilisation 1\.1000 > 1 \(necessary condition\)/)
  })

  it("list shows the experiments section; schema prints a JSON Schema with the system section", () => {
    const l = qvsim(["list"])
    expect(l.code).toBe(0)
    expect(l.stdout).toMatch(/^experiments/m)
    const s = qvsim(["schema"])
    expect(s.code).toBe(0)
    expect(JSON.parse(s.stdout).properties.system.type).toBe("object")
  })
})
