import { defineScenario } from "@qvsim/scenarios"

// Three periodic tasks, each on its own Main VCPU of one PCPU, plus a disk served by an I/O VCPU.
export default defineScenario({
  name: "periodic-tasks",
  description: "three rate-monotonic tasks and a disk on one PCPU",
  duration: "2s",
  seed: 42,
  pcpus: [{
    name: "cpu0",
    vcpus: [
      { name: "control", budget: "2ms", period: "10ms" },
      { name: "logger", budget: "5ms", period: "40ms" },
      { name: "video", budget: "10ms", period: "50ms" },
      { name: "disk", kind: "io", budget: "1ms", period: "10ms" },
    ],
    threads: [
      { name: "control", vcpu: "control", arrivals: { kind: "periodic", period: "10ms" }, job: [{ compute: ["1ms", "2ms"] }] },
      { name: "logger", vcpu: "logger", arrivals: { kind: "periodic", period: "40ms" }, job: [{ compute: "2ms" }, { io: { vcpu: "disk", work: "300us" } }] },
      { name: "video", vcpu: "video", arrivals: { kind: "sporadic", minInterArrival: "50ms", maxExtra: "5ms" }, job: [{ compute: "8ms" }] },
    ],
  }],
})
