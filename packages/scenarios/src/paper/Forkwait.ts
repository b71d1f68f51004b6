/**
 * Experiment E1 (paper §4.2, Figure 7): the forkwait microbenchmark — a parent forks a child that
 * exits at once and waits for it, 40,000 times — on a Main VCPU that owns its core (100 ms every
 * 100 ms), the other cores idle. Three variants:
 *
 * - `quest`: SMP Quest, the paper's "Quest" bar (`kind: "smp"`: one kernel over the four cores, no
 *   EPT; every system call takes the big kernel lock, uncontended here);
 * - `quest-v`: Quest-V, sandbox 0 under EPT (`virtualization.mode` `questv`);
 * - `quest-v-no-ept`: the same Quest-V sandbox with the EPT walk cost removed (`none`) — what this
 *   experiment called "quest" before SMP Quest existed; it isolates the EPT share.
 *
 * What is measured: the CPU cycles of the parent and all its children (the core does nothing else,
 * so this is the benchmark's elapsed time) and the cycles per iteration; the EPT share is Quest-V
 * against its no-EPT twin, the paper's comparison Quest-V against SMP Quest. VM exits in the
 * Quest-V run are counted: the paper's argument is that system calls never reach the monitor.
 *
 * Model (sandbox-kernel defaults, all `[ASSUMED]`): fork = SYSENTER + 30,000 cycles + 1,024 cycles
 * per page of a 64-page address space; exit 8,000; waitpid 2,000; under EPT one TLB miss per copied
 * page costs 150 extra cycles (2-D walk). The EPT share is therefore set by these assumptions
 * (≈ pages × 150 / per-iteration cycles); the experiment reports it rather than tuning it. The
 * threshold of "no obvious overhead" (10 % per iteration) is ours: the share comes out at 9.0 % with
 * these defaults, so a stricter 5 % threshold would not hold unless the EPT walk or the TLB misses per
 * copied page were cheaper than assumed.
 *
 * Linux 2.6.32 (the paper's third and fourth bars) is left out: the simulator has no Linux model and
 * the paper gives no figure to calibrate one against (its plot values are not in the text).
 *
 * @module
 */
import type { Config } from "@qvsim/sandbox-kernel"
import { Program } from "@qvsim/sandbox-kernel"
import * as Assumed from "../robust/Assumed.ts"
import { at, defineDomain, type Params } from "../robust/Domain.ts"
import { defineExperiment, type ExperimentResult, type Run, type Variant } from "./Experiment.ts"

const MS = 1_000_000
const HZ = 2.13e9
/** The paper's iteration count. */
export const ITERATIONS = 40_000
/** The largest per-iteration EPT overhead still "no obvious overhead" (our threshold). */
export const OBVIOUS = 0.1
/** Other thresholds the robust study shows the claim's verdict at (%). */
const OBVIOUS_ALTERNATIVES = [1, 3, 5, 10, 15, 20]

/**
 * The robustness domain: forkwait draws nothing at random, so its claims rest on the kernel's
 * assumed costs; each range is the span a Nehalem-class core could plausibly show.
 */
export const domain = defineDomain({
  seedsReason: "forkwait draws nothing at random (fixed kernel costs, one thread on its own core): every seed gives the same run; the spread comes from the assumed constants",
  scale: 0.05,
  scaleReason: "2,000 iterations: every iteration costs the same, so the per-iteration cycles and the EPT share do not depend on the count",
  assumed: {
    ...Assumed.params(["eptWalkExtra"]),
    forkTlbMissesPerPage: {
      kind: "range", min: 0, max: 4, default: 1, integer: true, basis: "order of magnitude",
      description: "TLB misses per copied page during fork",
      reason: "copying a page touches its source and destination (≤ 2 misses), plus page-table pages now and then; large pages or a warm TLB make it 0",
      paths: ["system.kernel.forkTlbMissesPerPage"],
    },
    forkPageCycles: {
      kind: "range", min: 512, max: 4_096, default: 1_024, integer: true, unit: "cycles", basis: "measurement",
      description: "cycles to copy one 4 KiB page of the address space",
      reason: "memcpy of 4 KiB runs at 1–8 bytes per cycle on Nehalem-class cores (cache-resident to DRAM-bound)",
      paths: ["system.kernel.forkPageCycles"],
    },
    forkBaseCycles: {
      kind: "range", min: 10_000, max: 100_000, default: 30_000, integer: true, log: true, unit: "cycles", basis: "order of magnitude",
      description: "fixed cycles of fork besides copying pages (process record, page tables)",
      reason: "a small kernel's fork without copying is some µs (lmbench fork+exit on Linux of the time: 100+ µs including the copy); a decade around the default",
      paths: ["system.kernel.forkBaseCycles"],
    },
    exitCycles: {
      kind: "range", min: 2_000, max: 30_000, default: 8_000, integer: true, log: true, unit: "cycles", basis: "order of magnitude",
      description: "cycles of exit (tearing the address space down)",
      reason: "freeing 64 pages and the process record: a few µs either way",
      paths: ["system.kernel.exitCycles"],
    },
    waitpidCycles: {
      kind: "range", min: 500, max: 8_000, default: 2_000, integer: true, log: true, unit: "cycles", basis: "order of magnitude",
      description: "cycles of waitpid (reaping the child)",
      reason: "finding and freeing one child record: about a µs",
      paths: ["system.kernel.waitpidCycles"],
    },
    contextSwitch: {
      kind: "range", min: 300, max: 5_000, default: 1_000, integer: true, log: true, unit: "cycles", basis: "measurement",
      description: "thread context switch (parent to child and back, each iteration)",
      reason: "a small kernel's switch is a few hundred cycles; measured Linux switches on Nehalem-class cores take 1–3 µs with their cache effects",
      paths: ["system.machine.costs.contextSwitch"],
    },
    processPages: {
      kind: "range", min: 16, max: 256, default: 64, integer: true, log: true, unit: "pages", basis: "order of magnitude",
      description: "pages of the forking process's address space (what fork copies)",
      reason: "the benchmark is a few KiB of code with a stack and a heap: 64 KiB–1 MiB",
      paths: ["system.kernel.processPages"],
    },
  },
})

/** Iterations at `scale` (at least 1). */
export const iterationsAt = (scale: number): number => Math.max(1, Math.round(ITERATIONS * scale))

// NOTE: requests built once, not one per child (issue 15: 40,000 forks per variant); a request is
// never changed by the kernel, so every child may yield the same one.
const EXIT_0 = Program.exit(0)
const child: Program.Program = function* () {
  yield EXIT_0
}
const FORK_CHILD = Program.fork(child)

const forkwaitProgram = (n: number): Program.Program =>
  function* () {
    for (let i = 0; i < n; i++) {
      const pid = (yield FORK_CHILD) as number
      if (pid < 0) yield Program.exit(1)
      yield Program.waitpid(pid)
    }
    yield Program.exit(0)
  }

/** The forkwait system: Quest-V sandboxes in mode `mode`, or SMP Quest (`"smp"`). */
export const forkwaitSystem = (mode: "questv" | "none" | "smp") => (seed: number, scale: number): Config.SystemInput => {
  const sandbox = {
    vcpus: [{ name: "fw", budget: 100 * MS, period: 100 * MS }],
    threads: [{ name: "forkwait", vcpu: "fw", program: forkwaitProgram(iterationsAt(scale)) }],
  }
  if (mode === "smp") return { seed, kind: "smp", sandboxes: [sandbox] }
  return { seed, virtualization: { mode }, sandboxes: [sandbox, {}, {}, {}] }
}

/**
 * Run length: the iterations at twice their estimated cost from the domain point's constants
 * (≈ 50 µs each at the defaults), and never less than the 200 µs per iteration the headline always ran.
 */
const untilNs = (scale: number, params?: Params): number => {
  const p = at(domain, params)
  const perIterationCycles = p.forkBaseCycles + p.processPages * (p.forkPageCycles + p.forkTlbMissesPerPage * p.eptWalkExtra) + p.exitCycles + p.waitpidCycles + 4 * p.contextSwitch + 14_000
  return iterationsAt(scale) * Math.max(200_000, Math.ceil((2 * perIterationCycles * 1e9) / HZ)) + 10 * MS
}

const variant = (name: string, mode: "questv" | "none" | "smp", description: string): Variant => ({
  name,
  description,
  system: forkwaitSystem(mode),
  untilNs,
})

/** Figures of one finished forkwait run. */
export interface ForkwaitFigures {
  readonly iterations: number
  readonly completed: boolean
  readonly cycles: number
  readonly perIteration: number
  readonly vmExits: number
}

export const figures = (run: Run): ForkwaitFigures => {
  const m = run.system.metrics()
  const sb = m.sandboxes[0]!
  const parent = sb.threads.find((t) => t.name === "forkwait")!
  const children = sb.threads.filter((t) => t.name !== "forkwait" && t.status === "exited").length
  const cpuNs = sb.threads.reduce((a, t) => a + t.cpuNs, 0)
  const cycles = Math.round((cpuNs * HZ) / 1e9)
  return {
    iterations: children,
    completed: parent.status === "exited" && children > 0,
    cycles,
    perIteration: children === 0 ? 0 : Math.round(cycles / children),
    vmExits: m.sandboxes.reduce((a, s) => a + s.vmExits, 0),
  }
}

export const analyseForkwait = (runs: readonly Run[]): ExperimentResult => {
  const q = figures(runs.find((r) => r.variant === "quest-v")!)
  const n = figures(runs.find((r) => r.variant === "quest-v-no-ept")!)
  const smpRun = runs.find((r) => r.variant === "quest")
  const s = smpRun === undefined ? null : figures(smpRun)
  const share = n.perIteration === 0 ? NaN : (q.perIteration - n.perIteration) / n.perIteration
  const vsSmp = s === null || s.perIteration === 0 ? NaN : (q.perIteration - s.perIteration) / s.perIteration
  const pct = (x: number) => Math.round(x * 10_000) / 100
  return {
    tables: [{
      id: "forkwait",
      title: "Forkwait: fork/exit/waitpid iterations (Linux 2.6.32 not modelled: no Linux model and no published figure to calibrate one)",
      columns: ["system", "iterations", "total cycles", "cycles per iteration", "vs Quest %", "EPT share %", "VM exits"],
      rows: [
        ...(s === null ? [] : [{ system: "Quest (SMP, one kernel, no virtualisation)", iterations: s.iterations, "total cycles": s.cycles, "cycles per iteration": s.perIteration, "vs Quest %": 0, "EPT share %": 0, "VM exits": s.vmExits }]),
        { system: "Quest-V sandbox without the EPT cost", iterations: n.iterations, "total cycles": n.cycles, "cycles per iteration": n.perIteration, "vs Quest %": s === null ? null : pct((n.perIteration - s.perIteration) / s.perIteration), "EPT share %": 0, "VM exits": n.vmExits },
        { system: "Quest-V (EPT)", iterations: q.iterations, "total cycles": q.cycles, "cycles per iteration": q.perIteration, "vs Quest %": s === null ? null : pct(vsSmp), "EPT share %": pct(share), "VM exits": q.vmExits },
      ],
    }],
    claims: [
      {
        id: "noExit",
        text: "System calls in Quest-V (fork, exit, waitpid, context switches) never exit to the monitor",
        holds: q.completed && q.vmExits === 0,
        detail: `Quest-V: ${q.iterations} iterations ${q.completed ? "completed" : "NOT completed"}, ${q.vmExits} VM exits`,
      },
      {
        id: "noObviousOverhead",
        text: `Hardware virtualisation adds no obvious overhead to Quest-V system calls (EPT share per iteration < ${OBVIOUS * 100} %)`,
        holds: q.completed && n.completed && q.iterations === n.iterations && share >= 0 && share < OBVIOUS,
        threshold: {
          name: "EPT share of the cycles per iteration", value: OBVIOUS * 100, unit: "%", holdsWhen: "<", ours: true,
          measured: share * 100, otherConditionsHold: q.completed && n.completed && q.iterations === n.iterations && share >= 0, alternatives: OBVIOUS_ALTERNATIVES,
        },
        detail: `per iteration: Quest-V without the EPT cost ${n.perIteration} cycles, Quest-V ${q.perIteration} cycles, +${q.perIteration - n.perIteration} (${pct(share)} %; the threshold is ours, the share follows the assumed EPT walk cost × TLB misses per copied page)`,
      },
      {
        id: "noObviousOverheadVsSmp",
        text: `Quest-V's forkwait costs no obviously more than SMP Quest's (the paper's Quest bar; per iteration < ${OBVIOUS * 100} % more)`,
        holds: s !== null && q.completed && s.completed && q.iterations === s.iterations && vsSmp < OBVIOUS,
        ...(s === null ? {} : {
          threshold: {
            name: "Quest-V's cycles per iteration over SMP Quest's", value: OBVIOUS * 100, unit: "%", holdsWhen: "<" as const, ours: true,
            measured: vsSmp * 100, otherConditionsHold: q.completed && s.completed && q.iterations === s.iterations, alternatives: OBVIOUS_ALTERNATIVES,
          },
        }),
        detail: s === null
          ? "no SMP Quest run"
          : `per iteration: SMP Quest ${s.perIteration} cycles (its system calls take the big kernel lock, uncontended: one core forks), Quest-V ${q.perIteration} cycles (${vsSmp >= 0 ? "+" : ""}${pct(vsSmp)} %; the threshold is ours)`,
      },
    ],
    metrics: {
      eptSharePct: share * 100, noEptCyclesPerIteration: n.perIteration, questvCyclesPerIteration: q.perIteration, questvVmExits: q.vmExits,
      ...(s === null ? {} : { smpCyclesPerIteration: s.perIteration, overSmpPct: vsSmp * 100 }),
    },
    plot: {
      $schema: "https://vega.github.io/schema/vega-lite/v5.json",
      title: "Forkwait (cycles per fork/exit/waitpid iteration)",
      data: { values: [...(s === null ? [] : [{ system: "Quest (SMP)", cycles: s.perIteration }]), { system: "Quest-V, no EPT cost", cycles: n.perIteration }, { system: "Quest-V", cycles: q.perIteration }] },
      mark: "bar",
      encoding: { x: { field: "system", type: "nominal" }, y: { field: "cycles", type: "quantitative", title: "cycles per iteration" } },
    },
  }
}

export const forkwait = defineExperiment({
  name: "forkwait",
  description: "Forkwait microbenchmark: 40,000 fork/exit/waitpid iterations in Quest-V (EPT) vs SMP Quest and a Quest-V sandbox without the EPT cost (Linux not modelled)",
  source: "paper §4.2, Figure 7; spec E1",
  seed: 1,
  variants: [
    variant("quest-v", "questv", "Quest-V: sandbox 0 under EPT (each TLB miss pays the 2-D walk), 40,000 iterations"),
    variant("quest-v-no-ept", "none", "a Quest-V sandbox with the EPT walk cost removed (same kernel costs), 40,000 iterations"),
    variant("quest", "smp", "SMP Quest: one kernel over the four cores, no EPT, system calls under the big kernel lock, 40,000 iterations"),
  ],
  analyse: analyseForkwait,
  domain,
  inputs: [
    { name: "iterations", value: ITERATIONS, source: "paper §4.2 (forkwait: 40,000 fork/exit/waitpid iterations)" },
    { name: "clock", value: HZ / 1e9, unit: "GHz", source: "paper §4 (Xeon E5506, 2.13 GHz): cycles = ns × 2.13" },
  ],
})
