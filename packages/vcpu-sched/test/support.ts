/** Shared helpers for the property tests: run a spec with a check after every invocation. */
import fc from "fast-check"
import { Harness, type HarnessOptions } from "../src/Harness.ts"
import type { PcpuSpec } from "../src/Workload.ts"

export const US = 1_000
export const MS = 1_000_000

/** Thrown by checks to stop a run at the first violation. */
export class Violation extends Error {}

/**
 * Runs `spec` until `untilNs`, calling `check` after every scheduler invocation; returns the first
 * violation message (or what `after` returns once the run is over), or null.
 */
export const runChecked = (
  spec: PcpuSpec,
  untilNs: number,
  check: ((h: Harness, now: number) => string | null) | null,
  options: HarnessOptions = {},
  after?: (h: Harness) => string | null,
): string | null => {
  let h: Harness
  try {
    h = new Harness(spec, {
      ...options,
      onInvoke: (harness, now) => {
        const msg = check?.(harness, now) ?? null
        if (msg !== null) throw new Violation(`t=${now}ns: ${msg}`)
      },
    })
    h.run(untilNs)
  } catch (e) {
    if (e instanceof Violation) return e.message
    throw e
  }
  return after?.(h) ?? null
}

/**
 * A search for a violation of `prop` over `arb` (`prop` returns a violation message or null): the
 * suite's evidence that a property catches a deliberately broken variant.
 *
 * The search stops at its first violation without shrinking it (`endOnFailure`), unless `shrink`
 * (for tests that print the shrunk case): shrinking tells nothing when all we need is that a
 * violation exists. So `numRuns` is a cap, not a cost: a search costs about 1/q runs, where q is
 * the chance that one random case exposes the broken variant, and the cap sets the chance that a
 * seed finds nothing, (1 − q)^numRuns. Caps are set at about 3× what found the violation under
 * every seed of a seed campaign (`npm run campaign -- seeds`), so a new seed misses it with a
 * chance of the cube of the old one.
 */
export const findViolation = <A>(arb: fc.Arbitrary<A>, prop: (a: A) => string | null, numRuns: number, options: { readonly shrink?: boolean } = {}) =>
  fc.check(fc.property(arb, (a) => { const m = prop(a); if (m !== null) throw new Error(m) }), { numRuns, endOnFailure: options.shrink !== true })

/**
 * Multiplies the runs of every `assertHolds` property: `QVSIM_PROP_SCALE=20` turns the suite into
 * a long campaign (`npm run campaign -w @qvsim/vcpu-sched`); the default keeps `npm test` short.
 */
export const PROP_SCALE = Math.max(1, Number(process.env["QVSIM_PROP_SCALE"] ?? "1") || 1)

/** Asserts the property holds (fc.assert with the message as the failure). */
export const assertHolds = <A>(arb: fc.Arbitrary<A>, prop: (a: A) => string | null, numRuns: number): void =>
  fc.assert(fc.property(arb, (a) => { const m = prop(a); if (m !== null) throw new Error(m) }), { numRuns: numRuns * PROP_SCALE })
