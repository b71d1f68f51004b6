/**
 * vitest.setup.ts as CI sees it: several test files in one worker (no isolation, one worker) each
 * draw their own seed, each failure carries its own file's seed (fast-check's report and the
 * replay annotation agree with the file's printed seed), and FC_SEED=<that seed> replays the same
 * counterexample.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"
import { expect, it } from "vitest"

const root = join(import.meta.dirname, "..", "..")
const vitest = (env: Record<string, string>, ...args: string[]) =>
  spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--config", "scripts/test/fixtures/campaign/vitest.config.ts", ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0", FC_SEED: "", ...env },
  })

/** Per fixture file: the seed its set-up printed, fast-check's reported seed, the replay annotation's seed, the counterexample. */
const failures = (out: string) => {
  const printed = [...out.matchAll(/stdout \| (replay[AB])\.fixture\.ts\n\[fast-check\] seed (\d+) /g)].map((m) => [m[1]!, m[2]!] as const)
  const blocks = out.split(/ FAIL /).slice(1)
  return Object.fromEntries(["replayA", "replayB"].map((f) => {
    const block = blocks.find((b) => b.includes(`${f}.fixture.ts > fails`))!
    return [f, {
      printed: printed.find(([g]) => g === f)?.[1],
      reported: /\{ seed: (-?\d+), path/.exec(block)?.[1],
      annotated: new RegExp(`FC_SEED=(\\d+) npx vitest run --project fixture ${f}\\.fixture\\.ts`).exec(block)?.[1],
      counterexample: /Counterexample: (.*)/.exec(block)?.[1],
    }]
  }))
}

it("files sharing a worker keep their own seeds, and FC_SEED replays each failure", () => {
  const run = vitest({}, "--no-isolate", "--maxWorkers=1", "replay")
  expect(run.status).toBe(1)
  const got = failures(run.stdout + run.stderr)
  for (const f of ["replayA", "replayB"]) {
    const g = got[f]!
    expect(g.printed, f).toMatch(/^\d+$/)
    expect([g.reported, g.annotated], f).toEqual([g.printed, g.printed])
    expect(g.counterexample, f).toMatch(/^\[\d+\]$/)
  }
  expect(got["replayA"]!.printed).not.toBe(got["replayB"]!.printed)
  // Replaying B's seed on both files: B prints its counterexample again; A (another seed before) too now.
  const replay = vitest({ FC_SEED: got["replayB"]!.printed! }, "replay")
  const again = failures(replay.stdout + replay.stderr)
  expect(again["replayB"]).toEqual(got["replayB"])
  expect(again["replayA"]!.counterexample).toBe(got["replayB"]!.counterexample)
})
