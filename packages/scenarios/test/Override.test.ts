/**
 * Override: a scenario field changed by path, checked against the schema, the input never
 * mutated; `qvsim run X --set path=value` end to end (errors, the trace header, replay).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Builtins from "../src/Builtins.ts"
import * as Override from "../src/Override.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario } from "../src/Scenario.ts"

const rm = Builtins.find("rm-periodic")!
const message = (f: () => unknown): string => {
  try {
    f()
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`
  }
  return "no error"
}

describe("Override", () => {
  it("parses paths as zod prints them, and refuses bad syntax naming the path", () => {
    expect(Override.parsePath("pcpus[0].vcpus[12].budget")).toEqual(["pcpus", 0, "vcpus", 12, "budget"])
    expect(Override.format(["pcpus", 0, "vcpus", 12, "budget"])).toBe("pcpus[0].vcpus[12].budget")
    for (const bad of ["", "a..b", "a[x]", "a[-1]", "a[01]", ".a", "a.", "a]b"]) {
      expect(message(() => Override.parsePath(bad))).toMatch(/^ScenarioError: /)
    }
  })

  it("sets a field and leaves the input untouched (copy on write, siblings shared)", () => {
    const o = Override.make("pcpus[0].vcpus[2].period", "70ms")
    const out = Override.apply(rm, [o])
    expect(out.pcpus![0]!.vcpus[2]!.period).toBe("70ms")
    expect(rm.pcpus![0]!.vcpus[2]!.period).toBe("60ms")
    expect(out.pcpus![0]!.vcpus[1]).toBe(rm.pcpus![0]!.vcpus[1])
    expect(out.pcpus![0]!.threads).toBe(rm.pcpus![0]!.threads)
    // An absent optional object is created along the path; later overrides win.
    const s = Override.apply(rm, [Override.make("scheduler.quantum", "1ms"), Override.make("scheduler.quantum", "2ms")])
    expect(s.scheduler).toEqual({ quantum: "2ms" })
    expect(parseScenario(s, "t").scheduler.quantum).toBe(2_000_000)
  })

  it("errors name the path: unknown field (with the known ones), wrong type, index out of range, not a list", () => {
    expect(message(() => Override.make("scheduler.quantm", "1ms"))).toMatch(/^ScenarioError: scheduler\.quantm: scheduler has no field "quantm" \(did you mean "quantum"\? fields: .*quantum/)
    expect(message(() => Override.make("pcpus[0].vcpus[2].period", "abc"))).toMatch(/^ScenarioError: pcpus\[0\]\.vcpus\[2\]\.period: invalid value "abc": invalid duration/)
    expect(message(() => Override.make("pcpus[0].vcpus[2].kind", "foo"))).toMatch(/pcpus\[0\]\.vcpus\[2\]\.kind: invalid value "foo"/)
    expect(message(() => Override.make("name[0]", "x"))).toMatch(/name\[0\]: name is a string, not a list/)
    expect(message(() => Override.make("pcpus.budget", "x"))).toMatch(/pcpus\.budget: pcpus is a list: use an index/)
    expect(message(() => Override.apply(rm, [Override.make("pcpus[3].name", "x")]))).toMatch(/pcpus\[3\]\.name: pcpus has 1 element/)
    expect(message(() => Override.apply(rm, [{ ...Override.make("sources[0].mean", "1ms"), origin: "--set" }]))).toMatch(/^ScenarioError: --set sources\[0\]\.mean: sources is not given/)
  })

  it("union members are searched (a source's fields); a system's sections are typed (the machine's fields, the vocabulary's durations)", () => {
    expect(Override.make("sources[0].mean", "5ms").segments).toEqual(["sources", 0, "mean"])
    expect(message(() => Override.make("sources[0].meen", "5ms"))).toMatch(/sources\[0\] has no field "meen"/)
    expect(message(() => Override.make("system.machine.cpuMhz", 3))).toMatch(/system\.machine has no field "cpuMhz" \(did you mean "cpuHz"\? fields: cpuHz, /)
    expect(Override.make("system.machine.cpuHz", 2_000_000_000).value).toBe(2_000_000_000)
    expect(Override.make("system.sandboxes[0].vcpus[1].budget", "5ms").value).toBe("5ms")
    expect(message(() => Override.make("system.sandboxes[0].vcpus[1].budget", "5 parsecs"))).toMatch(/system\.sandboxes\[0\]\.vcpus\[1\]\.budget: invalid value "5 parsecs"/)
    expect(Override.make("system.sandboxes[0].threads[0].vcpu", "main1").value).toBe("main1")
  })

  it("--set text: JSON when the field takes it, else the text", () => {
    expect(Override.parseAssignment("seed=7").value).toBe(7)
    expect(Override.parseAssignment("name=123").value).toBe("123")
    expect(Override.parseAssignment("duration=2s").value).toBe("2s")
    expect(Override.parseAssignment("scheduler.maxTimerInterval=none").value).toBe("none")
    expect(Override.parseAssignment("pcpus[0].recordSchedule=true").value).toBe(true)
    expect(message(() => Override.parseAssignment("seed=-1"))).toMatch(/^ScenarioError: seed: invalid value -1/)
    expect(message(() => Override.parseAssignment("novalue"))).toMatch(/expected path=value/)
  })

  it("an override changes the run (a longer budget for the lowest-priority task makes it miss)", () => {
    const base = Runner.run(parseScenario(rm, "rm"), { untilNs: 1_000_000_000 })
    const input = Override.apply(rm, [Override.make("pcpus[0].vcpus[4].budget", "120ms"), Override.make("pcpus[0].threads[4].job[0].compute", "120ms")])
    const changed = Runner.run(parseScenario(input, "rm"), { untilNs: 1_000_000_000 })
    expect(changed.fingerprint).not.toBe(base.fingerprint)
    const missed = (s: Runner.Summary) => ((s.metrics["pcpus"] as any).pcpu0.threads.task5.missed as number)
    expect(missed(base)).toBe(0)
    expect(missed(changed)).toBeGreaterThan(0)
  })
})

const main = join(import.meta.dirname, "../src/cli/qvsim.mjs")
const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("qvsim run --set", { timeout: 60_000 }, () => {
  it("changes the run; the trace header records the overrides, so replay re-applies them", () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-set-"))
    const plain = qvsim(["run", "rm-periodic", "--until", "1s", "--json"])
    const trace = join(dir, "t.jsonl")
    const set = qvsim(["run", "rm-periodic", "--until", "1s", "--json", "--set", "pcpus[0].vcpus[0].budget=2ms", "--set", "pcpus[0].threads[0].job[0].compute=2ms", "--trace", trace])
    expect(set.code).toBe(0)
    expect(JSON.parse(set.stdout).fingerprint).not.toBe(JSON.parse(plain.stdout).fingerprint)
    const replay = qvsim(["replay", trace])
    expect(replay.stderr).toBe("")
    expect(replay.stdout).toMatch(/^identical: /)
  })

  it("bad overrides: exit 2, one line naming --set and the path", () => {
    for (const [args, pattern] of [
      [["--set", "scheduler.quantm=1ms"], /^qvsim: --set scheduler\.quantm: scheduler has no field "quantm"/],
      [["--set", "pcpus[0].vcpus[9].budget=1ms"], /^qvsim: --set pcpus\[0\]\.vcpus\[9\]\.budget: pcpus\[0\]\.vcpus has 5 elements/],
      [["--set", "pcpus[0].vcpus[0].budget=soon"], /^qvsim: --set pcpus\[0\]\.vcpus\[0\]\.budget: invalid value "soon"/],
      [["--set", "pcpus[0].vcpus[0].budget=20ms"], /pcpus\[0\]\.vcpus\[0\]\.budget: budget 20000000ns exceeds the period/],
    ] as const) {
      const r = qvsim(["run", "rm-periodic", ...args])
      expect(r.code, r.stderr).toBe(2)
      expect(r.stderr.trim().split("\n")).toHaveLength(1)
      expect(r.stderr).toMatch(pattern)
    }
    const e = qvsim(["run", "isolation", "--set", "seed=2"])
    expect(e.code).toBe(2)
    expect(e.stderr).toMatch(/--set applies to one run: use `qvsim run isolation\/<variant> --set/)
  })
})
