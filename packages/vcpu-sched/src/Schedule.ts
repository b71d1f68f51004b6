/**
 * The executed schedule: segments `[start, end)` of one job of one thread of one VCPU on one PCPU, in ns, and
 * exact checks over it (execution in sliding windows for F4, PIBS bandwidth for F6, rendering as a
 * one-character-per-unit string for the worked examples).
 *
 * Invariants: segments are appended in time order and never overlap; a segment that continues the
 * previous one (same VCPU and thread, `start` = previous `end`; with `splitJobs`, same job too)
 * extends it instead. All arithmetic
 * is exact (integers; BigInt where products can leave the safe range).
 *
 * NOTE: storage is five growable typed arrays (no object per segment) so recording costs little
 * on the hot path; `segments()` builds objects on demand.
 *
 * @module
 */

/** One executed segment, as written by `qvsim run --schedule`. */
export interface Segment {
  readonly pcpu: number
  /** ns, inclusive. */
  readonly start: number
  /** ns, exclusive. */
  readonly end: number
  readonly vcpu: number
  readonly thread: number
  /**
   * The thread's job (0-based, per thread) the segment executes, or -1 (no job: not a job-released
   * thread, interrupt or monitor time). Without `splitJobs`, a thread running its next job straight
   * on continues the segment, which keeps the job it started with.
   */
  readonly job: number
}

export class Schedule {
  readonly pcpu: number
  /** A new job of the same thread starts a new segment (`qvsim run --schedule`: one job per segment). */
  readonly splitJobs: boolean
  private starts = new Float64Array(256)
  private ends = new Float64Array(256)
  private vcpus = new Int32Array(256)
  private threads = new Int32Array(256)
  private jobs = new Int32Array(256)
  /** Number of segments. */
  length = 0

  constructor(pcpu = 0, splitJobs = false) {
    this.pcpu = pcpu
    this.splitJobs = splitJobs
  }

  /** Appends `[start, end)` of `thread`'s job `job` on `vcpu` (merged with the previous segment when contiguous). */
  add(start: number, end: number, vcpu: number, thread: number, job = -1): void {
    if (!(end > start)) return
    const n = this.length
    if (n > 0) {
      const prevEnd = this.ends[n - 1]!
      if (start < prevEnd) throw new RangeError(`Schedule.add: segment [${start}, ${end}) overlaps the previous one ending at ${prevEnd}`)
      if (start === prevEnd && this.vcpus[n - 1] === vcpu && this.threads[n - 1] === thread && (this.jobs[n - 1] === job || !this.splitJobs)) {
        this.ends[n - 1] = end
        return
      }
    }
    if (n === this.starts.length) this.grow()
    this.starts[n] = start
    this.ends[n] = end
    this.vcpus[n] = vcpu
    this.threads[n] = thread
    this.jobs[n] = job
    this.length = n + 1
  }

  /** Forgets every segment (keeps capacity). */
  clear(): void {
    this.length = 0
  }

  startOf(i: number): number {
    return this.starts[i]!
  }
  endOf(i: number): number {
    return this.ends[i]!
  }
  vcpuOf(i: number): number {
    return this.vcpus[i]!
  }
  threadOf(i: number): number {
    return this.threads[i]!
  }
  jobOf(i: number): number {
    return this.jobs[i]!
  }

  /** The segments as objects `{pcpu, start, end, vcpu, thread, job}` (allocates). */
  segments(): Segment[] {
    const out: Segment[] = []
    for (let i = 0; i < this.length; i++) {
      out.push({ pcpu: this.pcpu, start: this.starts[i]!, end: this.ends[i]!, vcpu: this.vcpus[i]!, thread: this.threads[i]!, job: this.jobs[i]! })
    }
    return out
  }

  /** Intervals `[start, end)` of VCPU `vcpu`, merged across threads (allocates). */
  intervalsOf(vcpu: number): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (let i = 0; i < this.length; i++) {
      if (this.vcpus[i] !== vcpu) continue
      const s = this.starts[i]!, e = this.ends[i]!
      const last = out[out.length - 1]
      if (last !== undefined && last[1] === s) last[1] = e
      else out.push([s, e])
    }
    return out
  }

  /** Total execution of VCPU `vcpu` in `[from, to)`, ns. */
  executionOf(vcpu: number, from = 0, to = Infinity): number {
    let sum = 0
    for (let i = 0; i < this.length; i++) {
      if (this.vcpus[i] !== vcpu) continue
      const s = Math.max(from, this.starts[i]!), e = Math.min(to, this.ends[i]!)
      if (e > s) sum += e - s
    }
    return sum
  }

  private grow(): void {
    const n = this.starts.length * 2
    const f = (a: Float64Array) => { const b = new Float64Array(n); b.set(a); return b }
    const g = (a: Int32Array) => { const b = new Int32Array(n); b.set(a); return b }
    this.starts = f(this.starts)
    this.ends = f(this.ends)
    this.vcpus = g(this.vcpus)
    this.threads = g(this.threads)
    this.jobs = g(this.jobs)
  }
}

/** Cumulative execution `E(t)` over sorted, disjoint intervals (binary search; exact). */
const cumulative = (iv: ReadonlyArray<readonly [number, number]>, prefix: number[], t: number): number => {
  let lo = 0, hi = iv.length // first interval with start ≥ t
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (iv[mid]![0] < t) lo = mid + 1
    else hi = mid
  }
  if (lo === 0) return 0
  const k = lo - 1
  return prefix[k]! + Math.min(t, iv[k]![1]) - iv[k]![0]
}

/**
 * The largest execution inside any window `[a, a + windowNs)` over the given intervals, ns, exact.
 * (The maximum is reached by a window that starts at an interval start or ends at an interval end.)
 */
export const maxExecutionInWindow = (intervals: ReadonlyArray<readonly [number, number]>, windowNs: number): number => {
  const prefix: number[] = []
  let acc = 0
  for (const [s, e] of intervals) {
    prefix.push(acc)
    acc += e - s
  }
  let best = 0
  for (const [s, e] of intervals) {
    const a = cumulative(intervals, prefix, s + windowNs) - cumulative(intervals, prefix, s)
    const b = cumulative(intervals, prefix, e) - cumulative(intervals, prefix, e - windowNs)
    if (a > best) best = a
    if (b > best) best = b
  }
  return best
}

/**
 * F4: for `k = 1..maxK`, the execution of a Main VCPU `(C, T)` in any window of length `k·T` is at
 * most `(k + 1)·(C + δ)`. Returns `null` or the first violation.
 */
export const checkWindowBound = (
  intervals: ReadonlyArray<readonly [number, number]>,
  budgetNs: number,
  periodNs: number,
  latencyNs = 0,
  maxK = 4,
): string | null => {
  for (let k = 1; k <= maxK; k++) {
    const used = maxExecutionInWindow(intervals, k * periodNs)
    const bound = (k + 1) * (budgetNs + latencyNs)
    if (used > bound) return `F4: ${used}ns executed in a window of ${k}·T = ${k * periodNs}ns > (k+1)(C+δ) = ${bound}ns`
  }
  return null
}

/**
 * F6: a PIBS VCPU with `U = C/T₀` executes at most `U·W + U·T_max + U·S` in any window `W`. The
 * spec states the bound with `S = 0`; that only holds when every grant is used within about `U·T`
 * of its eligibility. In general `S` = the longest span from a grant's eligibility to the end of its
 * use (`IoVcpu.maxGrantSpanNs`): a grant used late is followed by the next one at
 * `e + used/U`, so the two can run closer together than `1/U` apart.
 *
 * Exact: with `g(t) = T₀·E(t) − C·t`, the check is `max_{a ≤ b} g(b) − g(a) ≤ C·(T_max + S)`.
 * Returns `null` or the worst window.
 */
export const checkBandwidth = (
  intervals: ReadonlyArray<readonly [number, number]>,
  budgetNs: number,
  creationPeriodNs: number,
  maxPeriodNs: number,
  spanNs = 0,
): string | null => {
  const C = BigInt(budgetNs), T0 = BigInt(creationPeriodNs)
  const bound = C * BigInt(maxPeriodNs + spanNs)
  let e = 0n
  let minG: bigint | null = null
  let minAt = 0
  for (const [s, end] of intervals) {
    const gs = T0 * e - C * BigInt(s)
    if (minG === null || gs < minG) { minG = gs; minAt = s }
    e += BigInt(end - s)
    const ge = T0 * e - C * BigInt(end)
    if (ge - minG > bound) {
      return `F6: window [${minAt}, ${end}) executes more than U·W + U·T_max (excess ${(ge - minG - bound)}/${T0} ns)`
    }
  }
  return null
}

/**
 * Renders `[0, units·unitNs)` as one character per unit: the label of the VCPU that executed most
 * in that unit (`labels[vcpu]`), or `.` when the PCPU idled throughout.
 */
export const unitString = (schedule: Schedule, unitNs: number, units: number, labels: ReadonlyArray<string>): string => {
  const busy = new Map<number, number>()
  let out = ""
  let i = 0
  for (let u = 0; u < units; u++) {
    const a = u * unitNs, b = a + unitNs
    busy.clear()
    while (i < schedule.length && schedule.endOf(i) <= a) i++
    for (let j = i; j < schedule.length && schedule.startOf(j) < b; j++) {
      const s = Math.max(a, schedule.startOf(j)), e = Math.min(b, schedule.endOf(j))
      if (e > s) busy.set(schedule.vcpuOf(j), (busy.get(schedule.vcpuOf(j)) ?? 0) + e - s)
    }
    let best = -1, bestNs = 0
    for (const [v, ns] of [...busy.entries()].sort((x, y) => x[0] - y[0])) if (ns > bestNs) { best = v; bestNs = ns }
    out += best < 0 ? "." : labels[best] ?? "?"
  }
  return out
}
