/**
 * `qvsim check`: per PCPU, the utilisation, each schedulability test's verdict and numbers, and
 * RTA's response time per VCPU (vcpu-sched's Analysis, on the VCPUs the scenario declares).
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Analysis } from "@qvsim/vcpu-sched"
import { Config } from "@qvsim/sandbox-kernel"
import type { Scenario } from "./Scenario.ts"
import { toSystemInput } from "./SystemDecl.ts"

export interface PcpuCheck {
  readonly name: string
  readonly vcpus: ReadonlyArray<{ readonly name: string; readonly kind: "main" | "io"; readonly budgetNs: number; readonly periodNs: number }>
  readonly analysis: Analysis.PcpuAnalysis
  /** For a `system`: the sandbox, and its threads with the name of their VCPU (the report compares their observed responses). */
  readonly system?: { readonly sandbox: number; readonly threads: ReadonlyArray<{ readonly name: string; readonly vcpu: string }> }
}

/**
 * Analyses every PCPU of a scenario (empty when it declares none). For a `system`, every core of
 * every sandbox with the VCPUs placed on it (`sandbox<s>/core<c>`, `c` the machine core),
 * resolved by sandbox-kernel (defaults, the private-channel polling VCPU).
 */
export const check = (scenario: Scenario): PcpuCheck[] => {
  if (scenario.system !== undefined) {
    const config = Config.parse(toSystemInput(scenario.system, scenario.seed))
    return config.sandboxes.flatMap((sb) => sb.cores.flatMap((core, k) => {
      const vcpus = sb.vcpus.filter((v) => v.core === k).map((v) => ({ name: v.name, kind: v.kind, budgetNs: v.budgetNs, periodNs: v.periodNs }))
      const threads = sb.threads.flatMap((t) => {
        const v = sb.vcpus[t.vcpu]
        return v !== undefined && v.core === k ? [{ name: t.name, vcpu: v.name }] : []
      })
      return vcpus.length === 0 ? [] : [{ name: `sandbox${sb.index}/core${core}`, vcpus, analysis: Analysis.analyse(vcpus), system: { sandbox: sb.index, threads } }]
    }))
  }
  return scenario.pcpus.map((p, i) => {
    const vcpus = p.vcpus.map((v) => ({ name: v.name, kind: v.kind, budgetNs: v.budget, periodNs: v.period }))
    return { name: p.name ?? `pcpu${i}`, vcpus, analysis: Analysis.analyse(vcpus) }
  })
}

export const toJson = (scenario: string, checks: ReadonlyArray<PcpuCheck>): Record<string, unknown> => ({
  scenario,
  pcpus: checks.map((c) => ({ name: c.name, vcpus: c.vcpus, ...Analysis.toJson(c.analysis) })),
})

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(4) : String(x))

/** The human-readable report. */
export const format = (scenario: string, checks: ReadonlyArray<PcpuCheck>): string => {
  const lines: string[] = [`scenario ${scenario}`]
  for (const c of checks) {
    const a = c.analysis
    const nMain = c.vcpus.filter((v) => v.kind === "main").length
    lines.push("")
    lines.push(`${c.name}: utilisation ${fmt(a.utilisation)} (Main ${fmt(a.mainUtilisation)}; ${nMain} Main, ${c.vcpus.length - nMain} I/O VCPUs), hyperperiod ${Time.show(Number(a.hyperperiodNs))}`)
    const row = (test: string, verdict: string, detail: string) => lines.push(`  ${test.padEnd(12)} ${verdict.padEnd(14)} ${detail}`)
    row("liu-layland", a.liuLayland.verdict, `Σ C/T = ${fmt(a.liuLayland.value)} ≤ n(2^(1/n) − 1) = ${fmt(a.liuLayland.bound)}?`)
    row("hyperbolic", a.hyperbolic.verdict, `Π (U_i + 1) = ${fmt(a.hyperbolic.value)} ≤ ${fmt(a.hyperbolic.bound)}?`)
    row("main+io", a.mainIo.verdict, `Σ C/T + Σ (2 − U)U = ${fmt(a.mainIo.value)} ≤ ${fmt(a.mainIo.bound)}?`)
    row("rta", a.rta.verdict, `exact response times (ties: ${a.rta.ties})`)
    const width = Math.max(4, ...c.vcpus.map((v) => v.name.length))
    lines.push(`    ${"vcpu".padEnd(width)}  ${"C".padStart(10)}  ${"T".padStart(10)}  ${"R".padStart(12)}`)
    for (const r of a.rta.responses) {
      const v = c.vcpus[r.index]!
      lines.push(`    ${v.name.padEnd(width)}  ${Time.show(r.budgetNs).padStart(10)}  ${Time.show(r.periodNs).padStart(10)}  ${Time.show(r.responseNs).padStart(12)}  ${r.schedulable ? "≤ T" : "> T: misses"}`)
    }
  }
  return lines.join("\n")
}
