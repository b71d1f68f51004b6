/**
 * Names for the numbers in trace records, from the scenario that produced them: the process of
 * scope `i` is PCPU `i` (the scheduling model runs PCPU `i` in scope `i`), field `vcpu` indexes
 * its VCPUs, `thread` its threads (declared threads first, then one I/O service thread per I/O
 * VCPU, in VCPU order, as vcpu-sched's harness numbers them) and `pcpu` the PCPUs. A scenario
 * with a `system` is labelled by {@link fromSystem} (scope = sandbox).
 *
 * @module
 */
import type { Scenario } from "../Scenario.ts"
import type { System } from "@qvsim/sandbox-kernel"
import * as SystemModel from "../models/System.ts"
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

/**
 * Labels of a Quest-V system run: scope `s` is sandbox `s`; `vcpu` and `thread` name the
 * sandbox's VCPUs and kernel threads (looked up when first needed, so threads created during the
 * run are named too); `pcpu` is a record's PCPU of the sandbox (its index among the sandbox's
 * cores, as `k.dispatch` and `mon.exit` give it), named after its machine core (`core<c>`), so a
 * sandbox's schedule track and its interrupt track (subject `core<c>`) say the same core.
 */
export const fromSystem = (system: () => System.System | undefined): Labels => ({
  scope: (scope) => (scope < 0 ? "global" : `sandbox${scope}`),
  fields: ["vcpu", "thread", "pcpu"],
  entity: (scope, field, value) => {
    const sys = system()
    switch (field) {
      case "pcpu": {
        if (value < 0) return undefined
        const core = sys?.sandboxes[scope]?.kernel.pcpus[value]?.core.index
        return core === undefined ? undefined : SystemModel.coreName(core)
      }
      case "vcpu": return value < 0 ? "idle" : sys === undefined ? undefined : SystemModel.vcpuName(sys, scope, value)
      case "thread": return sys === undefined ? undefined : SystemModel.threadName(sys, scope, value)
      default: return undefined
    }
  },
})
