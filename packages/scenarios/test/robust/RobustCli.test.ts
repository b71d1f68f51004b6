/**
 * `qvsim run <experiment> --robust` and `qvsim sensitivity` on a fixture experiment with a domain
 * (test/fixtures/robust-experiment.ts): per claim "holds in k of n" with its Wilson interval, the
 * first counterexample's command line replays the failure, results do not depend on --jobs, the
 * threshold's verdict at other values, sensitivity finds where a claim flips, bad --param values
 * are one-line errors (exit 2).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"

const main = join(import.meta.dirname, "../../src/cli/main.ts")
const fixture = join(import.meta.dirname, "../fixtures/robust-experiment.ts")

const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const fresh = (): string => mkdtempSync(join(tmpdir(), "qvsim-robust-"))

/** A command line of `--robust`'s output as arguments (qvsim and the shell quoting removed). */
const argsOf = (command: string): string[] => command.split(" ").slice(1).map((a) => a.replace(/^'(.*)'$/, "$1"))

interface ClaimJson {
  id: string
  holds: boolean
  samples: number
  holdsIn: number
  interval: [number, number]
  counterexample: { command: string; params: Record<string, unknown> } | null
  threshold?: { ours: boolean; at: Array<{ threshold: number; holdsIn: number }> }
}

describe("robust studies through the CLI", { timeout: 120_000 }, () => {
  it("--robust: holds in k of n with a Wilson interval; the counterexample replays; the same results with 1 or 2 workers", () => {
    const out1 = fresh(), out2 = fresh()
    const r = qvsim(["run", fixture, "--robust", "--jobs", "2", "--out", out2, "--report", join(out2, "robust.html")])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/design\s+Latin hypercube of 8 points over seeds 1\.\.4 \(4\), 1 choice, 1 assumed constant/)
    expect(r.stdout).toMatch(/inputs \(configured from the paper, not claims\)\n\s+period: 10 ms/)
    const json = JSON.parse(readFileSync(join(out2, "results.json"), "utf8")) as { claims: ClaimJson[] }
    const more = json.claims.find((c) => c.id === "heavierUsesMore")!
    // heavyMs = 1 (a quarter of the stratified sample: 2 of 8 points) makes the heavy variant as light as the other.
    expect(more).toMatchObject({ holds: false, samples: 8, holdsIn: 6 })
    expect(more.interval[0]).toBeGreaterThan(0.4)
    expect(more.interval[1]).toBeLessThan(1)
    expect(more.counterexample!.params["heavyMs"]).toBe(1)
    const under = json.claims.find((c) => c.id === "responseUnder")!
    expect(under.threshold!.ours).toBe(true)
    expect(under.threshold!.at.map((a) => a.threshold)).toEqual([2, 4, 6])
    expect(under.threshold!.at[0]!.holdsIn).toBeLessThanOrEqual(under.threshold!.at[2]!.holdsIn)
    expect(readFileSync(join(out2, "robust.html"), "utf8")).toMatch(/holds in 6 of 8/)
    // The replay: the counterexample alone, where the claim does not hold.
    const replay = qvsim([...argsOf(more.counterexample!.command), "--out", fresh(), "--json"])
    expect(replay.code, replay.stderr).toBe(0)
    const one = JSON.parse(replay.stdout) as { claims: Array<{ id: string; holds: boolean }>; params: Record<string, unknown> }
    expect(one.claims.find((c) => c.id === "heavierUsesMore")!.holds).toBe(false)
    expect(one.params["heavyMs"]).toBe(1)
    // One worker: the same results.
    expect(qvsim(["run", fixture, "--robust", "--jobs", "1", "--out", out1]).code).toBe(0)
    expect(readFileSync(join(out1, "results.json"), "utf8")).toBe(readFileSync(join(out2, "results.json"), "utf8"))
  })

  it("sensitivity: where each claim flips along each parameter, a tornado chart per metric", () => {
    const out = fresh()
    const r = qvsim(["sensitivity", fixture, "--out", out, "--report", join(out, "s.html"), "--trajectories", "4", "--jobs", "2"])
    expect(r.code, r.stderr).toBe(0)
    const s = JSON.parse(readFileSync(join(out, "sensitivity.json"), "utf8")) as { flips: Array<{ claim: string; param: string; text: string }>; effects: Array<{ metric: string; param: string; swing: number; muStar?: number }> }
    expect(s.flips.find((f) => f.claim === "heavierUsesMore" && f.param === "heavyMs")!.text).toBe("fails at 1, holds at 2, holds at 3, holds at 5")
    expect(s.flips.some((f) => f.param === "contextSwitch")).toBe(false)
    const cpu = s.effects.find((e) => e.metric === "heavyCpuMs" && e.param === "heavyMs")!
    // 10 jobs of 1 ms at the lowest level, capped at 20 ms by the sandbox's default VCPU (20 ms every 100 ms) above it.
    expect(cpu.swing).toBeCloseTo(10, 1)
    expect(s.effects.find((e) => e.metric === "heavyCpuMs" && e.param === "contextSwitch")!.muStar).toBeDefined()
    expect(readFileSync(join(out, "s.html"), "utf8")).toMatch(/<svg/)
  })

  it("bad --param and misplaced flags are one-line errors with exit 2", () => {
    const bad = qvsim(["run", fixture, "--param", "heavyMs=4", "--out", fresh()])
    expect(bad.code).toBe(2)
    expect(bad.stderr.trim()).toBe("qvsim: domain --param heavyMs=4: not one of the values (allowed: 1, 2, 3, 5)")
    const seed = qvsim(["run", fixture, "--robust", "--seed", "3", "--out", fresh()])
    expect(seed.code).toBe(2)
    expect(seed.stderr).toMatch(/--seed applies to one run; --robust samples the experiment's domain/)
  })
})
