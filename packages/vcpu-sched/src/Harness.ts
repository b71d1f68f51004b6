/**
 * A single-PCPU harness on sim-core: builds a {@link PcpuScheduler} from a {@link PcpuSpec}, drives it
 * with the workload's job releases, computations, sleeps and I/O requests, and records the executed
 * schedule, per-thread job statistics and (optionally) trace records.
 *
 * Event classes (sim-core order at equal time, lower first): I/O device completions `Device`,
 * sleep expiries `Timer`, job releases `Workload` (each class in creation order), then the end of
 * the running thread's computation at {@link COMPUTE_END_PRIORITY}, then the scheduler invocation
 * at {@link INVOKE_PRIORITY}, after every other event of the same instant. So all the releases,
 * completions and expiries of an instant — also those a computation ending at that instant causes
 * (a device completing with no delay, a zero sleep) — are applied before the scheduler runs once
 * (a timer expiry and a release at the same time give one invocation, not two), and the order of
 * an instant's wakeups (hence of R, which breaks ties) never depends on when an event was posted
 * relative to the end of a computation.
 *
 * Invariants:
 * - at most one invocation event is pending; a preempting wakeup (W1) moves it to `now`, so the
 *   scheduler runs before simulated time advances (F9);
 * - a thread's remaining computation is decreased by exactly the wall time it held the CPU
 *   (`[runFrom, now)`), so segments and job completions are exact to the ns;
 * - memory does not grow with simulated time unless asked (`recordSchedule`, `recordJobs`) or
 *   unless job backlogs grow (an overloaded VCPU);
 * - no randomness except from sim-core streams named `harness/pcpu<p>/thread<i>/arrivals` and `/job`.
 *
 * NOTE: hot path written with reused per-thread records, one handler per event kind (ids, no
 * closures per event), and the end-of-computation event posted only when it falls at or before the
 * next timer expiry (otherwise the invocation accounts for the progress).
 *
 * @module
 */
import { Simulation, type Rng, type Trace } from "@qvsim/sim-core"
import { Ring } from "./internal/Ring.ts"
import { attach } from "./Invariants.ts"
import { PcpuScheduler, type Decision } from "./PcpuScheduler.ts"
import { Schedule } from "./Schedule.ts"
import type { Vcpu } from "./Vcpu.ts"
import { relativeDeadline, validate, type PcpuSpec, type Range, type Step, type ThreadSpec } from "./Workload.ts"

/** sim-core priority of the end of the running thread's computation: after every workload event and Probe (4). */
export const COMPUTE_END_PRIORITY = Simulation.EventClass.Probe + 1
/** sim-core priority of the scheduler invocation event: after the end of a computation, i.e. last in an instant. */
export const INVOKE_PRIORITY = Simulation.EventClass.Probe + 2

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
  /** PCPU number written in segments (default 0). */
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

/**
 * A job: of a declared thread (its releases) or of an I/O service thread (one I/O request; released
 * when it is handed over, no deadline).
 */
export interface JobRecord {
  readonly thread: number
  /** 0-based, per thread. */
  readonly job: number
  readonly releaseNs: number
  /** When the job first executed, ns (-1: it never did). */
  readonly firstStartNs: number
  /** When it completed, ns (-1: not by the end of the run; see {@link Harness.unfinishedJobs}). */
  readonly completeNs: number
  /** Absolute deadline `release + relative deadline`, ns (`Infinity` for I/O jobs). See {@link Harness.relativeDeadlineOf}. */
  readonly deadlineNs: number
  /** Times the job lost the PCPU while it could still run (a higher-priority VCPU, its budget, the round-robin quantum). */
  readonly preemptions: number
}

/** Per-thread job statistics. */
export class ThreadStats {
  released = 0
  completed = 0
  /** Jobs that completed after their deadline. */
  missed = 0
  maxResponseNs = 0
  sumResponseNs = 0
}

const STEP_COMPUTE = 0, STEP_SLEEP = 1, STEP_IO = 2
class CompiledStep {
  kind = STEP_COMPUTE
  lo = 0
  hi = 0
  ioVcpu = -1
  delayLo = 0
  delayHi = 0
  wait = true
  probability = 1
}

const IDLE = 0, COMPUTE = 1, SLEEP = 2, IOWAIT = 3
const ARR_NONE = 0, ARR_PERIODIC = 1, ARR_SPORADIC = 2, ARR_POISSON = 3, ARR_EXPLICIT = 4

class ThreadRt {
  readonly index: number
  readonly vcpu: number
  readonly service: boolean
  readonly program: CompiledStep[]
  readonly jobPrograms: CompiledStep[][]
  readonly releases = new Ring()
  readonly jobNos = new Ring()
  // service threads: pending I/O jobs
  readonly ioWork = new Ring()
  readonly ioDelay = new Ring()
  readonly ioRequester = new Ring()
  readonly ioWait = new Ring()
  status = IDLE
  curProgram: CompiledStep[] | null = null
  stepIdx = 0
  remainingNs = 0
  curReleaseNs = 0
  curJobNo = 0
  curIoRequester = -1
  curIoDelay = 0
  curIoWait = 0
  /** The current job: first execution (-1: not yet) and preemptions so far. */
  curFirstStartNs = -1
  curPreemptions = 0
  nextJobNo = 0
  arrKind = ARR_NONE
  arrA = 0
  arrB = 0
  arrIdx = 0
  arrTimes: readonly number[] = []
  readonly deadlineNs: number
  readonly rngArrivals: Rng.RngStream
  readonly rngJob: Rng.RngStream
  readonly stats = new ThreadStats()
  constructor(index: number, vcpu: number, service: boolean, program: CompiledStep[], jobPrograms: CompiledStep[][], deadlineNs: number, sim: Simulation.Simulation, pcpu: number) {
    this.index = index
    this.vcpu = vcpu
    this.service = service
    this.program = program
    this.jobPrograms = jobPrograms
    this.deadlineNs = deadlineNs
    this.rngArrivals = sim.rng(`harness/pcpu${pcpu}/thread${index}/arrivals`)
    this.rngJob = sim.rng(`harness/pcpu${pcpu}/thread${index}/job`)
  }
}

/** An integer in `[lo, hi]`: no draw when the range is a single value. */
const draw = (rng: Rng.RngStream, lo: number, hi: number): number => (lo === hi ? lo : rng.int(lo, hi))
const lo = (r: Range): number => (typeof r === "number" ? r : r[0])
const hi = (r: Range): number => (typeof r === "number" ? r : r[1])
const compile = (steps: readonly Step[]): CompiledStep[] =>
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

export class Harness {
  readonly sim: Simulation.Simulation
  readonly sched: PcpuScheduler
  /** PCPU number (segments, trace subject, random stream names). */
  readonly pcpu: number
  readonly spec: PcpuSpec
  readonly schedule: Schedule
  /** Completed jobs of the declared threads (`recordJobs`). */
  readonly jobs: JobRecord[] = []
  /** Completed I/O requests of the I/O VCPUs' service threads (`recordJobs`). */
  readonly ioJobs: JobRecord[] = []
  /** Thread ids of the declared threads are `0..threads.length-1`; I/O service threads follow. */
  readonly serviceThreadOf: number[] = []
  /** Largest gap between consecutive invocations seen, ns (F10). */
  maxInvocationGapNs = 0
  /** Largest delay between a preempting wakeup and the next invocation, ns (F9; 0 when correct). */
  maxPreemptionLatencyNs = 0
  private readonly threads: ThreadRt[] = []
  private readonly recordSchedule: boolean
  private readonly recordJobs: boolean
  private readonly traceOn: boolean
  private readonly onInvoke: ((harness: Harness, nowNs: number) => void) | undefined
  private readonly hRelease: number
  private readonly hStep: number
  private readonly hWake: number
  private readonly hIoDone: number
  private readonly hInvoke: number
  // invocation event
  private invokeHandle = -1
  private invokeAtNs = -1
  private inInvoke = false
  private lastInvokeNs = -1
  private preemptWantedNs = -1
  // running thread
  private running = -1
  private runningVcpu = -1
  private runFromNs = 0
  private stepHandle = -1
  private stepThread = -1
  private stepAtNs = -1
  private timerAtNs = Infinity
  // interrupt top halves
  private readonly irqNs: number
  private irqBusyUntilNs = 0
  // trace
  private readonly kDispatch: Trace.RecordKind | null = null
  private readonly kRelease: Trace.RecordKind | null = null
  private readonly kComplete: Trace.RecordKind | null = null
  private readonly subject: Trace.Subject | null = null

  constructor(spec: PcpuSpec, options: HarnessOptions = {}) {
    validate(spec)
    this.spec = spec
    this.sim = options.sim ?? new Simulation.Simulation(options.seed ?? 1)
    this.pcpu = options.pcpu ?? 0
    this.sched = options.scheduler ?? new PcpuScheduler(spec.options ?? {})
    if (this.sched.vcpus.length !== 0) throw new RangeError("Harness: the injected scheduler must be empty")
    this.schedule = new Schedule(this.pcpu, options.segmentsByJob ?? false)
    this.recordSchedule = options.recordSchedule ?? true
    this.recordJobs = options.recordJobs ?? false
    this.traceOn = options.trace ?? false
    this.onInvoke = options.onInvoke
    this.irqNs = options.irqTopHalfNs ?? 0
    if (!Number.isSafeInteger(this.irqNs) || this.irqNs < 0) throw new RangeError(`Harness: irqTopHalfNs ${this.irqNs} must be an integer ≥ 0`)
    const sched = this.sched
    spec.vcpus.forEach((v, i) => {
      const custom = options.makeVcpu?.(i, v, sched)
      if (custom !== undefined) sched.addVcpu(custom)
      else if (v.kind === "io") sched.addIoVcpu(v.budgetNs, v.periodNs)
      else sched.addMainVcpu(v.budgetNs, v.periodNs, 0, v)
    })
    const sim = this.sim
    spec.threads.forEach((t, i) => {
      sched.addThread(t.vcpu)
      this.threads.push(this.makeThread(i, t))
    })
    spec.vcpus.forEach((v, i) => {
      if (v.kind !== "io") { this.serviceThreadOf.push(-1); return }
      const id = sched.addThread(i)
      this.serviceThreadOf.push(id)
      this.threads.push(new ThreadRt(id, i, true, [], [], Infinity, sim, this.pcpu))
    })
    if (options.checkInvariants === true) {
      attach(sched, { fail: (message, v) => sim.fail(`pcpu ${this.pcpu}${v >= 0 ? ` VCPU ${spec.vcpus[v]?.name ?? v} (index ${v})` : ""}: ${message}`) })
    }
    this.hRelease = sim.register("harness.release", (a0) => this.onRelease(a0))
    this.hStep = sim.register("harness.computeDone", (a0) => this.onComputeDone(a0))
    this.hWake = sim.register("harness.wake", (a0) => this.onWake(a0))
    this.hIoDone = sim.register("harness.ioDone", (a0, a1) => this.onIoDone(a0, a1))
    this.hInvoke = sim.register("harness.invoke", () => this.onInvokeEvent())
    if (this.traceOn) {
      this.kDispatch = sim.trace.kind("sched.dispatch", ["vcpu", "thread", "timerAt", "budget"])
      this.kRelease = sim.trace.kind("job.release", ["thread", "job"])
      this.kComplete = sim.trace.kind("job.complete", ["thread", "job", "response"])
      this.subject = sim.trace.subject(`pcpu${this.pcpu}`, this.pcpu)
    }
    // First releases, then a first invocation at 0 (the scheduler starts with the PCPU).
    for (const t of this.threads) if (!t.service) this.scheduleFirstRelease(t)
    this.invokeHandle = sim.at(0, INVOKE_PRIORITY, this.hInvoke)
    this.invokeAtNs = 0
  }

  /** Runs until `untilNs` (inclusive of events at that time) and accounts the running thread up to it. */
  run(untilNs: number): this {
    this.sim.run({ untilNs })
    this.flush(untilNs)
    return this
  }

  /** Accounts the running thread's execution up to `nowNs` (segments, remaining work); call after `sim.run`. */
  flush(nowNs: number): void {
    this.progress(nowNs)
  }

  /** Job statistics of thread `thread`. */
  statsOf(thread: number): ThreadStats {
    return this.threads[thread]!.stats
  }

  /** Number of threads (declared + I/O service threads). */
  get threadCount(): number {
    return this.threads.length
  }

  /** Total jobs completed by all threads. */
  get jobsCompleted(): number {
    let n = 0
    for (const t of this.threads) n += t.stats.completed
    return n
  }

  /**
   * The relative deadline of declared thread `thread`'s jobs, ns: its `deadlineNs`, else the period
   * (periodic) or minimum inter-arrival time (sporadic) of its arrivals, else its VCPU's period.
   */
  relativeDeadlineOf(thread: number): number {
    return this.threads[thread]!.deadlineNs
  }

  /** Jobs released but not completed by now (in progress first, then queued), with `completeNs = -1`. */
  unfinishedJobs(): JobRecord[] {
    const out: JobRecord[] = []
    for (const t of this.threads) {
      if (t.service) {
        if (t.status === COMPUTE) out.push({ thread: t.index, job: t.stats.completed, releaseNs: t.curReleaseNs, firstStartNs: t.curFirstStartNs, completeNs: -1, deadlineNs: Infinity, preemptions: t.curPreemptions })
        continue
      }
      if (t.curProgram !== null) out.push({ thread: t.index, job: t.curJobNo, releaseNs: t.curReleaseNs, firstStartNs: t.curFirstStartNs, completeNs: -1, deadlineNs: t.curReleaseNs + t.deadlineNs, preemptions: t.curPreemptions })
      for (let i = 0; i < t.releases.length; i++) {
        const r = t.releases.at(i)
        out.push({ thread: t.index, job: t.jobNos.at(i), releaseNs: r, firstStartNs: -1, completeNs: -1, deadlineNs: r + t.deadlineNs, preemptions: 0 })
      }
    }
    return out
  }

  /** Whether thread `thread` currently has work it could run (its VCPU has "pending work"). */
  hasPendingWork(thread: number): boolean {
    return this.threads[thread]!.status === COMPUTE
  }

  // ---------------------------------------------------------------- set-up

  private makeThread(i: number, t: ThreadSpec): ThreadRt {
    const rel = relativeDeadline(t)
    const deadline = rel === Infinity ? this.spec.vcpus[t.vcpu]!.periodNs : rel
    const rt = new ThreadRt(i, t.vcpu, false, compile(t.job), (t.jobs ?? []).map(compile), deadline, this.sim, this.pcpu)
    const a = t.arrivals
    switch (a.kind) {
      case "periodic": rt.arrKind = ARR_PERIODIC; rt.arrA = a.periodNs; rt.arrB = a.offsetNs ?? 0; break
      case "sporadic": rt.arrKind = ARR_SPORADIC; rt.arrA = a.minInterArrivalNs; rt.arrB = a.maxExtraNs ?? 0; break
      case "poisson": rt.arrKind = ARR_POISSON; rt.arrA = a.meanInterArrivalNs; break
      case "explicit": rt.arrKind = ARR_EXPLICIT; rt.arrTimes = a.releasesNs; break
    }
    return rt
  }

  private scheduleFirstRelease(t: ThreadRt): void {
    const a = this.spec.threads[t.index]!.arrivals
    let first = -1
    if (a.kind === "explicit") first = a.releasesNs.length > 0 ? a.releasesNs[0]! : -1
    else first = a.offsetNs ?? 0
    if (first >= 0) this.sim.at(first, Simulation.EventClass.Workload, this.hRelease, t.index)
  }

  // ---------------------------------------------------------------- event handlers

  private onRelease(th: number): void {
    const t = this.threads[th]!
    const now = this.sim.now
    t.releases.push(now)
    t.jobNos.push(t.nextJobNo++)
    t.stats.released++
    if (this.traceOn) this.sim.trace.emit(this.kRelease!, this.subject!, th, t.nextJobNo - 1)
    // next release
    let next = -1
    switch (t.arrKind) {
      case ARR_PERIODIC: next = now + t.arrA; break
      case ARR_SPORADIC: next = now + t.arrA + (t.arrB > 0 ? t.rngArrivals.int(0, t.arrB) : 0); break
      case ARR_POISSON: next = now + t.rngArrivals.exponentialNs(t.arrA); break
      case ARR_EXPLICIT: t.arrIdx++; next = t.arrIdx < t.arrTimes.length ? t.arrTimes[t.arrIdx]! : -1; break
    }
    if (next >= 0) this.sim.at(next, Simulation.EventClass.Workload, this.hRelease, th)
    if (t.status === IDLE) this.resume(t, now)
  }

  /** The running thread's computation step ends now. */
  private onComputeDone(th: number): void {
    this.stepHandle = -1
    const now = this.sim.now
    if (this.running !== th) return
    this.progress(now)
    this.afterCompute(this.threads[th]!, now)
  }

  /** A sleep ended (or an I/O wait completed) for thread `th`. */
  private onWake(th: number): void {
    const t = this.threads[th]!
    t.stepIdx++
    this.resume(t, this.sim.now)
  }

  /** A device finished the I/O of a request from thread `requester` (`wait` = 1 when it waits). */
  private onIoDone(requester: number, wait: number): void {
    if (this.irqNs > 0) this.topHalf(this.sim.now)
    if (wait === 1) this.onWake(requester)
  }

  /** An interrupt's top half runs now for `irqTopHalfNs`: the running thread is held back meanwhile. */
  private topHalf(now: number): void {
    const start = now > this.irqBusyUntilNs ? now : this.irqBusyUntilNs
    this.irqBusyUntilNs = start + this.irqNs
    const th = this.running
    if (th < 0) return
    this.progress(now)
    // A computation that ends at this instant is over: its end (pending at `now`) is not delayed.
    if (this.threads[th]!.remainingNs === 0) return
    if (this.runFromNs < this.irqBusyUntilNs) this.runFromNs = this.irqBusyUntilNs
    this.postComputeEnd(this.threads[th]!, this.runFromNs)
  }

  private onInvokeEvent(): void {
    const now = this.sim.now
    this.invokeHandle = -1
    this.invokeAtNs = -1
    this.inInvoke = true
    this.progress(now)
    const th = this.running
    if (th >= 0 && this.threads[th]!.remainingNs === 0) this.afterCompute(this.threads[th]!, now)
    const d = this.sched.invoke(now)
    // A job that has executed and could go on loses the PCPU: one preemption.
    if (th >= 0 && d.thread !== th) {
      const t = this.threads[th]!
      if (t.status === COMPUTE && t.curFirstStartNs >= 0) t.curPreemptions++
    }
    if (this.lastInvokeNs >= 0 && now - this.lastInvokeNs > this.maxInvocationGapNs) this.maxInvocationGapNs = now - this.lastInvokeNs
    this.lastInvokeNs = now
    if (this.preemptWantedNs >= 0) {
      if (now - this.preemptWantedNs > this.maxPreemptionLatencyNs) this.maxPreemptionLatencyNs = now - this.preemptWantedNs
      this.preemptWantedNs = -1
    }
    this.inInvoke = false
    if (this.traceOn) this.sim.trace.emit(this.kDispatch!, this.subject!, d.vcpu, d.thread, d.timerAtNs === Infinity ? -1 : d.timerAtNs, d.budgetNs)
    this.apply(d)
    if (this.onInvoke !== undefined) this.onInvoke(this, now)
  }

  // ---------------------------------------------------------------- thread programs

  /** The running thread finished a computation step at `now`: advance its program. */
  private afterCompute(t: ThreadRt, now: number): void {
    if (t.service) this.finishIoJob(t, now)
    else t.stepIdx++
    if (this.advance(t, now)) {
      // Still computing: post its end if it falls before the timer (invocations account for the rest).
      if (!this.inInvoke) this.postComputeEnd(t, now)
    } else {
      this.sched.block(t.index, now)
      this.running = -1
      this.requestInvoke()
    }
  }

  /** A blocked thread may continue (new job, sleep over, I/O done): run its program, wake it if it computes. */
  private resume(t: ThreadRt, now: number): void {
    if (this.advance(t, now)) this.wake(t.index, now)
  }

  private wake(th: number, now: number): void {
    if (this.sched.wakeup(th, now)) this.wantInvoke(now)
  }

  private wantInvoke(now: number): void {
    if (this.preemptWantedNs < 0) this.preemptWantedNs = now
    this.requestInvoke()
  }

  /**
   * Runs `t`'s program from its current step until it must compute (returns true, `remainingNs` set)
   * or block (returns false: idle, sleeping or waiting for I/O).
   */
  private advance(t: ThreadRt, now: number): boolean {
    if (t.service) return this.nextIoJob(t)
    for (;;) {
      let prog = t.curProgram
      if (prog === null) {
        if (t.releases.length === 0) {
          t.status = IDLE
          return false
        }
        t.curReleaseNs = t.releases.shift()
        t.curJobNo = t.jobNos.shift()
        t.curFirstStartNs = -1
        t.curPreemptions = 0
        prog = t.curJobNo < t.jobPrograms.length ? t.jobPrograms[t.curJobNo]! : t.program
        t.curProgram = prog
        t.stepIdx = 0
      }
      if (t.stepIdx >= prog.length) {
        this.completeJob(t, now)
        continue
      }
      const step = prog[t.stepIdx]!
      if (step.kind === STEP_COMPUTE) {
        const d = draw(t.rngJob, step.lo, step.hi)
        if (d === 0) { t.stepIdx++; continue }
        t.remainingNs = d
        t.status = COMPUTE
        return true
      }
      if (step.kind === STEP_SLEEP) {
        const d = draw(t.rngJob, step.lo, step.hi)
        t.status = SLEEP
        this.sim.at(now + d, Simulation.EventClass.Timer, this.hWake, t.index)
        return false
      }
      // STEP_IO
      if (step.probability < 1 && !(t.rngJob.float() < step.probability)) { t.stepIdx++; continue }
      const work = draw(t.rngJob, step.lo, step.hi)
      const delay = draw(t.rngJob, step.delayLo, step.delayHi)
      const svc = this.threads[this.serviceThreadOf[step.ioVcpu]!]!
      svc.ioWork.push(work)
      svc.ioDelay.push(delay)
      svc.ioRequester.push(t.index)
      svc.ioWait.push(step.wait ? 1 : 0)
      if (svc.status === IDLE) this.nextIoJob(svc) // may complete a zero-work request at once
      if (svc.status === COMPUTE && this.sched.requestIo(step.ioVcpu, this.sched.vcpus[t.vcpu]!.periodNs, svc.index, now)) this.wantInvoke(now)
      if (step.wait) {
        t.status = IOWAIT
        return false
      }
      t.stepIdx++
    }
  }

  private completeJob(t: ThreadRt, now: number): void {
    const response = now - t.curReleaseNs
    const s = t.stats
    s.completed++
    s.sumResponseNs += response
    if (response > s.maxResponseNs) s.maxResponseNs = response
    if (response > t.deadlineNs) s.missed++
    if (this.recordJobs) {
      this.jobs.push({
        thread: t.index, job: t.curJobNo, releaseNs: t.curReleaseNs, firstStartNs: t.curFirstStartNs, completeNs: now,
        deadlineNs: t.curReleaseNs + t.deadlineNs, preemptions: t.curPreemptions,
      })
    }
    if (this.traceOn) this.sim.trace.emit(this.kComplete!, this.subject!, t.index, t.curJobNo, response)
    t.curProgram = null
  }

  /** Service thread: take the next I/O job if any (true = computing). */
  private nextIoJob(t: ThreadRt): boolean {
    if (t.status === COMPUTE && t.remainingNs > 0) return true
    if (t.ioWork.length === 0) {
      t.status = IDLE
      return false
    }
    t.remainingNs = t.ioWork.shift()
    t.curIoDelay = t.ioDelay.shift()
    t.curIoRequester = t.ioRequester.shift()
    t.curIoWait = t.ioWait.shift()
    t.curReleaseNs = this.sim.now
    t.curFirstStartNs = -1
    t.curPreemptions = 0
    t.status = COMPUTE
    if (t.remainingNs === 0) {
      this.finishIoJob(t, this.sim.now)
      return this.nextIoJob(t)
    }
    return true
  }

  private finishIoJob(t: ThreadRt, now: number): void {
    if (this.recordJobs) {
      this.ioJobs.push({ thread: t.index, job: t.stats.completed, releaseNs: t.curReleaseNs, firstStartNs: t.curFirstStartNs, completeNs: now, deadlineNs: Infinity, preemptions: t.curPreemptions })
    }
    t.stats.completed++
    t.remainingNs = 0
    this.sim.at(now + t.curIoDelay, Simulation.EventClass.Device, this.hIoDone, t.curIoRequester, t.curIoWait)
  }

  // ---------------------------------------------------------------- scheduler glue

  /** Asks for an invocation at `now` (moves the pending one earlier); no-op inside an invocation. */
  protected requestInvoke(): void {
    if (this.inInvoke) return
    const now = this.sim.now
    if (this.invokeAtNs === now) return
    if (this.invokeHandle >= 0) this.sim.cancel(this.invokeHandle)
    this.invokeHandle = this.sim.at(now, INVOKE_PRIORITY, this.hInvoke)
    this.invokeAtNs = now
  }

  /** Accounts the running thread's execution in `[runFrom, now)`. */
  private progress(now: number): void {
    const th = this.running
    if (th < 0) return
    const from = this.runFromNs
    if (now <= from) return
    const t = this.threads[th]!
    t.remainingNs -= now - from
    if (t.remainingNs < 0) throw new RangeError(`Harness: thread ${th} ran past the end of its computation at ${now}ns`)
    if (t.curFirstStartNs < 0) t.curFirstStartNs = from
    if (this.recordSchedule) this.schedule.add(from, now, this.runningVcpu, th, t.service ? t.stats.completed : t.curJobNo)
    this.runFromNs = now
  }

  private apply(d: Decision): void {
    this.running = d.thread
    this.runningVcpu = d.vcpu
    this.runFromNs = d.runFromNs > this.irqBusyUntilNs ? d.runFromNs : this.irqBusyUntilNs
    this.timerAtNs = d.timerAtNs
    if (d.thread >= 0) this.postComputeEnd(this.threads[d.thread]!, this.runFromNs)
    else this.cancelComputeEnd()
    if (d.timerAtNs !== Infinity) {
      if (this.invokeHandle >= 0) this.sim.cancel(this.invokeHandle)
      // NOTE: straight to the queue (timerAtNs ≥ now by construction): skips sim.at's second validation.
      this.invokeHandle = this.sim.queue.push(d.timerAtNs, INVOKE_PRIORITY, this.hInvoke)
      this.invokeAtNs = d.timerAtNs
    }
  }

  /** Posts (or keeps) the end-of-computation event of the running thread if it falls at or before the timer. */
  private postComputeEnd(t: ThreadRt, fromNs: number): void {
    const end = fromNs + t.remainingNs
    // At the timer's instant too: the computation must end (and what it causes happen) before the invocation.
    if (end > this.timerAtNs) {
      this.cancelComputeEnd()
      return
    }
    // NOTE: an unchanged pending event is kept (same thread still running, same end) to save a cancel+push.
    if (this.stepHandle >= 0 && this.stepThread === t.index && this.stepAtNs === end) return
    this.cancelComputeEnd()
    this.stepHandle = this.sim.at(end, COMPUTE_END_PRIORITY, this.hStep, t.index)
    this.stepThread = t.index
    this.stepAtNs = end
  }

  private cancelComputeEnd(): void {
    if (this.stepHandle >= 0) {
      this.sim.cancel(this.stepHandle)
      this.stepHandle = -1
    }
  }
}
