import { defineScenario } from "../Scenario.ts"

/**
 * The spec's worked example 1 (§B.4, experiment E7a) under both Main-VCPU policies, side by side:
 * one sporadic server C = 4, T = 10 (1 unit = 1 ms) with enforcement latency δ = 1 unit, runnable
 * from 0, blocked during [2, 5), then always busy. PCPU 0 runs Quest's corrected algorithm (share
 * ≈ 37.5 %, never more than C + δ in a window of T), PCPU 1 the naive POSIX rules (budget
 * amplification: from t = 25 the server owns the CPU).
 */
const pcpu = (name: string, policy: "sporadic" | "posixNaive") => ({
  name,
  recordSchedule: true,
  options: { policy, enforcementLatency: "1ms" },
  vcpus: [{ name: "S", budget: "4ms", period: "10ms" }],
  threads: [{
    name: "server",
    vcpu: "S",
    arrivals: { kind: "explicit" as const, at: ["0ms"] },
    job: [{ compute: "2ms" }, { sleep: "3ms" }, { compute: "1000s" }],
  }],
})

export default defineScenario({
  name: "ss-amplification",
  description: "worked example 1: sporadic-server budget amplification, corrected vs naive POSIX, 200 ms",
  duration: "200ms",
  pcpus: [pcpu("quest", "sporadic"), pcpu("posix-naive", "posixNaive")],
})
