/**
 * `driver-recovery` — NIC driver fault recovery (paper §4.1, Figure 6 and Table 1; spec E5, D.9).
 *
 * A remote host pings sandbox 0 every 500 ms. After the 20th echo reply the NIC driver of sandbox 0
 * is broken and recovery is triggered by hand (the paper's manual trigger: the fault handler forces
 * a VM exit); 50 replies are collected. Three variants:
 *
 * - `local`: sandbox 0 repairs itself (VM exit → driver switch → VM entry → driver and network
 *   re-initialisation in sandbox 0);
 * - `remote`: sandbox 1 takes the service over (VM exit → IPI round trip → VM entry on sandbox 1 →
 *   re-initialisation there; the NIC's I/O APIC entry re-targeted, sandbox 1 answers for sandbox
 *   0's IP);
 * - `reboot`: the baseline — the whole machine is down for `recovery.rebootNs` (10 s, `[ASSUMED]`:
 *   the paper gives no figure), every sandbox loses service;
 * - `smp`: SMP Quest (one kernel over the four cores, one NIC driver instance) with the same fault:
 *   no monitor, so its only recovery is the reboot; a heartbeat thread per core measures how long
 *   each core's threads stop (`driverRecoverySmp.ts`).
 *
 * Everything uses the default configuration: Table 1's phase lists and cycles, the p11 VCPU set in
 * every sandbox (the guest phases run in a kernel thread on the recovering sandbox's first Main
 * VCPU, `(20 ms, 100 ms)`, so the ~95 ms of re-initialisation spread over ~5 of its periods).
 *
 * The analysis reads the recovery records (phases with their configured cycles and their start and
 * end) and the ping host's per-request send and reply times.
 *
 * @module
 */
import type { System } from "@qvsim/sandbox-kernel"
import { defineExperiment, type Claim, type ResultTable, type Run } from "./Experiment.ts"
import { heartbeatGaps, SMP_VARIANT, smpClaim, smpSystem, smpTable } from "./driverRecoverySmp.ts"

const MS = 1_000_000
const S = 1_000_000_000
/** The paper's request spacing. */
const INTERVAL_NS = 500 * MS
/** The pinging host's name (the fault fires after its n-th reply). */
const HOST = "pinger"
/** Replies before the fault (paper: the 20th), at scale 1. */
const TRIGGER_AFTER = 20
/** Replies collected per run = `REPLIES_PER_TRIGGER × trigger` (paper: 50 = 2.5 × 20). */
const REPLIES_PER_TRIGGER = 2.5
/** The reboot baseline's down-time (the configuration's default, `[ASSUMED]`), for the run length. */
const REBOOT_NS = 10 * S

/** The paper's Table 1 (cycles on the Xeon E5506); `null` = N/A. */
export const TABLE1: ReadonlyArray<{ readonly phase: string; readonly label: string; readonly local: number | null; readonly remote: number | null }> = [
  { phase: "vmExit", label: "VM-Exit", local: 707, remote: 707 },
  { phase: "driverSwitch", label: "Driver Switch", local: 12_427, remote: null },
  { phase: "ipiRoundTrip", label: "IPI Round Trip", local: null, remote: 1_291 },
  { phase: "vmEntry", label: "VM-Enter", local: 823, remote: 823 },
  { phase: "driverReinit", label: "Driver Re-initialization", local: 134_244_605, remote: 134_244_605 },
  { phase: "networkReinit", label: "Network Re-initialization", local: 68_750_060, remote: 68_750_060 },
]
/** Table 1's column sums (spec §D.9). */
export const TABLE1_TOTALS = { local: 203_008_622, remote: 202_997_486 } as const

/** Replies before the fault at `scale` (at least 1). */
const triggerAt = (scale: number): number => Math.max(1, Math.round(TRIGGER_AFTER * scale))
/** Replies collected for a run whose fault fires after `trigger` replies. */
const repliesFor = (trigger: number): number => Math.max(trigger + 1, Math.round(REPLIES_PER_TRIGGER * trigger))

type Mode = "local" | "remote" | "reboot"

const variant = (mode: Mode, description: string) => ({
  name: mode,
  description,
  system: (seed: number, scale: number) => ({
    seed,
    hosts: [{ kind: "ping" as const, name: HOST, target: 0, intervalNs: INTERVAL_NS }],
    faults: [{
      kind: "corruptDriver" as const,
      afterReplies: { host: HOST, replies: triggerAt(scale) },
      sandbox: 0,
      // The paper triggers recovery by hand as soon as the driver is broken.
      detection: "trigger" as const,
      detectAfterNs: 0,
      recovery: mode,
      ...(mode === "remote" ? { target: 1 } : {}),
    }],
  }),
  // Every request up to the last collected reply, plus the requests lost meanwhile, plus slack.
  untilNs: (scale: number) => (repliesFor(triggerAt(scale)) + 4) * INTERVAL_NS + (mode === "reboot" ? REBOOT_NS : 0),
})

/** What one run measured. */
export interface RecoveryRun {
  readonly variant: string
  /** Replies collected (the first `replies` replies of the run). */
  readonly replies: number
  /** The fault fired after this many replies. */
  readonly trigger: number
  /** Phases as recorded: name and configured cycles, start and end (ns). */
  readonly phases: ReadonlyArray<{ readonly phase: string; readonly cycles: number; readonly sandbox: number; readonly startNs: number; readonly endNs: number }>
  /** Recovery outage: first phase start to last phase end, ns (NaN when no recovery finished). */
  readonly outageNs: number
  /** Sum of the phases' configured cycles. */
  readonly totalCycles: number
  /** Requests up to the last collected reply that got no reply. */
  readonly lost: number
  /** Longest time between two consecutive replies, ns. */
  readonly maxGapNs: number
  /** First request sent to the last collected reply, ns (the paper's "total time spent on receiving 50 replies"). */
  readonly collectNs: number
  /** Per request up to the last collected reply: send time, reply time (-1: none), RTT (-1: none). */
  readonly requests: ReadonlyArray<{ readonly seq: number; readonly sentNs: number; readonly replyNs: number; readonly rttNs: number }>
}

/** Reads one finished run. */
export const measure = (run: Run): RecoveryRun => {
  const sys: System.System = run.system
  const fault = sys.config.faults[0]
  const trigger = fault?.afterReplies?.replies ?? 0
  const want = repliesFor(trigger)
  const host = sys.hosts.find((h) => h.config.name === HOST) ?? sys.hosts[0]!
  const requests: Array<{ seq: number; sentNs: number; replyNs: number; rttNs: number }> = []
  let got = 0
  for (let seq = 0; seq < host.sent && got < want; seq++) {
    const rtt = host.rttNs(seq)
    const sent = host.sendTimeNs(seq)
    if (rtt >= 0) got++
    requests.push({ seq, sentNs: sent, replyNs: rtt >= 0 ? sent + rtt : -1, rttNs: rtt })
  }
  const replied = requests.filter((r) => r.replyNs >= 0)
  let maxGap = 0
  for (let i = 1; i < replied.length; i++) maxGap = Math.max(maxGap, replied[i]!.replyNs - replied[i - 1]!.replyNs)
  const rec = sys.recoveries()[0]
  const phases = rec === undefined ? [] : rec.phases.map((p) => ({ phase: p.phase, cycles: p.cycles, sandbox: p.sandbox, startNs: p.startNs, endNs: p.endNs }))
  const outage = rec === undefined || rec.endNs < 0 ? NaN : rec.endNs - rec.phases[0]!.startNs
  return {
    variant: run.variant,
    replies: got,
    trigger,
    phases,
    outageNs: outage,
    totalCycles: phases.reduce((a, p) => a + p.cycles, 0),
    lost: requests.length - got,
    maxGapNs: maxGap,
    collectNs: replied.length === 0 ? NaN : replied[replied.length - 1]!.replyNs - requests[0]!.sentNs,
    requests,
  }
}

const ms = (ns: number, digits = 3): number => Number((ns / MS).toFixed(digits))
const fmt = (x: number, digits = 1): string => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })
const cyc = (x: number): string => x.toLocaleString("en-US")

/** Table 1 as recorded: one row per phase (Table 1's order, then any other phase), cycles per variant. */
const phaseTable = (runs: readonly RecoveryRun[]): ResultTable => {
  const names = [...TABLE1.map((t) => t.phase)]
  for (const r of runs) for (const p of r.phases) if (!names.includes(p.phase)) names.push(p.phase)
  const label = (n: string): string => TABLE1.find((t) => t.phase === n)?.label ?? n
  const rows = names.map((n) => {
    const row: Record<string, number | string> = { phase: label(n) }
    for (const r of runs) {
      const ps = r.phases.filter((p) => p.phase === n)
      row[r.variant] = ps.length === 0 ? "N/A" : ps.reduce((a, p) => a + p.cycles, 0)
    }
    return row
  })
  const total: Record<string, number | string> = { phase: "Total" }
  for (const r of runs) total[r.variant] = r.totalCycles
  return { title: "Recovery phases, CPU cycles (paper Table 1; the reboot baseline is one phase of rebootNs)", columns: ["phase", ...runs.map((r) => r.variant)], rows: [...rows, total] }
}

const outageTable = (runs: readonly RecoveryRun[], hz: number): ResultTable => ({
  title: "Down-time and ICMP service per variant (Figure 6)",
  columns: ["variant", "phase sum (ms)", "outage (ms)", "replies", "lost replies", "longest reply gap (ms)", "time to collect the replies (s)"],
  rows: runs.map((r) => ({
    variant: r.variant,
    "phase sum (ms)": ms((r.totalCycles / hz) * 1e9),
    "outage (ms)": ms(r.outageNs),
    replies: r.replies,
    "lost replies": r.lost,
    "longest reply gap (ms)": ms(r.maxGapNs),
    "time to collect the replies (s)": Number((r.collectNs / S).toFixed(6)),
  })),
})

/** Claims (each computed from the runs). */
const claims = (byName: ReadonlyMap<string, RecoveryRun>): Claim[] => {
  const local = byName.get("local"), remote = byName.get("remote"), reboot = byName.get("reboot")
  const out: Claim[] = []
  // Table 1, exactly.
  {
    const problems: string[] = []
    const check = (r: RecoveryRun | undefined, col: "local" | "remote") => {
      if (r === undefined) return problems.push(`no ${col} run`)
      const want = TABLE1.filter((t) => t[col] !== null).map((t) => `${t.phase} ${t[col]}`)
      const got = r.phases.map((p) => `${p.phase} ${p.cycles}`)
      if (want.join(", ") !== got.join(", ")) problems.push(`${col}: recorded [${got.join(", ")}], Table 1 [${want.join(", ")}]`)
      if (r.totalCycles !== TABLE1_TOTALS[col]) problems.push(`${col} total ${cyc(r.totalCycles)} ≠ ${cyc(TABLE1_TOTALS[col])}`)
      return 0
    }
    check(local, "local")
    check(remote, "remote")
    out.push({
      text: "Table 1: the recovery phases and their CPU cycles (local: VM exit 707, driver switch 12,427, VM entry 823, driver re-init 134,244,605, network re-init 68,750,060; remote: IPI round trip 1,291 instead of the driver switch)",
      holds: problems.length === 0,
      detail: problems.length === 0
        ? `recorded phases equal Table 1; totals local ${cyc(local!.totalCycles)}, remote ${cyc(remote!.totalCycles)} cycles`
        : problems.join("; "),
    })
  }
  // Re-initialisation dominates.
  {
    const share = (r: RecoveryRun | undefined): number =>
      r === undefined || r.totalCycles === 0 ? NaN : r.phases.filter((p) => p.phase === "driverReinit" || p.phase === "networkReinit").reduce((a, p) => a + p.cycles, 0) / r.totalCycles
    const sl = share(local), sr = share(remote)
    out.push({
      text: "re-initialisation is the most significant recovery cost (≥ 99 % of the phases' cycles)",
      holds: sl >= 0.99 && sr >= 0.99,
      detail: `driver + network re-initialisation: local ${fmt(sl * 100, 4)} %, remote ${fmt(sr * 100, 4)} % of the cycles`,
    })
  }
  // Online recovery vs reboot.
  {
    const ok = local !== undefined && remote !== undefined && reboot !== undefined
    const worst = ok ? Math.max(local.outageNs, remote.outageNs) : NaN
    const ratio = ok ? worst / reboot.outageNs : NaN
    const fewerLost = ok && local.lost < reboot.lost && remote.lost < reboot.lost
    out.push({
      text: "the down-time of online recovery is much shorter than with a system reboot (outage ≤ 10 % of the reboot's, and fewer replies lost)",
      holds: ok && ratio <= 0.1 && fewerLost,
      detail: ok
        ? `outage local ${fmt(local.outageNs / MS)} ms, remote ${fmt(remote.outageNs / MS)} ms, reboot ${fmt(reboot.outageNs / MS)} ms (online/reboot ${fmt(ratio * 100, 2)} %); lost replies local ${local.lost}, remote ${remote.lost}, reboot ${reboot.lost}; time to collect ${local.replies} replies: local ${fmt(local.collectNs / S, 3)} s, remote ${fmt(remote.collectNs / S, 3)} s, reboot ${fmt(reboot.collectNs / S, 3)} s`
        : "a variant is missing",
    })
  }
  // Local ≈ remote.
  {
    const ok = local !== undefined && remote !== undefined
    const diff = ok ? Math.abs(local.outageNs - remote.outageNs) / Math.max(local.outageNs, remote.outageNs) : NaN
    const collectDiff = ok ? Math.abs(local.collectNs - remote.collectNs) / Math.max(local.collectNs, remote.collectNs) : NaN
    out.push({
      text: "local and remote recovery give very similar results (outages within 5 %, same lost replies, times to collect the replies within 1 %)",
      holds: ok && diff <= 0.05 && local.lost === remote.lost && collectDiff <= 0.01,
      detail: ok
        ? `outage local ${fmt(local.outageNs / MS, 3)} ms vs remote ${fmt(remote.outageNs / MS, 3)} ms (${fmt(diff * 100, 3)} % apart); lost ${local.lost} vs ${remote.lost}; collection ${fmt(local.collectNs / S, 6)} s vs ${fmt(remote.collectNs / S, 6)} s (${fmt(collectDiff * 100, 4)} % apart)`
        : "a variant is missing",
    })
  }
  return out
}

/** Figure 6's analogue: per variant, each ICMP request's send time and each reply's arrival by sequence number, the outage shaded. */
const plot = (runs: readonly RecoveryRun[]): Record<string, unknown> => {
  const tMax = Math.max(1, ...runs.flatMap((r) => r.requests.map((q) => Math.max(q.sentNs, q.replyNs) / S)))
  const seqMax = Math.max(1, ...runs.map((r) => r.requests.length))
  const panel = (r: RecoveryRun): Record<string, unknown> => {
    const points = [
      ...r.requests.map((q) => ({ series: "ICMP request", seq: q.seq, tS: q.sentNs / S, rttMs: null as number | null })),
      ...r.requests.filter((q) => q.replyNs >= 0).map((q) => ({ series: "echo reply", seq: q.seq, tS: q.replyNs / S, rttMs: q.rttNs / MS })),
    ]
    const outage = Number.isFinite(r.outageNs) && r.phases.length > 0 ? [{ fromS: r.phases[0]!.startNs / S, toS: (r.phases[0]!.startNs + r.outageNs) / S }] : []
    return {
      title: `${r.variant}: outage ${(r.outageNs / MS).toFixed(1)} ms, ${r.lost} of ${r.requests.length} requests unanswered`,
      width: 920,
      height: 150,
      layer: [
        {
          data: { values: outage },
          mark: { type: "rect", opacity: 0.18, color: "#e45756" },
          encoding: { x: { field: "fromS", type: "quantitative", scale: { domain: [0, tMax] } }, x2: { field: "toS" } },
        },
        {
          data: { values: points },
          mark: { type: "point", filled: true, size: 20 },
          encoding: {
            x: { field: "tS", type: "quantitative", title: "time (s)", scale: { domain: [0, tMax] } },
            y: { field: "seq", type: "quantitative", title: "ICMP sequence number", scale: { domain: [0, seqMax] } },
            color: { field: "series", type: "nominal", title: null, scale: { domain: ["ICMP request", "echo reply"], range: ["#9d9d9d", "#4c78a8"] } },
            shape: { field: "series", type: "nominal", title: null, scale: { domain: ["ICMP request", "echo reply"], range: ["cross", "circle"] } },
            tooltip: [{ field: "series" }, { field: "seq" }, { field: "tS", title: "time (s)", format: ",.6~f" }, { field: "rttMs", title: "RTT (ms)", format: ",.4~f" }],
          },
        },
      ],
    }
  }
  return {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    title: "NIC driver recovery: ICMP requests (every 500 ms) and echo replies, per variant (Figure 6 analogue; shaded: recovery outage)",
    vconcat: runs.map(panel),
  }
}

export const driverRecovery = defineExperiment({
  name: "driver-recovery",
  description: "NIC driver fault recovery under a 500 ms ping: local vs remote recovery vs a machine reboot (Table 1's phases, down-time, lost replies)",
  source: "paper §4.1, Figure 6, Table 1; spec E5, §D.9",
  seed: 1,
  variants: [
    variant("local", "sandbox 0's broken NIC driver recovered in sandbox 0 (driver switch, re-initialisation) after the 20th reply"),
    variant("remote", "sandbox 0's broken NIC driver recovered by sandbox 1 (IPI between monitors; sandbox 1 takes the NIC and sandbox 0's IP)"),
    variant("reboot", "baseline: the whole machine reboots after the 20th reply (rebootNs, 10 s by default, assumed)"),
    {
      ...variant("reboot", ""),
      name: SMP_VARIANT,
      description: "SMP Quest: the same fault in the one kernel's one NIC driver; no monitor, so a reboot (rebootNs) is its only recovery; a heartbeat thread per core",
      system: smpSystem(variant("reboot", "").system),
    },
  ],
  analyse: (runs) => {
    const measured = runs.map(measure)
    const byName = new Map(measured.map((m) => [m.variant, m]))
    const hz = runs[0]?.system.machine.costs.hz ?? 2.13e9
    const smpRun = runs.find((r) => r.variant === SMP_VARIANT)
    const gaps = smpRun === undefined ? [] : heartbeatGaps(smpRun)
    return {
      tables: [phaseTable(measured), outageTable(measured, hz), ...(smpRun === undefined ? [] : [smpTable(gaps, byName.get(SMP_VARIANT)!)])],
      claims: [...claims(byName), smpClaim(byName.get(SMP_VARIANT), gaps, byName.get("local"))],
      plot: plot(measured),
    }
  },
})
