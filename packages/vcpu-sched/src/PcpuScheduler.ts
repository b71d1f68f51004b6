/**
 * The per-PCPU scheduler of spec §C.1 (rules S1–S5, W1–W2), hardware-agnostic: it is told about
 * wakeups, blocks and invocations, and answers with a {@link Decision} (what runs, from when, when
 * the one-shot timer must fire). The harness of this package wires it to sim-core events; the
 * sandbox kernel wires it to a LAPIC timer model.
 *
 * Model:
 * - VCPUs are budget policies ({@link Vcpu}): `addMainVcpu` builds one of the policy the VCPU
 *   names (default: the option `policy`) through the registry (`Policy.ts`), `addIoVcpu` an
 *   {@link IoVcpu}, and `addVcpu` takes any implementation (tests use it for broken variants).
 * - VCPUs are ordered by the number each keeps in `priority` (smaller first): the period under the
 *   option `priority: 'rm'`, the current absolute deadline under `'edf'`. The scheduler reads the
 *   field and never looks at periods or deadlines itself. Under `'edf'`, S4's timer also covers the
 *   next event of every runnable VCPU and of the chosen one (a replenishment can give any VCPU an
 *   earlier deadline than the current one's), and S2 re-checks a VCPU's priority after refreshing it.
 * - Threads belong to one VCPU. Each VCPU keeps a FIFO of its queued threads; the PCPU keeps the
 *   ordered runnable list `R` (append at the tail, no duplicates; `RunnableSet.ts`). Invariant
 *   outside calls: a VCPU is in `R` ⇔ its thread queue is non-empty.
 * - Under `'rm'`, `R` is also a tournament tree over list positions keyed by priority: S2's walk
 *   jumps from one VCPU it refreshes to the next (the first later VCPU strictly better than the best
 *   so far), so it refreshes exactly the VCPUs Quest's walk refreshes, in the same order, without
 *   visiting the others (O(log n) per VCPU it refreshes); S4 takes the earliest next event of the
 *   VCPUs of priority ≤ the chosen one's from their cached next events (O(log V) plus O(log V) per
 *   event read again; the cache rests on `Vcpu.ts`'s rule that a listed, non-current VCPU's next
 *   event stays put until it passes). Under `'edf'` (a refresh moves deadlines) both walk the plain list.
 * - The running thread is not queued (it was taken by S3); every invocation first re-queues it if
 *   it is still runnable (W2), so its VCPU competes again from the tail of `R`.
 * - Time charged to a VCPU is the wall time between invocations (S1): top-half interrupt time and
 *   scheduler overhead land on whichever VCPU was current, as in Quest.
 * - Equal priorities follow the `ties` option: `'rotate'` (Quest) takes the earlier VCPU in `R`, and
 *   a re-queued running VCPU rejoins `R` at the tail; `'declaration'` takes the smaller VCPU index
 *   (and lets a woken VCPU preempt an equal-priority VCPU of larger index).
 * - The state and its read-only views (for checks and reports) are in `PcpuState.ts`, which this
 *   class extends; this file holds the rules that change the state.
 * - An {@link SchedulerObserver} (`observer`, null by default) sees every wakeup and invocation:
 *   the invariant checker (`Invariants.ts`) hangs there, so checking costs nothing when off.
 *
 * Protocol for the caller (kernel or harness; its records are in `Decision.ts`), all times integer
 * ns, never decreasing:
 * - `wakeup(thread, now)` when a thread becomes runnable; if it returns true, call `invoke(now)`
 *   before letting time advance (W1 preemption; F9);
 * - `block(thread, now)` when the running thread stops being runnable, then `invoke(now)`;
 * - `invoke(now)` when the timer fires (W2) or as asked; apply the returned decision: run
 *   `decision.thread` from `decision.runFromNs` and fire the timer at `decision.timerAtNs`.
 *
 * @module
 */
import type { CoreScheduler } from "./CoreScheduler.ts"
import { Decision, ThreadState, type MainVcpuParams, type SchedulerObserver } from "./Decision.ts"
import { IoVcpu } from "./IoVcpu.ts"
import { resolveOptions, type SchedulerOptionsInput } from "./Options.ts"
import * as Policy from "./Policy.ts"
import { PcpuState } from "./PcpuState.ts"
import { TREE_FROM } from "./RunnableSet.ts"
import { NONE, VcpuError, type Vcpu } from "./Vcpu.ts"
import { VcpuSlot } from "./VcpuSlot.ts"

export { Decision, ThreadState, type MainVcpuParams, type SchedulerObserver } from "./Decision.ts"
export { checkDispatch } from "./DispatchCheck.ts"

// NOTE: speed: the thread states and NONE as module-private literals, read by the hot paths below
// instead of `ThreadState.X` and the imported `NONE`: V8 reads an imported binding through its
// module cell, with a check that it is initialised, at each use, and does not fold it (found by
// session 18's helpers). Measured: `npm run cachesim -- --sizes 5`, JIT instructions per event
// 1274.1 -> 1229.8 (deterministic to 0.1 between runs; native timings on this host were too noisy
// that evening to see 3 %). Checked against the definitions at load.
const BLOCKED = 0, QUEUED = 1, RUNNING = 2, RUNNING_BLOCKED = 3, NO_EVENT = -1
if (ThreadState.Blocked !== BLOCKED || ThreadState.Queued !== QUEUED || ThreadState.Running !== RUNNING || ThreadState.RunningBlocked !== RUNNING_BLOCKED || NONE !== NO_EVENT) {
  throw new Error("PcpuScheduler: its copies of ThreadState and NONE differ from Decision.ts's and Vcpu.ts's")
}

export class PcpuScheduler extends PcpuState implements CoreScheduler {
  // Copies of hot options. NOTE: read once, kept as fields to avoid a property chain per invocation.
  private readonly tickNs: number
  private readonly maxTimerNs: number
  private readonly latencyNs: number
  private readonly overheadNs: number
  private readonly quantumNs: number
  private readonly background: boolean
  /** `ties: 'declaration'`: equal priorities go to the smaller VCPU index. */
  private readonly byIndex: boolean
  /** `priority: 'edf'`. */
  private readonly edf: boolean
  /** This object is a plain `PcpuScheduler` (no subclass overrides what `idleInvocations` stands for). */
  private readonly plainClass: boolean

  /**
   * `runnableTreeFrom`: under 'rm', `R` is kept as a tree once longer than this (`RunnableSet.ts`;
   * a speed knob only, every value gives the same schedules; tests pass 0 to run the tree always).
   */
  constructor(options: SchedulerOptionsInput = {}, runnableTreeFrom = TREE_FROM) {
    super(resolveOptions(options), runnableTreeFrom)
    this.tickNs = this.options.timerTickNs
    this.maxTimerNs = this.options.maxTimerIntervalNs
    this.latencyNs = this.options.enforcementLatencyNs
    this.overheadNs = this.options.schedOverheadNs
    this.quantumNs = this.options.quantumNs
    this.background = this.options.ioBackground === "belowAll"
    this.byIndex = this.options.ties === "declaration"
    this.edf = this.options.priority === "edf"
    this.plainClass = Object.getPrototypeOf(this) === PcpuScheduler.prototype
  }

  /**
   * Adds a Main VCPU `(C, T)` of the policy `params.policy` (default: the option `policy`), created
   * at `createdAtNs` (SS0 for the sporadic server), with relative deadline `params.deadlineNs`
   * (default `T`); returns its index.
   */
  addMainVcpu(budgetNs: number, periodNs: number, createdAtNs = 0, params: MainVcpuParams = {}): number {
    const o = this.options
    const policy = Policy.get(params.policy ?? o.policy)
    const vcpu = policy.create({ budgetNs, periodNs, deadlineNs: params.deadlineNs ?? periodNs }, { rule: o.priority, createdAtNs, options: o })
    if (vcpu.policy !== policy.name) throw new VcpuError(`PcpuScheduler.addMainVcpu: policy "${policy.name}" built a VCPU that says it is "${vcpu.policy}"`)
    return this.addVcpu(vcpu)
  }

  /** Adds an I/O VCPU (PIBS) with `U = C/T` and initial period `T` (P0); returns its index. */
  addIoVcpu(budgetNs: number, periodNs: number, createdAtNs = 0): number {
    return this.addVcpu(new IoVcpu(budgetNs, periodNs, createdAtNs, { pibsClampOnInherit: this.options.pibsClampOnInherit, rule: this.options.priority }))
  }

  /** Adds any budget policy (computing its priority under this PCPU's rule); returns its index. */
  addVcpu(vcpu: Vcpu): number {
    if (vcpu.rule !== this.options.priority) throw new VcpuError(`PcpuScheduler.addVcpu: the VCPU computes its priority for '${vcpu.rule}', the PCPU orders by '${this.options.priority}'`)
    this.vcpus.push(vcpu)
    this.slots.push(new VcpuSlot(vcpu))
    this.runnable.reserve(this.vcpus.length)
    return this.vcpus.length - 1
  }

  /** Adds a (blocked) thread bound to VCPU `vcpu`; returns its id. */
  addThread(vcpu: number): number {
    const slot = this.slots[vcpu]
    if (slot === undefined) throw new VcpuError(`PcpuScheduler.addThread: no VCPU ${vcpu}`)
    slot.addThread()
    this.threadVcpu.push(vcpu)
    this.threadState.push(BLOCKED)
    return this.threadVcpu.length - 1
  }

  /**
   * W1: `thread` becomes runnable at `nowNs`. Returns true when the caller must invoke the
   * scheduler now (the thread's VCPU has budget and outranks the current one, or the PCPU idles).
   */
  wakeup(thread: number, nowNs: number): boolean {
    const preempt = this.wake(thread, nowNs)
    const obs = this.observer
    if (obs !== null) obs.afterWakeup(this, thread, nowNs, preempt)
    return preempt
  }

  /** W1 proper (protected: tests override it with deliberately broken variants the observer must catch). */
  protected wake(thread: number, nowNs: number): boolean {
    const state = this.threadState[thread]
    if (state === undefined) throw new VcpuError(`PcpuScheduler.wakeup: no thread ${thread}`)
    if (state === RUNNING || state === RUNNING_BLOCKED) {
      this.threadState[thread] = RUNNING // still current: its VCPU is running, no hook
      return false
    }
    const v = this.threadVcpu[thread]!
    const slot = this.slots[v]!
    const vcpu = slot.vcpu
    if (state === BLOCKED) {
      const wasActive = slot.inR || v === this.currentVcpu
      this.enqueue(slot, thread)
      const append = !slot.inR
      if (append) this.appendR(v, slot)
      if (!wasActive) vcpu.unblock(nowNs) // SS6 / P4 / N1
      // S4's cache takes its next event now, while its state is at hand (`RunnableSet.eventIs`).
      // NOTE: queued and read at the next S4 instead, the VCPU's state was cold there at 200 tasks
      // (measured with RankedEvents.known's figures).
      if (append && this.runnable.inTree) this.runnable.eventIs(v, vcpu.nextEventNs(nowNs))
    }
    vcpu.refresh(nowNs)
    const cur = this.currentVcpu
    const outranks = cur < 0 || this.currentBackground || this.vcpus[cur]!.priority > vcpu.priority ||
      (this.byIndex && v < cur && this.vcpus[cur]!.priority === vcpu.priority)
    if (vcpu.budgetNs > 0) return outranks
    // In S4's timer set against the current VCPU: under 'edf' every runnable VCPU is.
    return this.options.rearmOnBudgetlessWakeup && (outranks || this.edf || this.vcpus[cur]!.priority === vcpu.priority)
  }

  /**
   * P1 + W1: the Main VCPU of period `requesterPeriodNs` hands a job to `ioThread` of I/O VCPU
   * `ioVcpu` (priority inheritance), then wakes it. Returns what `wakeup` returns.
   */
  requestIo(ioVcpu: number, requesterPeriodNs: number, ioThread: number, nowNs: number): boolean {
    const vcpu = this.vcpus[ioVcpu]
    if (!(vcpu instanceof IoVcpu)) throw new VcpuError(`PcpuScheduler.requestIo: VCPU ${ioVcpu} is not an I/O VCPU`)
    if (this.threadVcpu[ioThread] !== ioVcpu) throw new VcpuError(`PcpuScheduler.requestIo: thread ${ioThread} is not on VCPU ${ioVcpu}`)
    const slot = this.slots[ioVcpu]!
    const idle = !slot.inR && ioVcpu !== this.currentVcpu
    vcpu.inherit(requesterPeriodNs, idle)
    if (slot.inR) this.runnable.reprioritise(ioVcpu, vcpu.priority) // P6: its place in S2's order moves
    return this.wakeup(ioThread, nowNs)
  }

  /** The running thread stops being runnable at `nowNs`; the caller must `invoke(nowNs)` next. */
  block(thread: number, _nowNs: number): void {
    if (thread !== this.currentThread || this.threadState[thread] !== RUNNING) {
      throw new VcpuError(`PcpuScheduler.block: thread ${thread} is not the running thread (${this.currentThread})`)
    }
    this.threadState[thread] = RUNNING_BLOCKED
  }

  /** S1–S5 (with W2's re-queue of the running thread). Returns the reused {@link Decision}. */
  invoke(nowNs: number): Decision {
    // NOTE: the time goes to the body and to S2 through a Float64Array, and this method is small
    // enough for V8 to inline into the caller: a number passed to a call that is not inlined is
    // boxed once past V8's small integers (~1.07 s in ns), one heap number per invocation for each.
    this.clock[0] = nowNs
    return this.invokeAtClock()
  }

  /**
   * The timer's interval when the PCPU idles with nothing runnable (no VCPU current, `R` empty) and
   * `invoke` may be replaced by {@link idleInvocations}: this class itself (no subclass override),
   * no observer, `R` kept as an array, a finite interval. Else -1.
   */
  idleTimerNs(): number {
    if (this.currentVcpu >= 0 || this.runnable.size !== 0 || this.runnable.inTree || this.observer !== null || !this.plainClass) return -1
    const step = this.idleStepNs()
    return step === Infinity ? -1 : step
  }

  /** S4 with nothing runnable: the longest timer (`maxTimerIntervalNs`), not before the dispatch (`schedOverheadNs`). */
  private idleStepNs(): number {
    return this.maxTimerNs > this.overheadNs ? this.maxTimerNs : this.overheadNs
  }

  /**
   * `count` invocations in a row, the last at `lastNs`, while the PCPU idles with nothing runnable
   * (call it only when `idleTimerNs()` ≥ 0, and with nothing changed between them): the state and
   * decision are those the `count` calls of `invoke` leave. Each of them chooses nothing (S2 has no
   * VCPU to walk) and sets the timer `idleTimerNs()` later; nothing else changes.
   */
  idleInvocations(count: number, lastNs: number): Decision {
    this.clock[0] = lastNs
    this.invocations += count
    this.tPrevNs = lastNs
    this.currentVcpu = -1
    this.currentThread = -1
    this.currentBackground = false
    const d = this.decision
    d.vcpu = -1
    d.thread = -1
    d.runFromNs = lastNs + this.overheadNs
    d.timerAtNs = lastNs + this.idleStepNs()
    d.budgetNs = 0
    d.background = false
    d.budgetLimited = false
    return d
  }

  /** The time of the invocation under way, ns (for `select` and its overrides). */
  protected invocationNs(): number {
    return this.clock[0]!
  }

  private invokeAtClock(): Decision {
    const nowNs = this.clock[0]!
    this.invocations++
    // S1 + W2: charge the current VCPU for the wall time since the last invocation.
    const cv = this.currentVcpu
    if (cv >= 0) {
      const slot = this.slots[cv]!
      const delta = nowNs - this.tPrevNs
      slot.quantumLeftNs -= delta
      const th = this.currentThread
      if (this.threadState[th] === RUNNING) {
        this.enqueue(slot, th)
        if (!slot.inR) this.appendR(cv, slot)
      } else {
        this.threadState[th] = BLOCKED
      }
      slot.vcpu.endTimeslice(this.currentBackground ? 0 : delta, nowNs, slot.qLen > 0)
      // The only hook that moves a listed VCPU's next event (it is listed when re-queued above or
      // when it has other queued threads): S4's cache is told its new next event, read here while its
      // state is at hand (`RunnableSet.eventIs`; `Vcpu.ts`: next events stay put otherwise).
      if (slot.inR && this.runnable.inTree) this.runnable.eventIs(cv, slot.vcpu.nextEventNs(nowNs))
    }
    this.currentVcpu = -1
    this.currentThread = -1
    this.currentBackground = false

    // S2 (and P7's background band when nothing with budget is runnable).
    let best = this.select()
    let bg = false
    if (best < 0 && this.background) {
      best = this.selectBackground()
      bg = best >= 0
    }
    const d = this.decision
    let thread = -1
    let budget = 0
    let limitT = Infinity
    if (best >= 0) {
      const slot = this.slots[best]!
      thread = this.pickThread(slot) // S3
      this.threadState[thread] = RUNNING
      if (slot.qLen === 0) this.removeR(best, slot)
      if (!bg) {
        budget = slot.vcpu.budgetNs
        limitT = slot.vcpu.priority
      }
    }

    // S4: the one-shot timer: the next event of every runnable VCPU of priority ≤ the chosen one's
    // (under 'edf': of every runnable VCPU, and the chosen one's).
    let fire = best >= 0 && !bg ? budget : Infinity
    if (this.edf) {
      limitT = Infinity
      if (best >= 0 && !bg) {
        const e = this.vcpus[best]!.nextEventNs(nowNs)
        if (e !== NO_EVENT && e - nowNs < fire) fire = e - nowNs
      }
    }
    const r = this.runnable, vcpus = this.vcpus
    if (r.inTree) {
      // NOTE: the numbers through `s4` (see `RunnableSet.earliestInTree`).
      const io = r.s4
      io[0] = nowNs
      io[2] = fire
      io[3] = limitT
      r.earliestInTree(vcpus)
      const e = io[1]!
      if (e < fire) fire = e
    } else {
      const list = r.array()
      for (let i = 0; i < r.size; i++) {
        const vcpu = vcpus[list[i]!]!
        if (vcpu.priority <= limitT) {
          const e = vcpu.nextEventNs(nowNs)
          if (e !== NO_EVENT && e - nowNs < fire) fire = e - nowNs
        }
      }
    }
    if (fire < this.tickNs) fire = this.tickNs
    if (fire > this.maxTimerNs) fire = this.maxTimerNs
    let timerAt = nowNs + fire
    const budgetLimited = best >= 0 && !bg && fire >= budget
    if (budgetLimited) timerAt += this.latencyNs
    const runFrom = nowNs + this.overheadNs
    if (timerAt < runFrom) timerAt = runFrom

    // S5.
    this.tPrevNs = nowNs
    this.currentVcpu = best
    this.currentThread = thread
    this.currentBackground = bg
    d.vcpu = best
    d.thread = thread
    d.runFromNs = runFrom
    d.timerAtNs = timerAt
    d.budgetNs = budget
    d.background = bg
    d.budgetLimited = budgetLimited
    const obs = this.observer
    if (obs !== null) obs.afterInvoke(this, nowNs, d)
    return d
  }

  /**
   * S2 at `invocationNs()`: walk `R` keeping the best priority so far; refresh only VCPUs strictly
   * better than it; the first with `b > 0` at a strictly better priority (after its refresh) becomes the candidate
   * (`ties: 'declaration'`: an equal priority with a smaller index is better too). Returns its
   * index or -1. (Under 'rm' a refresh never changes the priority: the re-check always passes, and
   * the tree lets the walk skip the VCPUs it would not refresh.)
   */
  protected select(): number {
    const nowNs = this.clock[0]!
    const r = this.runnable
    if (r.inTree) return r.selectInTree(this.vcpus, nowNs, this.byIndex)
    let best = -1
    let bestP = Infinity
    const list = r.array(), vcpus = this.vcpus, byIndex = this.byIndex
    for (let i = 0; i < r.size; i++) {
      const v = list[i]!
      const vcpu = vcpus[v]!
      const p = vcpu.priority
      if (p < bestP || (byIndex && p === bestP && v < best)) {
        vcpu.refresh(nowNs)
        const q = vcpu.priority
        if (vcpu.budgetNs > 0 && (q < bestP || (byIndex && q === bestP && v < best))) {
          best = v
          bestP = q
        }
      }
    }
    return best
  }


  /** P7 `'belowAll'`: the runnable I/O VCPU of smallest priority (ties as in S2), or -1. */
  private selectBackground(): number {
    let best = -1
    let bestP = Infinity
    const r = this.runnable
    for (let i = 0; i < r.size; i++) {
      const v = r.at(i)
      const vcpu = this.vcpus[v]!
      if (vcpu.kind === "io" && (vcpu.priority < bestP || (this.byIndex && vcpu.priority === bestP && v < best))) {
        best = v
        bestP = vcpu.priority
      }
    }
    return best
  }

  /** S3 round-robin: keep the last thread while its quantum lasts and it is queued, else the head. */
  private pickThread(slot: VcpuSlot): number {
    const last = slot.lastThread
    if (last >= 0 && slot.quantumLeftNs > 0 && this.threadState[last] === QUEUED) {
      slot.remove(last)
      return last
    }
    const th = slot.shift()
    slot.lastThread = th
    slot.quantumLeftNs = this.quantumNs
    return th
  }

  private enqueue(slot: VcpuSlot, thread: number): void {
    slot.push(thread)
    this.threadState[thread] = QUEUED
  }

  private appendR(v: number, slot: VcpuSlot): void {
    // Told: both callers tell the tree the VCPU's next event after its hooks (`RunnableSet.eventIs`).
    this.runnable.add(v, slot.vcpu.priority, true)
    slot.inR = true
  }

  private removeR(v: number, slot: VcpuSlot): void {
    this.runnable.remove(v)
    slot.inR = false
  }
}
