/**
 * `qvsim run --perfetto p.json --report r.html` end to end: both files written (with --trace and
 * --schedule alongside), flags checked with one-line errors, and all-or-nothing outputs: a run
 * that fails mid-way leaves no file at all, not even a temporary one.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { problems, type TraceDocument } from "./support.ts"

const main = join(import.meta.dirname, "../../src/cli/main.ts")

const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-report-cli-"))

describe("qvsim run --perfetto --report", { timeout: 60_000 }, () => {
  it("writes a Perfetto trace and an HTML report, next to --trace and --schedule", () => {
    const dir = fresh()
    const [p, r, t, s] = ["p.json", "r.html", "t.jsonl", "s.json"].map((f) => join(dir, f)) as [string, string, string, string]
    const run = qvsim(["run", "ss-amplification", "--perfetto", p, "--report", r, "--trace", t, "--schedule", s])
    expect(run.stderr).toBe("")
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^perfetto {5}.*p\.json/m)
    expect(run.stdout).toMatch(/^report {7}.*r\.html/m)
    expect(readdirSync(dir).sort()).toEqual(["p.json", "r.html", "s.json", "t.jsonl"])
    const doc = JSON.parse(readFileSync(p, "utf8")) as TraceDocument
    expect(problems(doc)).toEqual([])
    expect(doc.otherData).toMatchObject({ qvsim: "0.1.0", scenario: { name: "ss-amplification" }, seed: 1, options: { untilNs: 200_000_000 } })
    expect(doc.traceEvents.filter((e) => e.ph === "X" && e.cat === "sched").length).toBeGreaterThan(40)
    const html = readFileSync(r, "utf8")
    expect(html).toContain("<h2>Cumulative execution per core and VCPU</h2>")
    expect(html).toContain(`class="mark-rect role-mark`)
  })

  it.each([
    [["--perfetto", "p.txt"], /Invalid value for flag --perfetto: "p\.txt"\. Expected a file name ending in \.json$/],
    [["--report", "r.pdf"], /Invalid value for flag --report: "r\.pdf"\. Expected a file name ending in \.html or \.htm$/],
    [["--report", ".html"], /--report/],
    [["--perfetto", "x.json", "--schedule", "x.json"], /--perfetto and --schedule name the same file x\.json$/],
    [["--report", "missing/r.html"], /--report: cannot write missing\/r\.html: no such directory missing$/],
    [["--perfetto", "p.json", "--perfetto-exclude", "irq,timers"], /^qvsim: --perfetto-exclude: unknown category "timers" \(categories: sched, irq, nic, chan, monitor, fault, job, other\)$/],
    [["--perfetto-include", "sched"], /--perfetto-include applies to --perfetto FILE, which is not given$/],
    [["--progress", "sometimes"], /--progress/],
  ])("%j is refused with one line naming the flag, exit 2, nothing written", (flags, pattern) => {
    const dir = fresh()
    const args = (flags as string[]).map((a) => (a.includes(".") ? join(dir, a) : a))
    const r = qvsim(["run", "timers", "--until", "10ms", ...args])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr.trim().replaceAll(dir + "/", "")).toMatch(pattern)
    expect(readdirSync(dir)).toEqual([])
  })

  it("--perfetto-exclude leaves a category out, --perfetto-include keeps only those named", () => {
    const dir = fresh()
    const [a, b] = [join(dir, "a.json"), join(dir, "b.json")]
    expect(qvsim(["run", "isolation/faulty", "--until", "1s", "--perfetto", a, "--perfetto-exclude", "irq"]).code).toBe(0)
    expect(qvsim(["run", "isolation/faulty", "--until", "1s", "--perfetto", b, "--perfetto-include", "sched,chan"]).code).toBe(0)
    const cats = (path: string) => new Set((JSON.parse(readFileSync(path, "utf8")) as TraceDocument).traceEvents.filter((e) => e.ph !== "M").map((e) => e.cat))
    expect(cats(a).has("irq")).toBe(false)
    expect(cats(a).has("sched")).toBe(true)
    expect([...cats(b)].sort()).toEqual(["chan", "sched"])
  })

  it("a target that is a directory is refused before the run", () => {
    const dir = fresh()
    mkdirSync(join(dir, "r.html"))
    const r = qvsim(["run", "timers", "--until", "10ms", "--report", join(dir, "r.html"), "--perfetto", join(dir, "p.json")])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--report: .*r\.html is a directory/)
    expect(readdirSync(dir)).toEqual(["r.html"])
  })

  it("a run that fails mid-way leaves no output file, not even a temporary one", () => {
    const dir = fresh()
    const outputs = ["--perfetto", join(dir, "p.json"), "--report", join(dir, "r.html"), "--trace", join(dir, "t.jsonl"), "--schedule", join(dir, "s.json")]
    const r = qvsim(["run", join(import.meta.dirname, "fixtures", "fails-midway.ts"), ...outputs])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split("\n")).toHaveLength(1)
    expect(r.stderr).toMatch(/thread "doomed": its program threw: gave up \(at t=\d+ns\)/)
    expect(readdirSync(dir)).toEqual([])
  })
})
