/**
 * docs/extending.md keeps its promises: the policy it shows is the first 60 lines of
 * docs/examples/polling-server.ts, that file registers its policy and runs as a user runs it
 * (`qvsim run` of a copy outside the checkout, `qvsim check`), under both priority rules with the
 * invariants checked, and the polling server behaves as one (work arriving after a poll waits for
 * the next boundary).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Harness, Policy } from "@qvsim/vcpu-sched"
import { describe, expect, it } from "vitest"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../src/Scenario.ts"

const root = join(import.meta.dirname, "../../..")
const example = join(root, "docs/examples/polling-server.ts")
const main = join(import.meta.dirname, "../src/cli/main.ts")
const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("docs/extending.md: the polling server", () => {
  it("the guide's code block is the example file's first 60 lines (the policy, under 60 lines with its imports)", () => {
    const guide = readFileSync(join(root, "docs/extending.md"), "utf8")
    const block = /```ts\n(import { defineScenario }[^]*?)\n```/.exec(guide)?.[1]
    const lines = readFileSync(example, "utf8").split("\n")
    expect(block).toBe(lines.slice(0, 60).join("\n"))
    expect(lines[59]).toBe("})") // the registration ends the block: the policy is all of it
  })

  it("registers itself on import; runs under rm and edf with the invariants checked", async () => {
    const input = (await import(example)).default as ScenarioInput
    const policy = Policy.get("polling")
    expect(policy.analysis).not.toBeNull()
    for (const priority of ["rm", "edf"] as const) {
      const s = parseScenario({ ...input, scheduler: { priority } } as ScenarioInput, "polling-server.ts")
      const summary = Runner.run(s, { untilNs: 500_000_000, checkInvariants: true })
      expect(summary.fingerprint, priority).toMatch(/^[0-9a-f]{16}$/)
    }
  })

  it("a request after the poll waits for the next boundary; one at the boundary runs at once", async () => {
    await import(example)
    const MS = 1_000_000
    const run = (at: number) => {
      const h = new Harness.Harness({
        vcpus: [{ budgetNs: 2 * MS, periodNs: 10 * MS, policy: "polling" }],
        threads: [{ vcpu: 0, arrivals: { kind: "explicit", releasesNs: [at] }, job: [{ compute: 1 * MS }] }],
      }, { recordJobs: true, checkInvariants: true }).run(40 * MS)
      return h.jobs[0]!
    }
    expect(run(10 * MS)).toMatchObject({ firstStartNs: 10 * MS, completeNs: 11 * MS })
    expect(run(3 * MS)).toMatchObject({ firstStartNs: 10 * MS, completeNs: 11 * MS })
  })

  it("as a user runs it: a copy outside the checkout, `qvsim run --check-invariants` and `qvsim check`", { timeout: 60_000 }, () => {
    const dir = mkdtempSync(join(tmpdir(), "qvsim-extending-"))
    const copy = join(dir, "polling-server.ts")
    writeFileSync(copy, readFileSync(example, "utf8"))
    const r = qvsim(["run", copy, "--until", "200ms", "--check-invariants", "--json"])
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    const c = qvsim(["check", copy])
    expect(c.code).toBe(0)
    expect(c.stdout).toMatch(/poller\s+2ms\s+10ms\s+4ms\s+≤ T\s+\(polling\)/)
  })
})
