/**
 * The scheduling researcher's CLI, end to end as a user meets it: every scheduler option by its own
 * name in `scheduler` and `system.scheduler` (unknown names refused with the path, shown by `qvsim
 * schema`); `--check-invariants` (exit 3 on a broken scheduler inside the full system, nothing
 * changed otherwise); `--schedule` segments with the job; `--jobs` CSV and JSON; `qvsim check`'s
 * exit codes (RTA, U > 1, I/O rows, system cores); `--strict` for claims and deadlines.
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Options } from "@qvsim/vcpu-sched"
import { describe, expect, it } from "vitest"
import { SchedulerOptionsDecl, toOptions } from "../src/Pcpus.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const fixtures = join(import.meta.dirname, "fixtures")
const fx = (name: string) => join(fixtures, name)

const qvsim = (args: string[], preload?: string) => {
  const r = spawnSync(process.execPath, [...(preload === undefined ? [] : ["--import", preload]), main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-sched-"))

describe("scheduler options in scenarios", () => {
  it("every vcpu-sched option has a field of the same name (durations also with units), and reaches the scheduler", () => {
    const fields = Object.keys(SchedulerOptionsDecl.shape)
    for (const name of Options.names) expect(fields, name).toContain(name)
    const sample: Record<string, unknown> = {
      policy: "posixNaive", priority: "edf", maxRepl: 3, splitAdvancesHead: true, enforcementLatencyNs: 7, ioBackground: "belowAll", pibsClampOnInherit: true,
      schedOverheadNs: 5, quantumNs: 300_000, maxTimerIntervalNs: "none", timerTickNs: 2, rearmOnBudgetlessWakeup: true, ties: "declaration",
    }
    expect(Object.keys(sample).sort()).toEqual([...Options.names].sort())
    const resolved = Options.resolveOptions(toOptions(SchedulerOptionsDecl.parse(sample)))
    expect(resolved).toMatchObject({ ...sample, maxTimerIntervalNs: Infinity })
    expect(toOptions(SchedulerOptionsDecl.parse({ enforcementLatency: "2us", maxTimerInterval: "250us" }))).toEqual({ enforcementLatencyNs: 2000, maxTimerIntervalNs: 250_000 })
    expect(SchedulerOptionsDecl.safeParse({ quantum: "1ms", quantumNs: 5 }).error?.issues[0]?.message).toMatch(/give quantum \(a duration\) or quantumNs \(ns\), not both/)
    // The deprecated ssPolicy still works ('quest' = 'sporadic'), read as policy; contradicting policy is refused.
    expect(toOptions(SchedulerOptionsDecl.parse({ ssPolicy: "quest" }))).toEqual({ policy: "sporadic" })
    expect(Options.resolveOptions(toOptions(SchedulerOptionsDecl.parse({ ssPolicy: "posixNaive" }))).policy).toBe("posixNaive")
    expect(SchedulerOptionsDecl.safeParse({ ssPolicy: "quest", policy: "deferrable" }).error?.issues[0]?.message).toMatch(/contradicts policy "deferrable"/)
    expect(SchedulerOptionsDecl.safeParse({ policy: "edf" }).error?.issues[0]?.message).toMatch(/no policy "edf" \(registered: sporadic, posixNaive, deferrable/)
  })

  it("pcpus `scheduler` and `system.scheduler` take them; the tie rule changes the schedule", { timeout: 60_000 }, () => {
    const dir = fresh()
    const decl = join(dir, "s.json")
    expect(qvsim(["run", fx("ties-options.json"), "--schedule", decl]).code).toBe(0)
    const first = (file: string) => (JSON.parse(readFileSync(file, "utf8")) as Array<{ thread: string; start: number; end: number }>).slice(0, 2).map((s) => [s.thread, s.start, s.end])
    expect(first(decl)).toEqual([["ta", 0, 3_000_000], ["tb", 3_000_000, 6_000_000]])
    const input = JSON.parse(readFileSync(fx("ties-options.json"), "utf8"))
    const rotate = join(dir, "rotate.json")
    writeFileSync(rotate, JSON.stringify({ ...input, scheduler: { ...input.scheduler, ties: "rotate" } }))
    const out = join(dir, "r.json")
    expect(qvsim(["run", rotate, "--schedule", out]).code).toBe(0)
    expect(first(out)).toEqual([["ta", 0, 1_000_000], ["tb", 1_000_000, 2_000_000]])
    const sys = qvsim(["run", fx("system-options.json"), "--json"])
    expect(sys.code).toBe(0)
  })

  it("unknown names are refused with their path, in both places; `qvsim schema` shows the options", () => {
    const dir = fresh()
    const input = JSON.parse(readFileSync(fx("system-options.json"), "utf8"))
    const typo = join(dir, "typo.json")
    writeFileSync(typo, JSON.stringify({ ...input, system: { ...input.system, scheduler: { rearmOnBudgetlesWakeup: true } } }))
    const r = qvsim(["run", typo])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/system\.scheduler: unknown key "rearmOnBudgetlesWakeup" \(did you mean "rearmOnBudgetlessWakeup"\?\)/)
    const pcpus = JSON.parse(readFileSync(fx("ties-options.json"), "utf8"))
    writeFileSync(typo, JSON.stringify({ ...pcpus, pcpus: [{ ...pcpus.pcpus[0], options: { tie: "declaration" } }] }))
    const p = qvsim(["run", typo])
    expect(p.code).toBe(2)
    expect(p.stderr).toMatch(/pcpus\[0\]\.options: unknown key "tie" \(did you mean "ties"\?\)/)
    const schema = JSON.parse(qvsim(["schema"]).stdout)
    for (const props of [schema.properties.scheduler.properties, schema.properties.system.properties.scheduler.properties]) {
      expect(props.ties.enum).toEqual(["rotate", "declaration"])
      expect(props.rearmOnBudgetlessWakeup.type).toBe("boolean")
      expect(Object.keys(props)).toContain("enforcementLatencyNs")
    }
  })
})

describe("--check-invariants", { timeout: 120_000 }, () => {
  it("passes on the real scheduler and changes nothing (pcpus, a system, an experiment variant, a whole experiment)", () => {
    const plain = JSON.parse(qvsim(["run", "rm-periodic", "--until", "500ms", "--json"]).stdout)
    const checked = qvsim(["run", "rm-periodic", "--until", "500ms", "--json", "--check-invariants"])
    expect(checked.code).toBe(0)
    expect(JSON.parse(checked.stdout).fingerprint).toBe(plain.fingerprint)
    expect(qvsim(["run", "isolation/faulty", "--scale", "0.01", "--check-invariants", "--json"]).code).toBe(0)
    expect(qvsim(["run", join(fixtures, "tiny-experiment.ts"), "--out", fresh(), "--check-invariants", "--json"]).code).toBe(0)
  })

  it("catches a broken scheduler inside the full system: exit 3 naming time, sandbox, core, VCPU and seed; unchecked, the run goes on", () => {
    const broken = fx("broken-scheduler.ts")
    // message-passing's VCPUs have different periods (most experiments' do not: a scheduler that
    // ignores priority changes nothing there).
    const r = qvsim(["run", "message-passing/hi", "--scale", "0.01", "--check-invariants"], broken)
    expect(r.code).toBe(3)
    expect(r.stderr.trim()).toMatch(/^qvsim: invariant violated: sandbox 0 core 0 VCPU 1 "bg1": F2: VCPU 1 \(priority 200000000, b=\d+\) was dispatched, but S2 \(ties: rotate\) selects VCPU 0 .*\(at t=\d+ns, event [^,]+, seed 1\)$/)
    expect(qvsim(["run", "message-passing/hi", "--scale", "0.01", "--json"], broken).code).toBe(0)
    const exp = qvsim(["run", "message-passing", "--scale", "0.01", "--out", fresh(), "--check-invariants", "--json"], broken)
    expect(exp.code).toBe(3)
    const pcpus = qvsim(["run", "rm-periodic", "--until", "100ms", "--check-invariants"], broken)
    expect(pcpus.code).toBe(3)
    expect(pcpus.stderr).toMatch(/invariant violated: pcpu 0 VCPU t\d \(index \d\): F2:/)
  })
})

describe("per-job outputs", { timeout: 60_000 }, () => {
  it("--jobs writes one CSV row per job, JSON by extension; --schedule segments carry the job", () => {
    const dir = fresh()
    const csv = join(dir, "jobs.csv"), json = join(dir, "jobs.json"), sched = join(dir, "s.json")
    const r = qvsim(["run", "rm-periodic", "--until", "100ms", "--jobs", csv, "--schedule", sched])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^jobs\s+.*jobs\.csv$/m)
    const lines = readFileSync(csv, "utf8").trim().split("\n")
    expect(lines[0]).toBe("where,thread,job,release,firstStart,finish,response,deadline,missed,preemptions")
    expect(lines[1]).toBe("pcpu0,task1,0,0,0,1000000,1000000,10000000,false,0")
    // task5 (36 ms every 200 ms, lowest priority) first runs at 31 ms, is preempted 5 times and finishes at RTA's 89 ms.
    expect(lines.find((l) => l.startsWith("pcpu0,task5,0,"))).toBe("pcpu0,task5,0,0,31000000,89000000,89000000,200000000,false,5")
    expect(qvsim(["run", "rm-periodic", "--until", "100ms", "--jobs", json]).code).toBe(0)
    const rows = JSON.parse(readFileSync(json, "utf8")) as Array<Record<string, unknown>>
    expect(rows.length).toBe(lines.length - 1)
    expect(rows[0]).toEqual({ where: "pcpu0", thread: "task1", job: 0, release: 0, firstStart: 0, finish: 1_000_000, response: 1_000_000, deadline: 10_000_000, missed: false, preemptions: 0 })
    const segs = JSON.parse(readFileSync(sched, "utf8")) as Array<{ thread: string; job: number | null }>
    expect(segs.filter((s) => s.thread === "task1").map((s) => s.job).slice(0, 3)).toEqual([0, 1, 2])
    const bad = qvsim(["run", "rm-periodic", "--jobs", join(dir, "jobs.txt")])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--jobs.*\.csv or \.json/)
  })

  it("for a system: jobs of periodic threads in the sandbox's clock; refused for a whole experiment", () => {
    const dir = fresh()
    const csv = join(dir, "jobs.csv")
    expect(qvsim(["run", fx("system-options.json"), "--jobs", csv]).code).toBe(0)
    const lines = readFileSync(csv, "utf8").trim().split("\n")
    expect(lines[1]).toBe("sandbox0,w,0,0,0,2000000,2000000,10000000,false,0")
    expect(lines.length).toBe(1 + 11) // releases at 0, 10, ..., 100 ms
    const exp = qvsim(["run", join(fixtures, "tiny-experiment.ts"), "--jobs", csv])
    expect(exp.code).toBe(2)
    expect(exp.stderr).toMatch(/--jobs applies to one run/)
  })
})

describe("qvsim check", { timeout: 60_000 }, () => {
  it("exit 0 when schedulable; exit 1 naming the VCPU RTA finds late, with I/O VCPUs in the table", () => {
    expect(qvsim(["check", "rm-periodic"]).code).toBe(0)
    const r = qvsim(["check", fx("rta-miss.json")])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/slow\s+2\.9ms\s+6ms\s+6\.9ms\s+> T: misses/)
    expect(r.stdout).toMatch(/disk\s+1ms\s+100ms\s+—\s+I\/O \(PIBS, inherited priority\): U = 0\.0100, bound \(2 − U\)·U = 0\.0199/)
    expect(r.stderr.trim()).toBe("qvsim: unschedulable: cpu: VCPU slow: RTA response 6.9ms > T = 6ms")
    const j = JSON.parse(qvsim(["check", fx("rta-miss.json"), "--json"]).stdout)
    expect(j.schedulable).toBe(false)
    expect(j.pcpus[0].unschedulable).toEqual(["VCPU slow: RTA response 6.9ms > T = 6ms"])
  })

  it("U > 1 is unschedulable by the necessary condition; equal periods follow the tie rule", () => {
    const r = qvsim(["check", fx("overload.json")])
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/utilisation 1\.2000 > 1 \(necessary condition\)/)
    const t = qvsim(["check", fx("ties-options.json")])
    expect(t.code).toBe(0)
    expect(t.stdout).toMatch(/scheduler ties: declaration; equal periods ranked by index/)
    expect(t.stdout).toMatch(/a\s+3ms\s+10ms\s+3ms/)
    expect(t.stdout).toMatch(/b\s+3ms\s+10ms\s+6ms/)
  })

  it("each policy through its own analysis, each PCPU under its priority rule; no verdict where a policy has none", () => {
    const r = qvsim(["check", fx("policies.json")])
    expect(r.code).toBe(1)
    // EDF schedules the set that RM cannot (rta-miss.json without its I/O VCPU).
    expect(r.stdout).toMatch(/^edf-ok: .*priority edf\n\s+edf-util\s+schedulable\s+Σ C\/T = 0\.9833/m)
    expect(r.stdout).toMatch(/edf-constrained: [^]*demand\s+unschedulable\s+Σ dbf\(L\) = 4ms > L = 3ms/)
    // The deferrable server: RTA with jitter T − C gives lo 12 ms (the run shows 12 ms); a sufficient bound, so no 'unschedulable'.
    expect(r.stdout).toMatch(/lo\s+6ms\s+10ms\s+12ms\s+> T: not shown to meet it/)
    expect(r.stdout).toMatch(/verdict\s+no verdict: VCPU lo: RTA response 12ms > T = 10ms/)
    expect(r.stdout).toMatch(/S\s+4ms\s+10ms\s+—\s+no analysis for policy posixNaive/)
    expect(r.stdout).toMatch(/verdict\s+no verdict: VCPU S: no analysis for policy posixNaive under RM/)
    expect(r.stderr.trim()).toBe("qvsim: unschedulable: edf-constrained: processor demand 4ms > L = 3ms")
    const j = JSON.parse(qvsim(["check", fx("policies.json"), "--json"]).stdout)
    expect(j.verdict).toBe("unschedulable")
    expect(j.pcpus.map((p: { verdict: string }) => p.verdict)).toEqual(["schedulable", "unschedulable", "inconclusive", "inconclusive"])
    expect(j.pcpus[3].vcpus[0].policy).toBe("posixNaive")
  })

  it("a system: per sandbox core", () => {
    const r = qvsim(["check", fx("system-options.json")])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^sandbox0\/core0: utilisation 0\.5000/m)
  })
})

describe("--strict", { timeout: 120_000 }, () => {
  it("a run with missed deadlines exits 1 naming them; one without exits 0", () => {
    const r = qvsim(["run", fx("rta-miss.json"), "--strict"])
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^scenario\s+rta-miss/m) // the summary is still printed
    expect(r.stderr.trim()).toMatch(/^qvsim: strict: \d+ missed deadline\(s\) \(cpu\/s \d+\)$/)
    expect(qvsim(["run", fx("rta-miss.json")]).code).toBe(0)
    expect(qvsim(["run", "rm-periodic", "--until", "1s", "--strict"]).code).toBe(0)
    // A system run (one variant as a scenario): its periodic thread's jobs, printed as JSON first.
    const sys = qvsim(["run", `${join(fixtures, "tiny-experiment.ts")}/heavy`, "--strict", "--json"])
    expect(sys.code).toBe(1)
    expect(JSON.parse(sys.stdout).scenario).toBe("tiny-heavy")
    expect(sys.stderr.trim()).toMatch(/^qvsim: strict: \d+ missed deadline\(s\) \(sandbox0\/worker \d+\)$/)
  })

  it("an experiment with a claim that does not hold exits 1 (exit 3 stays for invariants)", () => {
    const r = qvsim(["run", join(fixtures, "tiny-experiment.ts"), "--out", fresh(), "--strict"])
    expect(r.code).toBe(1)
    // The heavy variant's 3 ms every 10 ms does not fit its VCPU's 20 % budget: deadlines are missed too.
    expect(r.stderr.trim()).toMatch(/^qvsim: strict: 1 of 2 claims do not hold \("both variants use the same CPU \(false on purpose\)"\); \d+ missed deadline\(s\) \(heavy: sandbox0\/worker \d+\)$/)
    const ok = qvsim(["run", "forkwait", "--scale", "0.01", "--out", fresh(), "--strict", "--json"])
    expect(ok.code).toBe(0)
  })
})
