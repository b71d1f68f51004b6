/**
 * `isolation` — fault isolation and recovery across four sandboxes (paper §4.5, Figure 10; spec E4).
 *
 * Sandbox 1 sends a 64-byte message whose last byte is an incrementing sequence number every 50 ms
 * into three 2011 mailboxes, one per receiver: sandboxes 0, 2 and 3 poll theirs every 100, 800 and
 * 1000 ms and record their first 50 observations (a changed sequence number, with the local time).
 * An external host pings sandbox 0 every 500 ms. Variants (besides SMP Quest's, `isolationSmp.ts`):
 *
 * - `fault-free`;
 * - `faulty-no-vt` (model §H): the same fault in Quest without virtualisation — see
 *   `isolation-novt.ts`;
 * - `faulty`: at 2.21 s the NIC driver of sandbox 0 breaks: it overwrites sandbox 0's mailbox with
 *   sandbox 1 (the status byte becomes 0xFF, "channel corrupted"), writes over a page of sandbox
 *   0's own kernel data, and tries to wipe a page of the kernel memory of sandboxes 1, 2 and 3 —
 *   each of those three writes is an EPT violation that traps to sandbox 0's monitor, which drops
 *   it. 1 ms later sandbox 0 is told to recover (the paper's manual trigger) and recovers locally:
 *   Table 1's local phases followed by a channel re-initialisation (driver, network and channel).
 *
 * Modelling choices (each stated in the tables' titles or the claims' details):
 * - only sandbox 0 runs a network service, so only it registers with the NIC driver (`nic.sharers:
 *   [0]`): the NIC's interrupts reach core 0 only. With the NIC shared by all four sandboxes, the
 *   other sandboxes would see device-level events of the recovery (a NIC reset, requests not
 *   answered), which F19 explicitly allows to differ, so their fingerprints would not be comparable;
 * - the sender and every receiver run on their sandbox's first Main VCPU `(20 ms, 100 ms)` (p11
 *   set), which in sandbox 0 is also the VCPU of the recovery thread (the default `recovery.vcpu`):
 *   while sandbox 0 re-initialises, its receiver waits;
 * - the receivers' polls are released 25 ms after the sender's writes (half a send period), so no
 *   poll races a write and a receiver polling every `P` sees the sequence advance by exactly `P/50`.
 *
 * @module
 */
import { Options, Program, type Config, type Mailbox, type System } from "@qvsim/sandbox-kernel"
import * as Assumed from "../robust/Assumed.ts"
import { at, defineDomain, type Params } from "../robust/Domain.ts"
import { defineExperiment, type Claim, type ResultTable, type Run } from "./Experiment.ts"
import { measureSmp, SMP_FAULT_FREE, SMP_FAULTY, smpClaim, smpSystem, smpTable } from "./isolationSmp.ts"
import { NOVT_VARIANT, noVtClaim, protectionFigures, withoutVirtualisation, type ProtectionFigures } from "./isolation-novt.ts"
import { plot } from "./isolationPlot.ts"

const MS = 1_000_000
const S = 1_000_000_000
const MiB = 1 << 20

/** Sender period (paper: 50 ms). */
export const SEND_NS = 50 * MS
/** Receivers and their poll periods (paper: 100, 800, 1000 ms). */
export const RECEIVERS: ReadonlyArray<{ readonly sandbox: number; readonly pollNs: number }> = [
  { sandbox: 0, pollNs: 100 * MS },
  { sandbox: 2, pollNs: 800 * MS },
  { sandbox: 3, pollNs: 1000 * MS },
]
export const SENDER = 1
/** Observations each receiver records (paper's code: 50), at scale 1. */
const OBSERVATIONS = 50
/** ICMP echo request spacing (paper: 500 ms). */
export const PING_NS = 500 * MS
/** Receivers' release offset after the sender's (half a send period). */
export const RX_OFFSET_NS = 25 * MS
/** Delay between the driver fault and the (manual) recovery trigger. */
const DETECT_NS = 1 * MS
export const HOST = "pinger"

const mailboxOf = (s: number): string => `1to${s}`

/** Observations per receiver at `scale` (at least 5). */
export const observationsAt = (scale: number): number => Math.max(5, Math.round(OBSERVATIONS * scale))
/**
 * The robustness domain: when the driver breaks (which receiver-0 period, and where inside it),
 * when the receivers poll relative to the writes, how long the manual trigger takes, and the
 * assumed cost of re-initialising the channel.
 */
export const domain = defineDomain({
  seedsReason: "each run draws the interrupt delivery order, the wire's jitter, the kernel paths' and channel copies' cost jitter, the TLB misses and the recovery phases' durations from seeded streams: the seeds are the runs' random timing",
  scale: 0.6,
  scaleReason: "30 observations per receiver: the fault, the recovery and the disturbance they cause are the same as at paper size; the receivers record fewer observations around them, still ≥ 4 after the latest recovery of the domain",
  choices: {
    faultFraction: {
      kind: "range", min: 0.2, max: 0.6, default: 0.45,
      description: "how far into receiver 0's recording the driver breaks (the 100 ms period it breaks in)",
      reason: "the paper breaks the driver at some time during the run and does not say when; up to 60 % so that receiver 0 still records observations after the latest recovery",
    },
    faultOffsetNs: {
      kind: "range", min: 0, max: 99_000_000, default: 10_000_000, integer: true, unit: "ns",
      description: "where inside that 100 ms period the driver breaks (after one of sandbox 1's writes)",
      reason: "the fault's phase relative to the 50 ms writes, the 100 ms polls and the 500 ms pings is arbitrary",
    },
    rxOffsetNs: {
      kind: "range", min: 1_000_000, max: 49_000_000, default: RX_OFFSET_NS, integer: true, unit: "ns",
      description: "the receivers' poll release offset after the sender's writes",
      reason: "the paper's receivers poll 'every P ms' without a phase; any offset that does not coincide with a write (0 or 50 ms) is as good",
    },
    detectNs: {
      kind: "range", min: 0, max: 200_000_000, default: DETECT_NS, integer: true, unit: "ns",
      description: "time from the driver's break to the manual recovery trigger",
      reason: "the paper triggers recovery by hand; the delay is the experimenter's",
    },
  },
  assumed: {
    channelReinitCycles: {
      kind: "range", min: 10_000, max: 10_000_000, default: 100_000, integer: true, log: true, unit: "cycles", basis: "order of magnitude",
      description: "cycles of re-initialising sandbox 0's channel after its recovery",
      reason: "re-mapping and clearing one 4 KiB mailbox page and its status word: µs, up to ms with a monitor round trip",
      paths: ["system.recovery.channelReinitCycles"], variants: ["faulty"],
    },
    ...Assumed.params(["deliverySkewNs", "wireJitterNs", "costJitter", "phaseJitter", "tlbMissRate", "eptWalkExtra", "rxLockCycles", "remoteLineTransfer", "pollCheck", "linkUpNs"]),
  },
})

/**
 * The fault's time: at the headline point 45 % into receiver 0's recording, 10 ms after one of
 * sandbox 1's writes and 15 ms before receiver 0's next poll (2.21 s at scale 1).
 */
export const faultAt = (scale: number, params?: Params): number => {
  const p = at(domain, params)
  return Math.floor(observationsAt(scale) * p.faultFraction) * 100 * MS + p.faultOffsetNs
}
/** Run length: the slowest receiver's recording plus a second. */
export const untilAt = (scale: number): number => observationsAt(scale) * Math.max(...RECEIVERS.map((r) => r.pollNs)) + 1 * S

/** Sandbox 1: every 50 ms, one 64-byte message into each receiver's mailbox. */
const sender: Program.Program = Program.periodic(function* () {
  for (const r of RECEIVERS) yield Program.send(mailboxOf(r.sandbox), { bytes: 64 })
})

/** A receiver: polls its mailbox at each release until it has seen `n` changes, then exits. */
const receiver = (channel: string, n: number): Program.Program =>
  function* () {
    const poll = Program.poll(channel)
    let seen = 0
    while (seen < n) {
      yield Program.waitJob()
      const r = (yield poll) as Program.PollResult
      if (r.changed) seen++
    }
  }

const system = (faulty: boolean) => (seed: number, scale: number, params?: Params): Config.SystemInput => {
  const n = observationsAt(scale)
  const p = at(domain, params)
  const faultNs = faultAt(scale, params)
  const sandboxes = [0, 1, 2, 3].map((s) => {
    if (s === SENDER) return { threads: [{ name: "sender", vcpu: "main0", program: sender, arrivals: { kind: "periodic" as const, period: SEND_NS } }] }
    const r = RECEIVERS.find((x) => x.sandbox === s)!
    return { threads: [{ name: "receiver", vcpu: "main0", program: receiver(mailboxOf(s), n), arrivals: { kind: "periodic" as const, period: r.pollNs, offset: p.rxOffsetNs } }] }
  })
  return {
    seed,
    nic: { sharers: ["sandbox0"] },
    recovery: { local: [...Options.LOCAL_PHASES, "channelReinit"] },
    channels: RECEIVERS.map((r) => ({ kind: "mailbox" as const, name: mailboxOf(r.sandbox), between: [`sandbox${SENDER}`, `sandbox${r.sandbox}`] as [string, string], bytes: 64 })),
    sandboxes,
    hosts: [{ kind: "ping", name: HOST, target: "sandbox0", interval: PING_NS }],
    faults: faulty
      ? [
        {
          kind: "corruptDriver",
          at: faultNs,
          sandbox: "sandbox0",
          detection: "never",
          writes: [
            { channel: mailboxOf(0), value: 0xff },
            { sandbox: "sandbox0", offset: 1 * MiB, bytes: 4096, value: 0 },
            ...[1, 2, 3].map((t) => ({ sandbox: `sandbox${t}`, offset: 1 * MiB, bytes: 4096, value: 0 })),
          ],
        },
        { kind: "trigger", at: faultNs + p.detectNs, sandbox: "sandbox0", recovery: "local" },
      ]
      : [],
  }
}

// ------------------------------------------------------------------------------------------ analysis

/** One receiver's recorded observations. */
export interface Timeline {
  readonly sandbox: number
  readonly pollNs: number
  readonly expectedStep: number
  /** Observations in order: local time, sequence number, step from the previous one (mod 255; NaN for the first). */
  readonly points: ReadonlyArray<{ readonly localNs: number; readonly atNs: number; readonly seq: number; readonly step: number; readonly corrupted: boolean }>
}

/** What one run measured. */
export interface IsolationRun {
  readonly variant: string
  readonly timelines: readonly Timeline[]
  /** Messages sandbox 1 wrote, per mailbox. */
  readonly sent: readonly number[]
  readonly icmp: { readonly sent: number; readonly received: number; readonly lost: number; readonly maxGapNs: number; readonly maxRttNs: number; readonly lostSeqs: readonly number[] }
  readonly echoReplies: readonly number[]
  readonly vmExits: readonly number[]
  readonly eptViolations: readonly number[]
  /** Wild writes: target, gpa, allowed. */
  readonly writes: ReadonlyArray<{ readonly target: string; readonly ok: boolean }>
  readonly fingerprints: readonly string[]
  readonly sliceDigests: readonly string[]
  readonly recovery: { readonly phases: readonly string[]; readonly startNs: number; readonly endNs: number } | null
  /** ICMP reply times (global, ns). */
  readonly replyTimesNs: readonly number[]
  /** Sandboxes registered with the NIC driver. */
  readonly nicSharers: readonly number[]
  /** Page faults and the no-VT variant's target pages (isolation-novt.ts); absent for SMP Quest runs. */
  readonly protection?: ProtectionFigures
}

export const stepOf = (prev: number, seq: number): number => (((seq - prev) % 255) + 255) % 255

export const measure = (run: Run): IsolationRun => {
  const sys: System.System = run.system
  const timelines = RECEIVERS.map((r): Timeline => {
    const box = sys.channels.get(mailboxOf(r.sandbox)) as Mailbox.Mailbox
    const obs = box.observations.toArray().filter((o) => o.sandbox === r.sandbox)
    const points = obs.map((o, i) => ({ localNs: o.localNs, atNs: o.atNs, seq: o.seq, corrupted: o.corrupted, step: i === 0 ? NaN : stepOf(obs[i - 1]!.seq, o.seq) }))
    return { sandbox: r.sandbox, pollNs: r.pollNs, expectedStep: r.pollNs / SEND_NS, points }
  })
  const host = sys.hosts.find((h) => h.config.name === HOST)!
  const st = host.stats()
  const replyTimes: number[] = []
  for (let q = 0; q < host.sent; q++) if (host.rttNs(q) >= 0) replyTimes.push(host.sendTimeNs(q) + host.rttNs(q))
  let maxGap = 0
  for (let i = 1; i < replyTimes.length; i++) maxGap = Math.max(maxGap, replyTimes[i]! - replyTimes[i - 1]!)
  const m = sys.metrics()
  const layout = sys.machine.layout
  const targetOf = (gpa: number): string => {
    for (let s = 0; s < layout.slices.length; s++) {
      const sl = layout.slices[s]!
      if (gpa >= sl.base && gpa < sl.base + sl.bytes) return `sandbox ${s} memory`
    }
    for (const r of RECEIVERS) if ((sys.channels.get(mailboxOf(r.sandbox)) as Mailbox.Mailbox).statusGpa === gpa) return `mailbox ${mailboxOf(r.sandbox)}`
    return `gpa 0x${gpa.toString(16)}`
  }
  const rec = sys.recoveries()[0]
  return {
    variant: run.variant,
    timelines,
    sent: RECEIVERS.map((r) => (sys.channels.get(mailboxOf(r.sandbox)) as Mailbox.Mailbox).sent[SENDER]!),
    icmp: { sent: st.sent, received: st.received, lost: st.lost, maxGapNs: maxGap, maxRttNs: st.maxRttNs, lostSeqs: host.lostSeqs() },
    echoReplies: m.net.map((x) => x.echoReplies),
    vmExits: m.sandboxes.map((x) => x.vmExits),
    eptViolations: m.sandboxes.map((x) => x.eptViolations),
    writes: sys.faultRecords().flatMap((f) => f.writes.map((w) => ({ target: targetOf(w.gpa), ok: w.ok }))),
    fingerprints: sys.sandboxes.map((_, s) => sys.fingerprintOf(s)),
    sliceDigests: sys.sandboxes.map((_, s) => sys.machine.sliceDigest(s)),
    recovery: rec === undefined || rec.endNs < 0 ? null : { phases: rec.phases.map((p) => p.phase), startNs: rec.phases[0]!.startNs, endNs: rec.endNs },
    replyTimesNs: replyTimes,
    nicSharers: sys.config.nicSharers,
    protection: protectionFigures(sys),
  }
}

/** How a timeline departs from the expected shape: steps ≠ P/50, corrupted reads, gaps > 1.5 P. */
export const deviations = (t: Timeline): { badSteps: number; corrupted: number; maxGapNs: number } => {
  let badSteps = 0, corrupted = 0, maxGap = 0
  t.points.forEach((p, i) => {
    if (p.corrupted) corrupted++
    if (i > 0) {
      if (p.step !== t.expectedStep) badSteps++
      maxGap = Math.max(maxGap, p.localNs - t.points[i - 1]!.localNs)
    }
  })
  return { badSteps, corrupted, maxGapNs: maxGap }
}
export const disturbed = (t: Timeline): boolean => {
  const d = deviations(t)
  return d.badSteps > 0 || d.corrupted > 0 || d.maxGapNs > 1.5 * t.pollNs
}
const sameTimeline = (a: Timeline, b: Timeline): boolean =>
  a.points.length === b.points.length && a.points.every((p, i) => p.localNs === b.points[i]!.localNs && p.seq === b.points[i]!.seq)

/** The steps seen and how often, as text (a claim's detail). */
const stepsSummary = (t: Timeline): string => {
  const counts = new Map<string, number>()
  for (const p of t.points.slice(1)) {
    const k = p.corrupted ? `${p.step} (0xFF)` : String(p.step)
    counts.set(k, (counts.get(k) ?? 0) + 1)
  }
  return [...counts.entries()].map(([k, v]) => `${k}×${v}`).join(", ")
}

/** The steps between consecutive observations, in order (a list cell: shown run-length encoded, `2×24`). */
const stepsSeen = (t: Timeline): number[] => t.points.slice(1).map((p) => p.step)

const ms = (ns: number, digits = 3): number => Number((ns / MS).toFixed(digits))
const short = (fp: string): string => fp.slice(0, 16)

const receiverTable = (runs: readonly IsolationRun[]): ResultTable => ({
  id: "receivers",
  title: "Mailbox receivers: observations of sandbox 1's sequence number (expected step P/50: 2, 16, 20)",
  columns: ["variant", "receiver", "poll (ms)", "observations", "first (ms)", "last (ms)", "expected step", "steps seen", "steps ≠ expected", "corrupted reads", "longest gap (ms)"],
  rows: runs.flatMap((r) => r.timelines.map((t) => {
    const d = deviations(t)
    return {
      variant: r.variant,
      receiver: `sandbox ${t.sandbox}`,
      "poll (ms)": t.pollNs / MS,
      observations: t.points.length,
      "first (ms)": t.points.length > 0 ? ms(t.points[0]!.localNs) : null,
      "last (ms)": t.points.length > 0 ? ms(t.points[t.points.length - 1]!.localNs) : null,
      "expected step": t.expectedStep,
      "steps seen": stepsSeen(t),
      "steps ≠ expected": d.badSteps,
      "corrupted reads": d.corrupted,
      "longest gap (ms)": ms(d.maxGapNs),
    }
  })),
})

/** One row per observation: variant, receiver, its index, the receiver's local time and the sequence number seen (tidy: one value per cell). */
const timelineTable = (runs: readonly IsolationRun[]): ResultTable => ({
  id: "timelines",
  title: "Observation timelines: per receiver and variant, each observation's local time and the sequence number seen",
  columns: ["variant", "receiver", "n", "local time (ms)", "seq", "corrupted"],
  rows: RECEIVERS.flatMap((rc) => runs.flatMap((run) => {
    const t = run.timelines.find((x) => x.sandbox === rc.sandbox)!
    return t.points.map((p, i) => ({ variant: run.variant, receiver: `sandbox ${rc.sandbox}`, n: i + 1, "local time (ms)": ms(p.localNs), seq: p.seq, corrupted: p.corrupted }))
  })),
})

const icmpTable = (runs: readonly IsolationRun[]): ResultTable => ({
  id: "icmp",
  title: "ICMP echo service (requests to sandbox 0 every 500 ms; only sandbox 0 uses the NIC)",
  columns: ["variant", "requests", "replies", "lost", "lost requests (seq)", "longest reply gap (ms)", "longest RTT (ms)", "replies by sandbox 0", "replies by sandbox 1", "replies by sandbox 2", "replies by sandbox 3"],
  rows: runs.map((r) => ({
    variant: r.variant,
    requests: r.icmp.sent,
    replies: r.icmp.received,
    lost: r.icmp.lost,
    "lost requests (seq)": [...r.icmp.lostSeqs],
    "longest reply gap (ms)": ms(r.icmp.maxGapNs),
    "longest RTT (ms)": ms(r.icmp.maxRttNs),
    ...Object.fromEntries(r.echoReplies.map((n, s) => [`replies by sandbox ${s}`, n])),
  })),
})

const eptTable = (runs: readonly IsolationRun[]): ResultTable => ({
  id: "wild_writes",
  title: "Wild writes of sandbox 0's faulty driver and the VM exits they cause (EPT violations trap to sandbox 0's monitor)",
  columns: ["variant", "sandbox", "VM exits", "EPT violations", "wild writes into it", "of which refused"],
  rows: runs.flatMap((r) => [0, 1, 2, 3].map((s) => {
    const into = r.writes.filter((w) => w.target === `sandbox ${s} memory` || (w.target === `mailbox ${mailboxOf(s)}` && s === 0))
    return { variant: r.variant, sandbox: s, "VM exits": r.vmExits[s]!, "EPT violations": r.eptViolations[s]!, "wild writes into it": into.length, "of which refused": into.filter((w) => !w.ok).length }
  })),
})

const fingerprintTable = (clean: IsolationRun, faulty: IsolationRun): ResultTable => ({
  id: "fingerprints",
  title: "Per-sandbox trace fingerprints (System.fingerprintOf) and memory digests, fault-free vs faulty",
  columns: ["sandbox", "fingerprint fault-free", "fingerprint faulty", "trace equal", "memory equal"],
  rows: [0, 1, 2, 3].map((s) => ({
    sandbox: s,
    "fingerprint fault-free": short(clean.fingerprints[s]!),
    "fingerprint faulty": short(faulty.fingerprints[s]!),
    "trace equal": clean.fingerprints[s] === faulty.fingerprints[s],
    "memory equal": clean.sliceDigests[s] === faulty.sliceDigests[s],
  })),
})

const claims = (clean: IsolationRun | undefined, faulty: IsolationRun | undefined): Claim[] => {
  if (clean === undefined || faulty === undefined) {
    return [{ text: "the experiment needs both the fault-free and the faulty run", holds: false, detail: `runs: ${[clean, faulty].filter((x) => x !== undefined).map((x) => x!.variant).join(", ")}` }]
  }
  const out: Claim[] = []
  const tl = (r: IsolationRun, s: number): Timeline => r.timelines.find((t) => t.sandbox === s)!
  const desc = (t: Timeline): string => {
    const d = deviations(t)
    return `${d.badSteps} steps ≠ ${t.expectedStep}, ${d.corrupted} corrupted, longest gap ${ms(d.maxGapNs, 1)} ms`
  }
  // 1. Interrupted in sandbox 0 only.
  {
    // ICMP service is interrupted when a request is lost or the replies stop for more than 1.5 request intervals.
    const icmpDown = (r: IsolationRun): boolean => r.icmp.lost > 0 || r.icmp.maxGapNs > 1.5 * PING_NS
    const icmp = (r: IsolationRun): string =>
      `${r.icmp.lost} of ${r.icmp.sent} requests lost, longest reply gap ${ms(r.icmp.maxGapNs, 1)} ms, longest RTT ${ms(r.icmp.maxRttNs, 3)} ms`
    const s0 = disturbed(tl(faulty, 0)) && icmpDown(faulty)
    const othersClean = [2, 3].every((s) => !disturbed(tl(faulty, s)))
    const baseline = clean.timelines.every((t) => !disturbed(t)) && !icmpDown(clean)
    out.push({
      id: "interruptedInSandbox0Only",
      text: "message passing and ICMP service are interrupted in sandbox 0 only (a receiver is interrupted when it reads a corrupted message, a step other than P/50, or waits more than 1.5 P; ICMP when a request is lost or replies stop for more than 750 ms)",
      holds: s0 && othersClean && baseline,
      detail: `faulty run — receiver 0: ${desc(tl(faulty, 0))}; ICMP to sandbox 0: ${icmp(faulty)}; receiver 2: ${desc(tl(faulty, 2))}; receiver 3: ${desc(tl(faulty, 3))}. Fault-free run: ${clean.timelines.map((t) => `receiver ${t.sandbox}: ${desc(t)}`).join("; ")}; ICMP: ${icmp(clean)}`,
    })
  }
  // 2. Sandboxes 1, 2, 3 unaffected.
  {
    const fpSame = [1, 2, 3].filter((s) => clean.fingerprints[s] === faulty.fingerprints[s])
    const memSame = [1, 2, 3].filter((s) => clean.sliceDigests[s] === faulty.sliceDigests[s])
    const tlSame = [2, 3].filter((s) => sameTimeline(tl(clean, s), tl(faulty, s)))
    const sentSame = clean.sent.every((n, i) => n === faulty.sent[i])
    out.push({
      id: "othersUnaffected",
      text: "sandboxes 1, 2 and 3 are unaffected (their traces, memory, observation timelines and sends equal the fault-free run's)",
      holds: fpSame.length === 3 && memSame.length === 3 && tlSame.length === 2 && sentSame,
      detail: `per-sandbox trace fingerprints equal for sandboxes [${fpSame.join(", ")}] of [1, 2, 3] (spec F19: a fault in sandbox 0 may change only sandbox 0's trace, plus the shared device's events seen by the other NIC sharers — NIC sharers here: [${faulty.nicSharers.join(", ")}]${faulty.nicSharers.some((x) => x !== 0) ? ", so the fingerprints of the other sharers may legitimately differ and the timelines are the comparison F19 supports" : ", so sandboxes 1–3 share no device with it"}; sandbox 1 shares only the mailbox, which it writes and never reads); memory slices equal for [${memSame.join(", ")}]; observation timelines (local time and sequence number of every observation) identical for receivers [${tlSame.join(", ")}] of [2, 3]; sandbox 1 wrote ${faulty.sent.join("/")} messages (fault-free ${clean.sent.join("/")})`,
    })
  }
  // 3. EPT containment.
  {
    const others = faulty.writes.filter((w) => /^sandbox [123] memory$/.test(w.target))
    const refused = others.filter((w) => !w.ok).length
    const own = faulty.writes.filter((w) => !/^sandbox [123] memory$/.test(w.target))
    const exitsElsewhere = [1, 2, 3].reduce((a, s) => a + faulty.vmExits[s]!, 0)
    out.push({
      id: "wildWritesTrap",
      text: "the faulty driver's writes into other sandboxes' memory trap into sandbox 0's monitor (EPT violations); it can only wipe sandbox 0's own writable memory",
      holds: others.length > 0 && refused === others.length && faulty.eptViolations[0] === refused && exitsElsewhere === 0 && own.every((w) => w.ok) && own.length > 0,
      detail: `${others.length} writes into sandboxes 1–3, ${refused} refused; sandbox 0's EPT violations ${faulty.eptViolations[0]}; VM exits in sandboxes 1–3: ${exitsElsewhere}; writes into sandbox 0's own memory and mailbox: ${own.map((w) => `${w.target} ${w.ok ? "done" : "refused"}`).join(", ")}`,
    })
  }
  // 4. Steps P/50.
  {
    const exact = (t: Timeline): boolean => t.points.length > 1 && t.points.slice(1).every((p) => p.step === t.expectedStep)
    const t0 = tl(faulty, 0)
    const afterRecovery = faulty.recovery === null ? [] : t0.points.filter((p) => p.atNs > faulty.recovery!.endNs + SEND_NS)
    const resumed = afterRecovery.length > 1 && afterRecovery.slice(1).every((p) => p.step === t0.expectedStep)
    const holds = clean.timelines.every(exact) && [2, 3].every((s) => exact(tl(faulty, s))) && resumed
    out.push({
      id: "stepsOfP50",
      text: "a receiver polling every P ms sees the sequence advance by P/50 per observation (2, 16, 20); sandbox 0's receiver is back to 2 after its recovery",
      holds,
      detail: `fault-free: ${clean.timelines.map((t) => `receiver ${t.sandbox} steps ${stepsSummary(t)}`).join("; ")}; faulty: ${faulty.timelines.map((t) => `receiver ${t.sandbox} steps ${stepsSummary(t)}`).join("; ")}; receiver 0 after the recovery: ${afterRecovery.length} observations, ${resumed ? "all" : "not all"} with step 2`,
    })
  }
  // 5. Sandbox 0 recovers.
  {
    const r = faulty.recovery
    const repliesAfter = r === null ? 0 : faulty.replyTimesNs.filter((t) => t > r.endNs).length
    const holds = r !== null && r.phases.includes("driverReinit") && r.phases.includes("networkReinit") && r.phases.includes("channelReinit") && repliesAfter > 0
    out.push({
      id: "sandbox0Recovers",
      text: "sandbox 0 recovers its NIC driver, its network service and its channel",
      holds,
      detail: r === null ? "no completed recovery" : `local recovery ${r.phases.join(" → ")} from ${ms(r.startNs, 1)} ms to ${ms(r.endNs, 1)} ms (${ms(r.endNs - r.startNs, 1)} ms, guest phases on the 20 % recovery VCPU); ${repliesAfter} ICMP replies after it`,
    })
  }
  return out
}

export const isolation = defineExperiment({
  name: "isolation",
  description: "four sandboxes: sandbox 1 broadcasts over mailboxes every 50 ms (receivers poll at 100/800/1000 ms), sandbox 0 answers pings; its NIC driver breaks, wild writes trap, sandbox 0 recovers, the others are unaffected",
  source: "paper §4.5, Figure 10; spec E4, F19, F20",
  seed: 1,
  variants: [
    { name: "fault-free", description: "mailbox broadcast and ping service, no fault", system: system(false), untilNs: untilAt },
    {
      name: "faulty",
      description: "at 2.21 s sandbox 0's NIC driver breaks, corrupts its mailbox, tries to wipe sandboxes 1–3 (EPT violations); sandbox 0 recovers driver, network and channel",
      system: system(true),
      untilNs: untilAt,
    },
    { name: SMP_FAULT_FREE, description: "SMP Quest (one kernel over the four cores): the same workload as threads of one kernel, shared-memory messages, no fault", system: smpSystem(false), untilNs: untilAt },
    {
      name: SMP_FAULTY,
      description: "SMP Quest: the same driver fault at the same time — its writes land in the one kernel's memory (receiver 0's message, the kernel lock's page, cores 1–3's run queues); no monitor, no recovery",
      system: smpSystem(true),
      untilNs: untilAt,
    },
    {
      name: NOVT_VARIANT,
      description: "the same driver fault in Quest without virtualisation (page tables the kernels control): the wild writes land, nothing traps or recovers; a corrupted page-table entry reaches sandbox 2, a user-mode wild write is still refused",
      system: (seed, scale) => withoutVirtualisation(system(true)(seed, scale), faultAt(scale)),
      untilNs: untilAt,
    },
  ],
  analyse: (runs) => {
    const isSmp = (r: Run): boolean => r.variant === SMP_FAULT_FREE || r.variant === SMP_FAULTY
    const measured = runs.filter((r) => !isSmp(r)).map(measure)
    const smp = runs.filter(isSmp).map(measureSmp)
    const clean = measured.find((r) => r.variant === "fault-free")
    const faulty = measured.find((r) => r.variant === "faulty")
    const all = [...measured, ...smp]
    const tables = [receiverTable(all), icmpTable(all), eptTable(measured)]
    if (clean !== undefined && faulty !== undefined) tables.push(fingerprintTable(clean, faulty))
    if (smp.length > 0) tables.push(smpTable(smp))
    tables.push(timelineTable(all))
    const smpClean = smp.find((r) => r.variant === SMP_FAULT_FREE), smpFaulty = smp.find((r) => r.variant === SMP_FAULTY)
    const metrics: Record<string, number> = {}
    if (faulty !== undefined) {
      const d0 = deviations(faulty.timelines.find((t) => t.sandbox === 0)!)
      metrics["icmpLost"] = faulty.icmp.lost
      metrics["icmpLongestReplyGapMs"] = faulty.icmp.maxGapNs / MS
      metrics["receiver0LongestGapMs"] = d0.maxGapNs / MS
      metrics["receiver0BadSteps"] = d0.badSteps
      if (faulty.recovery !== null) metrics["recoveryMs"] = (faulty.recovery.endNs - faulty.recovery.startNs) / MS
    }
    const noVt = measured.find((r) => r.variant === NOVT_VARIANT)
    const found: Claim[] = [...claims(clean, faulty), { ...smpClaim(smpClean, smpFaulty), id: "smpStops" }]
    if (clean !== undefined && noVt !== undefined) found.push({ ...noVtClaim(clean, noVt), id: "noVtWritesLand" })
    return { tables, claims: found, metrics, plot: plot(all) }
  },
  domain,
  inputs: [
    { name: "sender period", value: SEND_NS / MS, unit: "ms", source: "paper §4.5 (sandbox 1 sends every 50 ms)" },
    ...RECEIVERS.map((r) => ({ name: `receiver sandbox ${r.sandbox} poll period`, value: r.pollNs / MS, unit: "ms", source: "paper §4.5 (receivers poll every 100, 800 and 1000 ms)" })),
    { name: "ping interval", value: PING_NS / MS, unit: "ms", source: "paper §4.5 (ICMP requests every 500 ms, as in §4.1)" },
    { name: "observations per receiver", value: OBSERVATIONS, source: "the paper's code (50 observations)" },
  ],
})
