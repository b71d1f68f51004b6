/**
 * Reference single-PCPU simulator: runs a {@link PcpuSpec} on the {@link RefScheduler}, with its own
 * plain event list, to be compared with `src/Harness.ts` decision by decision.
 *
 * The workload follows the documented semantics of `Workload.ts` and the harness header: releases
 * (periodic, sporadic, Poisson, explicit), job programs of compute / sleep / I/O steps, one service
 * thread per I/O VCPU (ids after the declared threads) whose jobs inherit the requester's period
 * (P1), a device completion `delay` after the work, interrupt top halves that hold the running
 * thread back while its VCPU is charged (a computation that ends at the instant a top half starts
 * is over: nothing is held back). Random draws come from the same named sim-core streams
 * (`harness/pcpu<p>/thread<i>/arrivals` and `/job`), one draw per ranged value, in program order.
 *
 * Order of the events of one instant (the part that decides R's order, hence ties):
 *   1. device completions, 2. sleep ends, 3. job releases — each class in the order the events
 *   were created (an event created at this instant for this instant joins its class);
 *   4. the end of the running thread's computation; 5. one scheduler invocation.
 *
 * Deliberately simple: events in an array scanned for the minimum, arrays for queues, the running
 * thread's progress recomputed at each event.
 */
import { Rng } from "@qvsim/sim-core"
import type { PcpuSpec, Range, Step } from "../../src/Workload.ts"
import { RefScheduler, type RefDecision, type RefOptions } from "./Scheduler.ts"

const DEVICE = 0, TIMER = 1, WORKLOAD = 3
type EventKind = "release" | "sleepEnd" | "ioDone"
interface Ev {
  t: number
  cls: number
  seq: number
  kind: EventKind
  a: number
  b: number
}

interface IoJob {
  work: number
  delay: number
  requester: number
  wait: boolean
}

interface RThread {
  id: number
  vcpu: number
  service: boolean
  status: "idle" | "compute" | "sleep" | "iowait"
  releases: number[]
  jobNos: number[]
  nextJobNo: number
  program: readonly Step[] | null
  step: number
  remaining: number
  release: number
  jobNo: number
  arrivalIndex: number
  rngArr: Rng.RngStream
  rngJob: Rng.RngStream
  ioJobs: IoJob[]
  ioCurrent: IoJob | null
  /** The current job (or I/O request): when it first executed (-1: not yet), times it lost the PCPU while it could go on. */
  firstStart: number
  preemptions: number
  /** Service threads: when the current request was taken, requests done so far. */
  ioTaken: number
  ioDone: number
}

export interface RefObservation {
  t: number
  decision: RefDecision
  state: string
}

export interface RefSegment {
  start: number
  end: number
  vcpu: number
  thread: number
}

export interface RefJob {
  thread: number
  job: number
  release: number
  firstStart: number
  complete: number
  preemptions: number
}

export interface RefRunOptions {
  readonly seed: number
  readonly pcpu?: number
  readonly irqTopHalfNs?: number
  /** Tie rule, not in the spec's option record yet. */
  readonly ties?: RefOptions["ties"]
}

const lo = (r: Range): number => (typeof r === "number" ? r : r[0])
const hi = (r: Range): number => (typeof r === "number" ? r : r[1])

export class RefSimulator {
  readonly spec: PcpuSpec
  readonly sched: RefScheduler
  readonly observations: RefObservation[] = []
  readonly segments: RefSegment[] = []
  readonly jobs: RefJob[] = []
  /** I/O requests done by the service threads (release = when the service thread took it). */
  readonly ioJobs: RefJob[] = []
  private readonly threads: RThread[] = []
  private readonly serviceOf: number[] = []
  private events: Ev[] = []
  private seq = 0
  private now = 0
  private invokeAt: number | null = 0
  // the running thread
  private running = -1
  private runningVcpu = -1
  private runFrom = 0
  private irqBusyUntil = 0
  private readonly irqNs: number

  constructor(spec: PcpuSpec, o: RefRunOptions) {
    this.spec = spec
    const pcpu = o.pcpu ?? 0
    this.irqNs = o.irqTopHalfNs ?? 0
    this.sched = new RefScheduler({ ...spec.options, ...(o.ties === undefined ? {} : { ties: o.ties }) })
    for (const v of spec.vcpus) {
      if (v.kind === "io") this.sched.addIo(v.budgetNs, v.periodNs)
      else this.sched.addMain(v.budgetNs, v.periodNs, v.deadlineNs ?? v.periodNs, v.policy ?? this.sched.o.policy)
    }
    const mk = (id: number, vcpu: number, service: boolean): RThread => ({
      id, vcpu, service, status: "idle", releases: [], jobNos: [], nextJobNo: 0, program: null, step: 0, remaining: 0,
      release: 0, jobNo: 0, arrivalIndex: 0, ioJobs: [], ioCurrent: null, firstStart: -1, preemptions: 0, ioTaken: 0, ioDone: 0,
      rngArr: Rng.stream(o.seed, `harness/pcpu${pcpu}/thread${id}/arrivals`),
      rngJob: Rng.stream(o.seed, `harness/pcpu${pcpu}/thread${id}/job`),
    })
    spec.threads.forEach((t, i) => {
      this.sched.addThread(t.vcpu)
      this.threads.push(mk(i, t.vcpu, false))
    })
    spec.vcpus.forEach((v, i) => {
      if (v.kind !== "io") { this.serviceOf.push(-1); return }
      const id = this.sched.addThread(i)
      this.serviceOf.push(id)
      this.threads.push(mk(id, i, true))
    })
    spec.threads.forEach((t, i) => {
      const a = t.arrivals
      const first = a.kind === "explicit" ? (a.releasesNs.length > 0 ? a.releasesNs[0]! : -1) : a.offsetNs ?? 0
      if (first >= 0) this.post(first, WORKLOAD, "release", i, 0)
    })
  }

  private post(t: number, cls: number, kind: EventKind, a: number, b: number): void {
    this.events.push({ t, cls, seq: this.seq++, kind, a, b })
  }

  /** When the running thread's computation ends (its progress is held back during top halves). */
  private computeEndAt(): number | null {
    if (this.running < 0) return null
    return this.runFrom + this.threads[this.running]!.remaining
  }

  /** Runs every event with time ≤ `until`, then accounts the running thread up to `until`. */
  run(until: number): this {
    for (;;) {
      let ev = -1
      for (let i = 0; i < this.events.length; i++) {
        const e = this.events[i]!, m = ev < 0 ? null : this.events[ev]!
        if (m === null || e.t < m.t || (e.t === m.t && (e.cls < m.cls || (e.cls === m.cls && e.seq < m.seq)))) ev = i
      }
      const tEv = ev < 0 ? Infinity : this.events[ev]!.t
      const tEnd = this.computeEndAt() ?? Infinity
      const tInv = this.invokeAt ?? Infinity
      const t = Math.min(tEv, tEnd, tInv)
      if (t > until) break
      this.now = t
      if (tEv === t) {
        const e = this.events.splice(ev, 1)[0]!
        if (e.kind === "release") this.onRelease(e.a)
        else if (e.kind === "sleepEnd") this.onWake(e.a)
        else this.onIoDone(e.a, e.b)
      } else if (tEnd === t) {
        this.progress(t)
        this.afterCompute(this.threads[this.running]!)
      } else {
        this.invoke()
      }
    }
    this.progress(until)
    return this
  }

  // ------------------------------------------------------------ workload

  private onRelease(th: number): void {
    const t = this.threads[th]!
    const now = this.now
    t.releases.push(now)
    t.jobNos.push(t.nextJobNo++)
    const a = this.spec.threads[th]!.arrivals
    let next = -1
    if (a.kind === "periodic") next = now + a.periodNs
    else if (a.kind === "sporadic") next = now + a.minInterArrivalNs + ((a.maxExtraNs ?? 0) > 0 ? t.rngArr.int(0, a.maxExtraNs!) : 0)
    else if (a.kind === "poisson") next = now + t.rngArr.exponentialNs(a.meanInterArrivalNs)
    else {
      t.arrivalIndex++
      next = t.arrivalIndex < a.releasesNs.length ? a.releasesNs[t.arrivalIndex]! : -1
    }
    if (next >= 0) this.post(next, WORKLOAD, "release", th, 0)
    if (t.status === "idle") this.resume(t)
  }

  private onWake(th: number): void {
    const t = this.threads[th]!
    t.step++
    this.resume(t)
  }

  private onIoDone(requester: number, wait: number): void {
    if (this.irqNs > 0) {
      // A top half: the CPU is in interrupt context from max(now, end of the previous one) for irqTopHalfNs.
      this.progress(this.now)
      this.irqBusyUntil = Math.max(this.now, this.irqBusyUntil) + this.irqNs
      // The running thread is held back, unless its computation ends right now (nothing left to hold back).
      if (this.running >= 0 && this.threads[this.running]!.remaining > 0) this.runFrom = Math.max(this.runFrom, this.irqBusyUntil)
    }
    if (wait === 1) this.onWake(requester)
  }

  private draw(rng: Rng.RngStream, r: Range): number {
    return lo(r) === hi(r) ? lo(r) : rng.int(lo(r), hi(r))
  }

  private resume(t: RThread): void {
    if (this.advance(t)) this.wake(t.id)
  }

  private wake(th: number): void {
    if (this.sched.wakeup(th, this.now)) this.invokeNow()
  }

  private invokeNow(): void {
    this.invokeAt = this.now
  }

  /** Runs `t`'s program until it computes (true) or blocks (false). */
  private advance(t: RThread): boolean {
    if (t.service) return this.nextIoJob(t)
    const spec = this.spec.threads[t.id]!
    for (;;) {
      if (t.program === null) {
        if (t.releases.length === 0) {
          t.status = "idle"
          return false
        }
        t.release = t.releases.shift()!
        t.jobNo = t.jobNos.shift()!
        t.program = spec.jobs !== undefined && t.jobNo < spec.jobs.length ? spec.jobs[t.jobNo]! : spec.job
        t.step = 0
        t.firstStart = -1
        t.preemptions = 0
      }
      if (t.step >= t.program.length) {
        this.jobs.push({ thread: t.id, job: t.jobNo, release: t.release, firstStart: t.firstStart, complete: this.now, preemptions: t.preemptions })
        t.program = null
        continue
      }
      const s = t.program[t.step]!
      if ("compute" in s) {
        const d = this.draw(t.rngJob, s.compute)
        if (d === 0) { t.step++; continue }
        t.remaining = d
        t.status = "compute"
        return true
      }
      if ("sleep" in s) {
        const d = this.draw(t.rngJob, s.sleep)
        t.status = "sleep"
        this.post(this.now + d, TIMER, "sleepEnd", t.id, 0)
        return false
      }
      const io = s.io
      if ((io.probability ?? 1) < 1 && !(t.rngJob.float() < io.probability!)) { t.step++; continue }
      const work = this.draw(t.rngJob, io.work)
      const delay = io.delay === undefined ? 0 : this.draw(t.rngJob, io.delay)
      const wait = io.wait ?? true
      const svc = this.threads[this.serviceOf[io.vcpu]!]!
      svc.ioJobs.push({ work, delay, requester: t.id, wait })
      if (svc.status === "idle") this.nextIoJob(svc) // a zero-work job completes at once
      if (svc.status === "compute" && this.sched.requestIo(io.vcpu, this.sched.vcpus[t.vcpu]!.T, svc.id, this.now)) this.invokeNow()
      if (wait) {
        t.status = "iowait"
        return false
      }
      t.step++
    }
  }

  /** Service thread: the next I/O job, if any (true = computing). */
  private nextIoJob(t: RThread): boolean {
    if (t.status === "compute" && t.remaining > 0) return true
    for (;;) {
      const job = t.ioJobs.shift()
      if (job === undefined) {
        t.status = "idle"
        t.ioCurrent = null
        return false
      }
      t.ioCurrent = job
      t.status = "compute"
      t.remaining = job.work
      t.ioTaken = this.now
      t.firstStart = -1
      t.preemptions = 0
      if (job.work > 0) return true
      this.finishIoJob(t)
    }
  }

  private finishIoJob(t: RThread): void {
    const job = t.ioCurrent!
    this.ioJobs.push({ thread: t.id, job: t.ioDone++, release: t.ioTaken, firstStart: t.firstStart, complete: this.now, preemptions: t.preemptions })
    t.remaining = 0
    this.post(this.now + job.delay, DEVICE, "ioDone", job.requester, job.wait ? 1 : 0)
  }

  /** The running thread finished a computation step now. */
  private afterCompute(t: RThread): void {
    if (t.service) this.finishIoJob(t)
    else t.step++
    if (!this.advance(t)) {
      this.sched.block(t.id)
      this.running = -1
      this.invokeNow()
    }
  }

  /** Accounts the running thread's execution in [runFrom, now). */
  private progress(now: number): void {
    if (this.running < 0 || now <= this.runFrom) return
    const t = this.threads[this.running]!
    t.remaining -= now - this.runFrom
    if (t.firstStart < 0) t.firstStart = this.runFrom
    if (t.remaining < 0) throw new Error(`reference: thread ${t.id} ran past its computation at ${now}`)
    const last = this.segments[this.segments.length - 1]
    if (last !== undefined && last.end === this.runFrom && last.vcpu === this.runningVcpu && last.thread === t.id) last.end = now
    else this.segments.push({ start: this.runFrom, end: now, vcpu: this.runningVcpu, thread: t.id })
    this.runFrom = now
  }

  // ------------------------------------------------------------ scheduler glue

  private invoke(): void {
    const now = this.now
    this.progress(now)
    const prev = this.running
    const d = this.sched.invoke(now)
    // The previous thread loses the PCPU while its job could go on, after it has executed: a preemption.
    if (prev >= 0 && d.thread !== prev && this.threads[prev]!.status === "compute" && this.threads[prev]!.firstStart >= 0) this.threads[prev]!.preemptions++
    this.observations.push({ t: now, decision: d, state: this.sched.describe() })
    this.running = d.thread
    this.runningVcpu = d.vcpu
    this.runFrom = Math.max(d.runFrom, this.irqBusyUntil)
    this.invokeAt = d.timerAt === Infinity ? null : d.timerAt
  }
}
