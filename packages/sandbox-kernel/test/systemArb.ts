/**
 * A fast-check arbitrary of whole Quest-V systems (sandbox-kernel configurations), for properties
 * that must hold in any system — first of all the scheduling invariants checked at every decision
 * (`kernel.checkInvariants`).
 *
 * The generated domain, and what it leaves out:
 * - 1–4 sandboxes, one core each, or sandbox 0 on two cores (its VCPUs split over them); clock
 *   offsets 0–10 ms and drifts of 0 or ±50 ppm per core; LAPIC timer ticks of 1 or 100 ns and
 *   latencies of 0 or 0.5 µs;
 * - virtualization `questv` (mostly), `none`, `hypervisor` (device or all interrupts exit) or `xen`;
 * - scheduler options from vcpu-sched's `Arbitraries.schedulerOptions` (maxRepl 1–32, split rule,
 *   δ, overhead, the 1 ms rule on, at 250 µs, or off, quantum, re-arm, both tie rules), plus the
 *   naive POSIX or the deferrable server as the Main-VCPU policy, EDF instead of rate-monotonic
 *   priorities, the PIBS clamp and the background band now and then;
 * - kernel: both sleep wake-up rules, a timer handler of 0 or 2,000 cycles;
 * - per sandbox 1–3 Main VCPUs `(C, T)`, T 2–40 ms, C ≤ T/3 (overload happens with several
 *   threads), and 0–2 I/O VCPUs (ata, net) — or the default p11 set;
 * - 0–3 threads per sandbox: periodic jobs (compute drawn per job), or loops of compute, sleep,
 *   I/O (ata, net; waiting), system calls, sends and polls on the sandbox's channels;
 * - 0–3 channels between random pairs (mailboxes and private channels, with their polling thread);
 * - 0–1 ping host at a random sandbox every 1–20 ms (NIC interrupts broadcast to the sharers);
 * - 0–1 fault: a trigger with local, remote, reboot or no recovery, a corrupted driver, or a killed
 *   thread, at 5–120 ms;
 * - 0–1 migration: every sandbox gets a Main VCPU (4 ms, 40 ms); a thread on it in one sandbox
 *   computes, migrates to another and goes on (refused when that VCPU is the destination's
 *   migration VCPU, which is part of the domain too).
 * Not generated: boot phase, 2015 layout, I/O partitioning, wild writes, the hypervisor's Xen
 * split-driver costs beyond the defaults, more than one fault or migration.
 *
 * @module
 */
import fc from "fast-check"
import { Arbitraries } from "@qvsim/vcpu-sched"
import { Program } from "../src/index.ts"
import type { Config } from "../src/index.ts"

const MS = 1_000_000
const US = 1_000

type Step =
  | { readonly compute: number }
  | { readonly sleep: number }
  | { readonly io: { readonly device: "ata" | "net"; readonly workNs: number; readonly delayNs: number } }
  | { readonly syscall: number }
  | { readonly send: number }
  | { readonly poll: number }

interface ThreadDesc {
  readonly vcpu: number
  readonly periodic: { readonly periodNs: number; readonly lo: number; readonly hi: number } | null
  readonly steps: readonly Step[]
  readonly startNs: number
}

interface SandboxDesc {
  readonly defaults: boolean
  readonly mains: ReadonlyArray<{ readonly budgetNs: number; readonly periodNs: number }>
  readonly ios: ReadonlyArray<"ata" | "net">
  readonly threads: readonly ThreadDesc[]
}

/** A generated system, as data (shrinks and prints well); `toConfig` makes it a configuration. */
export interface SystemDesc {
  readonly seed: number
  readonly twoCores: boolean
  readonly offsetsNs: readonly number[]
  readonly driftsPpm: readonly number[]
  readonly lapic: { readonly timerTickNs: number; readonly timerLatencyNs: number }
  readonly virtualization: "questv" | "none" | "hypervisor-device" | "hypervisor-all" | "xen"
  readonly scheduler: Record<string, unknown>
  readonly kernel: { readonly sleepWakeup: "timerInterrupt" | "exact"; readonly timerIrqCycles: number }
  readonly sandboxes: readonly SandboxDesc[]
  readonly channels: ReadonlyArray<{ readonly kind: "mailbox" | "private"; readonly a: number; readonly b: number }>
  readonly ping: { readonly target: number; readonly intervalNs: number } | null
  readonly fault: { readonly kind: "trigger" | "corruptDriver" | "killThread"; readonly sandbox: number; readonly atNs: number; readonly recovery: "none" | "local" | "remote" | "reboot" } | null
  readonly migration: { readonly from: number; readonly to: number; readonly afterNs: number } | null
}

const MIG_VCPU = { budgetNs: 4 * MS, periodNs: 40 * MS }

const mainArb = fc.integer({ min: 2, max: 40 }).chain((periodMs) =>
  fc.integer({ min: 1, max: Math.max(1, Math.floor((periodMs * 1000) / 3)) }).map((budgetUs) => ({ budgetNs: budgetUs * US, periodNs: periodMs * MS })),
)

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.integer({ min: 10 * US, max: 3 * MS }).map((compute) => ({ compute })),
  fc.integer({ min: 100 * US, max: 8 * MS }).map((sleep) => ({ sleep })),
  fc.record({ device: fc.constantFrom("ata" as const, "net" as const), workNs: fc.integer({ min: 10 * US, max: 500 * US }), delayNs: fc.integer({ min: 0, max: 2 * MS }) }).map((io) => ({ io })),
  fc.integer({ min: 0, max: 5000 }).map((syscall) => ({ syscall })),
  fc.nat(2).map((send) => ({ send })),
  fc.nat(2).map((poll) => ({ poll })),
)

const threadArb = (mains: number): fc.Arbitrary<ThreadDesc> =>
  fc.record({
    vcpu: fc.integer({ min: 0, max: mains - 1 }),
    startNs: fc.integer({ min: 0, max: 5 * MS }),
    periodic: fc.option(fc.record({ periodMs: fc.integer({ min: 5, max: 60 }), lo: fc.integer({ min: 50 * US, max: 2 * MS }), extra: fc.integer({ min: 0, max: 2 * MS }) }), { nil: null }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
  }).map((t) => ({
    vcpu: t.vcpu,
    startNs: t.startNs,
    periodic: t.periodic === null ? null : { periodNs: t.periodic.periodMs * MS, lo: t.periodic.lo, hi: t.periodic.lo + t.periodic.extra },
    steps: t.steps,
  }))

const sandboxArb: fc.Arbitrary<SandboxDesc> = fc
  .record({
    defaults: fc.integer({ min: 0, max: 5 }).map((x) => x === 0),
    mains: fc.array(mainArb, { minLength: 1, maxLength: 3 }),
    ios: fc.array(fc.constantFrom("ata" as const, "net" as const), { maxLength: 2 }),
  })
  .chain(({ defaults, mains, ios }) =>
    fc.array(threadArb(defaults ? 4 : mains.length), { maxLength: 3 }).map((threads) => ({ defaults, mains, ios, threads })),
  )

const schedulerArb = fc.record({
  base: Arbitraries.schedulerOptions({ latency: true, overhead: true }),
  naive: fc.integer({ min: 0, max: 7 }).map((x) => x === 0),
  // Shrinking goes to 0: to rate monotonic and the default policy.
  deferrable: fc.integer({ min: 0, max: 7 }).map((x) => x === 7),
  edf: fc.integer({ min: 0, max: 3 }).map((x) => x === 3),
  clamp: fc.boolean(),
  background: fc.integer({ min: 0, max: 4 }).map((x) => x === 0),
}).map(({ base, naive, deferrable, edf, clamp, background }) => ({
  ...base,
  ...(naive ? { policy: "posixNaive" } : deferrable ? { policy: "deferrable" } : {}),
  ...(edf ? { priority: "edf" } : {}),
  ...(clamp ? { pibsClampOnInherit: true } : {}),
  ...(background ? { ioBackground: "belowAll" } : {}),
}))

export const systemArb: fc.Arbitrary<SystemDesc> = fc.integer({ min: 1, max: 4 }).chain((n) =>
  fc.record({
    seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    twoCores: n < 4 ? fc.boolean() : fc.constant(false),
    offsetsNs: fc.array(fc.integer({ min: 0, max: 10 * MS }), { minLength: n + 1, maxLength: n + 1 }),
    driftsPpm: fc.array(fc.constantFrom(0, 0, 50, -50), { minLength: n + 1, maxLength: n + 1 }),
    lapic: fc.record({ timerTickNs: fc.constantFrom(1, 100), timerLatencyNs: fc.constantFrom(0, 500) }),
    virtualization: fc.constantFrom("questv", "questv", "questv", "none", "hypervisor-device", "hypervisor-all", "xen") as fc.Arbitrary<SystemDesc["virtualization"]>,
    scheduler: schedulerArb,
    kernel: fc.record({ sleepWakeup: fc.constantFrom("timerInterrupt" as const, "exact" as const), timerIrqCycles: fc.constantFrom(0, 2000) }),
    sandboxes: fc.array(sandboxArb, { minLength: n, maxLength: n }),
    channels: n < 2 ? fc.constant([]) : fc.array(
      fc.record({ kind: fc.constantFrom("mailbox" as const, "private" as const), a: fc.nat(n - 1), b: fc.nat(n - 1) }).filter((c) => c.a !== c.b),
      { maxLength: 3 },
    ),
    ping: fc.option(fc.record({ target: fc.nat(n - 1), intervalNs: fc.integer({ min: 1, max: 20 }).map((x) => x * MS) }), { nil: null }),
    fault: fc.option(fc.record({
      kind: fc.constantFrom("trigger" as const, "corruptDriver" as const, "killThread" as const),
      sandbox: fc.nat(n - 1),
      atNs: fc.integer({ min: 5, max: 120 }).map((x) => x * MS),
      recovery: fc.constantFrom("none" as const, "local" as const, "remote" as const, "reboot" as const),
    }), { nil: null }),
    migration: n < 2 ? fc.constant(null) : fc.option(
      fc.record({ from: fc.nat(n - 1), to: fc.nat(n - 1), afterNs: fc.integer({ min: 1, max: 30 }).map((x) => x * MS) }).filter((m) => m.from !== m.to),
      { nil: null },
    ),
  }),
)

const programOf = (t: ThreadDesc, sendNames: readonly string[], pollNames: readonly string[]): Program.Program => {
  if (t.periodic !== null) return Program.periodicCompute([t.periodic.lo, t.periodic.hi])
  const steps: Program.Request[] = []
  for (const s of t.steps) {
    if ("compute" in s) steps.push(Program.compute(s.compute))
    else if ("sleep" in s) steps.push(Program.sleep(s.sleep))
    else if ("io" in s) steps.push(Program.io({ device: s.io.device, workNs: s.io.workNs, delayNs: s.io.delayNs }))
    else if ("syscall" in s) steps.push(Program.syscall(s.syscall))
    else if ("send" in s) { if (sendNames.length > 0) steps.push(Program.send(sendNames[s.send % sendNames.length]!)) }
    else if (pollNames.length > 0) steps.push(Program.poll(pollNames[s.poll % pollNames.length]!))
  }
  steps.push(Program.compute(50 * US)) // every loop uses time
  return function* () {
    for (;;) for (const r of steps) yield r
  }
}

const migrant = (to: number, afterNs: number): Program.Program => function* () {
  yield Program.compute(afterNs)
  yield Program.migrate(to)
  for (;;) {
    yield Program.compute(1 * MS)
    yield Program.sleep(3 * MS)
  }
}

/** The configuration of a generated system, with `extra` merged in (e.g. `kernel.checkInvariants`). */
export const toConfig = (d: SystemDesc, extra: { readonly kernel?: Record<string, unknown>; readonly recordJobs?: boolean } = {}): Config.SystemInput => {
  const n = d.sandboxes.length
  const cores = d.twoCores ? n + 1 : n
  const sandboxOfCore = d.twoCores ? [0, ...Array.from({ length: n }, (_, i) => i)] : undefined
  const channels = d.channels.map((c, i) => ({ kind: c.kind, name: `c${i}`, between: [c.a, c.b] as [number, number] }))
  // One private channel per pair.
  const kept = channels.filter((c, i) => c.kind === "mailbox" || channels.findIndex((o) => o.kind === "private" && o.between.includes(c.between[0]) && o.between.includes(c.between[1])) === i)
  const v = d.virtualization
  const sandboxes = d.sandboxes.map((sb, s) => {
    const mains = sb.defaults ? [] : sb.mains.map((m, i) => ({ kind: "main" as const, ...m, core: d.twoCores && s === 0 ? i % 2 : 0 }))
    const ios = sb.defaults ? [] : sb.ios.map((dev) => ({ kind: "io" as const, budgetNs: 1 * MS, periodNs: 10 * MS, device: dev }))
    const mig = d.migration !== null ? [{ kind: "main" as const, ...MIG_VCPU }] : []
    const vcpus = sb.defaults && mig.length === 0 ? undefined : [
      ...(sb.defaults ? [0, 1, 2, 3].map(() => ({ kind: "main" as const, budgetNs: 20 * MS, periodNs: 100 * MS })) : mains),
      ...(sb.defaults ? (["usb", "ata", "net"] as const).map((dev) => ({ kind: "io" as const, budgetNs: 1 * MS, periodNs: 10 * MS, device: dev })) : ios),
      ...mig,
    ]
    const sends = kept.filter((c) => c.between[0] === s).map((c) => c.name)
    const polls = kept.filter((c) => c.kind === "mailbox" && c.between[1] === s).map((c) => c.name)
    const threads: Config.ThreadInput[] = sb.threads.map((t, i) => ({
      name: `t${i}`, vcpu: t.vcpu, program: programOf(t, sends, polls), startNs: t.startNs,
      ...(t.periodic !== null ? { periodic: { periodNs: t.periodic.periodNs } } : {}),
    }))
    if (d.migration !== null && d.migration.from === s) {
      threads.push({ name: "migrant", vcpu: vcpus!.length - 1, program: migrant(d.migration.to, d.migration.afterNs), startNs: 0 })
    }
    return { ...(vcpus === undefined ? {} : { vcpus }), threads }
  })
  const f = d.fault
  // (Not the migrant: it may have left.)
  const victim = f === null ? undefined : sandboxes[f.sandbox]!.threads.find((t) => t["name"] !== "migrant")
  const recovery = f === null ? "none" : f.recovery === "remote" && n < 2 ? "local" : f.recovery
  const faults = f === null ? [] : f.kind === "killThread"
    ? (victim === undefined ? [] : [{ kind: "killThread" as const, sandbox: f.sandbox, atNs: f.atNs, thread: String(victim["name"]) }])
    : [{ kind: f.kind, sandbox: f.sandbox, atNs: f.atNs, recovery }]
  return {
    seed: d.seed,
    machine: {
      cores,
      ...(sandboxOfCore !== undefined ? { sandboxOfCore } : {}),
      clockOffsetNs: d.offsetsNs.slice(0, cores),
      clockDriftPpm: d.driftsPpm.slice(0, cores),
      lapic: d.lapic,
    },
    scheduler: d.scheduler,
    kernel: { ...d.kernel, ...extra.kernel },
    virtualization: v === "hypervisor-device" ? { mode: "hypervisor", exitOn: "device" } : v === "hypervisor-all" ? { mode: "hypervisor", exitOn: "all" } : { mode: v },
    channels: kept,
    hosts: d.ping === null ? [] : [{ kind: "ping", target: d.ping.target, intervalNs: d.ping.intervalNs }],
    faults,
    ...(extra.recordJobs === true ? { recordJobs: true } : {}),
    sandboxes: sandboxes as NonNullable<Config.SystemInput["sandboxes"]>,
  }
}
