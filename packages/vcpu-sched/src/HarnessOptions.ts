/**
 * What a {@link Harness} is asked to do: the run's seed, what it records (segments, job rows,
 * trace records), checking, and the hooks tests use to inject broken variants or share a
 * simulation between PCPUs. Every field is optional; the defaults are in each field's comment.
 * Also the check of `pcpu` against the other harnesses of a shared simulation (`claimPcpu`).
 *
 * @module
 */
import type { Simulation } from "@qvsim/sim-core"
import type { Harness } from "./Harness.ts"
import type { PcpuScheduler } from "./PcpuScheduler.ts"
import type { Vcpu } from "./Vcpu.ts"
import type { PcpuSpec } from "./Workload.ts"

export interface HarnessOptions {
  /** Run seed (default 1). */
  readonly seed?: number
  /** Record executed segments in `schedule` (default true). */
  readonly recordSchedule?: boolean
  /** Keep one {@link JobRecord} per completed job in `jobs` (declared threads) and `ioJobs` (I/O requests) (default false). */
  readonly recordJobs?: boolean
  /** Recorded segments end where a thread's job ends (one job per segment, `qvsim run --schedule`; default false). */
  readonly segmentsByJob?: boolean
  /**
   * Check the scheduling invariants (F1–F3, F7, F9, F10, W1; see `Invariants.ts`) at every wakeup
   * and invocation; a violation throws a sim-core `SimulationError` naming the PCPU and the VCPU
   * (default false: no cost).
   */
  readonly checkInvariants?: boolean
  /** Emit trace records (`sched.dispatch`, `job.release`, `job.complete`) through sim-core (default false). */
  readonly trace?: boolean
  /** PCPU number, an integer ≥ 0 written in segments and naming the random streams and trace subject (default 0); harnesses sharing one `sim` each need their own. */
  readonly pcpu?: number
  /** Called after every scheduler invocation (property tests). */
  readonly onInvoke?: (harness: Harness, nowNs: number) => void
  /** Build a VCPU yourself (tests inject broken variants); return undefined for the default. */
  readonly makeVcpu?: (index: number, spec: PcpuSpec["vcpus"][number], sched: PcpuScheduler) => Vcpu | undefined
  /** Use this scheduler instead of a new one (tests inject broken variants); it must be empty. */
  readonly scheduler?: PcpuScheduler
  /**
   * Top-half cost of each I/O completion interrupt, ns (default 0). The interrupted thread makes no
   * progress meanwhile, yet its VCPU is charged (S1 charges wall time): the accounting detail of
   * §C.1. A dispatch during a top half starts when it ends.
   */
  readonly irqTopHalfNs?: number
  /**
   * Run on this simulation instead of a new one (several PCPUs in one run, one trace). Then drive
   * it with `sim.run(...)` and call {@link Harness.flush} at the end; `seed` is ignored.
   */
  readonly sim?: Simulation.Simulation
}

/** The PCPU numbers that have a harness, per simulation (harnesses sharing one simulation through `options.sim`). */
const pcpusOf = new WeakMap<Simulation.Simulation, Set<number>>()

/**
 * Checks `options.pcpu` and records it for `sim`: a PCPU number names the harness's random streams
 * (`harness/pcpu<p>/...`), its trace subject and its schedule's segments, so two harnesses on one
 * simulation with the same number would draw the same streams and mix their records.
 */
export const claimPcpu = (sim: Simulation.Simulation, pcpu: number): void => {
  if (!Number.isSafeInteger(pcpu) || pcpu < 0) throw new RangeError(`Harness: pcpu ${pcpu} must be an integer ≥ 0`)
  let taken = pcpusOf.get(sim)
  if (taken === undefined) pcpusOf.set(sim, (taken = new Set()))
  if (taken.has(pcpu)) {
    throw new RangeError(`Harness: pcpu ${pcpu} already has a harness on this simulation (its random streams, trace subject and segments are named by the number): give each harness sharing options.sim its own pcpu`)
  }
  taken.add(pcpu)
}
