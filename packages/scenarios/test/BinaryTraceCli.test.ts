/**
 * Binary traces at the command line: `run --trace t.qvt`, `run <experiment> --traces …
 * --trace-format qvt`, `export --to jsonl|perfetto`, `replay` and `diff` reading `.qvt` directly;
 * a bad file is one line naming the file and the byte offset, a bad `--trace-format` one line
 * naming the flag (exit 2).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const tiny = join(import.meta.dirname, "fixtures", "tiny-experiment.ts")
const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const oneLineExit2 = (r: { code: number | null; stderr: string; stdout: string }, pattern: RegExp): void => {
  expect(r.code).toBe(2)
  expect(r.stderr.trim().split("\n")).toHaveLength(1)
  expect(r.stderr).toMatch(pattern)
  expect(r.stderr + r.stdout).not.toMatch(/\n\s+at /)
}

describe("qvsim with .qvt traces", { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), "qvsim-qvt-"))
  const qvt = join(dir, "t.qvt")
  const jsonl = join(dir, "t.jsonl")

  it("run --trace t.qvt; export --to jsonl is byte for byte run --trace t.jsonl, at most half its size", () => {
    expect(qvsim(["run", "rm-periodic", "--until", "1s", "--trace", qvt]).code).toBe(0)
    expect(qvsim(["run", "rm-periodic", "--until", "1s", "--trace", jsonl]).code).toBe(0)
    const exported = join(dir, "exported.jsonl")
    const r = qvsim(["export", qvt, "--to", "jsonl", "--out", exported])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/exported\.jsonl \([\d,]+ records\)/)
    expect(readFileSync(exported, "utf8")).toBe(readFileSync(jsonl, "utf8"))
    expect(statSync(qvt).size).toBeLessThanOrEqual(statSync(jsonl).size / 2)
  })

  it("export --to perfetto writes a trace-event document next to the trace", () => {
    const r = qvsim(["export", qvt, "--to", "perfetto"])
    expect(r.code).toBe(0)
    const doc = JSON.parse(readFileSync(join(dir, "t.perfetto.json"), "utf8")) as { traceEvents: unknown[]; otherData: { seed: number } }
    expect(doc.traceEvents.length).toBeGreaterThan(100)
    expect(doc.otherData.seed).toBe(1)
  })

  it("replay and diff read .qvt directly", () => {
    const replay = qvsim(["replay", qvt])
    expect(replay.code).toBe(0)
    expect(replay.stdout).toMatch(/^identical: [\d,]+ records of rm-periodic/)
    expect(qvsim(["diff", qvt, jsonl]).code).toBe(0)
    const [seed7, seed8] = [join(dir, "seed7.qvt"), join(dir, "seed8.qvt")]
    expect(qvsim(["run", "timers", "--until", "200ms", "--seed", "7", "--trace", seed7]).code).toBe(0)
    expect(qvsim(["run", "timers", "--until", "200ms", "--seed", "8", "--trace", seed8]).code).toBe(0)
    const d = qvsim(["diff", seed7, seed8])
    expect(d.code).toBe(1)
    expect(d.stderr).toMatch(/first difference at record \d+ .*\(headers differ: timers\/seed 7 vs timers\/seed 8\)/)
  })

  it("run <experiment> --traces V --trace-format qvt writes <V>.trace.qvt; export --to jsonl gives the --traces JSONL byte for byte; replay reads it", () => {
    // Two run folders at the same depth, so the headers name the experiment by the same relative path.
    const asQvt = join(dir, "exp-qvt", "out"), asJsonl = join(dir, "exp-jsonl", "out")
    for (const d of [asQvt, asJsonl]) mkdirSync(d, { recursive: true })
    expect(qvsim(["run", tiny, "--out", asQvt, "--traces", "heavy", "--trace-format", "qvt", "--json"]).code).toBe(0)
    expect(qvsim(["run", tiny, "--out", asJsonl, "--traces", "heavy", "--json"]).code).toBe(0)
    const binary = join(asQvt, "heavy.trace.qvt"), text = join(asJsonl, "heavy.trace.jsonl")
    expect(existsSync(join(asQvt, "heavy.trace.jsonl"))).toBe(false)
    expect([...readFileSync(binary).subarray(0, 4)]).toEqual([0x89, 0x51, 0x56, 0x54]) // "\x89QVT": the .qvt magic
    const exported = join(asQvt, "heavy.trace.jsonl.exported")
    expect(qvsim(["export", binary, "--to", "jsonl", "--out", exported]).code).toBe(0)
    const lines = readFileSync(exported, "utf8").split("\n"), want = readFileSync(text, "utf8").split("\n")
    expect(lines.length).toBeGreaterThan(100)
    expect(lines).toEqual(want)
    expect(statSync(binary).size).toBeLessThanOrEqual(statSync(text).size / 2)
    const replay = qvsim(["replay", binary])
    expect(replay.stdout).toMatch(/^identical: /)
    expect(replay.code).toBe(0)
  })

  it("a bad --trace-format, or one without --traces or for a scenario: one line naming the flag, exit 2", () => {
    oneLineExit2(qvsim(["run", tiny, "--out", join(dir, "bad"), "--traces", "heavy", "--trace-format", "csv"]), /--trace-format "csv": expected jsonl or qvt/)
    oneLineExit2(qvsim(["run", tiny, "--out", join(dir, "bad"), "--trace-format", "qvt"]), /--trace-format applies to --traces/)
    oneLineExit2(qvsim(["run", "rm-periodic", "--trace-format", "qvt"]), /--trace-format applies to experiments' --traces; rm-periodic is a scenario/)
    expect(existsSync(join(dir, "bad"))).toBe(false)
  })

  it("a truncated file, a corrupt one, another version: one line naming the file and the offset, exit 2", () => {
    const bytes = readFileSync(qvt)
    const cut = join(dir, "cut.qvt")
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
    oneLineExit2(qvsim(["export", cut, "--to", "jsonl"]), /cut\.qvt: offset \d+: truncated/)
    oneLineExit2(qvsim(["replay", cut]), /cut\.qvt: offset \d+: truncated/)
    oneLineExit2(qvsim(["diff", cut, jsonl]), /cut\.qvt: offset \d+: truncated/)
    const version = join(dir, "version.qvt")
    const v = Buffer.from(bytes)
    v[8] = 9
    writeFileSync(version, v)
    oneLineExit2(qvsim(["replay", version]), /version\.qvt: offset 8: format version 9; this qvsim reads version 1/)
    const flipped = join(dir, "flipped.qvt")
    const f = Buffer.from(bytes)
    f[f.length - 200]! ^= 0x04
    writeFileSync(flipped, f)
    oneLineExit2(qvsim(["diff", flipped, jsonl]), /flipped\.qvt: offset \d+: /)
    oneLineExit2(qvsim(["export", jsonl, "--to", "perfetto"]), /t\.jsonl: not a \.qvt trace/)
  })
})
