/**
 * Fingerprint regression (OMNeT++-style): each built-in scenario's fingerprint for a fixed seed
 * and duration is pinned here. A change of model behaviour changes it: if the change is intended,
 * update the value in the same commit and say why in its message.
 */
import { describe, expect, it } from "vitest"
import * as Builtins from "../src/Builtins.ts"
import { parseScenario } from "../src/Scenario.ts"
import * as Runner from "../src/Runner.ts"

const pinned: Record<string, string> = {
  timers: "33175b0596c249db",
  "rm-periodic": "e8556f78b2dba91b",
  "ss-amplification": "ec053cd1abd74d36",
}

describe("built-in fingerprints", () => {
  it("every built-in has a pinned fingerprint", () => {
    expect(Object.keys(pinned).sort()).toEqual(Builtins.names().sort())
  })

  it.each(Object.keys(pinned))("%s (seed 1, first 200 ms) keeps its fingerprint", (name) => {
    const s = parseScenario(Builtins.find(name)!, name)
    const summary = Runner.run(s, { seed: 1, untilNs: Math.min(s.duration, 200_000_000) })
    expect(summary.fingerprint).toBe(pinned[name])
  })
})
