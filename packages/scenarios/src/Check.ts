/**
 * `qvsim check`: per PCPU, the utilisation, each schedulability test's verdict and numbers, and
 * RTA's response time per VCPU (vcpu-sched's Analysis, on the VCPUs the scenario declares), then
 * a verdict: a PCPU is unschedulable when its utilisation exceeds 1 (the necessary condition; I/O
 * VCPUs count with `U = C/T`) or exact RTA finds a Main VCPU whose response exceeds its period;
 * `qvsim check` then exits 1 and names the VCPUs.
 *
 * RTA treats Main VCPUs as periodic tasks `(C, T)`, `D = T`. Equal periods follow the scheduler's
 * `ties`: `'declaration'` ranks them by index (exact); `'rotate'` (Quest) counts every other VCPU of
 * equal period as interference (sound for any list order). I/O VCPUs run at inherited priorities,
 * so RTA leaves them out; their rows show `U` and their term `(2 − U)·U` in the §C.3 Main + I/O
 * test, which bounds what they take from the Main VCPUs.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Analysis } from "@qvsim/vcpu-sched"
import { Config } from "@qvsim/sandbox-kernel"
import { toOptions } from "./Pcpus.ts"
import type { Scenario } from "./Scenario.ts"
import { toSystemInput } from "./SystemDecl.ts"

export interface PcpuCheck {
  readonly name: string
  readonly vcpus: ReadonlyArray<{ readonly name: string; readonly kind: "main" | "io"; readonly budgetNs: number; readonly periodNs: number }>
  readonly analysis: Analysis.PcpuAnalysis
  /** The scheduler's tie rule (RTA ranks equal periods by it). */
  readonly ties: "rotate" | "declaration"
  /** Why the PCPU is unschedulable (U > 1, or each Main VCPU that RTA finds missing); empty when it is schedulable. */
  readonly unschedulable: readonly string[]
  /** For a `system`: the sandbox, and its threads with the name of their VCPU (the report compares their observed responses). */
  readonly system?: { readonly sandbox: number; readonly threads: ReadonlyArray<{ readonly name: string; readonly vcpu: string }> }
}

type Vcpus = PcpuCheck["vcpus"]

/** The analysis, under the tie rule, and the verdict's reasons. */
const judge = (vcpus: Vcpus, ties: "rotate" | "declaration"): Pick<PcpuCheck, "analysis" | "ties" | "unschedulable"> => {
  const analysis = Analysis.analyse(vcpus, { ties: ties === "declaration" ? "index" : "conservative" })
  const unschedulable: string[] = []
  if (analysis.utilisation > 1) unschedulable.push(`utilisation ${fmt(analysis.utilisation)} > 1 (necessary condition)`)
  for (const r of analysis.rta.responses) {
    if (!r.schedulable) unschedulable.push(`VCPU ${vcpus[r.index]!.name}: RTA response ${Time.show(r.responseNs)} > T = ${Time.show(r.periodNs)}`)
  }
  return { analysis, ties, unschedulable }
}

/**
 * Analyses every PCPU of a scenario (empty when it declares none). For a `system`, every core of
 * every sandbox with the VCPUs placed on it (`sandbox<s>/core<c>`, `c` the machine core),
 * resolved by sandbox-kernel (defaults, the private-channel polling VCPU).
 */
export const check = (scenario: Scenario): PcpuCheck[] => {
  if (scenario.system !== undefined) {
    const config = Config.parse(toSystemInput(scenario.system, scenario.seed, { scheduler: toOptions(scenario.scheduler) as Record<string, unknown> }))
    return config.sandboxes.flatMap((sb) => sb.cores.flatMap((core, k) => {
      const vcpus = sb.vcpus.filter((v) => v.core === k).map((v) => ({ name: v.name, kind: v.kind, budgetNs: v.budgetNs, periodNs: v.periodNs }))
      const threads = sb.threads.flatMap((t) => {
        const v = sb.vcpus[t.vcpu]
        return v !== undefined && v.core === k ? [{ name: t.name, vcpu: v.name }] : []
      })
      return vcpus.length === 0 ? [] : [{ name: `sandbox${sb.index}/core${core}`, vcpus, ...judge(vcpus, config.scheduler.ties), system: { sandbox: sb.index, threads } }]
    }))
  }
  return scenario.pcpus.map((p, i) => {
    const vcpus = p.vcpus.map((v) => ({ name: v.name, kind: v.kind, budgetNs: v.budget, periodNs: v.period }))
    return { name: p.name ?? `pcpu${i}`, vcpus, ...judge(vcpus, p.options.ties ?? scenario.scheduler.ties ?? "rotate") }
  })
}

/** Every reason a PCPU of `checks` is unschedulable, `<pcpu>: <reason>` (empty: all schedulable). */
export const unschedulable = (checks: ReadonlyArray<PcpuCheck>): string[] => checks.flatMap((c) => c.unschedulable.map((u) => `${c.name}: ${u}`))

export const toJson = (scenario: string, checks: ReadonlyArray<PcpuCheck>): Record<string, unknown> => ({
  scenario,
  schedulable: checks.every((c) => c.unschedulable.length === 0),
  pcpus: checks.map((c) => ({
    name: c.name, vcpus: c.vcpus, ties: c.ties, schedulable: c.unschedulable.length === 0, unschedulable: c.unschedulable,
    ...Analysis.toJson(c.analysis),
  })),
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
    row("rta", a.rta.verdict, `exact response times (scheduler ties: ${c.ties}; equal periods ${a.rta.ties === "index" ? "ranked by index" : "counted as interference"})`)
    const width = Math.max(4, ...c.vcpus.map((v) => v.name.length))
    lines.push(`    ${"vcpu".padEnd(width)}  ${"C".padStart(10)}  ${"T".padStart(10)}  ${"R".padStart(12)}`)
    c.vcpus.forEach((v, i) => {
      const r = a.rta.responses.find((x) => x.index === i)
      const head = `    ${v.name.padEnd(width)}  ${Time.show(v.budgetNs).padStart(10)}  ${Time.show(v.periodNs).padStart(10)}`
      if (r !== undefined) lines.push(`${head}  ${Time.show(r.responseNs).padStart(12)}  ${r.schedulable ? "≤ T" : "> T: misses"}`)
      else {
        const u = v.budgetNs / v.periodNs
        lines.push(`${head}  ${"—".padStart(12)}  I/O (PIBS, inherited priority): U = ${fmt(u)}, bound (2 − U)·U = ${fmt((2 - u) * u)} in main+io`)
      }
    })
    lines.push(c.unschedulable.length === 0 ? "  verdict      schedulable" : `  verdict      UNSCHEDULABLE: ${c.unschedulable.join("; ")}`)
  }
  return lines.join("\n")
}
