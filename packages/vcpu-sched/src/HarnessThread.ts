/**
 * A thread of the single-PCPU {@link Harness} as it runs: its compiled job program (compute, sleep
 * and I/O steps with their ranges), its arrival process, the releases it has not started, the job
 * it executes ({@link CurrentJob}) and its statistics; an I/O VCPU's service thread also holds its
 * {@link IoQueue}.
 *
 * Invariants:
 * - `releases` are in release order; the job number of the `i`-th is `nextJobNo − releases.length + i`
 *   (jobs are numbered in release order and started in that order);
 * - `status === COMPUTE` exactly while the thread has CPU work (`remainingNs > 0`, or a step that
 *   just ended at this instant), and then its `job` is active;
 * - its random draws come only from the streams `harness/pcpu<p>/thread<i>/arrivals` and `/job`.
 *
 * NOTE: hot path: one reused record per thread, integer codes for step kinds, states and arrival
 * kinds (no object per step or per job).
 *
 * @module
 */
import type { Rng, Simulation } from "@qvsim/sim-core"
import type { HarnessOptions } from "./HarnessOptions.ts"
import { IoQueue } from "./IoQueue.ts"
import { CurrentJob, JobStats } from "./Jobs.ts"
import type { PcpuScheduler } from "./PcpuScheduler.ts"
import { PendingReleases } from "./PendingReleases.ts"
import { relativeDeadline, type PcpuSpec, type Range, type Step, type ThreadSpec } from "./Workload.ts"

/** Per-thread job statistics of the harness: the shared ones, and the releases (declared threads). */
export class ThreadStats extends JobStats {
  /** Jobs released (declared threads; I/O service threads count only completions). */
  released = 0
}

export const STEP_COMPUTE = 0, STEP_SLEEP = 1, STEP_IO = 2

/** One step of a job program, its ranges compiled to numbers. */
export class CompiledStep {
  kind = STEP_COMPUTE
  lo = 0
  hi = 0
  ioVcpu = -1
  delayLo = 0
  delayHi = 0
  wait = true
  probability = 1
}

/** Thread states: no job (or between jobs), computing, sleeping, waiting for an I/O completion. */
export const IDLE = 0, COMPUTE = 1, SLEEP = 2, IOWAIT = 3
export const ARR_NONE = 0, ARR_PERIODIC = 1, ARR_SPORADIC = 2, ARR_POISSON = 3, ARR_EXPLICIT = 4

export class HarnessThread {
  readonly index: number
  readonly vcpu: number
  readonly service: boolean
  readonly program: CompiledStep[]
  readonly jobPrograms: CompiledStep[][]
  /** Releases not started yet (their job numbers: `pendingJobNo`). */
  readonly releases = new PendingReleases()
  /** Service threads: the I/O jobs handed to their VCPU (null for declared threads). */
  readonly io: IoQueue | null
  status = IDLE
  curProgram: CompiledStep[] | null = null
  stepIdx = 0
  remainingNs = 0
  curJobNo = 0
  /** The job in progress: release, first start, preemptions. */
  readonly job = new CurrentJob()
  /** Jobs released so far (the number of the next release). */
  nextJobNo = 0
  arrKind = ARR_NONE
  arrA = 0
  arrB = 0
  arrIdx = 0
  arrTimes: readonly number[] = []
  /** Its first release, ns (-1: none; I/O service threads have none). */
  firstReleaseNs = -1
  /** Relative deadline of its jobs, ns (Infinity: I/O service threads). */
  readonly deadlineNs: number
  readonly stats = new ThreadStats()
  // The random streams, each made at its first draw (most threads draw from neither: fixed demands,
  // periodic arrivals): a stream is a function of the seed and its name only, so when it is made
  // changes no draw. NOTE: memory and speed: two streams per thread, each hashing its name, were
  // ~10 % of building a 200-task harness.
  private arrivalsStream: Rng.RngStream | null = null
  private jobStream: Rng.RngStream | null = null
  private readonly sim: Simulation.Simulation
  private readonly pcpu: number

  constructor(index: number, vcpu: number, service: boolean, program: CompiledStep[], jobPrograms: CompiledStep[][], deadlineNs: number, sim: Simulation.Simulation, pcpu: number) {
    this.index = index
    this.vcpu = vcpu
    this.service = service
    this.io = service ? new IoQueue() : null
    this.program = program
    this.jobPrograms = jobPrograms
    this.deadlineNs = deadlineNs
    this.sim = sim
    this.pcpu = pcpu
  }

  /** The stream `harness/pcpu<p>/thread<i>/arrivals` (random arrival processes). */
  get rngArrivals(): Rng.RngStream {
    return (this.arrivalsStream ??= this.sim.rng(`harness/pcpu${this.pcpu}/thread${this.index}/arrivals`))
  }

  /** The stream `harness/pcpu<p>/thread<i>/job` (job programs' ranges and probabilities). */
  get rngJob(): Rng.RngStream {
    return (this.jobStream ??= this.sim.rng(`harness/pcpu${this.pcpu}/thread${this.index}/job`))
  }

  /** An integer in `[lo, hi]` from the job stream: no draw (and no stream) when the range is a single value. */
  drawJob(lo: number, hi: number): number {
    return lo === hi ? lo : this.rngJob.int(lo, hi)
  }

  /** The job number of the `i`-th pending release (0: the next to start). */
  pendingJobNo(i: number): number {
    return this.nextJobNo - this.releases.length + i
  }

  /** Sets the arrival process of a declared thread. */
  arrivals(a: ThreadSpec["arrivals"]): void {
    this.firstReleaseNs = a.kind === "explicit" ? (a.releasesNs.length > 0 ? a.releasesNs[0]! : -1) : (a.offsetNs ?? 0)
    switch (a.kind) {
      case "periodic": this.arrKind = ARR_PERIODIC; this.arrA = a.periodNs; this.arrB = a.offsetNs ?? 0; break
      case "sporadic": this.arrKind = ARR_SPORADIC; this.arrA = a.minInterArrivalNs; this.arrB = a.maxExtraNs ?? 0; break
      case "poisson": this.arrKind = ARR_POISSON; this.arrA = a.meanInterArrivalNs; break
      case "explicit": this.arrKind = ARR_EXPLICIT; this.arrTimes = a.releasesNs; break
    }
  }

  /** The release after one at `nowNs` (-1: none); draws from the arrivals stream when the process is random. */
  nextReleaseAfter(nowNs: number): number {
    switch (this.arrKind) {
      case ARR_PERIODIC: return nowNs + this.arrA
      case ARR_SPORADIC: return nowNs + this.arrA + (this.arrB > 0 ? this.rngArrivals.int(0, this.arrB) : 0)
      case ARR_POISSON: return nowNs + this.rngArrivals.exponentialNs(this.arrA)
      case ARR_EXPLICIT: this.arrIdx++; return this.arrIdx < this.arrTimes.length ? this.arrTimes[this.arrIdx]! : -1
    }
    return -1
  }
}

const lo = (r: Range): number => (typeof r === "number" ? r : r[0])
const hi = (r: Range): number => (typeof r === "number" ? r : r[1])

/** A job program's steps, compiled. */
export const compile = (steps: readonly Step[]): CompiledStep[] =>
  steps.map((s) => {
    const c = new CompiledStep()
    if ("compute" in s) {
      c.kind = STEP_COMPUTE
      c.lo = lo(s.compute); c.hi = hi(s.compute)
    } else if ("sleep" in s) {
      c.kind = STEP_SLEEP
      c.lo = lo(s.sleep); c.hi = hi(s.sleep)
    } else {
      c.kind = STEP_IO
      c.ioVcpu = s.io.vcpu
      c.lo = lo(s.io.work); c.hi = hi(s.io.work)
      c.delayLo = s.io.delay === undefined ? 0 : lo(s.io.delay)
      c.delayHi = s.io.delay === undefined ? 0 : hi(s.io.delay)
      c.wait = s.io.wait ?? true
      c.probability = s.io.probability ?? 1
    }
    return c
  })

/**
 * The scheduler's VCPUs and threads of `spec`, and the harness's runtime record of each thread: the
 * declared threads (ids `0..threads.length-1`), then one service thread per I/O VCPU (its id in
 * `serviceThreadOf[vcpu]`, -1 for Main VCPUs, appended to it). `makeVcpu` may build a VCPU itself.
 */
export const buildThreads = (spec: PcpuSpec, sched: PcpuScheduler, sim: Simulation.Simulation, pcpu: number, makeVcpu: HarnessOptions["makeVcpu"], serviceThreadOf: number[]): HarnessThread[] => {
  spec.vcpus.forEach((v, i) => {
    const custom = makeVcpu?.(i, v, sched)
    if (custom !== undefined) sched.addVcpu(custom)
    else if (v.kind === "io") sched.addIoVcpu(v.budgetNs, v.periodNs)
    else sched.addMainVcpu(v.budgetNs, v.periodNs, 0, v)
  })
  const threads = spec.threads.map((t, i) => {
    sched.addThread(t.vcpu)
    const rel = relativeDeadline(t)
    const th = new HarnessThread(i, t.vcpu, false, compile(t.job), (t.jobs ?? []).map(compile), rel === Infinity ? spec.vcpus[t.vcpu]!.periodNs : rel, sim, pcpu)
    th.arrivals(t.arrivals)
    return th
  })
  spec.vcpus.forEach((v, i) => {
    if (v.kind !== "io") { serviceThreadOf.push(-1); return }
    const id = sched.addThread(i)
    serviceThreadOf.push(id)
    threads.push(new HarnessThread(id, i, true, [], [], Infinity, sim, pcpu))
  })
  return threads
}
