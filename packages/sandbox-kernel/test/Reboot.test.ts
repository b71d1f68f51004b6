/**
 * The reboot baseline restarts thread state (issue 13): at the reboot every configured thread of
 * every sandbox is killed (its state is lost) and, once the machine is up after `recovery.rebootNs`,
 * it starts again from its beginning (a fresh generator, its start offset after the boot). The
 * property is shown to catch a reboot that only freezes the machine (threads resume where they were).
 */
import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { Program, Recovery, System, type Config } from "../src/index.ts"
import { MS } from "./support.ts"

/** The reboot as it was: the machine held, the threads kept (the broken variant). */
class FreezingRecovery extends Recovery.Recovery {
  constructor(env: Recovery.RecoveryEnv, ...rest: ConstructorParameters<typeof Recovery.Recovery> extends [unknown, ...infer R] ? R : never) {
    const { rebootThreads: _held, ...held } = env
    super(held, ...rest)
  }
}

interface Case { readonly seed: number; readonly faultNs: number; readonly rebootNs: number; readonly sandbox: number }

/** Every sandbox runs a counting thread; returns, per sandbox, the starts of its program and its last count. */
const run = (c: Case, R: typeof Recovery.Recovery = Recovery.Recovery) => {
  const starts: number[][] = [[], [], [], []]
  const counts = [0, 0, 0, 0]
  const counter = (s: number): Program.Program => function* () {
    starts[s]!.push((yield Program.now()) as number)
    let n = 0
    for (;;) {
      yield Program.compute(1 * MS)
      counts[s] = ++n
      yield Program.sleep(4 * MS)
    }
  }
  const input: Config.SystemInput = {
    seed: c.seed,
    recovery: { rebootNs: c.rebootNs },
    // A whole-period budget: the halt is charged to the VCPU current at the reboot (the scheduler's
    // state is not reset by it), which must not hold the restarted thread back here.
    sandboxes: [0, 1, 2, 3].map((s) => ({ vcpus: [{ budgetNs: 100 * MS, periodNs: 100 * MS }], threads: [{ name: "counter", vcpu: 0, program: counter(s), startNs: 2 * MS }] })),
    faults: [{ kind: "trigger", atNs: c.faultNs, sandbox: c.sandbox, recovery: "reboot" }],
  }
  new System.System(input, { recoveryClass: R }).run(c.faultNs + c.rebootNs + 50 * MS)
  return { starts, counts }
}

const caseArb: fc.Arbitrary<Case> = fc.record({
  seed: fc.integer({ min: 0, max: 1e6 }),
  faultNs: fc.integer({ min: 20, max: 80 }).map((ms) => ms * MS),
  rebootNs: fc.integer({ min: 10, max: 200 }).map((ms) => ms * MS),
  sandbox: fc.integer({ min: 0, max: 3 }),
})

const restarts = (R: typeof Recovery.Recovery) => (c: Case): void => {
  const { starts, counts } = run(c, R)
  for (let s = 0; s < 4; s++) {
    // Started at boot and again after the reboot, 2 ms (its start offset) after the machine is up.
    expect(starts[s]!.length).toBe(2)
    expect(starts[s]![1]!).toBeGreaterThanOrEqual(c.faultNs + c.rebootNs + 2 * MS)
    expect(starts[s]![1]!).toBeLessThanOrEqual(c.faultNs + c.rebootNs + 4 * MS)
    // Its count started over: about one per 5 ms since the restart (50 ms), not since the boot.
    expect(counts[s]!).toBeLessThanOrEqual(11)
  }
}

describe("reboot baseline", () => {
  it("property: every configured thread is killed at the reboot and starts again from its beginning after it", () => {
    fc.assert(fc.property(caseArb, restarts(Recovery.Recovery)), { numRuns: 10 })
  })

  it("the property catches a reboot that only freezes the machine", () => {
    expect(() => fc.assert(fc.property(caseArb, restarts(FreezingRecovery)), { numRuns: 9, endOnFailure: true })).toThrow()
  })
})
