/**
 * The catch campaign's vitest set-up (added after `vitest.setup.ts` to every project it runs):
 * wraps fast-check's `check` and `assert`. A call whose property fails at the file's seed (a
 * broken-variant catch, or a real failure) is re-run at seeds 1..CATCHES_SEEDS with numRuns x
 * CATCHES_MULT and `endOnFailure`, recording at which run it first fails at each seed (-1: never);
 * one {@link CatchRecord} JSON line per call is appended to CATCHES_OUT. The test then sees the
 * original call's own result (fc.assert's throw included), so it passes or fails as in `npm test`.
 *
 * A catch that misses at the file's seed is not swept: its test fails, and the campaign reports it.
 *
 * @module
 */
import { appendFileSync } from "node:fs"
import { relative } from "node:path"
import type * as FastCheck from "fast-check"
import { beforeEach, expect, vi } from "vitest"
import type { CatchRecord } from "./Record.ts"

type Fc = typeof FastCheck
type AnyProperty = Parameters<Fc["check"]>[0]
type AnyParams = NonNullable<Parameters<Fc["check"]>[1]>
type Details = Awaited<ReturnType<Fc["check"]>>

/** The running test's vitest project (the sweep's records name it). */
let project = ""
beforeEach((ctx) => {
  project = ctx.task.file.projectName ?? ""
})

vi.mock("fast-check", async (importOriginal) => {
  const real = await importOriginal<Fc>()
  const seeds = Number(process.env["CATCHES_SEEDS"] ?? 100)
  const mult = Number(process.env["CATCHES_MULT"] ?? 10)
  const out = process.env["CATCHES_OUT"]
  if (out === undefined) throw new Error("sweep.setup.ts: CATCHES_OUT not set (run it through npm run campaign -- catches)")
  const root = process.env["CATCHES_ROOT"] ?? process.cwd()
  /** Calls so far per test, to tell a test's several catches apart. */
  const calls = new Map<string, number>()

  type Meta = Omit<CatchRecord, "seeds" | "mult" | "firstFailure" | "firstAtFileSeed" | "ms">
  const meta = (kind: "check" | "assert", params: AnyParams | undefined): Meta => {
    const st = expect.getState()
    const test = st.currentTestName ?? "(outside a test)"
    const file = relative(root, st.testPath ?? "?")
    const key = `${file}|${test}`
    const call = (calls.get(key) ?? 0) + 1
    calls.set(key, call)
    const numRuns = params?.numRuns ?? real.readConfigureGlobal().numRuns ?? 100
    return { file, project, test, call, kind, numRuns }
  }
  const at = (params: AnyParams | undefined, seed: number, numRuns: number): AnyParams => {
    const p: AnyParams = { ...params, seed, numRuns: numRuns * mult, endOnFailure: true }
    delete p.path
    return p
  }
  const first = (d: Details): number => (d.failed ? d.numRuns : -1)
  const write = (m: Meta, firstFailure: number[], firstAtFileSeed: number, t0: number): void => {
    const rec: CatchRecord = { ...m, seeds, mult, firstFailure, firstAtFileSeed, ms: Math.round(performance.now() - t0) }
    appendFileSync(out, `${JSON.stringify(rec)}\n`)
  }
  const sweepSync = (p: AnyProperty, params: AnyParams | undefined, m: Meta, fileSeed: number): void => {
    const t0 = performance.now()
    const idx: number[] = []
    for (let s = 1; s <= seeds; s++) idx.push(first(real.check(p, at(params, s, m.numRuns)) as Details))
    write(m, idx, fileSeed, t0)
  }
  const sweepAsync = async (p: AnyProperty, params: AnyParams | undefined, m: Meta, fileSeed: number): Promise<void> => {
    const t0 = performance.now()
    const idx: number[] = []
    for (let s = 1; s <= seeds; s++) idx.push(first(await real.check(p, at(params, s, m.numRuns))))
    write(m, idx, fileSeed, t0)
  }
  const check = ((p: AnyProperty, params?: AnyParams) => {
    const m = meta("check", params)
    const r = real.check(p, params)
    if (r instanceof Promise) return r.then(async (d) => {
      if (d.failed) await sweepAsync(p, params, m, d.numRuns)
      return d
    })
    if (r.failed) sweepSync(p, params, m, r.numRuns)
    return r
  }) as Fc["check"]
  const assert = ((p: AnyProperty, params?: AnyParams) => {
    const m = meta("assert", params)
    const r = real.check(p, params)
    if (r instanceof Promise) return r.then(async (d) => {
      if (d.failed) {
        await sweepAsync(p, params, m, d.numRuns)
        await real.assert(p, params)
      }
    })
    if (r.failed) {
      sweepSync(p, params, m, r.numRuns)
      return real.assert(p, params)
    }
    return undefined
  }) as Fc["assert"]
  const wrapped = { ...real, check, assert }
  return { ...wrapped, default: wrapped }
})
