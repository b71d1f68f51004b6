/**
 * Trace integrity (issue 11): a trace holds every record of its run, those emitted while the
 * system is built included (its fingerprint and record count are the run's); a trace names its
 * scenario relative to itself, so a moved folder replays; replay checks the header (every field,
 * the version, the scenario's content hash, trust) BEFORE importing the scenario.
 */
import { spawnSync } from "node:child_process"
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Trace } from "@qvsim/sim-core"
import { describe, expect, it } from "vitest"
import * as Experiments from "../src/Experiments.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const fixtures = join(import.meta.dirname, "fixtures")
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-trace-"))

const qvsim = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000, env: { ...process.env, ...env } })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const records = (path: string): Trace.TraceRecord[] => readFileSync(path, "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l) as Trace.TraceRecord)

describe("a trace holds every record of its run", () => {
  it("a system's records emitted while it is built reach the sinks: count and fingerprint are the run's", () => {
    const scenario = parseScenario(JSON.parse(readFileSync(join(fixtures, "mailbox-ping.json"), "utf8")), "mailbox-ping")
    const sink = new Trace.MemorySink()
    const prepared = Runner.prepare(scenario, { sinks: [sink] })
    const built = sink.records.length
    expect(built).toBeGreaterThan(0) // records of the system's construction
    const summary = Runner.execute(prepared)
    expect(sink.records).toHaveLength(summary.records)
    expect(Trace.fingerprintRecords(sink.records)).toBe(summary.fingerprint)
  })

  it("the same for an experiment's variant traced through the Runner", () => {
    const e = Experiments.registered().find((x) => x.name === "isolation")!
    const v = e.variants[0]!
    const { scenario } = Experiments.parseVariant(e, v, e.seed, 0.01)
    const sink = new Trace.MemorySink()
    const summary = Runner.execute(Runner.prepare(scenario, { seed: e.seed, untilNs: v.untilNs(0.01), sinks: [sink] }))
    expect(sink.records).toHaveLength(summary.records)
    expect(Trace.fingerprintRecords(sink.records)).toBe(summary.fingerprint)
  })
})

describe("replay", { timeout: 120_000 }, () => {
  it("through the CLI: the trace file's records and fingerprint equal the printed ones", () => {
    const dir = fresh()
    const t = join(dir, "t.jsonl")
    const r = qvsim(["run", join(fixtures, "mailbox-ping.json"), "--trace", t, "--json"])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout)
    const recs = records(t)
    expect(recs).toHaveLength(s.records)
    expect(Trace.fingerprintRecords(recs)).toBe(s.fingerprint)
  })

  it("a folder holding a trace and its scenario replays after being moved", () => {
    const base = fresh()
    const a = join(base, "a")
    mkdirSync(join(a, "traces"), { recursive: true })
    copyFileSync(join(fixtures, "small.json"), join(a, "small.json"))
    expect(qvsim(["run", join(a, "small.json"), "--until", "50ms", "--trace", join(a, "traces", "t.jsonl")]).code).toBe(0)
    const head = JSON.parse(readFileSync(join(a, "traces", "t.jsonl"), "utf8").split("\n")[0]!)
    expect(head.scenario.source).toBe("../small.json")
    renameSync(a, join(base, "b"))
    const r = qvsim(["replay", join(base, "b", "traces", "t.jsonl")])
    expect(r.stdout).toMatch(/^identical: /)
    expect(r.code).toBe(0)
  })

  it("header fields are validated like any input: exit 2, one line naming the field", () => {
    const dir = fresh()
    const t = join(dir, "t.jsonl")
    expect(qvsim(["run", "timers", "--until", "10ms", "--trace", t]).code).toBe(0)
    const [first, ...rest] = readFileSync(t, "utf8").split("\n")
    const edit = (change: (h: Record<string, any>) => void): string => {
      const h = JSON.parse(first!)
      change(h)
      const path = join(dir, `edited-${Math.random().toString(36).slice(2)}.jsonl`)
      writeFileSync(path, [JSON.stringify(h), ...rest].join("\n"))
      return path
    }
    const cases: Array<[(h: Record<string, any>) => void, RegExp]> = [
      [(h) => { h.options.untilNs = -5 }, /:1: not a valid qvsim trace header: options\.untilNs: .*\(got -5\)$/],
      [(h) => { h.qvsim = "99.0.0" }, /written by qvsim 99\.0\.0; this is qvsim \d+\.\d+\.\d+ \(a trace replays only on the version that wrote it\)$/],
      [(h) => { h.seed = 1.5 }, /:1: not a valid qvsim trace header: seed: .*\(got 1\.5\)$/],
      [(h) => { h.options.untill = 5 }, /options: unknown key "untill" \(did you mean "untilNs"\?\)$/],
      [(h) => { h.scenario.hash = "xyz" }, /scenario\.hash: must be 16 hex digits \(got "xyz"\)$/],
    ]
    for (const [change, pattern] of cases) {
      const r = qvsim(["replay", edit(change)])
      expect(r.code).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr.trim()).toMatch(pattern)
    }
  })

  it("a changed .ts scenario is found by its content hash before it is imported; one outside the trace's folder needs --trust", () => {
    const dir = fresh()
    const scenario = join(dir, "marker.ts")
    copyFileSync(join(fixtures, "misuse", "marker.ts"), scenario)
    const t = join(dir, "t.jsonl")
    expect(qvsim(["run", scenario, "--trace", t]).code).toBe(0)
    const marker = join(dir, "imported")
    // Unchanged: replay imports it (the marker appears) and finds the run identical.
    expect(qvsim(["replay", t], { QVSIM_TEST_MARKER: marker }).code).toBe(0)
    expect(existsSync(marker)).toBe(true)
    // Changed: a difference (exit 1) found from the file's hash, without importing it.
    const marker2 = join(dir, "imported-again")
    appendFileSync(scenario, "\n// edited\n")
    const changed = qvsim(["replay", t], { QVSIM_TEST_MARKER: marker2 })
    expect(changed.code).toBe(1)
    expect(changed.stderr).toMatch(/scenario file .*marker\.ts changed since the trace was written \(content hash [0-9a-f]{16}, trace says [0-9a-f]{16}\)/)
    expect(existsSync(marker2)).toBe(false)
    // A trace naming a .ts outside its own folder (and outside the checkout): refused unless --trust.
    const elsewhere = fresh()
    copyFileSync(join(fixtures, "misuse", "marker.ts"), join(elsewhere, "marker.ts"))
    const traces = fresh()
    const t2 = join(traces, "t.jsonl")
    expect(qvsim(["run", join(elsewhere, "marker.ts"), "--trace", t2]).code).toBe(0)
    const marker3 = join(dir, "imported-untrusted")
    const untrusted = qvsim(["replay", t2], { QVSIM_TEST_MARKER: marker3 })
    expect(untrusted.code).toBe(2)
    expect(untrusted.stderr.trim()).toMatch(/its scenario .*marker\.ts is outside the trace's folder and the qvsim checkout; replaying imports \(runs\) it: pass --trust if you trust it$/)
    expect(existsSync(marker3)).toBe(false)
    const trusted = qvsim(["replay", t2, "--trust"], { QVSIM_TEST_MARKER: marker3 })
    expect(trusted.code).toBe(0)
    expect(existsSync(marker3)).toBe(true)
  })
})
