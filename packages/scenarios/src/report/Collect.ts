/**
 * A trace sink that keeps what the report's plots need from a run: each completed job's release
 * and response time (`job.complete`), each timer firing's interval (`timer.fire`), and each
 * round-trip time a host measured (`host.echo.reply`). Memory is
 * bounded: each series keeps its first {@link CollectOptions.maxPerSeries} points and counts the
 * rest, and the report says when it was cut.
 *
 * NOTE: on the hot path when `--report` is given: kinds are classified once by id, series are
 * found by subject id (and thread number) in arrays, points go to growable number arrays.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"

export interface JobSeries {
  /** The record's scope (the PCPU) and the thread number in it. */
  readonly scope: number
  readonly thread: number
  readonly releaseNs: number[]
  readonly responseNs: number[]
  /** Jobs completed, kept or not. */
  completed: number
}

export interface IntervalSeries {
  /** The subject (e.g. `timer/tick-1ms`). */
  readonly subject: string
  readonly intervalNs: number[]
  /** Firings after the first (each has an interval), kept or not. */
  count: number
}

/** Round-trip times a host measured (`host.echo.reply`). */
export interface RttSeries {
  /** The host's subject (e.g. `host:pinger`). */
  readonly subject: string
  readonly rttNs: number[]
  /** Replies, kept or not. */
  count: number
}

export interface Collected {
  readonly jobs: ReadonlyArray<JobSeries>
  readonly intervals: ReadonlyArray<IntervalSeries>
  /** Absent in results collected before RTTs were (treat as none). */
  readonly rtts?: ReadonlyArray<RttSeries>
  readonly maxPerSeries: number
}

export interface CollectOptions {
  /** Points kept per series (default 20,000). */
  readonly maxPerSeries?: number
}

const OTHER = 0, JOB_COMPLETE = 1, TIMER_FIRE = 2, ECHO_REPLY = 3

export class Collector implements Trace.TraceSink {
  private readonly max: number
  private readonly roles: number[] = []
  /** Per kind id: field indexes (thread, response) or (interval). */
  private readonly fieldA: number[] = []
  private readonly fieldB: number[] = []
  private readonly jobSeries: JobSeries[] = []
  /** Per subject id, then thread: index into jobSeries. */
  private readonly jobIndex: Array<number[] | undefined> = []
  private readonly intervalSeries: IntervalSeries[] = []
  private readonly intervalIndex: Array<number | undefined> = []
  private readonly rttSeries: RttSeries[] = []
  private readonly rttIndex: Array<number | undefined> = []

  constructor(options: CollectOptions = {}) {
    this.max = options.maxPerSeries ?? 20_000
  }

  onRecord(_trace: Trace.Trace, kind: Trace.RecordKind, t: number, subject: Trace.Subject, values: Float64Array): void {
    let role = this.roles[kind.id]
    if (role === undefined) role = this.classify(kind)
    if (role === JOB_COMPLETE) {
      const thread = values[this.fieldA[kind.id]!]!
      const response = values[this.fieldB[kind.id]!]!
      let bySubject = this.jobIndex[subject.id]
      if (bySubject === undefined) bySubject = this.jobIndex[subject.id] = []
      let i = bySubject[thread]
      if (i === undefined) {
        i = bySubject[thread] = this.jobSeries.length
        this.jobSeries.push({ scope: subject.scope, thread, releaseNs: [], responseNs: [], completed: 0 })
      }
      const s = this.jobSeries[i]!
      if (s.completed++ < this.max) {
        s.releaseNs.push(t - response)
        s.responseNs.push(response)
      }
    } else if (role === TIMER_FIRE) {
      const interval = values[this.fieldA[kind.id]!]!
      const n = values[this.fieldB[kind.id]!]!
      if (n === 0) return // the first firing has no interval
      let i = this.intervalIndex[subject.id]
      if (i === undefined) {
        i = this.intervalIndex[subject.id] = this.intervalSeries.length
        this.intervalSeries.push({ subject: subject.name, intervalNs: [], count: 0 })
      }
      const s = this.intervalSeries[i]!
      if (s.count++ < this.max) s.intervalNs.push(interval)
    } else if (role === ECHO_REPLY) {
      let i = this.rttIndex[subject.id]
      if (i === undefined) {
        i = this.rttIndex[subject.id] = this.rttSeries.length
        this.rttSeries.push({ subject: subject.name, rttNs: [], count: 0 })
      }
      const s = this.rttSeries[i]!
      if (s.count++ < this.max) s.rttNs.push(values[this.fieldA[kind.id]!]!)
    }
  }

  private classify(kind: Trace.RecordKind): number {
    let role = OTHER
    const f = kind.fields
    if (kind.name === "job.complete" && f.includes("thread") && f.includes("response")) {
      role = JOB_COMPLETE
      this.fieldA[kind.id] = f.indexOf("thread")
      this.fieldB[kind.id] = f.indexOf("response")
    } else if (kind.name === "host.echo.reply" && f.includes("rttNs")) {
      role = ECHO_REPLY
      this.fieldA[kind.id] = f.indexOf("rttNs")
    } else if (kind.name === "timer.fire" && f.includes("interval") && f.includes("n")) {
      role = TIMER_FIRE
      this.fieldA[kind.id] = f.indexOf("interval")
      this.fieldB[kind.id] = f.indexOf("n")
    }
    this.roles[kind.id] = role
    return role
  }

  /** What was collected (series in order of first appearance). */
  result(): Collected {
    return { jobs: this.jobSeries, intervals: this.intervalSeries, rtts: this.rttSeries, maxPerSeries: this.max }
  }
}
