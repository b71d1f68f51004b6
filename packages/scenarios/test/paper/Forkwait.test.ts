/** E1 forkwait at paper size (≈ 1.5 s): per-iteration cycles, no VM exits, the EPT share, SMP Quest as the Quest bar; each claim caught on a broken run. */
import { describe, expect, it } from "vitest"
import { System } from "@qvsim/sandbox-kernel"
import { runAll, type Run } from "../../src/paper/Experiment.ts"
import { forkwait, forkwaitSystem, ITERATIONS } from "../../src/paper/Forkwait.ts"

const runOf = (variant: string, input: ReturnType<ReturnType<typeof forkwaitSystem>>, untilNs: number): Run =>
  ({ variant, system: new System.System(input).run(untilNs) })

describe("forkwait (E1)", () => {
  const { result } = runAll(forkwait)
  const rows = result.tables[0]!.rows

  it("runs 40,000 iterations per variant; every claim holds", () => {
    expect(rows.map((r) => r["system"])).toEqual(["Quest (SMP, one kernel, no virtualisation)", "Quest-V sandbox without the EPT cost", "Quest-V (EPT)"])
    expect(rows.map((r) => r["iterations"])).toEqual([ITERATIONS, ITERATIONS, ITERATIONS])
    for (const c of result.claims) expect(c.holds, `${c.text}: ${c.detail}`).toBe(true)
  })

  it("per iteration: the kernel's costs without EPT, plus 64 TLB misses × the 2-D walk under EPT; SMP Quest adds the uncontended kernel lock", () => {
    const perSmp = rows[0]!["cycles per iteration"] as number
    const perNone = rows[1]!["cycles per iteration"] as number
    const perV = rows[2]!["cycles per iteration"] as number
    // 3 SYSENTERs + fork 30,000 + 64 × 1,024 + exit 8,000 + waitpid 2,000 (ns rounding → ±1 %).
    expect(Math.abs(perNone - 105_920) / 105_920).toBeLessThan(0.01)
    expect(Math.abs(perV - perNone - 64 * 150) / (64 * 150)).toBeLessThan(0.01)
    // SMP Quest: the same kernel costs, each of the three system calls under the lock (60 cycles to take and release it).
    expect(Math.abs(perSmp - perNone - 3 * 60) / (3 * 60)).toBeLessThan(0.05)
    expect(rows[2]!["VM exits"]).toBe(0)
    expect(rows[0]!["VM exits"]).toBe(0)
  })

  it("the overhead claim fails when the EPT walk is expensive (2,000 cycles per miss)", () => {
    const scale = 0.01
    const v = forkwait.variants
    const broken = forkwaitSystem("questv")(1, scale)
    const runs = [
      runOf("quest-v", { ...broken, machine: { costs: { eptWalkExtra: 2_000 } } }, v[0]!.untilNs(scale) * 3),
      runOf("quest-v-no-ept", forkwaitSystem("none")(1, scale), v[1]!.untilNs(scale)),
      runOf("quest", forkwaitSystem("smp")(1, scale), v[2]!.untilNs(scale)),
    ]
    const r = forkwait.analyse(runs)
    expect(r.claims[1]!.holds).toBe(false)
    expect(r.claims[2]!.holds).toBe(false)
    expect(r.claims[0]!.holds).toBe(true)
  })

  it("the no-exit claim fails when every interrupt (the timer too) exits to a hypervisor", () => {
    const scale = 0.01
    const runs = [
      runOf("quest-v", { ...forkwaitSystem("questv")(1, scale), virtualization: { mode: "hypervisor", exitOn: "all" } }, forkwait.variants[0]!.untilNs(scale)),
      runOf("quest-v-no-ept", forkwaitSystem("none")(1, scale), forkwait.variants[1]!.untilNs(scale)),
      runOf("quest", forkwaitSystem("smp")(1, scale), forkwait.variants[2]!.untilNs(scale)),
    ]
    expect(forkwait.analyse(runs).claims[0]!.holds).toBe(false)
  })

  it("the Quest-V vs SMP Quest claim fails when SMP Quest's system calls are much cheaper (a broken baseline)", () => {
    const scale = 0.01
    const v = forkwait.variants
    const runs = [
      runOf("quest-v", forkwaitSystem("questv")(1, scale), v[0]!.untilNs(scale)),
      runOf("quest-v-no-ept", forkwaitSystem("none")(1, scale), v[1]!.untilNs(scale)),
      runOf("quest", { ...forkwaitSystem("smp")(1, scale), kernel: { forkPageCycles: 512 } }, v[2]!.untilNs(scale)),
    ]
    const r = forkwait.analyse(runs)
    expect(r.claims[2]!.holds).toBe(false)
    expect(r.claims[1]!.holds).toBe(true)
  })
})
