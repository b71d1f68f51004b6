import { defineScenario } from "../Scenario.ts"

/** Periodic and Poisson event sources with seeded jitter: the smallest end-to-end scenario. */
export default defineScenario({
  name: "timers",
  description: "three periodic sources (one jittered) and two Poisson sources, 10 s",
  seed: 1,
  duration: "10s",
  sources: [
    { kind: "periodic", name: "tick-1ms", period: "1ms" },
    { kind: "periodic", name: "jittered-2.5ms", period: "2.5ms", jitter: "100us" },
    { kind: "periodic", name: "slow-10ms", period: "10ms", jitter: "1ms", offset: "3ms" },
    { kind: "poisson", name: "arrivals-3ms", mean: "3ms" },
    { kind: "poisson", name: "arrivals-7ms", mean: "7ms" },
  ],
})
