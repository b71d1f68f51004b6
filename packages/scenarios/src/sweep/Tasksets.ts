/**
 * Random task sets for schedulability studies: per grid point (`n` tasks, total utilisation `U`)
 * and set index, utilisations from vcpu-sched's generators (UUniFast, UUniFast-Discard,
 * RandFixedSum) and periods (log-uniform, uniform, or choices), combined into integer-ns `(C, T)`
 * pairs. Each set becomes one PCPU of the scenario: one Main VCPU per task with `(C, T)` (rate
 * monotonic: the shorter period the higher priority), one thread per VCPU releasing a job of `C`
 * every `T` from 0 (synchronous release, implicit deadlines), as in the `rm-periodic` built-in.
 *
 * Invariants: a set is a pure function of (generator seed, generator, n, U, set index), drawn
 * from its own named stream, so it does not depend on the run seed (the same set is simulated
 * under every seed), on other points, or on the process that draws it. Utilisations are floats;
 * budgets and periods are integer ns with 1 ≤ C ≤ T.
 *
 * @module
 */
import { Rng } from "@qvsim/sim-core"
import { Generators, type Workload } from "@qvsim/vcpu-sched"
import { ScenarioError, type ScenarioInput } from "../Scenario.ts"
import type { TasksetsDecl } from "./Sweep.ts"

/** The `(C, T)` pairs of set `set` at (`n`, `utilisation`). */
export const draw = (decl: TasksetsDecl, n: number, utilisation: number, set: number): Workload.PeriodicTask[] => {
  const rng = Rng.stream(decl.seed ?? 1, `tasksets/${decl.generator}/n=${n}/u=${utilisation}/set=${set}`)
  const us = decl.generator === "uunifast"
    ? Generators.uunifast(rng, n, utilisation)
    : decl.generator === "uunifast-discard"
      ? Generators.uunifastDiscard(rng, n, utilisation)
      : Generators.randFixedSum(rng, n, utilisation)
  const p = decl.periods
  const periods = "choices" in p
    ? Generators.periodsFromSet(rng, n, p.choices)
    : p.distribution === "log-uniform"
      ? Generators.periodsLogUniform(rng, n, p.min, p.max, p.granularity ?? 1)
      : Generators.periodsUniform(rng, n, p.min, p.max, p.granularity ?? 1)
  return Generators.taskSet(us, periods)
}

/** Checks the generator's parameters once per point (a utilisation above n is refused here, by name). */
export const checkPoint = (decl: TasksetsDecl, n: unknown, utilisation: unknown): void => {
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) throw new ScenarioError(`tasksets.n: ${JSON.stringify(n)} is not a positive integer`)
  if (typeof utilisation !== "number" || !(utilisation > 0)) throw new ScenarioError(`tasksets.utilisation: ${JSON.stringify(utilisation)} is not a positive number`)
  if (utilisation > n) throw new ScenarioError(`tasksets.utilisation: ${utilisation} exceeds n = ${n} (each task's utilisation is at most 1)`)
  if (decl.generator === "uunifast" && utilisation > 1) throw new ScenarioError(`tasksets.utilisation: ${utilisation} > 1 with uunifast gives tasks above 1: use uunifast-discard or randfixedsum`)
}

/** `base` with its PCPUs replaced by one PCPU running `tasks` (the base's first PCPU's options kept). */
export const scenarioOf = (base: ScenarioInput, tasks: ReadonlyArray<Workload.PeriodicTask>): ScenarioInput => {
  if (base.system !== undefined) throw new ScenarioError(`tasksets: the base scenario ${base.name} runs a system; generated task sets run on PCPUs (use a base without system)`)
  const first = base.pcpus?.[0]
  const vcpus = tasks.map((t, i) => ({ name: `t${i + 1}`, budget: t.budgetNs, period: t.periodNs }))
  const threads = tasks.map((t, i) => ({
    name: `task${i + 1}`,
    vcpu: `t${i + 1}`,
    arrivals: { kind: "periodic" as const, period: t.periodNs },
    job: [{ compute: t.budgetNs }],
  }))
  return {
    ...base,
    pcpus: [{
      name: first?.name ?? "pcpu0",
      ...(first?.options !== undefined ? { options: first.options } : {}),
      ...(first?.recordSchedule !== undefined ? { recordSchedule: first.recordSchedule } : {}),
      vcpus,
      threads,
    }],
  }
}
