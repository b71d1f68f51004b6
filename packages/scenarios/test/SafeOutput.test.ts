/**
 * Safe outputs (issue 11): an output path that is an input, a directory, a FIFO, a device or a
 * link is refused (exit 2, one line) before the run; `--force` writes through a link and says so;
 * `--out /proc/x` fails at once (Node's recursive mkdir never returns there); experiments write to
 * `out/<experiment>/scale<s>-seed<n>/`, refuse another run's folder without `--force` and never
 * mix two runs' files.
 */
import { spawnSync } from "node:child_process"
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { checkTarget, ensureDirectory } from "../src/SafeOutput.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const fixtures = join(import.meta.dirname, "fixtures")
const tiny = join(fixtures, "tiny-experiment.ts")
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-out-"))

const qvsim = (args: string[], cwd?: string) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000, ...(cwd !== undefined ? { cwd } : {}) })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const refused = (r: { code: number | null; stderr: string }, pattern: RegExp) => {
  expect(r.code).toBe(2)
  expect(r.stderr.trim().split("\n")).toHaveLength(1)
  expect(r.stderr.trim()).toMatch(pattern)
}

describe("output paths are checked before the run", () => {
  it("checkTarget: a new name, a regular file; never an input, a directory, a FIFO, a device, a link (unless forced)", () => {
    const dir = fresh()
    expect(checkTarget(join(dir, "new.json"), "--trace").path).toBe(join(dir, "new.json"))
    writeFileSync(join(dir, "old.json"), "{}")
    expect(checkTarget(join(dir, "old.json"), "--trace").path).toBe(join(dir, "old.json"))
    expect(() => checkTarget(join(dir, "old.json"), "--trace", { inputs: [join(dir, "old.json")] })).toThrow(/--trace: .*old\.json is an input of this run; it would be overwritten/)
    // A hard link to the input is the input too.
    symlinkSync(join(dir, "old.json"), join(dir, "link.json"))
    expect(() => checkTarget(join(dir, "link.json"), "--trace")).toThrow(/--trace: .*link\.json is a symbolic link \(to .*old\.json\); qvsim writes through no link unless given --force/)
    const forced = checkTarget(join(dir, "link.json"), "--trace", { force: true })
    expect(forced.path).toBe(join(dir, "old.json"))
    expect(forced.notice).toMatch(/link\.json is a symbolic link; writing to .*old\.json/)
    expect(() => checkTarget(join(dir, "link.json"), "--trace", { force: true, inputs: [join(dir, "old.json")] })).toThrow(/is the input|is an input/)
    expect(() => checkTarget(dir, "--report")).toThrow(/--report: .* is a directory; give a regular file or a new name/)
    expect(() => checkTarget("/dev/full", "--trace")).toThrow(/--trace: \/dev\/full is a device/)
    expect(() => checkTarget("/dev/null", "--trace")).toThrow(/is a device/)
    expect(spawnSync("mkfifo", [join(dir, "fifo")]).status).toBe(0)
    expect(() => checkTarget(join(dir, "fifo"), "--trace")).toThrow(/is a FIFO \(named pipe\)/)
    expect(() => checkTarget(join(dir, "missing", "x.json"), "--trace")).toThrow(/--trace: cannot write .*: no such directory/)
  })

  it("ensureDirectory creates components one by one and fails at once under /proc (no hang)", () => {
    const dir = fresh()
    ensureDirectory(join(dir, "a", "b", "c"), "--out")
    expect(lstatSync(join(dir, "a", "b", "c")).isDirectory()).toBe(true)
    writeFileSync(join(dir, "file"), "")
    expect(() => ensureDirectory(join(dir, "file", "sub"), "--out")).toThrow(/--out: cannot use .*sub as a directory: .*file is a regular file$/)
    expect(() => ensureDirectory("/proc/qvsim-x", "--out")).toThrow(/--out: cannot create the directory \/proc\/qvsim-x: /)
  })
})

describe("through the CLI", { timeout: 120_000 }, () => {
  it("--trace onto the scenario file itself is refused and the scenario survives", () => {
    const dir = fresh()
    const scenario = join(dir, "s.json")
    copyFileSync(join(fixtures, "small.json"), scenario)
    const before = readFileSync(scenario, "utf8")
    refused(qvsim(["run", scenario, "--trace", scenario]), /^qvsim: --trace: .*s\.json is an input of this run; it would be overwritten$/)
    expect(readFileSync(scenario, "utf8")).toBe(before)
    expect(readdirSync(dir)).toEqual(["s.json"])
  })

  it("a symbolic link at the path is refused, or written through with --force and a warning; the link stays", () => {
    const dir = fresh()
    writeFileSync(join(dir, "real.jsonl"), "old\n")
    symlinkSync("real.jsonl", join(dir, "t.jsonl"))
    refused(qvsim(["run", "timers", "--until", "10ms", "--trace", join(dir, "t.jsonl")]), /--trace: .*t\.jsonl is a symbolic link \(to real\.jsonl\)/)
    expect(readFileSync(join(dir, "real.jsonl"), "utf8")).toBe("old\n")
    const r = qvsim(["run", "timers", "--until", "10ms", "--trace", join(dir, "t.jsonl"), "--force"])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/qvsim: warning: --trace: .*t\.jsonl is a symbolic link; writing to .*real\.jsonl/)
    expect(readlinkSync(join(dir, "t.jsonl"))).toBe("real.jsonl")
    expect(JSON.parse(readFileSync(join(dir, "real.jsonl"), "utf8").split("\n")[0]!).type).toBe("header")
  })

  it("a device as an output is refused, never replaced by a regular file", () => {
    refused(qvsim(["run", "timers", "--until", "10ms", "--schedule", "/dev/full"]), /^qvsim: --schedule: \/dev\/full is a device; give a regular file or a new name$/)
    expect(lstatSync("/dev/full").isCharacterDevice()).toBe(true)
  })

  it("--out /proc/x fails at once with one line", () => {
    refused(qvsim(["run", tiny, "--out", "/proc/qvsim-x", "--scale", "0.1"]), /^qvsim: --out: cannot create the directory \/proc\/qvsim-x: /)
  })

  it("experiments: one folder per scale and seed; another run's folder is refused without --force; sets never mix", () => {
    const cwd = fresh()
    // Default folders: the scale and the seed in the name, so a quick look never touches the full-size results.
    expect(qvsim(["run", tiny, "--json"], cwd).code).toBe(0)
    expect(qvsim(["run", tiny, "--scale", "0.5", "--json"], cwd).code).toBe(0)
    expect(readdirSync(join(cwd, "out", "tiny")).sort()).toEqual(["scale0.5-seed3", "scale1-seed3"])
    const full = join(cwd, "out", "tiny", "scale1-seed3")
    const fullCsv = readFileSync(join(full, "worker_jobs.csv"), "utf8")
    // An explicit --out holding the scale-1 results refuses a scale-0.5 run...
    refused(qvsim(["run", tiny, "--scale", "0.5", "--out", full], cwd), /--out: .* holds the results of tiny at scale 1, seed 3, not tiny at scale 0\.5, seed 3; pass --force to replace them/)
    expect(readFileSync(join(full, "worker_jobs.csv"), "utf8")).toBe(fullCsv)
    // ...and a folder of someone else's files too.
    const foreign = join(cwd, "mine")
    mkdirSync(foreign)
    writeFileSync(join(foreign, "notes.txt"), "keep")
    refused(qvsim(["run", tiny, "--out", foreign], cwd), /--out: .*mine is not empty and holds no qvsim results \(no qvsim-run\.json\)/)
    // Re-running the same run with traces, then without: the old trace goes, nothing of two runs mixes.
    expect(qvsim(["run", tiny, "--out", full, "--traces", "heavy", "--json"], cwd).code).toBe(0)
    expect(readdirSync(full).sort()).toEqual(["heavy.trace.jsonl", "qvsim-run.json", "results.json", "worker_jobs.csv", "worker_jobs.csv-metadata.json"])
    expect(qvsim(["run", tiny, "--out", full, "--json"], cwd).code).toBe(0)
    expect(readdirSync(full).sort()).toEqual(["qvsim-run.json", "results.json", "worker_jobs.csv", "worker_jobs.csv-metadata.json"])
    // --force replaces another run's set as a whole.
    expect(qvsim(["run", tiny, "--out", full, "--seed", "4", "--force", "--json"], cwd).code).toBe(0)
    expect(JSON.parse(readFileSync(join(full, "qvsim-run.json"), "utf8"))).toMatchObject({ experiment: "tiny", seed: 4, scale: 1 })
  })
})
