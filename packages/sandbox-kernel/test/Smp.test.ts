/**
 * SMP Quest (`kind: "smp"`): one kernel over every core. The configuration (one kernel, refusals by
 * path), the big kernel lock (holds never overlap, FIFO; a lock that ignores its holder is caught),
 * cross-core wake-ups (a thread woken from another core reaches its core's run queue by IPI, after
 * exactly the IPI's one-way latency when nothing else holds the target; a kernel that wakes the
 * remote scheduler directly is caught), and shared kernel state (a wild write into another core's
 * run queue stops that core at its next scheduler invocation, and only it, while the same write in
 * Quest-V is refused by the EPT; a kernel that never reads its shared state is caught). Every
 * property runs with the scheduler invariants checked on every core.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors, Issues } from "@qvsim/hardware"
import { Simulation } from "@qvsim/sim-core"
import { PcpuScheduler } from "@qvsim/vcpu-sched"
import { Config, Program, Smp, System, type Kernel } from "../src/index.ts"
import { MS } from "./support.ts"

const MiB = 1 << 20

/** An SMP kernel that wakes a thread on another core without the IPI (a broken variant). */
class NoIpiSmp extends Smp.Smp {
  override remoteWake(p: Kernel.Pcpu, th: Kernel.Thread): boolean {
    const from = this.k.executingCore
    if (from >= 0 && from !== p.core.index && this.wakes !== null) this.wakes.push({ tid: th.tid, fromCore: from, toCore: p.core.index, sentNs: this.k.sim.now, rides: false, deliveredNs: this.k.sim.now })
    return false
  }
}

/** An SMP kernel that never reads its shared state (a broken variant: corruption has no effect). */
class BlindSmp extends Smp.Smp {
  override mayInvoke(_p: Kernel.Pcpu): boolean {
    return true
  }
}

/** S2 broken: the first runnable VCPU with budget wins, whatever its period. */
class IgnoresPriority extends PcpuScheduler.PcpuScheduler {
  protected override select(): number {
    const nowNs = this.invocationNs()
    for (const v of this.runnableList()) {
      const vcpu = this.vcpus[v]!
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) return v
    }
    return -1
  }
}

const refusal = (input: Config.SystemInput): string => {
  try {
    Config.parse(input)
  } catch (e) {
    if (e instanceof Errors.ConfigError) return Issues.lines(e.issues).join("\n")
    throw e
  }
  return ""
}

describe("SMP Quest: configuration", () => {
  it("one kernel owns every core; no EPT walk; programs' data after the shared structures", () => {
    const sys = new System.System({ kind: "smp" })
    expect(sys.sandboxes.length).toBe(1)
    expect(sys.sandboxes[0]!.kernel.pcpus.map((p) => p.core.index)).toEqual([0, 1, 2, 3])
    expect(sys.sandboxes[0]!.kernel.eptWalkNs).toBe(0)
    // The p11 VCPU set on every core.
    expect(sys.config.sandboxes[0]!.vcpus.length).toBe(28)
    expect(sys.config.sandboxes[0]!.vcpus.filter((v) => v.core === 3).map((v) => v.name)).toEqual(["main0@3", "main1@3", "main2@3", "main3@3", "io-usb@3", "io-ata@3", "io-net@3"])
    const k = sys.sandboxes[0]!.kernel
    expect(k.userDataBase - k.dataBase).toBe(Smp.layout(4).userDataOffset)
    expect(sys.config.nicSharers).toEqual([0])
    expect(sys.smp).not.toBeNull()
    expect(new System.System({}).smp).toBeNull()
  })

  it("refuses what SMP Quest cannot be, naming the field", () => {
    expect(refusal({ kind: "smp", sandboxes: [{}, {}] })).toMatch(/^sandboxes: 2 entries; SMP Quest has one kernel/m)
    expect(refusal({ kind: "smp", machine: { sandboxOfCore: [0, 0, 1, 1] } })).toMatch(/^machine\.sandboxOfCore: /m)
    expect(refusal({ kind: "smp", virtualization: { mode: "xen" } })).toMatch(/^virtualization\.mode: "xen"/m)
    expect(refusal({ kind: "smp", channels: [{ kind: "mailbox", name: "m", between: [0, 1] }] })).toMatch(/^channels: SMP Quest has one address space/m)
    expect(refusal({ kind: "smp", faults: [{ kind: "trigger", atNs: 1, sandbox: 0, recovery: "local" }] })).toMatch(/^faults\.0\.recovery: "local"/m)
    expect(refusal({ kind: "smp", kernel: { dataPages: 3 } })).toMatch(/^kernel\.dataPages: 3/m)
    expect(refusal({ kind: "smp", smp: { wakeVector: 7 } } as Config.SystemInput)).toMatch(/smp\.wakeVector/)
    expect(refusal({ kind: "smq" } as unknown as Config.SystemInput)).toMatch(/^kind: /m)
  })
})

describe("SMP Quest: scheduler invariants on every core", () => {
  const input = (): Config.SystemInput => ({
    kind: "smp",
    kernel: { checkInvariants: true },
    sandboxes: [{
      // Core 2: a long-period VCPU first, a short-period one second, both always busy.
      vcpus: [...[0, 1, 2, 3].map((c) => ({ budgetNs: 20 * MS, periodNs: 100 * MS, core: c })), { budgetNs: 5 * MS, periodNs: 20 * MS, core: 2 }],
      threads: [
        { name: "lo", vcpu: 2, program: Program.periodicCompute(15 * MS), periodic: { periodNs: 100 * MS } },
        { name: "hi", vcpu: 4, program: Program.periodicCompute(4 * MS), periodic: { periodNs: 20 * MS, offsetNs: 1 * MS } },
      ],
    }],
  })

  it("are checked on every core of the one kernel: a scheduler that ignores priority on core 2 alone is caught, naming core 2", () => {
    const options = Config.parse(input()).scheduler
    const sys = new System.System(input(), { makeScheduler: (core) => (core === 2 ? new IgnoresPriority(options) : undefined) })
    expect(() => sys.run(200 * MS)).toThrow(Simulation.SimulationError)
    expect(() => new System.System(input(), { makeScheduler: (core) => (core === 2 ? new IgnoresPriority(options) : undefined) }).run(200 * MS)).toThrow(/sandbox 0 core 2 .*F2/)
    // The correct scheduler passes the same checks.
    expect(new System.System(input()).run(200 * MS).sim.now).toBe(200 * MS)
  })
})

describe("SMP Quest: the big kernel lock", () => {
  /** Random acquisitions: (gap since the previous, core, hold). */
  const acquisitions = fc.array(fc.tuple(fc.integer({ min: 0, max: 2_000 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3_000 })), { minLength: 1, maxLength: 60 })

  /** Holds never overlap and are granted in arrival order; each waits exactly until the previous hold ends. */
  const exclusive = (LockClass: typeof Smp.KernelLock, acq: ReadonlyArray<readonly [number, number, number]>): boolean => {
    const lock = new LockClass(4)
    let now = 0, prevEnd = 0
    for (const [gap, core, hold] of acq) {
      now += gap
      const wait = lock.acquire(core, now, hold, false)
      const start = now + wait
      if (start < prevEnd || (wait > 0 && start !== prevEnd)) return false
      prevEnd = start + hold
    }
    return true
  }

  it("property: holds never overlap, FIFO, a waiter waits exactly until the lock is free", () => {
    fc.assert(fc.property(acquisitions, (acq) => exclusive(Smp.KernelLock, acq)), { numRuns: 200 })
  })

  it("a lock that forgets its holder is caught", () => {
    class Forgetful extends Smp.KernelLock {
      override acquire(core: number, nowNs: number, holdNs: number, corrupted: boolean): number {
        super.acquire(core, nowNs, holdNs, corrupted)
        return 0
      }
    }
    expect(fc.check(fc.property(acquisitions, (acq) => exclusive(Forgetful, acq)), { numRuns: 600, endOnFailure: true }).failed).toBe(true)
  })

  it("a garbage lock word makes every core spin for ever at its next kernel entry", () => {
    const sys = new System.System({
      kind: "smp",
      sandboxes: [{
        vcpus: [0, 1, 2, 3].map((c) => ({ budgetNs: 20 * MS, periodNs: 100 * MS, core: c })),
        threads: [0, 1, 2, 3].map((c) => ({ name: `t${c}`, vcpu: c, program: Program.periodicCompute(1 * MS), periodic: { periodNs: 10 * MS } })),
      }],
      faults: [{ kind: "wildWrite", atNs: 50 * MS, sandbox: 0, writes: [{ sandbox: 0, offset: MiB, bytes: 4, value: 0xff }] }],
    }).run(200 * MS)
    const cores = sys.smp!.stats().cores
    expect(cores.map((c) => c.hungBecause)).toEqual(new Array(4).fill("the kernel lock word is corrupted"))
    for (const c of cores) expect(c.hungAtNs).toBeGreaterThanOrEqual(50 * MS)
    // Each stops at its thread's next system call (the next waitJob, within one period).
    for (const c of cores) expect(c.hungAtNs).toBeLessThanOrEqual(62 * MS)
  })
})

describe("SMP Quest: cross-core wake-ups by IPI", () => {
  interface Case {
    readonly cores: number
    readonly seed: number
    readonly requesters: ReadonlyArray<{ readonly workNs: number; readonly periodNs: number }>
  }
  /** Requesters on cores 1..n-1, each waiting on I/O served by an I/O VCPU on core 0 (its completion wakes them from core 0). */
  const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 2, max: 4 }).chain((cores) => fc.record({
    cores: fc.constant(cores),
    seed: fc.integer({ min: 1, max: 1_000 }),
    requesters: fc.array(fc.record({ workNs: fc.integer({ min: 10_000, max: 500_000 }), periodNs: fc.integer({ min: 2, max: 20 }).map((x) => x * MS) }), { minLength: cores - 1, maxLength: cores - 1 }),
  }))

  const run = (c: Case, smpClass?: typeof Smp.Smp): System.System => new System.System({
    kind: "smp",
    seed: c.seed,
    machine: { cores: c.cores },
    kernel: { checkInvariants: true },
    recordSchedule: true,
    sandboxes: [{
      vcpus: [
        { kind: "io", budgetNs: 2 * MS, periodNs: 10 * MS, device: "ata", core: 0 },
        ...Array.from({ length: c.cores - 1 }, (_, i) => ({ budgetNs: 20 * MS, periodNs: 100 * MS, core: i + 1 })),
      ],
      threads: c.requesters.map((r, i) => ({
        name: `req${i + 1}`,
        vcpu: i + 1,
        program: Program.periodic(function* () {
          yield Program.compute(100_000)
          yield Program.io({ device: "ata", workNs: r.workNs, wait: true })
        }),
        periodic: { periodNs: r.periodNs },
      })),
    }],
  }, { recordWakes: true, ...(smpClass === undefined ? {} : { smpClass }) }).run(300 * MS)

  /**
   * Every cross-core wake-up (a requester's hand-off to core 0's I/O VCPU, the completion waking
   * the requester) went by IPI: delivered after the one-way latency and the handler's entry — more
   * only while the target ran other wake-up handlers (at most one per other core) — and the thread
   * ran on its core only after.
   */
  const byIpi = (sys: System.System): string | null => {
    const wakes = sys.smp!.wakes!
    if (wakes.length === 0) return "no cross-core wake-up"
    // The IPI's one-way latency, then its handler's entry on the target (nothing else holds the target's interrupts here).
    const oneWay = sys.machine.costs.ns.ipiOneWay + sys.smp!.wakeIrqNs
    const most = oneWay + (sys.sandboxes[0]!.kernel.pcpus.length - 1) * sys.smp!.wakeIrqNs
    let toZero = 0, fromZero = 0
    const segs = sys.segments()
    const k = sys.sandboxes[0]!.kernel
    for (const w of wakes) {
      if (w.fromCore === w.toCore || (w.fromCore !== 0 && w.toCore !== 0)) return `wake-up from core ${w.fromCore} to ${w.toCore}`
      if (w.toCore === 0) toZero++
      else fromZero++
      if (w.deliveredNs < 0) continue // in flight at the end of the run
      const lat = w.deliveredNs - w.sentNs
      // A wake-up that rode on an IPI already in flight arrives with it.
      if (w.rides && !wakes.some((x) => !x.rides && x.toCore === w.toCore && x.deliveredNs === w.deliveredNs)) return `thread ${w.tid} rode on no IPI`
      if ((!w.rides && lat < oneWay) || lat > most) return `thread ${w.tid}: delivered ${lat} ns after the wake-up, IPI latency + handler entry ${oneWay} ns (at most ${most})`
      // A requester (blocked until its completion) does not run between the wake-up and the IPI: its
      // scheduler did not know. (Core 0's I/O service thread may already be running other jobs.)
      if (w.toCore === 0) continue
      const early = segs.find((s) => s.thread === w.tid && s.pcpu === w.toCore && s.end > w.sentNs && s.start < w.deliveredNs)
      if (early !== undefined) return `thread ${w.tid} ran on core ${w.toCore} at ${early.start} before its IPI at ${w.deliveredNs}`
    }
    if (toZero === 0 || fromZero === 0) return `hand-offs to core 0: ${toZero}, completions from it: ${fromZero}`
    const taken = sys.smp!.stats().cores.reduce((a, c) => a + c.wakeIpisTaken, 0)
    if (taken === 0) return "no wake-up IPI taken"
    for (const th of k.threads) if (th.name.startsWith("req") && th.stats.completed === 0) return `${th.name} completed no job`
    return null
  }

  it("property: a thread woken from another core joins its core's run queue by IPI, after the IPI latency (invariants checked on every core)", () => {
    fc.assert(fc.property(caseArb, (c) => {
      const why = byIpi(run(c))
      if (why !== null) throw new Error(why)
      return true
    }), { numRuns: 15 })
  })

  it("a kernel that wakes the remote scheduler directly (no IPI) is caught", () => {
    const r = fc.check(fc.property(caseArb, (c) => byIpi(run(c, NoIpiSmp)) === null), { numRuns: 45, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(byIpi(run(r.counterexample![0], NoIpiSmp))).toMatch(/delivered 0 ns after the wake-up|hand-offs to core 0: 0/)
  })
})

describe("SMP Quest: shared kernel state", () => {
  interface Case {
    readonly cores: number
    readonly target: number
    readonly atMs: number
    readonly periodMs: number
  }
  const caseArb: fc.Arbitrary<Case> = fc.integer({ min: 2, max: 4 }).chain((cores) => fc.record({
    cores: fc.constant(cores),
    target: fc.integer({ min: 1, max: cores - 1 }),
    atMs: fc.integer({ min: 5, max: 80 }),
    periodMs: fc.integer({ min: 2, max: 20 }),
  }))

  /** One periodic thread per core; at `atMs` kernel code on core 0 zeros core `target`'s kernel data (its run queue in SMP Quest). */
  const system = (c: Case, kind: "smp" | "questv", faulty = true): Config.SystemInput => {
    const vcpu = (core: number) => ({ budgetNs: 20 * MS, periodNs: 100 * MS, core })
    const thread = (name: string, v: number) => ({ name, vcpu: v, program: Program.periodicCompute(500_000), periodic: { periodNs: c.periodMs * MS } })
    const offset = MiB + (kind === "smp" ? Smp.layout(c.cores).runQueueOffset(c.target) : 0)
    const fault = { kind: "wildWrite" as const, atNs: c.atMs * MS, sandbox: 0, writes: [{ sandbox: kind === "smp" ? 0 : c.target, offset, bytes: 4096, value: 0 }] }
    const faults = faulty ? [fault] : []
    return kind === "smp"
      ? { kind, machine: { cores: c.cores }, kernel: { checkInvariants: true }, faults, sandboxes: [{ vcpus: Array.from({ length: c.cores }, (_, i) => vcpu(i)), threads: Array.from({ length: c.cores }, (_, i) => thread(`t${i}`, i)) }] }
      : { machine: { cores: c.cores }, kernel: { checkInvariants: true }, faults, sandboxes: Array.from({ length: c.cores }, (_, i) => ({ vcpus: [vcpu(0)], threads: [thread(`t${i}`, 0)] })) }
  }

  /** Jobs each thread completed in 200 ms. */
  const jobsDone = (sys: System.System): number[] =>
    sys.metrics().sandboxes.flatMap((s) => s.threads.filter((t) => /^t\d$/.test(t.name))).sort((a, b) => a.name.localeCompare(b.name)).map((t) => t.jobsCompleted)

  /**
   * The write lands and stops the target core — at its next invocation, within a period of its
   * thread — and only it: its thread completes fewer jobs than without the fault, the others exactly as many.
   */
  const corrupts = (c: Case, smpClass?: typeof Smp.Smp): string | null => {
    const sys = new System.System(system(c, "smp"), smpClass === undefined ? {} : { smpClass }).run(200 * MS)
    const w = sys.faultRecords()[0]!.writes
    if (w.length !== 1 || !w[0]!.ok) return "the write did not land"
    const cores = sys.smp!.stats().cores
    for (const x of cores) {
      if (x.core === c.target) {
        if (x.hungAtNs < 0) return `core ${c.target} did not stop`
        if (x.hungAtNs < c.atMs * MS || x.hungAtNs > (c.atMs + c.periodMs + 1) * MS) return `core ${c.target} stopped at ${x.hungAtNs}`
      } else if (x.hungAtNs >= 0) return `core ${x.core} stopped too`
    }
    const done = jobsDone(sys)
    const clean = jobsDone(new System.System(system(c, "smp", false)).run(200 * MS))
    for (let i = 0; i < c.cores; i++) {
      if (i === c.target ? done[i]! >= clean[i]! : done[i] !== clean[i]) return `t${i} completed ${done[i]} jobs, ${clean[i]} without the fault`
    }
    return null
  }

  it("property: a wild write into another core's run queue lands and stops that core (and only it) at its next scheduler invocation", () => {
    fc.assert(fc.property(caseArb, (c) => {
      const why = corrupts(c)
      if (why !== null) throw new Error(why)
      return true
    }), { numRuns: 20 })
  })

  it("the same write in Quest-V is refused by the EPT, and every sandbox goes on", () => {
    fc.assert(fc.property(caseArb, (c) => {
      const sys = new System.System(system(c, "questv")).run(200 * MS)
      const w = sys.faultRecords()[0]!.writes
      const clean = jobsDone(new System.System(system(c, "questv", false)).run(200 * MS))
      return w.length === 1 && !w[0]!.ok && jobsDone(sys).every((n, i) => n === clean[i])
    }), { numRuns: 10 })
  })

  it("a kernel that never reads its shared state is caught", () => {
    const r = fc.check(fc.property(caseArb, (c) => corrupts(c, BlindSmp) === null), { numRuns: 30, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(corrupts(r.counterexample![0], BlindSmp)).toMatch(/did not stop/)
  })

  it("a wild write into the NIC driver's state breaks the one driver: the pings go unanswered from then on", () => {
    const sys = new System.System({
      kind: "smp",
      hosts: [{ kind: "ping", name: "p", target: 0, intervalNs: 10 * MS }],
      faults: [{ kind: "wildWrite", atNs: 55 * MS, sandbox: 0, writes: [{ sandbox: 0, offset: MiB + Smp.layout(4).driverOffset, bytes: 4, value: 0 }] }],
    }).run(200 * MS)
    const st = sys.smp!.stats()
    // Found broken at the next NIC interrupt (the request at 60 ms); the six replies before it came through.
    expect(st.driverBrokenAtNs).toBeGreaterThan(60 * MS)
    expect(st.driverBrokenAtNs).toBeLessThan(61 * MS)
    const h = sys.hosts[0]!.stats()
    expect(h.received).toBe(6)
    expect(sys.metrics().net[0]!.brokenInvocations).toBeGreaterThan(0)
  })
})
