/**
 * `qvsim check`: per PCPU, the utilisation, each schedulability test's verdict and numbers, and
 * per VCPU the analysis of its policy (vcpu-sched's Analysis, on the VCPUs the scenario declares),
 * then a verdict.
 *
 * Which tests decide follows the PCPU's priority rule (`scheduler.priority`): under `'rm'` exact
 * response-time analysis (the utilisation bounds are shown, and apply only when every Main VCPU
 * demands like a sporadic task with `D = T`); under `'edf'` the EDF utilisation test and the
 * processor-demand test. Each Main VCPU is analysed through its policy's demand model (the
 * `VcpuPolicy.analysis` of vcpu-sched's registry: a sporadic task for `sporadic`, release jitter
 * `T − C` for `deferrable`); a policy with none for the rule (`posixNaive`, a user's policy
 * without one) is reported as "no analysis for policy X" and the PCPU gets no verdict — never the
 * verdict of another policy's analysis.
 *
 * Verdicts: `unschedulable` (exit 1, naming the reasons) when the utilisation exceeds 1 (the
 * necessary condition; I/O VCPUs count with `U = C/T`) or an exact test fails (RTA or processor
 * demand with every Main VCPU a sporadic task); `inconclusive` when a VCPU has no analysis or a
 * sufficient bound is exceeded (exit 0; the reasons are printed); else `schedulable`.
 *
 * Equal periods under `'rm'` follow the scheduler's `ties`: `'declaration'` ranks them by index
 * (exact); `'rotate'` (Quest) counts every other VCPU of equal period as interference (sound for
 * any list order). I/O VCPUs run at inherited priorities, so RTA leaves them out; their rows show
 * `U` and their term `(2 − U)·U` in the §C.3 Main + I/O test. No analysis covers PIBS under EDF.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Analysis, Options, Policy } from "@qvsim/vcpu-sched"
import { Config } from "@qvsim/sandbox-kernel"
import { toSpec } from "./Pcpus.ts"
import type { Scenario } from "./Scenario.ts"
import { toSystemInput } from "./SystemDecl.ts"

export interface CheckedVcpu {
  readonly name: string
  readonly kind: "main" | "io"
  readonly budgetNs: number
  readonly periodNs: number
  /** Relative deadline, ns (`T` unless the scenario gives one). */
  readonly deadlineNs: number
  /** The Main VCPU's policy (`'pibs'` for I/O VCPUs). */
  readonly policy: string
}

export interface PcpuCheck {
  readonly name: string
  readonly vcpus: ReadonlyArray<CheckedVcpu>
  readonly analysis: Analysis.PcpuAnalysis
  /** The scheduler's tie rule (RTA ranks equal periods by it). */
  readonly ties: "rotate" | "declaration"
  /** The PCPU's priority rule. */
  readonly rule: "rm" | "edf"
  readonly verdict: Analysis.Verdict
  /** Why the PCPU is unschedulable (proven); empty otherwise. */
  readonly unschedulable: readonly string[]
  /** Why there is no verdict (no analysis for a policy, a sufficient bound exceeded); empty otherwise. */
  readonly inconclusive: readonly string[]
  /** For a `system`: the sandbox, and its threads with the name of their VCPU (the report compares their observed responses). */
  readonly system?: { readonly sandbox: number; readonly threads: ReadonlyArray<{ readonly name: string; readonly vcpu: string }> }
}

type Vcpus = PcpuCheck["vcpus"]
type Judged = Pick<PcpuCheck, "analysis" | "ties" | "rule" | "verdict" | "unschedulable" | "inconclusive">

/** The analysis of `vcpus` under the rule and the tie rule, each Main VCPU through its policy's demand model, and the verdict's reasons. */
const judge = (vcpus: Vcpus, rule: "rm" | "edf", ties: "rotate" | "declaration"): Judged => {
  const params: Analysis.VcpuParams[] = vcpus.map((v) => ({
    kind: v.kind, name: v.name, budgetNs: v.budgetNs, periodNs: v.periodNs, deadlineNs: v.deadlineNs, policy: v.policy,
    ...(v.kind === "main" ? { model: Policy.has(v.policy) ? Policy.get(v.policy).analysis : null } : {}),
  }))
  const analysis = Analysis.analyse(params, { rule, ties: ties === "declaration" ? "index" : "conservative" })
  const unschedulable: string[] = []
  const inconclusive: string[] = []
  if (analysis.utilisation > 1) unschedulable.push(`utilisation ${fmt(analysis.utilisation)} > 1 (necessary condition)`)
  for (const u of analysis.unanalysed) inconclusive.push(`VCPU ${vcpus[u.index]!.name}: no analysis for policy ${u.policy} under ${rule.toUpperCase()}`)
  if (rule === "rm") {
    for (const r of analysis.rta.responses) {
      if (r.schedulable) continue
      const what = `VCPU ${vcpus[r.index]!.name}: RTA response ${Time.show(r.responseNs)} > ${r.deadlineNs === r.periodNs ? "T" : "D"} = ${Time.show(r.deadlineNs)}`
      if (analysis.rta.verdict === "unschedulable") unschedulable.push(what)
      else inconclusive.push(`${what} (a sufficient bound for its interferers' policies)`)
    }
  } else {
    const io = vcpus.filter((v) => v.kind === "io")
    if (io.length > 0) inconclusive.push(`I/O VCPUs ${io.map((v) => v.name).join(", ")}: no analysis for PIBS under EDF`)
    const d = analysis.edf!.demand
    if (d.failedAtNs >= 0) {
      const what = `processor demand ${Time.show(d.demandNs)} > L = ${Time.show(d.failedAtNs)}`
      if (d.verdict === "unschedulable") unschedulable.push(what)
      else inconclusive.push(`${what} (a sufficient bound for the policies' demand)`)
    } else if (d.verdict === "inconclusive" && d.note !== undefined && analysis.unanalysed.length === 0 && analysis.utilisation <= 1) {
      inconclusive.push(`processor demand: ${d.note}`)
    }
  }
  const verdict: Analysis.Verdict = unschedulable.length > 0 ? "unschedulable" : inconclusive.length > 0 ? "inconclusive" : "schedulable"
  return { analysis, ties, rule, verdict, unschedulable, inconclusive }
}

/**
 * Analyses every PCPU of a scenario (empty when it declares none). For a `system`, every core of
 * every sandbox with the VCPUs placed on it (`sandbox<s>/core<c>`, `c` the machine core),
 * resolved by sandbox-kernel (defaults, the private-channel polling VCPU); Linux sandboxes are left out.
 */
export const check = (scenario: Scenario): PcpuCheck[] => {
  if (scenario.system !== undefined) {
    const config = Config.parse(toSystemInput(scenario.system, scenario.seed, { scheduler: scenario.scheduler }))
    const o = config.scheduler
    // A Linux sandbox (QL1) has no VCPUs to analyse: its cores are best effort.
    return config.sandboxes.filter((sb) => sb.kind === "quest").flatMap((sb) => sb.cores.flatMap((core, k) => {
      const vcpus = sb.vcpus.filter((v) => v.core === k).map((v): CheckedVcpu => ({
        name: v.name, kind: v.kind, budgetNs: v.budgetNs, periodNs: v.periodNs, deadlineNs: v.deadlineNs ?? v.periodNs,
        policy: v.kind === "io" ? Policy.IO_POLICY : v.policy ?? o.policy,
      }))
      const threads = sb.threads.flatMap((t) => {
        const v = sb.vcpus[t.vcpu]
        return v !== undefined && v.core === k ? [{ name: t.name, vcpu: v.name }] : []
      })
      return vcpus.length === 0 ? [] : [{ name: `${sb.name}/core${core}`, vcpus, ...judge(vcpus, o.priority, o.ties), system: { sandbox: sb.index, threads } }]
    }))
  }
  return scenario.pcpus.map((p, i) => {
    const o = Options.resolveOptions(toSpec(p, scenario.scheduler).options)
    const vcpus = p.vcpus.map((v): CheckedVcpu => ({
      name: v.name, kind: v.kind, budgetNs: v.budget, periodNs: v.period, deadlineNs: v.deadline ?? v.period,
      policy: v.kind === "io" ? Policy.IO_POLICY : v.policy ?? o.policy,
    }))
    return { name: p.name ?? `pcpu${i}`, vcpus, ...judge(vcpus, o.priority, o.ties) }
  })
}

/** Every reason a PCPU of `checks` is unschedulable, `<pcpu>: <reason>` (empty: all schedulable). */
export const unschedulable = (checks: ReadonlyArray<PcpuCheck>): string[] => checks.flatMap((c) => c.unschedulable.map((u) => `${c.name}: ${u}`))

/** The worst verdict over `checks`. */
export const verdictOf = (checks: ReadonlyArray<PcpuCheck>): Analysis.Verdict =>
  checks.some((c) => c.verdict === "unschedulable") ? "unschedulable" : checks.some((c) => c.verdict === "inconclusive") ? "inconclusive" : "schedulable"

export const toJson = (scenario: string, checks: ReadonlyArray<PcpuCheck>): Record<string, unknown> => ({
  scenario,
  verdict: verdictOf(checks),
  schedulable: verdictOf(checks) === "schedulable",
  pcpus: checks.map((c) => ({
    name: c.name, vcpus: c.vcpus, ties: c.ties, verdict: c.verdict, schedulable: c.verdict === "schedulable", unschedulable: c.unschedulable, inconclusive: c.inconclusive,
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
    lines.push(`${c.name}: utilisation ${fmt(a.utilisation)} (Main ${fmt(a.mainUtilisation)}; ${nMain} Main, ${c.vcpus.length - nMain} I/O VCPUs), hyperperiod ${Time.show(Number(a.hyperperiodNs))}, priority ${c.rule}`)
    const row = (test: string, verdict: string, detail: string) => lines.push(`  ${test.padEnd(12)} ${verdict.padEnd(14)} ${detail}`)
    const policies = [...new Set(c.vcpus.filter((v) => v.kind === "main").map((v) => v.policy))]
    const hasD = c.vcpus.some((v) => v.kind === "main" && v.deadlineNs !== v.periodNs)
    const width = Math.max(4, ...c.vcpus.map((v) => v.name.length))
    const head = (v: CheckedVcpu) => `    ${v.name.padEnd(width)}  ${Time.show(v.budgetNs).padStart(10)}  ${Time.show(v.periodNs).padStart(10)}${hasD ? `  ${(v.kind === "main" ? Time.show(v.deadlineNs) : "—").padStart(10)}` : ""}`
    const tag = (v: CheckedVcpu) => (policies.length > 1 || v.policy !== "sporadic" ? `  (${v.policy})` : "")
    const noAnalysis = (i: number) => a.unanalysed.find((u) => u.index === i)
    if (c.rule === "rm") {
      const premise = a.liuLayland.verdict !== "schedulable" && policies.some((p) => !Policy.has(p) || Policy.get(p).analysis?.sporadicTask !== true) ? " (apply only to sporadic-task VCPUs)" : ""
      row("liu-layland", a.liuLayland.verdict, `Σ C/T = ${fmt(a.liuLayland.value)} ≤ n(2^(1/n) − 1) = ${fmt(a.liuLayland.bound)}?${premise}`)
      row("hyperbolic", a.hyperbolic.verdict, `Π (U_i + 1) = ${fmt(a.hyperbolic.value)} ≤ ${fmt(a.hyperbolic.bound)}?${premise}`)
      row("main+io", a.mainIo.verdict, `Σ C/T + Σ (2 − U)U = ${fmt(a.mainIo.value)} ≤ ${fmt(a.mainIo.bound)}?${premise}`)
      const exact = policies.every((p) => Policy.has(p) && Policy.get(p).analysis?.sporadicTask === true)
      row("rta", a.rta.verdict, `${exact ? "exact" : "per-policy (sufficient)"} response times (scheduler ties: ${c.ties}; equal periods ${a.rta.ties === "index" ? "ranked by index" : "counted as interference"})`)
      lines.push(`    ${"vcpu".padEnd(width)}  ${"C".padStart(10)}  ${"T".padStart(10)}${hasD ? `  ${"D".padStart(10)}` : ""}  ${"R".padStart(12)}`)
      c.vcpus.forEach((v, i) => {
        const r = a.rta.responses.find((x) => x.index === i)
        const d = v.deadlineNs === v.periodNs ? "T" : "D"
        if (r !== undefined) lines.push(`${head(v)}  ${Time.show(r.responseNs).padStart(12)}  ${r.schedulable ? `≤ ${d}` : `> ${d}: ${a.rta.verdict === "unschedulable" ? "misses" : "not shown to meet it"}`}${tag(v)}`)
        else if (v.kind === "main") lines.push(`${head(v)}  ${"—".padStart(12)}  ${noAnalysis(i) !== undefined ? `no analysis for policy ${v.policy}` : "not analysed (below a VCPU without analysis)"}${tag(v)}`)
        else {
          const u = v.budgetNs / v.periodNs
          lines.push(`${head(v)}  ${"—".padStart(12)}  I/O (PIBS, inherited priority): U = ${fmt(u)}, bound (2 − U)·U = ${fmt((2 - u) * u)} in main+io`)
        }
      })
    } else {
      const e = a.edf!
      row("edf-util", e.utilisation.verdict, `Σ C/T = ${fmt(e.utilisation.value)} ≤ 1? (exact for sporadic tasks with D = T)`)
      const dm = e.demand
      row("demand", dm.verdict, dm.failedAtNs >= 0
        ? `Σ dbf(L) = ${Time.show(dm.demandNs)} > L = ${Time.show(dm.failedAtNs)} (${dm.points} testing points)`
        : dm.note !== undefined ? dm.note
          : dm.points === 0 ? `no testing point up to L_a = ${Time.show(dm.horizonNs)} (implicit deadlines: U ≤ 1 decides)`
          : `Σ dbf(L) ≤ L at ${dm.points} testing points up to ${Time.show(dm.horizonNs)}`)
      lines.push(`    ${"vcpu".padEnd(width)}  ${"C".padStart(10)}  ${"T".padStart(10)}${hasD ? `  ${"D".padStart(10)}` : ""}  demand model`)
      c.vcpus.forEach((v, i) => {
        if (v.kind === "io") lines.push(`${head(v)}  I/O (PIBS): no analysis under EDF`)
        else if (noAnalysis(i) !== undefined) lines.push(`${head(v)}  no analysis for policy ${v.policy}`)
        else lines.push(`${head(v)}  ${v.policy}: ${Policy.get(v.policy).analysis!.source}`)
      })
    }
    lines.push(c.verdict === "schedulable" ? "  verdict      schedulable"
      : c.verdict === "unschedulable" ? `  verdict      UNSCHEDULABLE: ${c.unschedulable.join("; ")}`
      : `  verdict      no verdict: ${c.inconclusive.join("; ")}`)
  }
  return lines.join("\n")
}
