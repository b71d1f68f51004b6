/**
 * The `qvsim` command line, end to end, as a user meets it: exit codes, one-line errors, the
 * `--json` contract, trace → replay → diff, and no half-written files.
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const fixtures = join(import.meta.dirname, "fixtures")

const qvsim = (args: string[], cwd = process.cwd()) => {
  const r = spawnSync(process.execPath, [main, ...args], { cwd, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-cli-"))

describe("qvsim CLI", { timeout: 60_000 }, () => {
  it("run --json prints the contract fields; same seed, same fingerprint; other seed, other fingerprint", () => {
    const a = qvsim(["run", "timers", "--seed", "7", "--json"])
    const b = qvsim(["run", "timers", "--seed", "7", "--json"])
    const c = qvsim(["run", "timers", "--seed", "8", "--json"])
    expect(a.code).toBe(0)
    const ja = JSON.parse(a.stdout), jb = JSON.parse(b.stdout), jc = JSON.parse(c.stdout)
    for (const key of ["scenario", "seed", "simTimeNs", "events", "wallMs", "fingerprint", "metrics"]) expect(ja).toHaveProperty(key)
    expect(ja.scenario).toBe("timers")
    expect(ja.seed).toBe(7)
    expect(ja.simTimeNs).toBe(10_000_000_000)
    expect(ja.fingerprint).toMatch(/^[0-9a-f]{16}$/)
    expect(jb.fingerprint).toBe(ja.fingerprint)
    expect(jc.fingerprint).not.toBe(ja.fingerprint)
  })

  it("list names the built-ins", () => {
    const r = qvsim(["list"])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^timers\s+/m)
  })

  it("list --json: the built-ins and experiments (with variants and their durations) as one JSON object", () => {
    const r = qvsim(["list", "--json"])
    expect(r.code).toBe(0)
    const j = JSON.parse(r.stdout) as { scenarios: Array<{ name: string }>; experiments: Array<{ name: string; default_seed: number; variants: Array<{ name: string; duration_ns: number }> }> }
    expect(j.scenarios.map((s) => s.name)).toContain("rm-periodic")
    const iso = j.experiments.find((e) => e.name === "isolation")!
    expect(iso.variants.map((v) => v.name)).toEqual(expect.arrayContaining(["fault-free", "faulty"]))
    expect(iso.variants.every((v) => Number.isInteger(v.duration_ns) && v.duration_ns > 0)).toBe(true)
  })

  it("trace then replay is identical; a hand-edited record is found by replay and by diff", () => {
    const dir = fresh()
    const t = join(dir, "t.jsonl")
    expect(qvsim(["run", "timers", "--until", "200ms", "--trace", t]).code).toBe(0)
    const ok = qvsim(["replay", t])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/^identical/)

    const lines = readFileSync(t, "utf8").split("\n")
    expect(JSON.parse(lines[0]!).type).toBe("header")
    const rec = JSON.parse(lines[10]!)
    lines[10] = JSON.stringify({ ...rec, interval: rec.interval + 1 })
    const edited = join(dir, "edited.jsonl")
    writeFileSync(edited, lines.join("\n"))
    const bad = qvsim(["replay", edited])
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split("\n")).toHaveLength(1)
    expect(bad.stderr).toMatch(/edited\.jsonl:11: first difference at record 9 /)

    const d = qvsim(["diff", t, edited])
    expect(d.code).toBe(1)
    expect(d.stderr).toMatch(/first difference at record 9 /)
    expect(qvsim(["diff", t, t]).code).toBe(0)
  })

  it("check prints per-PCPU verdicts and RTA response times; --json gives the numbers", () => {
    const text = qvsim(["check", "rm-periodic"])
    expect(text.code).toBe(0)
    expect(text.stdout).toMatch(/rta\s+schedulable/)
    expect(text.stdout).toMatch(/t5\s+36ms\s+200ms\s+89ms/)
    const json = JSON.parse(qvsim(["check", "rm-periodic", "--json"]).stdout)
    expect(json.pcpus[0].rta.responses.map((r: { responseNs: number }) => r.responseNs)).toEqual([1e6, 5e6, 15e6, 30e6, 89e6])
    const none = qvsim(["check", "timers"])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(/declares no PCPUs/)
  })

  it("run --schedule writes the executed segments in ns", () => {
    const dir = fresh()
    const out = join(dir, "s.json")
    expect(qvsim(["run", "rm-periodic", "--until", "100ms", "--schedule", out]).code).toBe(0)
    const segs = JSON.parse(readFileSync(out, "utf8")) as Array<{ pcpu: string; start: number; end: number; vcpu: string; thread: string; job: number | null }>
    expect(segs[0]).toEqual({ pcpu: "pcpu0", start: 0, end: 1_000_000, vcpu: "t1", thread: "task1", job: 0 })
    expect(segs.every((x) => Number.isInteger(x.start) && x.end > x.start)).toBe(true)
  })

  it("runs a .ts scenario file (default export) and a .json file", () => {
    const ts = qvsim(["run", join(fixtures, "two-sources.ts"), "--json"])
    expect(ts.code).toBe(0)
    expect(JSON.parse(ts.stdout).scenario).toBe("two-sources")
    const json = qvsim(["run", join(fixtures, "small.json"), "--json"])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({ scenario: "small", seed: 4, simTimeNs: 50_000_000 })
  })

  it.each([
    [["run", "nosuch"], /unknown scenario "nosuch"/],
    [["run", "timers", "--until", "1.5ns"], /--until: "1\.5ns"/],
    [["run", "timers", "--seed", "-1"], /--seed: "-1"/],
    [["run", "timers", "--sed", "1"], /unknown flag --sed/],
    [["run", join(fixtures, "bad-period.json")], /sources\[0\]\.period: invalid duration "1\.5ns"/],
    [["replay", "does-not-exist.jsonl"], /does-not-exist\.jsonl/],
  ])("%j is a one-line error naming what is wrong, exit 2", (args, pattern) => {
    const r = qvsim(args as string[])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(pattern)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /) // no stack trace
  })

  it("a malformed scenario JSON is one line naming the file; no trace file is left behind", () => {
    const dir = fresh()
    const broken = join(dir, "broken.json")
    writeFileSync(broken, '{"name": "x", "duration": ')
    const r = qvsim(["run", broken, "--trace", join(dir, "t.jsonl")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/broken\.json: malformed JSON/)
    expect(readdirSync(dir)).toEqual(["broken.json"])
  })

  it("a trace to an unwritable place fails cleanly and leaves no temporary file", () => {
    const dir = fresh()
    const r = qvsim(["run", "timers", "--trace", join(dir, "missing", "t.jsonl")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/cannot write .*missing\/t\.jsonl: no such directory/)
    expect(existsSync(join(dir, "missing"))).toBe(false)
    expect(readdirSync(dir)).toEqual([])
  })
})
