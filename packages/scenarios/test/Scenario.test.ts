import { describe, expect, it } from "vitest"
import { parseScenario } from "../src/Scenario.ts"
import * as Runner from "../src/Runner.ts"
import timers from "../src/builtins/timers.ts"

describe("Scenario", () => {
  it("fills defaults and converts durations to ns", () => {
    const s = parseScenario({ name: "a", duration: "2.5s", sources: [{ kind: "periodic", name: "p", period: "1ms" }] }, "test")
    expect(s.duration).toBe(2_500_000_000)
    expect(s.seed).toBe(1)
    expect(s.sources[0]).toEqual({ kind: "periodic", name: "p", period: 1_000_000, jitter: 0, offset: 0 })
  })

  it.each([
    [{ name: "a" }, /duration: /],
    [{ name: "a", duration: "1s", seed: -1 }, /seed: /],
    [{ name: "a", duration: "1s", extra: 1 }, /extra/],
    [{ name: "a", duration: "1s", sources: [{ kind: "poisson", name: "p", mean: "0s" }] }, /sources\[0\]\.mean: must be greater than 0/],
    [{ name: "a", duration: "1s", sources: [{ kind: "periodic", name: "p", period: "1ms" }, { kind: "poisson", name: "p", mean: "1ms" }] }, /sources\[1\]\.name: duplicate source name "p"/],
    [{ name: "A B", duration: "1s" }, /name: use lowercase/],
  ])("refuses %j naming the field", (input, pattern) => {
    expect(() => parseScenario(input, "test")).toThrow(pattern)
  })

  it("the timers model is deterministic by seed and each source keeps its own stream", () => {
    const s = parseScenario(timers, "timers")
    const a = Runner.run(s, { seed: 3, untilNs: 1_000_000_000 })
    const b = Runner.run(s, { seed: 3, untilNs: 1_000_000_000 })
    expect(b.fingerprint).toBe(a.fingerprint)
    expect(Runner.run(s, { seed: 4, untilNs: 1_000_000_000 }).fingerprint).not.toBe(a.fingerprint)
    // Removing one Poisson source leaves the others' firings unchanged.
    const fewer = parseScenario({ ...timers, sources: timers.sources!.filter((x) => x.name !== "arrivals-7ms") }, "fewer")
    const m1 = a.metrics["timers"] as Record<string, unknown>
    const m2 = Runner.run(fewer, { seed: 3, untilNs: 1_000_000_000 }).metrics["timers"] as Record<string, unknown>
    expect(m2["arrivals-3ms"]).toEqual(m1["arrivals-3ms"])
    expect(m2["jittered-2.5ms"]).toEqual(m1["jittered-2.5ms"])
  })

  it("periodic sources fire exactly every period without jitter", () => {
    const s = parseScenario({ name: "p", duration: "1s", sources: [{ kind: "periodic", name: "p", period: "10ms", offset: "3ms" }] }, "p")
    const m = (Runner.run(s).metrics["timers"] as Record<string, { fired: number; minIntervalNs: number; maxIntervalNs: number }>)["p"]!
    expect(m.fired).toBe(100) // 3, 13, ..., 993 ms
    expect(m.minIntervalNs).toBe(10_000_000)
    expect(m.maxIntervalNs).toBe(10_000_000)
  })
})
