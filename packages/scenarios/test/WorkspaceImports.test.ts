/**
 * Scenario and experiment files outside the checkout import `@qvsim/*` from it
 * (`src/cli/WorkspaceImports.ts`), through the real CLI as `npx qvsim` starts it: the
 * `node_modules/.bin/qvsim` link, run from a temporary directory that has no `node_modules`.
 */
import { spawnSync } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type ScenarioInput } from "../src/Scenario.ts"

const repo = join(import.meta.dirname, "../../..")
const bin = join(repo, "node_modules/.bin/qvsim")

const qvsim = (args: string[], cwd: string) => {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const dir = mkdtempSync(join(tmpdir(), "qvsim-outside-"))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The docs' first example, copied out of the checkout unchanged (it imports `@qvsim/scenarios`). */
const scenario = join(dir, "my.ts")
writeFileSync(scenario, readFileSync(join(repo, "docs/examples/periodic-tasks.ts"), "utf8"))

/** An experiment importing two workspace packages. */
const experiment = join(dir, "exp.ts")
writeFileSync(experiment, `
import { Program } from "@qvsim/sandbox-kernel"
import { defineExperiment, type Variant } from "@qvsim/scenarios"

const MS = 1_000_000
const variant = (name: string, computeMs: number): Variant => ({
  name,
  description: \`a thread computing \${computeMs} ms every 10 ms\`,
  system: (seed) => ({
    seed,
    machine: { cores: 2 },
    sandboxes: [{ threads: [{ name: "worker", vcpu: 0, periodic: { periodNs: 10 * MS }, program: Program.periodicCompute(computeMs * MS) }] }, {}],
  }),
  untilNs: (scale) => Math.max(20 * MS, Math.round(200 * MS * scale)),
})

export default defineExperiment({
  name: "outside",
  description: "an experiment kept outside the checkout",
  source: "test",
  seed: 5,
  variants: [variant("light", 1), variant("heavy", 3)],
  analyse: (runs) => {
    const cpuMs = runs.map((r) => r.system.metrics().sandboxes[0]!.threads.find((t) => t.name === "worker")!.cpuNs / MS)
    return {
      tables: [{ title: "CPU", columns: ["variant", "cpuMs"], rows: runs.map((r, i) => ({ variant: r.variant, cpuMs: cpuMs[i] })) }],
      claims: [{ text: "the heavy variant uses more CPU", holds: cpuMs[1]! > cpuMs[0]!, detail: cpuMs.join(" < ") }],
    }
  },
})
`)

describe("files outside the checkout import @qvsim/*", { timeout: 60_000 }, () => {
  it("without the hook Node finds no @qvsim package from there (the case this is for)", () => {
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(scenario).href)})`], { cwd: dir, encoding: "utf8" })
    expect(r.status).not.toBe(0)
    expect(r.stderr).toMatch(/Cannot find package '@qvsim\/scenarios'/)
  })

  it("a .ts scenario runs, with the fingerprint of the same file inside the checkout", async () => {
    const inside = (await import(join(repo, "docs/examples/periodic-tasks.ts"))).default as ScenarioInput
    const r = qvsim(["run", "my.ts", "--json"], dir)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).fingerprint).toBe(Runner.run(parseScenario(inside, "periodic-tasks.ts")).fingerprint)
  })

  it("a .ts experiment runs", () => {
    const r = qvsim(["run", experiment, "--scale", "0.1", "--out", join(dir, "out")], dir)
    expect(r.stderr).toBe("")
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/✓ the heavy variant uses more CPU/)
  })

  it("a sweep over a .ts scenario runs in its workers too (each worker installs the hook)", () => {
    const sweep = join(dir, "seeds.json")
    writeFileSync(sweep, JSON.stringify({ name: "outside-seeds", base: "./my.ts", seeds: { from: 1, count: 4 } }))
    const out = join(dir, "sweep-out")
    const r = qvsim(["sweep", sweep, "--jobs", "2", "--out", out], dir)
    expect(r.stderr).not.toMatch(/Cannot find package/)
    expect(r.code).toBe(0)
    const runs = readFileSync(join(out, "runs.jsonl"), "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l) as { error?: unknown })
    expect(runs).toHaveLength(4)
    expect(runs.filter((x) => x.error !== undefined)).toEqual([])
  })

  it("@qvsim/* always means the checkout's packages, even beside a node_modules/@qvsim of another copy", () => {
    const decoy = mkdtempSync(join(tmpdir(), "qvsim-decoy-"))
    try {
      const pkg = join(decoy, "node_modules/@qvsim/scenarios")
      mkdirSync(pkg, { recursive: true })
      writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "@qvsim/scenarios", type: "module", exports: "./index.js" }))
      writeFileSync(join(pkg, "index.js"), `throw new Error("the decoy @qvsim/scenarios was loaded")`)
      writeFileSync(join(decoy, "my.ts"), readFileSync(scenario, "utf8"))
      const r = qvsim(["run", "my.ts", "--json"], decoy)
      expect(r.stderr).toBe("")
      expect(r.code).toBe(0)
    } finally {
      rmSync(decoy, { recursive: true, force: true })
    }
  })

  it("other packages resolve as Node would: a missing one is one line, exit 2", () => {
    const file = join(dir, "missing.ts")
    writeFileSync(file, `import "no-such-package-qvsim"\nexport default {}\n`)
    const r = qvsim(["run", file], dir)
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/^qvsim: cannot load .*missing\.ts: Cannot find package 'no-such-package-qvsim'/)
  })
})
