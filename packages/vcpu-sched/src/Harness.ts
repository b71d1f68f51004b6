/**
 * A single-PCPU harness on sim-core: builds a {@link PcpuScheduler} from a {@link PcpuSpec}, drives it
 * with the workload's job releases, computations, sleeps and I/O requests, and records the executed
 * schedule, per-thread job statistics and (optionally) trace records.
 *
 * It invokes the scheduler once per instant ({@link InvokeTiming.EndOfInstant}; `Invocation.ts`
 * says how and why that differs from the kernel). Event classes (sim-core order at equal time,
 * lower first): I/O device completions `Device`, sleep expiries `Timer`, job releases `Workload`
 * (each class in creation order), then the end of the running thread's computation at
 * {@link COMPUTE_END_PRIORITY}, then the scheduler invocation at {@link INVOKE_PRIORITY}. So all the
 * releases, completions and expiries of an instant — also those a computation ending at that
 * instant causes (a device completing with no delay, a zero sleep) — are applied before the
 * scheduler runs. Job statistics, segments and the I/O service queues are the ones the kernel
 * uses too (`Jobs.ts`, `IoQueue.ts`); the threads' runtime records are in `HarnessThread.ts`, what they do between decisions
 * (job programs, I/O service, job records) in `HarnessPrograms.ts`, an idle PCPU's timer ticks in
 * `HarnessIdleTicks.ts`, the options in `HarnessOptions.ts`.
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
 * closures per event), the end-of-computation event asked for only when it falls at or before the
 * next timer expiry (otherwise the invocation accounts for the progress), and the harness's own two
 * events (invocation, end of computation) run in place, not posted, whenever one is the run's very
 * next event (`settle`; sim-core `runNextInPlace`: same order, same event count).
 *
 * @module
 */
import { Simulation, Trace } from "@qvsim/sim-core"
import { claimPcpu, type HarnessOptions } from "./HarnessOptions.ts"
import { HarnessPrograms, type JobTrace } from "./HarnessPrograms.ts"
import { buildThreads, COMPUTE, IDLE, type HarnessThread, type ThreadStats } from "./HarnessThread.ts"
import { runIdleTicks } from "./HarnessIdleTicks.ts"
import { attach } from "./Invariants.ts"
import { COMPUTE_END_PRIORITY, INVOKE_PRIORITY, InvokeTiming } from "./Invocation.ts"
import { accountPiece, type JobRecord } from "./Jobs.ts"
import { PcpuScheduler, type Decision } from "./PcpuScheduler.ts"
import { Schedule } from "./Schedule.ts"
import { validate, type PcpuSpec } from "./Workload.ts"

export { COMPUTE_END_PRIORITY, INVOKE_PRIORITY } from "./Invocation.ts"
export { ThreadStats } from "./HarnessThread.ts"
export type { HarnessOptions } from "./HarnessOptions.ts"
export type { JobRecord } from "./Jobs.ts"

const ranPast = (th: number, now: number): never => {
  throw new RangeError(`Harness: thread ${th} ran past the end of its computation at ${now}ns`)
}

/**
 * What a harness does next (`Harness.settle`): look at its own events, run an invocation or the end
 * of the running computation (due now, in place), or nothing.
 */
const OWN = 0, INVOKE = 1, STEP = 2, DONE = 3

export class Harness {
  /** When this driver invokes the scheduler (see `Invocation.ts`). */
  readonly invokeTiming = InvokeTiming.EndOfInstant
  readonly sim: Simulation.Simulation
  readonly sched: PcpuScheduler
  /** PCPU number (segments, trace subject, random stream names). */
  readonly pcpu: number
  readonly spec: PcpuSpec
  readonly schedule: Schedule
  /** Completed jobs of the declared threads (`recordJobs`). */
  readonly jobs: JobRecord[]
  /** Completed I/O requests of the I/O VCPUs' service threads (`recordJobs`). */
  readonly ioJobs: JobRecord[]
  /** Thread ids of the declared threads are `0..threads.length-1`; I/O service threads follow. */
  readonly serviceThreadOf: number[] = []
  /** Largest gap between consecutive invocations seen, ns (F10). */
  maxInvocationGapNs = 0
  /** Largest delay between a preempting wakeup and the next invocation, ns (F9; 0 when correct). */
  maxPreemptionLatencyNs = 0
  private readonly threads: HarnessThread[]
  /** `schedule` when segments are recorded, else null. */
  private readonly recorded: Schedule | null
  /** The threads' programs, job completions and records. */
  private readonly programs: HarnessPrograms
  private readonly traceOn: boolean
  private readonly onInvoke: ((harness: Harness, nowNs: number) => void) | undefined
  private readonly hRelease: number
  private readonly hStep: number
  private readonly hInvoke: number
  // This harness's own events, each pending at most once: the invocation and the end of the running
  // computation. Time -1: none; handle -1 with a time: not posted yet (`settle` runs it in place or posts it).
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
  /** The trace's pending records, and the heads of this harness's `sched.dispatch` and `job.release` records (written inline: see `invocations`). */
  private readonly out: Trace.PrintBatch | null = null
  private readonly dispatchHead: number = 0
  private readonly releaseHead: number = 0

  constructor(spec: PcpuSpec, options: HarnessOptions = {}) {
    validate(spec)
    this.spec = spec
    this.sim = options.sim ?? new Simulation.Simulation(options.seed ?? 1)
    this.pcpu = options.pcpu ?? 0
    claimPcpu(this.sim, this.pcpu)
    this.sched = options.scheduler ?? new PcpuScheduler(spec.options ?? {})
    if (this.sched.vcpus.length !== 0) throw new RangeError("Harness: the injected scheduler must be empty")
    this.schedule = new Schedule(this.pcpu, options.segmentsByJob ?? false)
    this.recorded = (options.recordSchedule ?? true) ? this.schedule : null
    this.traceOn = options.trace ?? false
    this.onInvoke = options.onInvoke
    this.irqNs = options.irqTopHalfNs ?? 0
    if (!Number.isSafeInteger(this.irqNs) || this.irqNs < 0) throw new RangeError(`Harness: irqTopHalfNs ${this.irqNs} must be an integer ≥ 0`)
    const sched = this.sched, sim = this.sim
    this.threads = buildThreads(spec, sched, sim, this.pcpu, options.makeVcpu, this.serviceThreadOf)
    if (options.checkInvariants === true) {
      attach(sched, { fail: (message, v) => sim.fail(`pcpu ${this.pcpu}${v >= 0 ? ` VCPU ${spec.vcpus[v]?.name ?? v} (index ${v})` : ""}: ${message}`) })
    }
    // Each handler ends by running what of this harness comes next in place, or posting it (`settle`).
    this.hRelease = sim.register("harness.release", (a0) => { this.onRelease(a0); this.settle(OWN) })
    this.hStep = sim.register("harness.computeDone", (a0) => { this.onComputeDone(a0); this.settle(OWN) })
    const hWake = sim.register("harness.wake", (a0) => { this.onWake(a0); this.settle(OWN) })
    const hIoDone = sim.register("harness.ioDone", (a0, a1) => { this.onIoDone(a0, a1); this.settle(OWN) })
    this.hInvoke = sim.register("harness.invoke", () => this.settle(INVOKE))
    let jobTrace: JobTrace | null = null
    if (this.traceOn) {
      const kDispatch = sim.trace.kind("sched.dispatch", ["vcpu", "thread", "timerAt", "budget"])
      const kRelease = sim.trace.kind("job.release", ["thread", "job"])
      const kComplete = sim.trace.kind("job.complete", ["thread", "job", "response"])
      const subject = sim.trace.subject(`pcpu${this.pcpu}`, this.pcpu)
      this.out = sim.trace.pending
      this.dispatchHead = Trace.Trace.head(kDispatch, subject)
      this.releaseHead = Trace.Trace.head(kRelease, subject)
      jobTrace = { out: this.out, completeHead: Trace.Trace.head(kComplete, subject) }
    }
    this.programs = new HarnessPrograms(sim, sched, this.threads, this.serviceThreadOf, options.recordJobs ?? false, jobTrace, (now) => this.wantInvoke(now), hWake, hIoDone)
    this.jobs = this.programs.jobs
    this.ioJobs = this.programs.ioJobs
    // First releases, then a first invocation at 0 (the scheduler starts with the PCPU).
    for (const t of this.threads) if (t.firstReleaseNs >= 0) sim.at(t.firstReleaseNs, Simulation.EventClass.Workload, this.hRelease, t.index)
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
    return this.programs.unfinishedJobs()
  }

  /** Whether thread `thread` currently has work it could run (its VCPU has "pending work"). */
  hasPendingWork(thread: number): boolean {
    return this.threads[thread]!.status === COMPUTE
  }

  // ---------------------------------------------------------------- event handlers

  private onRelease(th: number): void {
    const t = this.threads[th]!
    const now = this.sim.now
    t.releases.push(now)
    t.nextJobNo++
    t.stats.released++
    if (this.traceOn) {
      // `trace.emit2(kRelease, subject, thread, job)` written inline (NOTE: speed, see `invocations`).
      const out = this.out!
      let p = out.pos
      if (p >= out.limit) p = out.flush() | 0
      const buf = out.buf
      buf[p] = this.releaseHead
      buf[p + 1] = now
      buf[p + 2] = th
      buf[p + 3] = t.nextJobNo - 1
      out.pos = p + 4
      if (this.sim.trace.hasSinks) this.sim.trace.deliverAt(p)
    }
    const next = t.nextReleaseAfter(now)
    if (next >= 0) this.sim.at(next, Simulation.EventClass.Workload, this.hRelease, th)
    if (t.status === IDLE) this.resume(t, now)
  }

  /** The running thread's computation step ends now (its event popped, or run in place). */
  private onComputeDone(th: number): void {
    this.stepHandle = -1
    this.stepAtNs = -1
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
    this.postComputeEnd(th, this.runFromNs)
  }

  /**
   * Runs `next` (one of this harness's own events, due now, or none) and then, while its next own
   * event (the earlier of the invocation and the end of the running computation, not posted yet) is
   * the run's very next event, that one in place; when it is not, posts what is not posted yet.
   *
   * NOTE: for speed: an own event that is the run's next one runs here (sim-core
   * `runNextInPlace`: the same events in the same order, the same event count), not through the
   * queue. Own events asked for during an event are posted at its end, not at once: nothing else
   * posts at their priorities (COMPUTE_END_PRIORITY, INVOKE_PRIORITY) within this harness's events,
   * so no order changes. With an `onInvoke` hook nothing runs in place.
   */
  private settle(next: number): void {
    while (next !== DONE) {
      if (next === INVOKE) next = this.invocations()
      else {
        if (next === STEP) this.onComputeDone(this.stepThread)
        next = this.nextOwn()
        if (next === DONE) this.postOwn()
      }
    }
  }

  /**
   * This harness's next own event not posted yet (the earlier of the two): when it is the run's
   * very next event, it is due now (INVOKE or STEP: run it); else DONE (then post them: `postOwn`).
   */
  private nextOwn(): number {
    const stepAt = this.stepHandle < 0 ? this.stepAtNs : -1
    const invokeAt = this.invokeHandle < 0 ? this.invokeAtNs : -1
    if (stepAt < 0 && invokeAt < 0) return DONE
    // The end of a computation goes first at equal times (COMPUTE_END_PRIORITY < INVOKE_PRIORITY).
    const step = stepAt >= 0 && (invokeAt < 0 || stepAt <= invokeAt)
    if (this.onInvoke === undefined && this.sim.runNextInPlace(step ? stepAt : invokeAt, step ? this.hStep : this.hInvoke)) {
      if (step) {
        this.stepAtNs = -1
        return STEP
      }
      this.invokeAtNs = -1
      return INVOKE
    }
    return DONE
  }

  /** Posts this harness's own events that are not posted yet. */
  private postOwn(): void {
    if (this.stepAtNs >= 0 && this.stepHandle < 0) this.stepHandle = this.sim.at(this.stepAtNs, COMPUTE_END_PRIORITY, this.hStep, this.stepThread)
    // NOTE: straight to the queue (≥ now by construction): skips sim.at's second validation.
    if (this.invokeAtNs >= 0 && this.invokeHandle < 0) this.invokeHandle = this.sim.queue.push(this.invokeAtNs, INVOKE_PRIORITY, this.hInvoke)
  }

  /**
   * The invocation due now, then the next ones in place while the timer's is the run's very next
   * event; returns what follows (STEP: the end of the running computation is due; DONE).
   *
   * NOTE: the timer's invocations loop here (the usual event of a run), not through `settle`: V8
   * compiles this loop as one unit and inlines the calls each invocation makes.
   */
  private invocations(): number {
    for (;;) {
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
        t.job.lostCore(t.status === COMPUTE)
      }
      if (this.lastInvokeNs >= 0 && now - this.lastInvokeNs > this.maxInvocationGapNs) this.maxInvocationGapNs = now - this.lastInvokeNs
      this.lastInvokeNs = now
      if (this.preemptWantedNs >= 0) {
        if (now - this.preemptWantedNs > this.maxPreemptionLatencyNs) this.maxPreemptionLatencyNs = now - this.preemptWantedNs
        this.preemptWantedNs = -1
      }
      this.inInvoke = false
      // Apply the decision: what runs from when, the end of its computation, the timer (`settle` posts them).
      const vcpu = d.vcpu, thread = d.thread, timerAt = d.timerAtNs
      this.running = thread
      this.runningVcpu = vcpu
      this.runFromNs = d.runFromNs > this.irqBusyUntilNs ? d.runFromNs : this.irqBusyUntilNs
      this.timerAtNs = timerAt
      this.postComputeEnd(thread, this.runFromNs)
      // No invocation is pending (this one was it): the timer's is the next.
      if (timerAt !== Infinity) this.invokeAtNs = timerAt
      if (this.traceOn) {
        // The `sched.dispatch` record, i.e. `trace.emit4(kDispatch, subject, vcpu, thread, timerAt, budget)`,
        // written inline (NOTE: speed, see sim-core `TraceEmit`, "Inline emitters"): no call to inline,
        // so nothing here depends on V8's inlining budget or on how hot the call was before. Written
        // after the decision is applied (nothing there emits records), from the values already read.
        const out = this.out!
        let p = out.pos
        if (p >= out.limit) p = out.flush() | 0
        const buf = out.buf
        buf[p] = this.dispatchHead
        buf[p + 1] = now
        buf[p + 2] = vcpu
        buf[p + 3] = thread
        buf[p + 4] = timerAt === Infinity ? -1 : timerAt
        buf[p + 5] = d.budgetNs
        out.pos = p + 6
        if (this.sim.trace.hasSinks) this.sim.trace.deliverAt(p)
      }
      if (this.onInvoke !== undefined) {
        // The hook (tests) may post events or stop the run: the harness's own events are posted first.
        this.postOwn()
        this.onInvoke(this, now)
        return DONE
      }
      if (thread < 0) this.idleTicks()
      const next = this.nextOwn()
      if (next === INVOKE) continue
      if (next === DONE) this.postOwn()
      return next
    }
  }

  /**
   * After an invocation that left the PCPU idle: the timer's next invocations, in a row, while the
   * PCPU idles with nothing runnable and each is the run's very next event (`HarnessIdleTicks.ts`),
   * and the scheduler's state set once (`PcpuScheduler.idleInvocations`).
   *
   * NOTE: for speed (see `HarnessIdleTicks.ts`). Not with record sinks (`hasSinks`), an `onInvoke`
   * hook, an injected scheduler subclass or observer (`idleTimerNs` is then -1): they see each
   * invocation the long way.
   */
  private idleTicks(): void {
    const step = this.sched.idleTimerNs()
    if (step < 0 || this.onInvoke !== undefined || this.stepAtNs >= 0 || this.stepHandle >= 0 || this.invokeHandle >= 0 || this.preemptWantedNs >= 0 || this.sim.trace.hasSinks) return
    const n = runIdleTicks(this.sim, this.hInvoke, this.invokeAtNs, step, this.traceOn ? this.out : null, this.dispatchHead)
    if (n === 0) return
    const last = this.invokeAtNs + (n - 1) * step
    const d = this.sched.idleInvocations(n, last)
    // Each gap between these invocations (and from the one before) is `step`.
    if (step > this.maxInvocationGapNs) this.maxInvocationGapNs = step
    this.lastInvokeNs = last
    this.runFromNs = d.runFromNs > this.irqBusyUntilNs ? d.runFromNs : this.irqBusyUntilNs
    this.timerAtNs = d.timerAtNs
    this.invokeAtNs = d.timerAtNs
  }

  // ---------------------------------------------------------------- thread programs

  /** The running thread finished a computation step at `now`: advance its program. */
  private afterCompute(t: HarnessThread, now: number): void {
    const programs = this.programs
    programs.stepDone(t, now)
    if (programs.advance(t, now)) {
      // Still computing: post its end if it falls before the timer (invocations account for the rest).
      if (!this.inInvoke) this.postComputeEnd(t.index, now)
    } else {
      this.sched.block(t.index, now)
      this.running = -1
      this.requestInvoke()
    }
  }

  /** A blocked thread may continue (new job, sleep over, I/O done): run its program, wake it if it computes. */
  private resume(t: HarnessThread, now: number): void {
    if (this.programs.advance(t, now)) this.wake(t.index, now)
  }

  private wake(th: number, now: number): void {
    if (this.sched.wakeup(th, now)) this.wantInvoke(now)
  }

  private wantInvoke(now: number): void {
    if (this.preemptWantedNs < 0) this.preemptWantedNs = now
    this.requestInvoke()
  }

  // ---------------------------------------------------------------- scheduler glue

  /**
   * Asks for an invocation at `now` (moves the pending one earlier); no-op inside an invocation.
   * The {@link InvokeTiming.EndOfInstant} hook: tests override it to inject a driver that forgets to invoke.
   */
  protected requestInvoke(): void {
    if (this.inInvoke) return
    const now = this.sim.now
    if (this.invokeAtNs === now) return
    if (this.invokeHandle >= 0) this.sim.cancel(this.invokeHandle)
    // Posted (or run in place) when the current event ends (`settle`).
    this.invokeHandle = -1
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
    if (t.remainingNs < 0) ranPast(th, now)
    accountPiece(t.job, this.recorded, from, now, from, this.runningVcpu, th, t.service ? t.stats.completed : t.curJobNo)
    this.runFromNs = now
  }

  /**
   * Asks for (or keeps) the end-of-computation event of the running thread `th` (-1: none), running
   * from `fromNs`, if it falls at or before the timer; otherwise none is pending.
   */
  private postComputeEnd(th: number, fromNs: number): void {
    const end = th >= 0 ? fromNs + this.threads[th]!.remainingNs : -1
    // At the timer's instant too: the computation must end (and what it causes happen) before the invocation.
    const wanted = end >= 0 && end <= this.timerAtNs
    // NOTE: an unchanged pending event is kept (same thread still running, same end) to save a cancel+push.
    if (wanted && this.stepAtNs === end && this.stepThread === th) return
    this.cancelComputeEnd()
    if (wanted) {
      // Posted (or run in place) when the current event ends (`settle`).
      this.stepAtNs = end
      this.stepThread = th
    }
  }

  private cancelComputeEnd(): void {
    this.stepAtNs = -1
    if (this.stepHandle >= 0) {
      this.sim.cancel(this.stepHandle)
      this.stepHandle = -1
    }
  }
}
