/**
 * Test set-up shared by every vitest project: one fast-check seed per test file, printed so any
 * run can be replayed. The seed is, in order of precedence:
 *
 * - the one the seed campaign provides (`npm run campaign -- seeds`, vitest's `provide("fcSeed")`),
 * - `FC_SEED` when set (to replay a failure: `FC_SEED=123456 npm test`),
 * - else drawn fresh for this file (so `npm test` keeps finding new cases).
 *
 * Every fast-check run in the file (fc.assert, fc.check, fc.sample) uses that seed, and each run
 * starts its own stream from it, so a failing test replays alone or with its whole file:
 * `FC_SEED=<seed> npx vitest run --project <package> test/<File>.test.ts`.
 *
 * The seed is handed to fast-check through a getter, so reading it marks the running test as
 * seed-dependent (`task.meta.fcSeed`): the campaign uses the mark to run only property tests, and a
 * marked test that fails gets the seed and the replay command attached to its failure (an
 * annotation printed with the error), whatever else ran in the same worker.
 */
import fc from "fast-check"
import { afterEach, beforeAll, beforeEach, inject, type TestContext } from "vitest"

declare module "vitest" {
  interface ProvidedContext {
    /** Set by the seed campaign for one run of the suite. */
    fcSeed: number
  }
  interface TaskMeta {
    /** The fast-check seed this test read (set when it ran a property). */
    fcSeed?: number
  }
}

const parseSeed = (text: string): number => {
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new Error(`FC_SEED=${text}: not an integer`)
  return n
}

const provided = inject("fcSeed") as number | undefined
const fromEnv = process.env["FC_SEED"]
const seed = provided ?? (fromEnv !== undefined && fromEnv !== "" ? parseSeed(fromEnv) : (Math.random() * 0x7fffffff) | 0)

/** The test running now (fast-check runs outside a test, e.g. at collection, are not marked). */
let current: TestContext | undefined

fc.configureGlobal({
  // NOTE: a getter, not a value: fast-check spreads the global parameters into every run's, which
  // reads this once per fc.assert/check/sample and so tells us which tests depend on the seed.
  get seed(): number {
    if (current !== undefined && current.task.meta.fcSeed === undefined) {
      current.task.meta.fcSeed = seed
      // Printed with the error if the test fails (vitest awaits the annotation before the test ends).
      const file = current.task.file
      void current.annotate(`FC_SEED=${seed} npx vitest run --project ${file.projectName ?? ""} ${file.name}`, "replay with fast-check seed")
    }
    return seed
  },
})

beforeAll(() => {
  console.log(`[fast-check] seed ${seed} (replay with FC_SEED=${seed})`)
})

beforeEach((ctx) => {
  current = ctx
})

afterEach(() => {
  current = undefined
})
