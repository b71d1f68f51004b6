/**
 * What the harness's threads do between scheduler decisions: a declared thread runs its job
 * program step by step (compute, sleep, I/O hand-off) and completes its jobs; an I/O VCPU's
 * service thread takes the jobs of its queue in order, and each completion reaches its requester
 * after the device time. Also the job records (`recordJobs`) and the jobs still open.
 *
 * The {@link Harness} owns one and calls it from its event handlers; this module never invokes
 * the scheduler itself: a hand-off that asks for preemption goes back through the harness's
 * `wantInvoke` (the harness's invocation timing, `Invocation.ts`).
 *
 * Invariants:
 * - a declared thread takes its releases in order, one job at a time; its job ends when the last
 *   step of its program is done (a step of zero length takes no time);
 * - a service thread runs only its own queue's jobs, in submission order; each completion posts one
 *   device event (`Device`, after the job's delay) whether or not its requester waits;
 * - random draws only from the thread's `/job` stream, in program order.
 *
 * NOTE: hot path (every step): reused records, integer codes, handler ids (no closure per event).
 *
 * @module
 */
import { Simulation, type Trace } from "@qvsim/sim-core"
import { COMPUTE, IDLE, IOWAIT, SLEEP, STEP_COMPUTE, STEP_SLEEP, type HarnessThread } from "./HarnessThread.ts"
import { USER_IO } from "./IoQueue.ts"
import { recordOf, type JobRecord } from "./Jobs.ts"
import type { PcpuScheduler } from "./PcpuScheduler.ts"

/** Where job completions are traced (null: no trace): the trace's pending records and the head of a `job.complete` record. */
export interface JobTrace {
  readonly out: Trace.PrintBatch
  readonly completeHead: number
}

export class HarnessPrograms {
  /** Completed jobs of the declared threads (`recordJobs`). */
  readonly jobs: JobRecord[] = []
  /** Completed I/O requests of the service threads (`recordJobs`). */
  readonly ioJobs: JobRecord[] = []
  private readonly sim: Simulation.Simulation
  private readonly sched: PcpuScheduler
  private readonly threads: readonly HarnessThread[]
  private readonly serviceThreadOf: readonly number[]
  private readonly recordJobs: boolean
  private readonly trace: JobTrace | null
  private readonly wantInvoke: (nowNs: number) => void
  private readonly hWake: number
  private readonly hIoDone: number

  /**
   * `threads` and `serviceThreadOf` are the harness's (read, not copied); `hWake(thread)` and
   * `hIoDone(requester, wait)` its handlers of a sleep's end and of a device completion.
   */
  constructor(sim: Simulation.Simulation, sched: PcpuScheduler, threads: readonly HarnessThread[], serviceThreadOf: readonly number[], recordJobs: boolean, trace: JobTrace | null, wantInvoke: (nowNs: number) => void, hWake: number, hIoDone: number) {
    this.sim = sim
    this.sched = sched
    this.threads = threads
    this.serviceThreadOf = serviceThreadOf
    this.recordJobs = recordJobs
    this.trace = trace
    this.wantInvoke = wantInvoke
    this.hWake = hWake
    this.hIoDone = hIoDone
  }

  /**
   * Runs `t`'s program from its current step until it must compute (returns true, `remainingNs` set)
   * or block (returns false: idle, sleeping or waiting for I/O).
   */
  advance(t: HarnessThread, now: number): boolean {
    if (t.service) return this.nextIoJob(t)
    for (;;) {
      let prog = t.curProgram
      if (prog === null) {
        if (t.releases.length === 0) {
          t.status = IDLE
          return false
        }
        t.curJobNo = t.pendingJobNo(0)
        t.job.begin(t.releases.shift())
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
        const d = t.drawJob(step.lo, step.hi)
        if (d === 0) { t.stepIdx++; continue }
        t.remainingNs = d
        t.status = COMPUTE
        return true
      }
      if (step.kind === STEP_SLEEP) {
        const d = t.drawJob(step.lo, step.hi)
        t.status = SLEEP
        this.sim.at(now + d, Simulation.EventClass.Timer, this.hWake, t.index)
        return false
      }
      // STEP_IO
      if (step.probability < 1 && !(t.rngJob.float() < step.probability)) { t.stepIdx++; continue }
      const work = t.drawJob(step.lo, step.hi)
      const delay = t.drawJob(step.delayLo, step.delayHi)
      const svc = this.threads[this.serviceThreadOf[step.ioVcpu]!]!
      svc.io!.push(work, USER_IO, t.index, delay, step.wait ? 1 : 0)
      if (svc.status === IDLE) this.nextIoJob(svc) // may complete a zero-work request at once
      if (svc.status === COMPUTE && this.sched.requestIo(step.ioVcpu, this.sched.vcpus[t.vcpu]!.periodNs, svc.index, now)) this.wantInvoke(now)
      if (step.wait) {
        t.status = IOWAIT
        return false
      }
      t.stepIdx++
    }
  }

  /** The running thread finished a computation step at `now`: the I/O job it served is over, or its program moves on. */
  stepDone(t: HarnessThread, now: number): void {
    if (t.service) this.finishIoJob(t, now)
    else t.stepIdx++
  }

  /** Jobs released but not completed by now (in progress first, then queued), with `completeNs = -1`. */
  unfinishedJobs(): JobRecord[] {
    const out: JobRecord[] = []
    for (const t of this.threads) {
      if (t.service) {
        if (t.status === COMPUTE) out.push(recordOf(t.index, t.stats.completed, t.job, -1, Infinity))
        continue
      }
      if (t.curProgram !== null) out.push(recordOf(t.index, t.curJobNo, t.job, -1, t.deadlineNs))
      for (let i = 0; i < t.releases.length; i++) {
        const r = t.releases.at(i)
        out.push({ thread: t.index, job: t.pendingJobNo(i), releaseNs: r, firstStartNs: -1, completeNs: -1, deadlineNs: r + t.deadlineNs, preemptions: 0 })
      }
    }
    return out
  }

  private completeJob(t: HarnessThread, now: number): void {
    const response = now - t.job.releaseNs
    t.stats.complete(response, t.deadlineNs)
    if (this.recordJobs) this.jobs.push(recordOf(t.index, t.curJobNo, t.job, now, t.deadlineNs))
    const trace = this.trace
    if (trace !== null) {
      // `trace.emit3(kComplete, subject, thread, job, response)` written inline (NOTE: speed, as the
      // harness's dispatch record: see `Harness.invocations` and sim-core `TraceEmit`, "Inline emitters").
      const out = trace.out
      let p = out.pos
      if (p >= out.limit) p = out.flush() | 0
      const buf = out.buf
      buf[p] = trace.completeHead
      buf[p + 1] = this.sim.now
      buf[p + 2] = t.index
      buf[p + 3] = t.curJobNo
      buf[p + 4] = response
      out.pos = p + 5
      if (this.sim.trace.hasSinks) this.sim.trace.deliverAt(p)
    }
    t.job.end()
    t.curProgram = null
  }

  /** Service thread: take the next I/O job if any (true = computing). */
  private nextIoJob(t: HarnessThread): boolean {
    if (t.status === COMPUTE && t.remainingNs > 0) return true
    const q = t.io!
    if (q.length === 0) {
      t.status = IDLE
      return false
    }
    t.remainingNs = q.take()
    t.job.begin(this.sim.now)
    t.status = COMPUTE
    if (t.remainingNs === 0) {
      this.finishIoJob(t, this.sim.now)
      return this.nextIoJob(t)
    }
    return true
  }

  private finishIoJob(t: HarnessThread, now: number): void {
    if (this.recordJobs) this.ioJobs.push(recordOf(t.index, t.stats.completed, t.job, now, Infinity))
    // An I/O job has no deadline: only its completion is counted.
    t.stats.completed++
    t.job.end()
    t.remainingNs = 0
    const q = t.io!
    this.sim.at(now + q.curDelay, Simulation.EventClass.Device, this.hIoDone, q.curArg, q.curWait)
  }
}
