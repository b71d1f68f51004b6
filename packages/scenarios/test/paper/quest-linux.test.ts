/**
 * `quest-linux` (issue 16, Quest-Linux): real-time threads in two Quest sandboxes beside a Linux
 * sandbox under five stresses at two intensities and three seeds. Every claim holds at the test's
 * scale; the Quest sandboxes are checked at every scheduler decision (`--check-invariants`) and
 * checking does not change a run; each claim is shown to fail on a deliberately broken run (an EPT
 * that lets Linux's wild writes through, a Linux thread that is not a Linux thread, a Quest side
 * that polls without budget), and the channel flood's move of sandbox 1's response times is shown
 * to come from Quest's timer-driven wakeups (none with exact wakeups).
 */
import { describe, expect, it } from "vitest"
import { Ept, type Machine } from "@qvsim/hardware"
import { System, type Config } from "@qvsim/sandbox-kernel"
import { PcpuScheduler } from "@qvsim/vcpu-sched"
import { runAll } from "../../src/paper/Experiment.ts"
import { questLinux, measure, SHIFT_NS } from "../../src/paper/quest-linux.ts"
import { find } from "../../src/paper/registry.ts"
import { claim, runWith } from "./support.ts"

/** A VCPU scheduler that gives every Main VCPU its whole period as budget (a broken variant: no enforcement). */
class IgnoresBudgets extends PcpuScheduler.PcpuScheduler {
  override addMainVcpu(_budgetNs: number, periodNs: number, createdAtNs = 0): number {
    return super.addMainVcpu(periodNs, periodNs, createdAtNs)
  }
}

/** An EPT that lets refused writes through to the identity frame (a broken variant). */
class LeakyEpt extends Ept.Ept {
  override translate(gpn: number, need: number): number {
    const f = super.translate(gpn, need)
    if (f >= 0 || need !== Ept.Access.Write) return f
    return this.guard.overlaps(gpn, 1) ? -1 : gpn
  }
}

const SCALE = 0.1
const NO_MISS = "temporal isolation: the Quest sandboxes' real-time threads miss no deadline"
const NO_MOVE = "temporal isolation: the real-time threads' response-time distributions do not move"
const FLOOD = "under a channel flood"
const SPATIAL = "spatial isolation"
const TRAP = "Linux's wild writes"
const CHANNEL = "the channel is bounded"

describe("quest-linux", () => {
  const { runs, result } = runAll(questLinux, { scale: SCALE })

  it("is registered, with a baseline and 5 stresses × 2 intensities", () => {
    expect(find("quest-linux")).toBe(questLinux)
    expect(runs.length).toBe(11)
  })

  it("every claim holds", () => {
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
    expect(result.claims.length).toBe(6)
    expect(claim(result.claims, NO_MISS).detail).toMatch(/holds in 10 of 10 stressed runs/)
  })

  it.each([2, 3, 4])("every claim holds at seed %i too (the domain over seeds)", (seed) => {
    const other = runAll(questLinux, { scale: SCALE, seed })
    for (const c of other.result.claims) expect(c.holds, `seed ${seed}: ${c.text}: ${c.detail}`).toBe(true)
    // A different seed draws different real-time work: the baseline's response times differ.
    expect(measure(other.runs[0]!).rt[0]!.p50Ns === measure(runs[0]!).rt[0]!.p50Ns && measure(other.runs[0]!).rt[1]!.p99Ns === measure(runs[0]!).rt[1]!.p99Ns).toBe(false)
  })

  it("the stresses happen: hogs saturate Linux's cores, the device floods, forks pile up, wild writes trap in Linux's monitor, floods fill the channel", () => {
    const m = runs.map(measure)
    const get = (v: string) => m.find((r) => r.variant === v)!
    const base = get("baseline")
    expect(get("cpu-hog-high").linuxCpuNs).toBeGreaterThan(0.99 * get("cpu-hog-high").simNs)
    expect(get("irq-flood-high").linuxIrqs).toBeGreaterThan(10 * get("irq-flood-low").linuxIrqs / 2)
    expect(get("fork-storm-low").linuxThreads).toBeGreaterThan(1000)
    expect(get("wild-writes-high").linuxEptViolations).toBeGreaterThan(get("wild-writes-low").linuxEptViolations)
    expect(get("channel-flood-high").fromLinux).toBeGreaterThan(base.fromLinux)
    // The Quest sandbox with no channel to Linux is bit-for-bit the baseline's, whatever the stress.
    for (const r of m) expect(r.fingerprints[0]).toBe(m.find((b) => b.variant === "baseline")!.fingerprints[0])
  })

  it("--check-invariants checks the Quest sandboxes' schedulers, not Linux's (test/Invariants.test.ts runs every variant checked and compares fingerprints)", () => {
    const v = questLinux.variants.find((x) => x.name === "channel-flood-high")!
    const sys = new System.System({ ...v.system(1, 0.05), kernel: { checkInvariants: true } })
    sys.run(v.untilNs(0.05))
    const observed = sys.sandboxes.map((sb) => sb.kernel.pcpus.map((p) => (p.sched as PcpuScheduler.PcpuScheduler).observer !== undefined && (p.sched as PcpuScheduler.PcpuScheduler).observer !== null))
    expect(observed).toEqual([[true], [true], [false, false]])
  })
})

describe("quest-linux: each claim can fail", () => {
  const only = (names: readonly string[]) => ({ ...questLinux, variants: questLinux.variants.filter((v) => names.includes(v.name)) })

  it("an EPT that lets Linux's wild writes through: the Quest sandboxes' memory changes, the spatial and trap claims fail", () => {
    const e = only(["baseline", "wild-writes-low", "wild-writes-high"])
    const runs = runWith(e, SCALE, (_v, input) => input, { makeEpt: (s: number, m: Machine.Machine) => (s === 2 ? new LeakyEpt(m.sim, s, m.memory.frames, m.layout) : undefined) })
    const r = questLinux.analyse(runs)
    expect(claim(r.claims, SPATIAL).holds).toBe(false)
    expect(claim(r.claims, TRAP).holds).toBe(false)
  })

  it("a real-time VCPU without enough budget misses deadlines: the no-miss claim fails", () => {
    const e = only(["baseline", "cpu-hog-high"])
    const runs = runWith(e, SCALE, (_v, input) => ({
      ...input,
      sandboxes: input.sandboxes!.map((sb, s) => (s === 0 ? { ...sb, vcpus: sb.vcpus!.map((v, i) => (i === 2 ? { ...v, budget: "3ms" } : v)) } : sb)),
    }))
    expect(claim(questLinux.analyse(runs).claims, NO_MISS).holds).toBe(false)
  })

  it("the response-time claim compares with the same seed's baseline: a stressed run whose Quest side differs (a shorter VCPU period) fails it", () => {
    const e = only(["baseline", "cpu-hog-high"])
    const runs = runWith(e, SCALE, (v, input) => (v === "cpu-hog-high" ? { ...input, sandboxes: input.sandboxes!.map((sb, s) => (s === 0 ? { ...sb, vcpus: sb.vcpus!.map((x, i) => (i === 0 ? { ...x, period: "6ms" } : x)) } : sb)) } : input))
    expect(claim(questLinux.analyse(runs).claims, NO_MOVE).holds).toBe(false)
  })

  it("the channel bound is the Quest side's budget enforcement: with a 5 µs polling budget it holds; a scheduler that ignores budgets breaks it", () => {
    const e = only(["baseline", "channel-flood-high"])
    const tight = (_v: string, input: Config.SystemInput): Config.SystemInput => ({ ...input, channelOptions: { receiverBudgetNs: 5_000, receiverPeriodNs: 1_000_000_000 } })
    expect(claim(questLinux.analyse(runWith(e, SCALE, tight)).claims, CHANNEL).holds).toBe(true)
    const broken = runWith(e, SCALE, tight, { makeScheduler: (core: number) => (core === 1 ? new IgnoresBudgets() : undefined) })
    expect(claim(questLinux.analyse(broken).claims, CHANNEL).holds).toBe(false)
  })

  it("the flood's bound is the polling VCPU's budget: a scheduler that ignores budgets lets the flood move sandbox 1's response times past it", () => {
    const e = only(["baseline", "channel-flood-low", "channel-flood-high"])
    const tight = (_v: string, input: Config.SystemInput): Config.SystemInput => ({ ...input, channelOptions: { receiverBudgetNs: 5_000, receiverPeriodNs: 1_000_000_000 } })
    expect(claim(questLinux.analyse(runWith(e, SCALE, tight)).claims, FLOOD).holds).toBe(true)
    const broken = runWith(e, SCALE, tight, { makeScheduler: (core: number) => (core === 1 ? new IgnoresBudgets() : undefined) })
    expect(claim(questLinux.analyse(broken).claims, FLOOD).holds).toBe(false)
  })

  it("the flood's move of sandbox 1's response times comes from Quest's timer-driven wakeups: with exact wakeups nothing moves", () => {
    const e = only(["baseline", "channel-flood-low", "channel-flood-high"])
    const exact = questLinux.analyse(runWith(e, SCALE, (_v, input) => ({ ...input, kernel: { sleepWakeup: "exact" } })))
    expect(claim(exact.claims, FLOOD).detail).toMatch(/moves 0\.0 µs, 0\.0 µs/)
    expect(SHIFT_NS).toBe(10_000)
  })

  it("a Linux sandbox's cores do not run the VCPU scheduler: Linux threads have no budget to miss, its cores are not checked as Quest's", () => {
    const v = questLinux.variants.find((x) => x.name === "cpu-hog-high")!
    const sys = new System.System({ ...v.system(1, 0.05), kernel: { checkInvariants: true } })
    sys.run(v.untilNs(0.05))
    const hogs = sys.metrics().sandboxes[2]!.threads.filter((t) => t.name.startsWith("hog"))
    expect(hogs.length).toBe(8)
    const total = hogs.reduce((a, t) => a + t.cpuNs, 0)
    expect(total).toBeGreaterThan(0.9 * 2 * sys.sim.now)
  })
})
