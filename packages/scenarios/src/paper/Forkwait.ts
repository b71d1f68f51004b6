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
import { defineExperiment, type Run, type Variant } from "./Experiment.ts"

const MS = 1_000_000
const HZ = 2.13e9
/** The paper's iteration count. */
export const ITERATIONS = 40_000
/** The largest per-iteration EPT overhead still "no obvious overhead" (our threshold). */
export const OBVIOUS = 0.1

/** Iterations at `scale` (at least 1). */
export const iterationsAt = (scale: number): number => Math.max(1, Math.round(ITERATIONS * scale))

const child: Program.Program = function* () {
  yield Program.exit(0)
}

const forkwaitProgram = (n: number): Program.Program =>
  function* () {
    for (let i = 0; i < n; i++) {
      const pid = (yield Program.fork(child)) as number
      if (pid < 0) yield Program.exit(1)
      yield Program.waitpid(pid)
    }
    yield Program.exit(0)
  }

/** The forkwait system: Quest-V sandboxes in mode `mode`, or SMP Quest (`"smp"`). */
export const forkwaitSystem = (mode: "questv" | "none" | "smp") => (seed: number, scale: number): Config.SystemInput => {
  const sandbox = {
    vcpus: [{ name: "fw", budgetNs: 100 * MS, periodNs: 100 * MS }],
    threads: [{ name: "forkwait", vcpu: 0, program: forkwaitProgram(iterationsAt(scale)) }],
  }
  if (mode === "smp") return { seed, kind: "smp", sandboxes: [sandbox] }
  return { seed, virtualization: { mode }, sandboxes: [sandbox, {}, {}, {}] }
}

const variant = (name: string, mode: "questv" | "none" | "smp", description: string): Variant => ({
  name,
  description,
  system: forkwaitSystem(mode),
  // ≈ 50 µs of CPU per iteration; 4× margin.
  untilNs: (scale) => iterationsAt(scale) * 200_000 + 10 * MS,
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
  const sb = run.system.metrics().sandboxes[0]!
  const parent = sb.threads.find((t) => t.name === "forkwait")!
  const children = sb.threads.filter((t) => t.name !== "forkwait" && t.status === "exited").length
  const cpuNs = sb.threads.reduce((a, t) => a + t.cpuNs, 0)
  const cycles = Math.round((cpuNs * HZ) / 1e9)
  return {
    iterations: children,
    completed: parent.status === "exited" && children > 0,
    cycles,
    perIteration: children === 0 ? 0 : Math.round(cycles / children),
    vmExits: run.system.metrics().sandboxes.reduce((a, s) => a + s.vmExits, 0),
  }
}

export const analyseForkwait = (runs: readonly Run[]) => {
  const q = figures(runs.find((r) => r.variant === "quest-v")!)
  const n = figures(runs.find((r) => r.variant === "quest-v-no-ept")!)
  const smpRun = runs.find((r) => r.variant === "quest")
  const s = smpRun === undefined ? null : figures(smpRun)
  const share = n.perIteration === 0 ? NaN : (q.perIteration - n.perIteration) / n.perIteration
  const vsSmp = s === null || s.perIteration === 0 ? NaN : (q.perIteration - s.perIteration) / s.perIteration
  const pct = (x: number) => Math.round(x * 10_000) / 100
  return {
    tables: [{
      title: "Forkwait: fork/exit/waitpid iterations (Linux 2.6.32 not modelled: no Linux model and no published figure to calibrate one)",
      columns: ["system", "iterations", "total cycles", "cycles per iteration", "vs Quest %", "EPT share %", "VM exits"],
      rows: [
        ...(s === null ? [] : [{ system: "Quest (SMP, one kernel, no virtualisation)", iterations: s.iterations, "total cycles": s.cycles, "cycles per iteration": s.perIteration, "vs Quest %": 0, "EPT share %": 0, "VM exits": s.vmExits }]),
        { system: "Quest-V sandbox without the EPT cost", iterations: n.iterations, "total cycles": n.cycles, "cycles per iteration": n.perIteration, "vs Quest %": s === null ? "" : pct((n.perIteration - s.perIteration) / s.perIteration), "EPT share %": 0, "VM exits": n.vmExits },
        { system: "Quest-V (EPT)", iterations: q.iterations, "total cycles": q.cycles, "cycles per iteration": q.perIteration, "vs Quest %": s === null ? "" : pct(vsSmp), "EPT share %": pct(share), "VM exits": q.vmExits },
      ],
    }],
    claims: [
      {
        text: "System calls in Quest-V (fork, exit, waitpid, context switches) never exit to the monitor",
        holds: q.completed && q.vmExits === 0,
        detail: `Quest-V: ${q.iterations} iterations ${q.completed ? "completed" : "NOT completed"}, ${q.vmExits} VM exits`,
      },
      {
        text: `Hardware virtualisation adds no obvious overhead to Quest-V system calls (EPT share per iteration < ${OBVIOUS * 100} %)`,
        holds: q.completed && n.completed && q.iterations === n.iterations && share >= 0 && share < OBVIOUS,
        detail: `per iteration: Quest-V without the EPT cost ${n.perIteration} cycles, Quest-V ${q.perIteration} cycles, +${q.perIteration - n.perIteration} (${pct(share)} %; the threshold is ours, the share follows the assumed EPT walk cost × TLB misses per copied page)`,
      },
      {
        text: `Quest-V's forkwait costs no obviously more than SMP Quest's (the paper's Quest bar; per iteration < ${OBVIOUS * 100} % more)`,
        holds: s !== null && q.completed && s.completed && q.iterations === s.iterations && vsSmp < OBVIOUS,
        detail: s === null
          ? "no SMP Quest run"
          : `per iteration: SMP Quest ${s.perIteration} cycles (its system calls take the big kernel lock, uncontended: one core forks), Quest-V ${q.perIteration} cycles (${vsSmp >= 0 ? "+" : ""}${pct(vsSmp)} %; the threshold is ours)`,
      },
    ],
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
})
