import { defineScenario } from "../Scenario.ts"

/**
 * A rate-monotonic periodic task set on one PCPU: one Main VCPU per task with (C, T) = the task's
 * (WCET, period), one thread per VCPU releasing a job of C every T from 0 (synchronous, implicit
 * deadlines). U = 0.69, below the Liu & Layland bound for 5 tasks (0.743), so no job may miss;
 * `qvsim check rm-periodic` gives each task's RTA response time, which the first jobs meet exactly.
 */
export default defineScenario({
  name: "rm-periodic",
  description: "five periodic tasks, one per Main VCPU, rate-monotonic, U = 0.69, 10 s",
  duration: "10s",
  pcpus: [{
    name: "pcpu0",
    vcpus: [
      { name: "t1", budget: "1ms", period: "10ms" },
      { name: "t2", budget: "4ms", period: "25ms" },
      { name: "t3", budget: "9ms", period: "60ms" },
      { name: "t4", budget: "10ms", period: "100ms" },
      { name: "t5", budget: "36ms", period: "200ms" },
    ],
    threads: [
      { name: "task1", vcpu: "t1", arrivals: { kind: "periodic", period: "10ms" }, job: [{ compute: "1ms" }] },
      { name: "task2", vcpu: "t2", arrivals: { kind: "periodic", period: "25ms" }, job: [{ compute: "4ms" }] },
      { name: "task3", vcpu: "t3", arrivals: { kind: "periodic", period: "60ms" }, job: [{ compute: "9ms" }] },
      { name: "task4", vcpu: "t4", arrivals: { kind: "periodic", period: "100ms" }, job: [{ compute: "10ms" }] },
      { name: "task5", vcpu: "t5", arrivals: { kind: "periodic", period: "200ms" }, job: [{ compute: "36ms" }] },
    ],
  }],
})
