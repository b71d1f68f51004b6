/**
 * The SMP Quest variants of `isolation` (paper §4.5's comparison: Quest-V against Quest "in its
 * basic form", one kernel over every core). The same workload — sandbox 1's sender every 50 ms,
 * receivers polling every 100, 800 and 1000 ms, pings to the NIC's owner every 500 ms — runs as
 * threads of one kernel: the sender on core 1, each receiver on its core, each on a Main VCPU
 * `(20 ms, 100 ms)` of its core. There are no channels in one address space: the sender writes the
 * sequence number into the last byte of each receiver's 64-byte message in the kernel's shared
 * data (`Program.write`), the receiver reads it (`Program.read`) — what a mailbox is, without the
 * EPT around it.
 *
 * `smp-faulty` injects the same fault at the same time as Quest-V's `faulty`: the NIC driver
 * breaks and writes 0xFF over receiver 0's message status, zeros over "a page of its own kernel
 * data" (in SMP Quest the first data page: the kernel lock's page) and zeros over "a page of the
 * kernel memory of sandboxes 1, 2 and 3" — in SMP Quest the per-core kernel data of cores 1, 2
 * and 3 (their run queues), which nothing refuses: there is no EPT. There is no monitor, so no
 * recovery. What then fails, and when, is what the simulation measures (`Smp.stats()`: which cores
 * hung, when; the receivers' timelines; the pings).
 *
 * @module
 */
import type { Params } from "../robust/Domain.ts"
import { Kernel, Smp, type Config, type Program as ProgramNs, type System } from "@qvsim/sandbox-kernel"
import { Program } from "@qvsim/sandbox-kernel"
import type { Claim, ResultTable, Run } from "./Experiment.ts"
import {
  deviations, disturbed, faultAt, HOST, observationsAt, PING_NS, RECEIVERS, RX_OFFSET_NS, SEND_NS, SENDER, stepOf,
  type IsolationRun, type Timeline,
} from "./isolation.ts"

const MS = 1_000_000
/** The data area starts after the 1 MiB kernel image (the default memory layout). */
const DATA_OFFSET = 1 << 20
const CORES = 4
const LAYOUT = Smp.layout(CORES)
/** The variants' names. */
export const SMP_FAULT_FREE = "smp-fault-free"
export const SMP_FAULTY = "smp-faulty"

/** Offset (from `ctx.dataBase`) of receiver `i`'s message status: the last byte of its 64-byte message. */
const statusOffset = (i: number): number => i * 64 + 63

interface Seen {
  readonly localNs: number
  readonly seq: number
}
/**
 * Each receiver thread's observations, keyed by its thread context (one per thread of one run: a
 * scenario's programs may run many times, e.g. checked and unchecked, and must not share state).
 */
const logs = new WeakMap<ProgramNs.ThreadContext, { readonly wanted: number; readonly log: Seen[] }>()

/** The sender: every period, the next sequence number (mod 255) into each receiver's message. */
const sender: ProgramNs.Program = function* (ctx) {
  for (let seq = 1; ; seq = (seq + 1) % 255) {
    yield Program.waitJob()
    for (let i = 0; i < RECEIVERS.length; i++) yield Program.write(ctx.dataBase + statusOffset(i), seq, 1)
  }
}

/** Receiver `i`: reads its message's status at each release until it has seen `n` changes. */
const receiver = (i: number, n: number): ProgramNs.Program =>
  function* (ctx) {
    const log: Seen[] = []
    logs.set(ctx, { wanted: n, log })
    const read = Program.read(ctx.dataBase + statusOffset(i), 1)
    const now = Program.now()
    let last = 0
    while (log.length < n) {
      yield Program.waitJob()
      const v = (yield read) as number
      if (v !== last) {
        last = v
        log.push({ localNs: (yield now) as number, seq: v })
      }
    }
  }

/** SMP Quest running the isolation workload; `faulty`: the same driver fault as Quest-V's. */
export const smpSystem = (faulty: boolean) => (seed: number, scale: number, params?: Params): Config.SystemInput => {
  const n = observationsAt(scale)
  // The same domain point as the Quest-V variants: the fault's time and the receivers' offset.
  const at = faultAt(scale, params)
  const rxOffsetNs = params?.["rxOffsetNs"] === undefined ? RX_OFFSET_NS : (params["rxOffsetNs"] as number)
  const core = (s: number): number => s
  return {
    seed,
    kind: "smp",
    sandboxes: [{
      vcpus: Array.from({ length: CORES }, (_, c) => ({ name: `main@${c}`, budgetNs: 20 * MS, periodNs: 100 * MS, core: c })),
      threads: [
        { name: "sender", vcpu: core(SENDER), program: sender, periodic: { periodNs: SEND_NS } },
        ...RECEIVERS.map((r, i) => ({ name: `receiver@${r.sandbox}`, vcpu: core(r.sandbox), program: receiver(i, n), periodic: { periodNs: r.pollNs, offsetNs: rxOffsetNs } })),
      ],
    }],
    hosts: [{ kind: "ping", name: HOST, target: 0, intervalNs: PING_NS }],
    faults: faulty
      ? [{
        kind: "corruptDriver",
        atNs: at,
        sandbox: 0,
        detection: "never",
        recovery: "none",
        writes: [
          { sandbox: 0, offset: DATA_OFFSET + LAYOUT.userDataOffset + statusOffset(0), bytes: 1, value: 0xff },
          { sandbox: 0, offset: DATA_OFFSET, bytes: 4096, value: 0 },
          ...[1, 2, 3].map((t) => ({ sandbox: 0, offset: DATA_OFFSET + LAYOUT.runQueueOffset(t), bytes: 4096, value: 0 })),
        ],
      }]
      : [],
  }
}

/** What an SMP run measured, in the shape of Quest-V's (one sandbox), plus the SMP kernel's figures. */
export interface SmpIsolationRun extends IsolationRun {
  readonly smp: Smp.SmpStats
  readonly observationsWanted: number
  readonly faultNs: number
}

export const measureSmp = (run: Run): SmpIsolationRun => {
  const sys: System.System = run.system
  const threads = sys.config.sandboxes[0]!.threads
  let wanted = 0
  const timelines = RECEIVERS.map((r): Timeline => {
    const th = sys.sandboxes[0]!.kernel.threadNamed(`receiver@${r.sandbox}`)
    const entry = th instanceof Kernel.Thread ? logs.get(th.ctx) : undefined
    const log = entry?.log ?? []
    wanted = entry?.wanted ?? 0
    const points = log.map((o, i) => ({ localNs: o.localNs, atNs: o.localNs, seq: o.seq, corrupted: o.seq === 0xff, step: i === 0 ? NaN : stepOf(log[i - 1]!.seq, o.seq) }))
    return { sandbox: r.sandbox, pollNs: r.pollNs, expectedStep: r.pollNs / SEND_NS, points }
  })
  const host = sys.hosts.find((h) => h.config.name === HOST)!
  const st = host.stats()
  const replyTimes: number[] = []
  for (let q = 0; q < host.sent; q++) if (host.rttNs(q) >= 0) replyTimes.push(host.sendTimeNs(q) + host.rttNs(q))
  let maxGap = 0
  for (let i = 1; i < replyTimes.length; i++) maxGap = Math.max(maxGap, replyTimes[i]! - replyTimes[i - 1]!)
  const m = sys.metrics()
  const sent = m.sandboxes[0]!.threads.find((t) => t.name === "sender")!.jobsStarted
  const base = sys.machine.layout.slices[0]!.base + DATA_OFFSET
  const targetOf = (gpa: number): string => {
    const off = gpa - base
    if (off >= LAYOUT.userDataOffset) return off - LAYOUT.userDataOffset === statusOffset(0) ? "receiver 0's message" : "program data"
    if (off >= LAYOUT.driverOffset) return "NIC driver state"
    if (off >= LAYOUT.runQueueOffset(0)) return `core ${Math.floor((off - LAYOUT.runQueueOffset(0)) / 4096)}'s run queue`
    return off >= 0 ? "kernel lock page" : "kernel image"
  }
  return {
    variant: run.variant,
    timelines,
    sent: RECEIVERS.map(() => sent),
    icmp: { sent: st.sent, received: st.received, lost: st.lost, maxGapNs: maxGap, maxRttNs: st.maxRttNs, lostSeqs: host.lostSeqs() },
    echoReplies: m.net.map((x) => x.echoReplies),
    vmExits: m.sandboxes.map((x) => x.vmExits),
    eptViolations: m.sandboxes.map((x) => x.eptViolations),
    writes: sys.faultRecords().flatMap((f) => f.writes.map((w) => ({ target: targetOf(w.gpa), ok: w.ok }))),
    fingerprints: [sys.fingerprintOf(0)],
    sliceDigests: [sys.machine.sliceDigest(0)],
    recovery: null,
    replyTimesNs: replyTimes,
    nicSharers: sys.config.nicSharers,
    smp: m.smp!,
    observationsWanted: wanted,
    faultNs: sys.faultRecords()[0]?.firedNs ?? -1,
  }
}

const ms = (ns: number, digits = 3): number => Number((ns / MS).toFixed(digits))
const threadOn = (core: number): string => (core === SENDER ? "sender" : RECEIVERS.some((r) => r.sandbox === core) ? `receiver ${core}` : "")

/** Per core of the SMP kernel: what runs there, whether and when it stopped, the lock figures. */
export const smpTable = (runs: readonly SmpIsolationRun[]): ResultTable => ({
  id: "smp_cores",
  title: "SMP Quest (one kernel, no EPT): per core, what stopped it and when (measured: a core stops when it next uses a corrupted structure), and the big kernel lock",
  columns: ["variant", "core", "thread", "stopped at (ms)", "after the fault (ms)", "why", "kernel-lock acquisitions", "contended", "spin (µs)", "wake-up IPIs sent", "wake-up IPIs taken"],
  rows: runs.flatMap((r) => r.smp.cores.map((c) => ({
    variant: r.variant,
    core: c.core,
    thread: threadOn(c.core) || null,
    "stopped at (ms)": c.hungAtNs < 0 ? null : ms(c.hungAtNs),
    "after the fault (ms)": c.hungAtNs < 0 || r.faultNs < 0 ? null : ms(c.hungAtNs - r.faultNs),
    why: c.hungBecause === "" ? null : c.hungBecause,
    "kernel-lock acquisitions": c.lockAcquisitions,
    contended: c.lockContended,
    "spin (µs)": Number((c.lockSpinNs / 1000).toFixed(3)),
    "wake-up IPIs sent": c.wakeIpisSent,
    "wake-up IPIs taken": c.wakeIpisTaken,
  }))),
})

/**
 * The comparison's claim, computed from the runs: the same fault that Quest-V contains in sandbox 0
 * stops cores of SMP Quest other than the driver's, and the receivers there; SMP Quest is sound
 * without the fault (else the comparison would say nothing).
 */
export const smpClaim = (clean: SmpIsolationRun | undefined, faulty: SmpIsolationRun | undefined): Claim => {
  const text = "the same driver fault in SMP Quest (one kernel, one address space) corrupts state every core depends on: its writes all land, and cores other than the driver's stop (measured from when each next uses its corrupted run queue), taking their threads with them"
  if (clean === undefined || faulty === undefined) return { text, holds: false, detail: "needs the smp-fault-free and smp-faulty runs" }
  const wanted = clean.observationsWanted
  const cleanOk = clean.timelines.every((t) => !disturbed(t) && t.points.length === wanted) && clean.smp.cores.every((c) => c.hungAtNs < 0)
  const landed = faulty.writes.length > 0 && faulty.writes.every((w) => w.ok)
  const hung = faulty.smp.cores.filter((c) => c.core !== 0 && c.hungAtNs >= 0)
  const stoppedReceivers = faulty.timelines.filter((t) => t.sandbox !== 0 && (t.points.length < wanted || disturbed(t)))
  const d = (t: Timeline): string => {
    const x = deviations(t)
    return `receiver ${t.sandbox}: ${t.points.length} of ${wanted} observations${x.corrupted > 0 ? `, ${x.corrupted} corrupted` : ""}`
  }
  return {
    text,
    holds: cleanOk && landed && hung.length > 0 && stoppedReceivers.length > 0,
    detail: `fault-free SMP run: ${clean.timelines.map(d).join("; ")}, no core stopped. Faulty: ${faulty.writes.filter((w) => w.ok).length} of ${faulty.writes.length} writes landed (${faulty.writes.map((w) => w.target).join(", ")}); cores stopped: ${hung.map((c) => `core ${c.core} (${threadOn(c.core)}) ${ms(c.hungAtNs - faulty.faultNs, 3)} ms after the fault: ${c.hungBecause}`).join("; ") || "none"}; ${faulty.timelines.map(d).join("; ")}; ICMP: ${faulty.icmp.lost} of ${faulty.icmp.sent} lost`,
  }
}
