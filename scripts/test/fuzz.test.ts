/**
 * The fuzz campaign in `npm test`: a few hundred generated cases (seeded from the run's fast-check
 * seed, so `FC_SEED=<n>` replays them), in-process and a sample through the executable, must give
 * no failure: no crash, hang, stack trace or internal error. The classifier is checked on
 * deliberately broken outcomes, so a campaign that "passes" means something.
 */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Campaign from "../campaign/fuzz/Campaign.ts"
import { classify } from "../campaign/fuzz/Classify.ts"

describe("the classifier", () => {
  it("accepts exit 2 with one line, exit 0, a stop; reports exit 3 for review; fails everything else", () => {
    expect(classify({ code: 2, stdout: "", stderr: "qvsim: invalid scenario x.json: duration: missing\n", stopped: false }).cls).toBe("refused")
    expect(classify({ code: 2, stdout: "", stderr: "  1s of 2s (50%), 10 events\nqvsim: sandbox 0 thread \"t\": yielded null (at t=5ns)\n", stopped: false }).cls).toBe("refused")
    expect(classify({ code: 0, stdout: "scenario x", stderr: "qvsim: warning: --trace: t is a symbolic link\n", stopped: false }).cls).toBe("ok")
    expect(classify({ code: 143, stdout: "", stderr: "qvsim: interrupted (SIGTERM) at 1s simulated of 9s; nothing written\n", stopped: true }).cls).toBe("stopped")
    expect(classify({ code: 3, stdout: "", stderr: "qvsim: invariant violated: x (at t=5ns, event e, seed 1)\n", stopped: false }).cls).toBe("invariant")
    expect(classify({ code: 1, stdout: "", stderr: "qvsim: unschedulable: pcpu0: utilisation 1.1 > 1\n", stopped: false, command: "check" }).cls).toBe("ok")
    expect(classify({ code: 1, stdout: "", stderr: "qvsim: x\n", stopped: false, command: "run" }).cls).toBe("failure")
    // Deliberately broken outcomes.
    expect(classify({ code: 70, stdout: "", stderr: "qvsim: internal error (a bug in qvsim ...): TypeError: x\n", stopped: false })).toEqual({ cls: "failure", reason: "internal error" })
    expect(classify({ code: 1, stdout: "", stderr: "file:///x.ts:3\nTypeError: boom\n    at f (file:///x.ts:3:9)\n", stopped: false })).toEqual({ cls: "failure", reason: "stack trace" })
    expect(classify({ code: 2, stdout: "", stderr: "qvsim: a\nqvsim: b\n", stopped: false })).toEqual({ cls: "failure", reason: "exit 2 with 2 error lines" })
    expect(classify({ code: 2, stdout: "", stderr: "", stopped: false }).cls).toBe("failure")
    expect(classify({ code: null, signal: "SIGABRT", stdout: "", stderr: "", stopped: false }).cls).toBe("failure")
    expect(classify({ code: null, stdout: "", stderr: "", stopped: true, hung: true })).toEqual({ cls: "failure", reason: "hang" })
    expect(classify({ code: 143, stdout: "", stderr: "qvsim: interrupted (SIGTERM)\n", stopped: false }).cls).toBe("failure")
    expect(classify({ code: 0, stdout: "", stderr: "qvsim: something went wrong\n", stopped: false }).cls).toBe("failure")
  })
})

describe("a short fuzz campaign", () => {
  it("250 cases: no crash, hang, stack trace or internal error", { timeout: 600_000 }, async () => {
    const seed = fc.readConfigureGlobal().seed ?? 1
    const report = await Campaign.run({ seed: Math.abs(seed) % 2 ** 31, cases: 250, cliEvery: 50, limitMs: 4000, memoryMb: 1024, workDir: mkdtempSync(join(tmpdir(), "qvsim-fuzz-test-")) })
    const text = Campaign.format(report)
    if (report.failures.length > 0 || report.invariants.length > 0) console.log(text)
    expect(report.tally["in-process"]!.refused + report.tally["in-process"]!.ok).toBeGreaterThan(200)
    expect(report.cliRuns).toBeGreaterThan(0)
    expect(report.failures).toEqual([])
  })
})
