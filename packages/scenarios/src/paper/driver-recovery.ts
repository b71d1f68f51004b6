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
import * as Assumed from "../robust/Assumed.ts"
import { at, defineDomain, type Params } from "../robust/Domain.ts"
import { defineExperiment, type Claim, type ResultTable, type Run } from "./Experiment.ts"
import { heartbeatGaps, SMP_VARIANT, smpClaim, smpSystem, smpTable } from "./driverRecoverySmp.ts"
import { spread } from "./Distribution.ts"

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

/** Our thresholds: online outage at most this share of the reboot's; local and remote outages this close; re-initialisation at least this share of the outage. */
const MUCH_SHORTER = 0.1
const SIMILAR = 0.05
const MOST_SIGNIFICANT = 0.5

/**
 * The robustness domain: which sandbox is pinged and broken, which one helps in a remote
 * recovery, when within a ping period the (manual) trigger comes, and every assumed constant of
 * the model the runs depend on (Assumptions.table: the reboot's down-time, link-up, the phases'
 * jitter, interrupt and wire timing, the network path's costs and TLB misses, the RX lock).
 */
export const domain = defineDomain({
  seedsReason: "each run draws the interrupt delivery order, the wire's jitter, the kernel paths' cost jitter, the TLB misses and the recovery phases' durations from seeded streams: the seeds are the runs' random timing",
  scale: 0.2,
  scaleReason: "the fault after the 4th reply, 10 replies collected: the recovery itself (its phases, its outage, the requests it loses) is the same as at paper size; only the number of replies around it shrinks",
  choices: {
    pinged: {
      kind: "choice", values: [0, 1, 2, 3], default: 0,
      description: "the sandbox that is pinged and whose NIC driver breaks",
      reason: "the paper breaks the driver 'in one sandbox kernel' without saying which",
    },
    helperOffset: {
      kind: "choice", values: [1, 2, 3], default: 1,
      description: "remote recovery: the helping sandbox is (pinged + helperOffset) mod 4",
      reason: "the paper recovers 'remotely in another sandbox' without saying which",
    },
    triggerDelayNs: {
      kind: "range", min: 0, max: 499_000_000, default: 0, integer: true, unit: "ns",
      description: "time from the driver's break (right after the 20th reply) to the manual recovery trigger",
      reason: "the paper triggers recovery by hand after the 20th reply; where within the 500 ms ping period the trigger lands is the experimenter's hand",
    },
  },
  assumed: {
    ...Assumed.params(["rebootNs", "linkUpNs", "phaseJitter", "deliverySkewNs", "wireJitterNs", "costJitter", "tlbMissRate", "eptWalkExtra", "rxLockCycles", "remoteLineTransfer", "pollCheck"], { rebootNs: { log: true, variants: ["reboot", "smp"] } }),
  },
})

/** Replies before the fault at `scale` (at least 1). */
const triggerAt = (scale: number): number => Math.max(1, Math.round(TRIGGER_AFTER * scale))
/** Replies collected for a run whose fault fires after `trigger` replies. */
const repliesFor = (trigger: number): number => Math.max(trigger + 1, Math.round(REPLIES_PER_TRIGGER * trigger))

type Mode = "local" | "remote" | "reboot"

const variant = (mode: Mode, description: string) => ({
  name: mode,
  description,
  system: (seed: number, scale: number, params?: Params) => {
    const p = at(domain, params)
    return {
      seed,
      hosts: [{ kind: "ping" as const, name: HOST, target: `sandbox${p.pinged}`, interval: INTERVAL_NS }],
      faults: [{
        kind: "corruptDriver" as const,
        afterReplies: { host: HOST, replies: triggerAt(scale) },
        sandbox: `sandbox${p.pinged}`,
        // The paper triggers recovery by hand once the driver is broken (at once at the headline point).
        detection: "trigger" as const,
        detectAfter: p.triggerDelayNs,
        recovery: mode,
        ...(mode === "remote" ? { target: `sandbox${(p.pinged + p.helperOffset) % 4}` } : {}),
      }],
    }
  },
  // Every request up to the last collected reply, plus the requests lost meanwhile, plus slack.
  untilNs: (scale: number, params?: Params) => {
    const p = at(domain, params)
    return (repliesFor(triggerAt(scale)) + 4) * INTERVAL_NS + p.triggerDelayNs + (mode === "reboot" ? p.rebootNs : 0)
  },
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
    const row: Record<string, number | string | null> = { phase: label(n) }
    for (const r of runs) {
      const ps = r.phases.filter((p) => p.phase === n)
      row[r.variant] = ps.length === 0 ? null : ps.reduce((a, p) => a + p.cycles, 0)
    }
    return row
  })
  const total: Record<string, number | string> = { phase: "Total" }
  for (const r of runs) total[r.variant] = r.totalCycles
  return { id: "recovery_phases_cycles", title: "Recovery phases, CPU cycles (paper Table 1; the reboot baseline is one phase of rebootNs)", columns: ["phase", ...runs.map((r) => r.variant)], rows: [...rows, total] }
}

const outageTable = (runs: readonly RecoveryRun[], hz: number): ResultTable => ({
  id: "downtime",
  title: "Down-time and ICMP service per variant (Figure 6)",
  columns: ["variant", "phase sum (ms)", "outage (ms)", "replies", "lost replies", "longest reply gap (ms)", "time to collect the replies (s)", "RTT p50 (µs)", "RTT p99 (µs)", "RTT max (µs)"],
  rows: runs.map((r) => ({ r, rtt: spread(r.requests.filter((q) => q.rttNs >= 0).map((q) => q.rttNs)) })).map(({ r, rtt }) => ({
    variant: r.variant,
    "phase sum (ms)": ms((r.totalCycles / hz) * 1e9),
    "outage (ms)": ms(r.outageNs),
    replies: r.replies,
    "lost replies": r.lost,
    "longest reply gap (ms)": ms(r.maxGapNs),
    "time to collect the replies (s)": Number((r.collectNs / S).toFixed(6)),
    "RTT p50 (µs)": Number((rtt.p50 / 1000).toFixed(3)),
    "RTT p99 (µs)": Number((rtt.p99 / 1000).toFixed(3)),
    "RTT max (µs)": Number((rtt.max / 1000).toFixed(3)),
  })),
})

/** Claims (each computed from the runs). */
const claims = (byName: ReadonlyMap<string, RecoveryRun>): Claim[] => {
  const local = byName.get("local"), remote = byName.get("remote"), reboot = byName.get("reboot")
  const out: Claim[] = []
  // Re-initialisation dominates the outage (in time, as run on the recovery VCPU).
  {
    const share = (r: RecoveryRun | undefined): number => {
      if (r === undefined || !(r.outageNs > 0)) return NaN
      const reinit = r.phases.filter((p) => p.phase === "driverReinit" || p.phase === "networkReinit").reduce((a, p) => a + (p.endNs - p.startNs), 0)
      return reinit / r.outageNs
    }
    const sl = share(local), sr = share(remote)
    const least = Math.min(sl, sr)
    out.push({
      id: "reinitDominates",
      text: `re-initialisation is the most significant recovery cost: the driver and network re-initialisation phases take ≥ ${MOST_SIGNIFICANT * 100} % of the outage (measured from the phases' start and end times on the recovery VCPU)`,
      holds: least >= MOST_SIGNIFICANT,
      detail: `driver + network re-initialisation: local ${fmt(sl * 100, 3)} %, remote ${fmt(sr * 100, 3)} % of the outage (the other phases and the waits for the recovery VCPU's budget take the rest)`,
      threshold: { name: "re-initialisation's share of the outage (the smaller of local and remote)", value: MOST_SIGNIFICANT * 100, unit: "%", holdsWhen: ">=", ours: true, measured: least * 100, otherConditionsHold: true, alternatives: [50, 75, 90, 99] },
    })
  }
  // Online recovery vs reboot.
  {
    const ok = local !== undefined && remote !== undefined && reboot !== undefined
    const worst = ok ? Math.max(local.outageNs, remote.outageNs) : NaN
    const ratio = ok ? worst / reboot.outageNs : NaN
    const fewerLost = ok && local.lost < reboot.lost && remote.lost < reboot.lost
    out.push({
      id: "muchShorterThanReboot",
      text: `the down-time of online recovery is much shorter than with a system reboot (outage ≤ ${MUCH_SHORTER * 100} % of the reboot's, and fewer replies lost)`,
      holds: ok && ratio <= MUCH_SHORTER && fewerLost,
      threshold: { name: "online outage / reboot outage", value: MUCH_SHORTER * 100, unit: "%", holdsWhen: "<=", ours: true, measured: ratio * 100, otherConditionsHold: fewerLost, alternatives: [1, 5, 10, 25, 50] },
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
      id: "localLikeRemote",
      text: `local and remote recovery give very similar results (outages within ${SIMILAR * 100} %, same lost replies, times to collect the replies within 1 %)`,
      holds: ok && diff <= SIMILAR && local.lost === remote.lost && collectDiff <= 0.01,
      threshold: { name: "difference of the local and remote outages", value: SIMILAR * 100, unit: "%", holdsWhen: "<=", ours: true, measured: diff * 100, otherConditionsHold: ok && local.lost === remote.lost && collectDiff <= 0.01, alternatives: [1, 5, 10] },
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
    const metrics: Record<string, number> = {}
    for (const m of measured) {
      if (m.variant === SMP_VARIANT) continue
      metrics[`${m.variant}OutageMs`] = m.outageNs / MS
      metrics[`${m.variant}LostReplies`] = m.lost
      metrics[`${m.variant}LongestReplyGapMs`] = m.maxGapNs / MS
    }
    return {
      tables: [phaseTable(measured), outageTable(measured, hz), ...(smpRun === undefined ? [] : [smpTable(gaps, byName.get(SMP_VARIANT)!)])],
      claims: [...claims(byName), { ...smpClaim(byName.get(SMP_VARIANT), gaps, byName.get("local")), id: "smpRebootOnly" }],
      metrics,
      plot: plot(measured),
    }
  },
  domain,
  inputs: [
    ...TABLE1.flatMap((t) => [
      ...(t.local !== null ? [{ name: `Table 1 local: ${t.label}`, value: t.local, unit: "cycles", source: "paper §4.1, Table 1 (configured as the recovery's phases)" }] : []),
      ...(t.remote !== null && t.remote !== t.local ? [{ name: `Table 1 remote: ${t.label}`, value: t.remote, unit: "cycles", source: "paper §4.1, Table 1 (configured as the recovery's phases)" }] : []),
    ]),
    { name: "ping interval", value: INTERVAL_NS / MS, unit: "ms", source: "paper §4.1 (an ICMP echo request every 500 milliseconds)" },
    { name: "recovery starts after reply", value: TRIGGER_AFTER, source: "paper §4.1 (after the reception of the twentieth ICMP echo reply)" },
    { name: "replies collected", value: TRIGGER_AFTER * REPLIES_PER_TRIGGER, source: "paper §4.1 (the total time spent on receiving 50 ICMP replies)" },
  ],
})
