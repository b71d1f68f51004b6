/**
 * Test support: fast-check arbitraries for random sandboxes, VCPU sets and workloads, and the
 * builders that turn their plain descriptions into system configurations with generator programs.
 */
import fc from "fast-check"
import { Program } from "../src/index.ts"
import type { Config } from "../src/index.ts"

export const MS = 1_000_000
export const US = 1_000

/** One step of a looping thread. */
export type StepDesc =
  | { readonly compute: number }
  | { readonly sleep: number }
  | { readonly io: { readonly workNs: number; readonly delayNs: number } }

export interface ThreadDesc {
  readonly vcpu: number
  /** Periodic: a job of `computeNs` every `periodNs`; else a loop of `steps`. */
  readonly periodic?: { readonly periodNs: number; readonly computeNs: readonly [number, number] }
  readonly steps?: readonly StepDesc[]
  readonly startNs: number
}

export interface SandboxDesc {
  readonly mains: ReadonlyArray<{ readonly budgetNs: number; readonly periodNs: number }>
  readonly ios: number
  readonly threads: readonly ThreadDesc[]
}

export interface WorkloadDesc {
  readonly seed: number
  readonly sandboxes: readonly SandboxDesc[]
}

const mainArb = fc.integer({ min: 2, max: 40 }).chain((periodMs) =>
  fc.integer({ min: 1, max: Math.max(1, Math.floor(periodMs / 3)) }).map((budgetMs) => ({ budgetNs: budgetMs * MS, periodNs: periodMs * MS })),
)

const stepArb: fc.Arbitrary<StepDesc> = fc.oneof(
  fc.integer({ min: 10 * US, max: 3 * MS }).map((compute) => ({ compute })),
  fc.integer({ min: 100 * US, max: 8 * MS }).map((sleep) => ({ sleep })),
  fc.record({ workNs: fc.integer({ min: 10 * US, max: 500 * US }), delayNs: fc.integer({ min: 0, max: 2 * MS }) }).map((io) => ({ io })),
)

const threadArb = (mains: number, ios: number): fc.Arbitrary<ThreadDesc> =>
  fc.record({
    vcpu: fc.integer({ min: 0, max: mains - 1 }),
    startNs: fc.integer({ min: 0, max: 5 * MS }),
    kind: fc.boolean(),
    periodMs: fc.integer({ min: 5, max: 60 }),
    lo: fc.integer({ min: 50 * US, max: 2 * MS }),
    extra: fc.integer({ min: 0, max: 2 * MS }),
    steps: fc.array(stepArb, { minLength: 1, maxLength: 5 }),
  }).map((t) => {
    const steps = ios > 0 ? t.steps : t.steps.filter((s) => !("io" in s))
    if (t.kind || steps.every((s) => !("compute" in s) && !("sleep" in s))) {
      return { vcpu: t.vcpu, startNs: t.startNs, periodic: { periodNs: t.periodMs * MS, computeNs: [t.lo, t.lo + t.extra] as const } }
    }
    return { vcpu: t.vcpu, startNs: t.startNs, steps: [...steps, { compute: 50 * US }] }
  })

export const sandboxArb: fc.Arbitrary<SandboxDesc> = fc
  .record({ mains: fc.array(mainArb, { minLength: 1, maxLength: 3 }), ios: fc.integer({ min: 0, max: 2 }) })
  .chain(({ mains, ios }) =>
    fc.array(threadArb(mains.length, ios), { minLength: 0, maxLength: 3 }).map((threads) => ({ mains, ios, threads })),
  )

export const workloadArb = (min = 1, max = 4): fc.Arbitrary<WorkloadDesc> =>
  fc.record({ seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }), sandboxes: fc.array(sandboxArb, { minLength: min, maxLength: max }) })

/** A thread program from its description. */
export const programOf = (t: ThreadDesc): Program.Program => {
  if (t.periodic !== undefined) return Program.periodicCompute(t.periodic.computeNs)
  const steps = t.steps!.map((s): Program.Request =>
    "compute" in s ? Program.compute(s.compute)
      : "sleep" in s ? Program.sleep(s.sleep)
      : Program.io({ device: "ata", workNs: s.io.workNs, delayNs: s.io.delayNs }),
  )
  return function* () {
    for (;;) for (const r of steps) yield r
  }
}

/** The system configuration of a workload description (one core per sandbox). */
export const configOf = (w: WorkloadDesc, extra: Partial<Config.SystemInput> = {}): Config.SystemInput => ({
  seed: w.seed,
  machine: { cores: w.sandboxes.length },
  ...extra,
  sandboxes: w.sandboxes.map((sb) => ({
    vcpus: [
      ...sb.mains.map((m) => ({ kind: "main" as const, budgetNs: m.budgetNs, periodNs: m.periodNs })),
      ...Array.from({ length: sb.ios }, () => ({ kind: "io" as const, budgetNs: 1 * MS, periodNs: 10 * MS, device: "ata" as const })),
    ],
    threads: sb.threads.map((t, i) => ({
      name: `t${i}`,
      vcpu: t.vcpu,
      program: programOf(t),
      startNs: t.startNs,
      ...(t.periodic !== undefined ? { periodic: { periodNs: t.periodic.periodNs } } : {}),
    })),
  })),
})

/**
 * A ping-pong over two meta mailboxes (the message-passing protocol): `side("ping", "pong", true)`
 * is the sender's program in sandbox 0, `side("pong", "ping", false)` the echo's in sandbox 1; the
 * echo is killed at `killAtNs` if given.
 */
export const pingPongSystem = (side: (out: string, back: string, first: boolean) => Program.Program, killAtNs: number | null): Config.SystemInput => ({
  seed: 7,
  machine: { cores: 2 },
  channels: [
    { kind: "mailbox", name: "ping", between: [0, 1], bytes: 4096, status: "meta" },
    { kind: "mailbox", name: "pong", between: [0, 1], bytes: 4096, status: "meta" },
  ],
  sandboxes: [
    { threads: [{ name: "sender", vcpu: 0, program: side("ping", "pong", true) }] },
    { threads: [{ name: "echo", vcpu: 0, program: side("pong", "ping", false) }] },
  ],
  faults: killAtNs === null ? [] : [{ kind: "killThread", sandbox: 1, atNs: killAtNs, thread: "echo" }],
})
