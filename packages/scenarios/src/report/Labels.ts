/**
 * Names for the numbers in trace records, from the scenario that produced them: the process of
 * scope `i` is PCPU `i` (the scheduling model runs PCPU `i` in scope `i`), field `vcpu` indexes
 * its VCPUs, `thread` its threads (declared threads first, then one I/O service thread per I/O
 * VCPU, in VCPU order, as vcpu-sched's harness numbers them) and `pcpu` the PCPUs.
 *
 * @module
 */
import type { Scenario } from "../Scenario.ts"
import type { Labels } from "./Perfetto.ts"

/** Thread names of a PCPU in the harness's numbering. */
export const threadNames = (p: Scenario["pcpus"][number]): string[] => [
  ...p.threads.map((t) => t.name),
  ...p.vcpus.filter((v) => v.kind === "io").map((v) => `io-service/${v.name}`),
]

/** PCPU names (declared, or `pcpu<i>`). */
export const pcpuNames = (scenario: Scenario): string[] => scenario.pcpus.map((p, i) => p.name ?? `pcpu${i}`)

export const fromScenario = (scenario: Scenario): Labels => {
  const pcpus = pcpuNames(scenario)
  const threads = scenario.pcpus.map(threadNames)
  return {
    scope: (scope) => (scope < 0 ? "global" : pcpus[scope] ?? `scope ${scope}`),
    fields: ["vcpu", "thread", "pcpu"],
    entity: (scope, field, value) => {
      if (value < 0) return field === "pcpu" ? undefined : "idle"
      switch (field) {
        case "pcpu": return pcpus[value]
        case "vcpu": return scenario.pcpus[scope]?.vcpus[value]?.name
        case "thread": return threads[scope]?.[value]
        default: return undefined
      }
    },
  }
}
