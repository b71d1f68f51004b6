/**
 * A proportional-share scheduler for one core of a Linux front-end sandbox (Quest-Linux): an
 * approximation of Linux's CFS (the Completely Fair Scheduler, `kernel/sched/fair.c`, Linux
 * 2.6.23–6.5), hardware-agnostic and driven through the same protocol as {@link PcpuScheduler}
 * ({@link CoreScheduler}), so the sandbox kernel runs it unchanged.
 *
 * What it keeps of CFS:
 * - every thread is a scheduling entity with a weight from its nice value (Linux's
 *   `sched_prio_to_weight` table: nice 0 = 1024, each step ≈ ×1.25); a thread's weight is its
 *   group's (its weight class, the kernel's "VCPU" of a Linux sandbox; fork children share it);
 * - virtual runtime: running `Δ` ns adds `Δ · 1024 / w` to the entity's `vruntime`; the next
 *   entity is the runnable one of least `vruntime` (ties: smaller thread id);
 * - `min_vruntime`, monotonic: the least `vruntime` among the running and the queued entities;
 * - the slice: the period is `schedLatencyNs`, or `nr · minGranularityNs` when more than
 *   `schedLatencyNs / minGranularityNs` entities are runnable; an entity's slice is its weight's
 *   share of the period, at least `minGranularityNs`; the one-shot timer fires at the slice's end
 *   (CFS's `HRTICK`), clamped like any timer to [`timerTickNs`, `maxTimerIntervalNs`] (1 ms by
 *   default, which then acts as a 1 kHz tick);
 * - placement on wakeup (`place_entity` with `GENTLE_FAIR_SLEEPERS`): a sleeper comes back at no
 *   less than `min_vruntime − schedLatencyNs / 2`; a thread's first wakeup (a new thread, a fork
 *   child) starts at `min_vruntime` plus its slice in virtual time (`START_DEBIT`);
 * - wakeup preemption (`check_preempt_wakeup`): the woken entity preempts the running one when the
 *   running one's `vruntime`, brought up to now, exceeds the woken one's by more than
 *   `wakeupGranularityNs` scaled to the woken entity's weight.
 *
 * What it leaves out (each a simplification of this model, not of Linux): load balancing between
 * cores (threads stay on the core of their group), group scheduling (cgroups), the real-time
 * classes (`SCHED_FIFO`/`SCHED_RR`) and `SCHED_IDLE`/`SCHED_BATCH`, PELT load tracking, the
 * periodic tick (preemption is exact at the slice's end), the scaling of the tunables with the
 * number of CPUs, buddies (`next`/`last`/`skip`), and EEVDF (Linux ≥ 6.6). A reused thread slot
 * (the kernel reuses an exited thread's id) keeps its old `vruntime` and is placed as a sleeper.
 *
 * Invariants (property-tested in `test/FairScheduler.test.ts`): a thread is in exactly one state;
 * queued threads are exactly the runnable ones not running; `min_vruntime` never decreases; while
 * threads stay runnable, any two of them differ in `vruntime` by at most the largest slice in
 * virtual time (plus the timer's granularity), so over any run each receives its weight's share
 * of the core within that lag.
 *
 * @module
 */
import type { CoreScheduler, GroupView } from "./CoreScheduler.ts"
import { resolveOptions, type SchedulerOptions } from "./Options.ts"
import { Decision, ThreadState } from "./Decision.ts"
import { VcpuError } from "./Vcpu.ts"

/** The weight of nice 0 (`NICE_0_LOAD`). */
export const NICE_0_WEIGHT = 1024

/** Linux's `sched_prio_to_weight`, nice −20 … 19 [SRC linux kernel/sched/core.c]. */
const PRIO_TO_WEIGHT: readonly number[] = [
  88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916,
  9548, 7620, 6100, 4904, 3906, 3121, 2501, 1991, 1586, 1277,
  1024, 820, 655, 526, 423, 335, 272, 215, 172, 137,
  110, 87, 70, 56, 45, 36, 29, 23, 18, 15,
]

/** The weight of a nice value in [−20, 19]. */
export const weightOfNice = (nice: number): number => {
  const w = PRIO_TO_WEIGHT[nice + 20]
  if (!Number.isInteger(nice) || w === undefined) throw new VcpuError(`FairScheduler.weightOfNice: nice ${nice} must be an integer in [-20, 19]`)
  return w
}

/** The CFS tunables (Linux's defaults before their scaling with the CPU count). */
export interface FairOptions {
  /** `sysctl_sched_latency`: the period in which every runnable entity runs once, ns (6 ms). */
  readonly schedLatencyNs: number
  /** `sysctl_sched_min_granularity`: the shortest slice, ns (0.75 ms). */
  readonly minGranularityNs: number
  /** `sysctl_sched_wakeup_granularity`: the lead a woken entity needs to preempt, ns (1 ms). */
  readonly wakeupGranularityNs: number
}

export const fairDefaults: FairOptions = Object.freeze({ schedLatencyNs: 6_000_000, minGranularityNs: 750_000, wakeupGranularityNs: 1_000_000 })

/** Checks the tunables; names the option and the bad value. */
export const checkFairOptions = (o: FairOptions): void => {
  for (const key of ["schedLatencyNs", "minGranularityNs", "wakeupGranularityNs"] as const) {
    const v = o[key]
    if (!Number.isSafeInteger(v) || v < (key === "wakeupGranularityNs" ? 0 : 1)) throw new VcpuError(`FairScheduler option ${key}=${v}: expected an integer ${key === "wakeupGranularityNs" ? "≥ 0" : "> 0"} (ns)`)
  }
  if (o.minGranularityNs > o.schedLatencyNs) throw new VcpuError(`FairScheduler option minGranularityNs=${o.minGranularityNs}: must not exceed schedLatencyNs (${o.schedLatencyNs})`)
}

/** A weight class: what the kernel sees as a VCPU of a Linux sandbox. */
export class FairGroup implements GroupView {
  /** Fair groups have no rate-monotonic priority. */
  readonly periodNs = 0
  readonly kind: "main" | "io"
  readonly weight: number
  constructor(kind: "main" | "io", weight: number) {
    this.kind = kind
    this.weight = weight
  }
}

const NEVER_RAN = -1

export class FairScheduler implements CoreScheduler {
  readonly options: SchedulerOptions
  readonly fair: FairOptions
  readonly vcpus: FairGroup[] = []
  readonly decision = new Decision()
  /** Weights of the groups in the order they are added (missing: nice 0). */
  private readonly groupWeights: readonly number[]
  private readonly threadGroup: number[] = []
  private readonly threadWeight: number[] = []
  private readonly state: number[] = []
  /** Virtual runtime, ns (weighted); `NEVER_RAN` until the first wakeup places it. */
  private readonly vruntime: number[] = []
  /** CPU time charged, ns. */
  private readonly execNs: number[] = []
  /** Queued thread ids, unordered; entries `[0, qCount)`. NOTE: a linear scan beats a tree at the few tens of entities a sandbox has. */
  private queue = new Int32Array(16)
  private qCount = 0
  /** Sum of the queued threads' weights. */
  private queuedWeight = 0
  /** `min_vruntime`, ns. */
  minVruntime = 0
  currentThread = -1
  tPrevNs = 0
  invocations = 0
  private readonly tickNs: number
  private readonly maxTimerNs: number
  private readonly overheadNs: number

  constructor(options: Partial<SchedulerOptions> = {}, fair: Partial<FairOptions> = {}, groupWeights: readonly number[] = []) {
    this.options = resolveOptions(options)
    this.fair = { ...fairDefaults, ...fair }
    checkFairOptions(this.fair)
    for (const w of groupWeights) if (!Number.isSafeInteger(w) || w <= 0) throw new VcpuError(`FairScheduler: weight ${w} must be an integer > 0`)
    this.groupWeights = groupWeights
    this.tickNs = this.options.timerTickNs
    this.maxTimerNs = this.options.maxTimerIntervalNs
    this.overheadNs = this.options.schedOverheadNs
  }

  /** Adds the next weight class (budget and period are ignored: a Linux sandbox has no VCPU budgets). */
  addMainVcpu(_budgetNs: number, _periodNs: number, _createdAtNs = 0): number {
    return this.addGroup("main")
  }

  /** Adds the next weight class for an I/O service thread (a kworker; no priority inheritance). */
  addIoVcpu(_budgetNs: number, _periodNs: number, _createdAtNs = 0): number {
    return this.addGroup("io")
  }

  private addGroup(kind: "main" | "io"): number {
    const i = this.vcpus.length
    this.vcpus.push(new FairGroup(kind, this.groupWeights[i] ?? NICE_0_WEIGHT))
    return i
  }

  addThread(vcpu: number): number {
    const g = this.vcpus[vcpu]
    if (g === undefined) throw new VcpuError(`FairScheduler.addThread: no group ${vcpu}`)
    this.threadGroup.push(vcpu)
    this.threadWeight.push(g.weight)
    this.state.push(ThreadState.Blocked)
    this.vruntime.push(NEVER_RAN)
    this.execNs.push(0)
    if (this.threadGroup.length > this.queue.length) {
      const grown = new Int32Array(this.queue.length * 2)
      grown.set(this.queue)
      this.queue = grown
    }
    return this.threadGroup.length - 1
  }

  get threadCount(): number {
    return this.threadGroup.length
  }

  stateOf(thread: number): ThreadState {
    return this.state[thread] as ThreadState
  }

  /** A thread's weight. */
  weightOf(thread: number): number {
    return this.threadWeight[thread]!
  }

  /** A thread's virtual runtime as last charged, ns (−1 before its first wakeup). */
  vruntimeOf(thread: number): number {
    return this.vruntime[thread]!
  }

  /** CPU time charged to a thread, ns. */
  execOf(thread: number): number {
    return this.execNs[thread]!
  }

  /** Queued thread ids (allocates; for checks). */
  queued(): number[] {
    return Array.from(this.queue.subarray(0, this.qCount))
  }

  /** `Δ` ns of execution in virtual time for weight `w` (truncated, as CFS's fixed point does). */
  private vdelta(deltaNs: number, w: number): number {
    return w === NICE_0_WEIGHT ? deltaNs : Math.floor((deltaNs * NICE_0_WEIGHT) / w)
  }

  /** `sched_slice`: the share of the period of an entity of weight `w` among `nr` runnable of total weight `total`. */
  sliceNs(w: number, nr: number, total: number): number {
    const f = this.fair
    const period = nr * f.minGranularityNs > f.schedLatencyNs ? nr * f.minGranularityNs : f.schedLatencyNs
    const s = Math.floor((period * w) / total)
    return s < f.minGranularityNs ? f.minGranularityNs : s
  }

  wakeup(thread: number, nowNs: number): boolean {
    const st = this.state[thread]
    if (st === undefined) throw new VcpuError(`FairScheduler.wakeup: no thread ${thread}`)
    if (st === ThreadState.Running || st === ThreadState.RunningBlocked) {
      this.state[thread] = ThreadState.Running
      return false
    }
    if (st === ThreadState.Queued) return false
    const w = this.threadWeight[thread]!
    this.place(thread, w)
    this.enqueue(thread, w)
    const cur = this.currentThread
    if (cur < 0) return true
    // check_preempt_wakeup: the current entity's vruntime brought up to now.
    const curV = this.vruntime[cur]! + this.vdelta(nowNs - this.tPrevNs, this.threadWeight[cur]!)
    return curV - this.vruntime[thread]! > this.vdelta(this.fair.wakeupGranularityNs, w)
  }

  /** `place_entity`: a sleeper at no less than `min_vruntime − latency/2`; a new entity at `min_vruntime` + its slice (`START_DEBIT`). */
  protected place(thread: number, w: number): void {
    const v = this.vruntime[thread]!
    if (v === NEVER_RAN) {
      const nr = this.qCount + (this.currentThread >= 0 ? 1 : 0) + 1
      const total = this.queuedWeight + (this.currentThread >= 0 ? this.threadWeight[this.currentThread]! : 0) + w
      this.vruntime[thread] = this.minVruntime + this.vdelta(this.sliceNs(w, nr, total), w)
      return
    }
    const floor = this.minVruntime - (this.fair.schedLatencyNs >>> 1)
    if (v < floor) this.vruntime[thread] = floor
  }

  requestIo(ioVcpu: number, _requesterPeriodNs: number, ioThread: number, nowNs: number): boolean {
    if (this.threadGroup[ioThread] !== ioVcpu) throw new VcpuError(`FairScheduler.requestIo: thread ${ioThread} is not in group ${ioVcpu}`)
    return this.wakeup(ioThread, nowNs)
  }

  block(thread: number, _nowNs: number): void {
    if (thread !== this.currentThread || this.state[thread] !== ThreadState.Running) {
      throw new VcpuError(`FairScheduler.block: thread ${thread} is not the running thread (${this.currentThread})`)
    }
    this.state[thread] = ThreadState.RunningBlocked
  }

  invoke(nowNs: number): Decision {
    this.invocations++
    const cur = this.currentThread
    if (cur >= 0) {
      const delta = nowNs - this.tPrevNs
      this.charge(cur, delta)
      if (this.state[cur] === ThreadState.Running) this.enqueue(cur, this.threadWeight[cur]!)
      else this.state[cur] = ThreadState.Blocked
    }
    this.currentThread = -1
    const next = this.pick()
    const d = this.decision
    let fire = Infinity
    let slice = 0
    if (next >= 0) {
      const w = this.threadWeight[next]!
      const nr = this.qCount
      const total = this.queuedWeight
      this.dequeue(next, w)
      this.state[next] = ThreadState.Running
      slice = this.sliceNs(w, nr, total)
      fire = slice
    }
    this.updateMin(next)
    if (fire < this.tickNs) fire = this.tickNs
    if (fire > this.maxTimerNs) fire = this.maxTimerNs
    const runFrom = nowNs + this.overheadNs
    let timerAt = nowNs + fire
    if (timerAt < runFrom) timerAt = runFrom
    this.tPrevNs = nowNs
    this.currentThread = next
    d.vcpu = next >= 0 ? this.threadGroup[next]! : -1
    d.thread = next
    d.runFromNs = runFrom
    d.timerAtNs = timerAt
    d.budgetNs = slice
    d.background = false
    d.budgetLimited = false
    return d
  }

  /** `update_curr`: charges `deltaNs` of wall time since the last invocation (protected: broken test variants override it). */
  protected charge(thread: number, deltaNs: number): void {
    this.execNs[thread] = this.execNs[thread]! + deltaNs
    this.vruntime[thread] = this.vruntime[thread]! + this.vdelta(deltaNs, this.threadWeight[thread]!)
  }

  /** `pick_next_entity`: the queued entity of least vruntime (ties: smaller id), or -1 (protected: broken variants). */
  protected pick(): number {
    let best = -1
    let bestV = Infinity
    const q = this.queue, vr = this.vruntime
    for (let i = 0; i < this.qCount; i++) {
      const t = q[i]!
      const v = vr[t]!
      if (v < bestV || (v === bestV && t < best)) {
        best = t
        bestV = v
      }
    }
    return best
  }

  /** `update_min_vruntime`: never decreases. */
  private updateMin(running: number): void {
    let m = running >= 0 ? this.vruntime[running]! : Infinity
    const q = this.queue, vr = this.vruntime
    for (let i = 0; i < this.qCount; i++) {
      const v = vr[q[i]!]!
      if (v < m) m = v
    }
    if (m !== Infinity && m > this.minVruntime) this.minVruntime = m
  }

  private enqueue(thread: number, w: number): void {
    this.queue[this.qCount++] = thread
    this.queuedWeight += w
    this.state[thread] = ThreadState.Queued
  }

  private dequeue(thread: number, w: number): void {
    const q = this.queue
    let i = 0
    while (q[i] !== thread) i++
    q[i] = q[--this.qCount]!
    this.queuedWeight -= w
  }
}
