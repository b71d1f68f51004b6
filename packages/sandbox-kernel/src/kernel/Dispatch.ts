/**
 * PCPU invocation and thread stepping: how a sandbox's kernel drives one core's VCPU scheduler and
 * runs the thread it picks.
 *
 * - A scheduler invocation (`invokeNow`) charges the current VCPU, picks a thread, arms the LAPIC
 *   timer at the decision's time (converted from the sandbox's local clock to global time) and
 *   resumes the thread: its pending CPU cost runs as core work (`core.startWork`); when it
 *   completes, the request's effect is applied and the generator is stepped to the next request
 *   (`runCurrent`), zero-time requests in the same instant. What a request costs and does is the
 *   request table's ({@link RequestTable}), not this module's.
 * - The kernel invokes inline ({@link InvokeTiming.Inline}), where Quest does: in the timer
 *   handler (W2), after a block, or at the end of an interrupt whose wakeup asked for preemption
 *   (W1, `requestInvoke`). The single-PCPU harness of vcpu-sched invokes once per instant instead;
 *   vcpu-sched's `Invocation.ts` is the one place that says how and why the two differ. Job
 *   statistics, segments and preemptions follow the rules both drivers share (vcpu-sched `Jobs.ts`).
 *
 * Invariants:
 * - the scheduler sees only this sandbox's local clock (F18): every time passed to it is
 *   `tsc.localNs(now)`; timer deadlines go back to global time through `tsc.globalAt`;
 * - a thread executes its CPU cost only while it is the scheduler's current thread and the core is
 *   in guest mode with no handler running; its progress is exactly the wall time it held the core
 *   (`cpuNs`), and each executed piece is one schedule segment;
 * - a job loses its core (one preemption) when an invocation picks another thread while the job
 *   has started and could go on.
 *
 * NOTE: hot path. Integer activity codes and work tags, reused per-thread records, no closure or
 * allocation per event; requests are dispatched through the table's function arrays.
 *
 * @module
 */
import { Invocation, Jobs as SchedJobs } from "@qvsim/vcpu-sched"
import type * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import { jobOf } from "./Jobs.ts"
import { errorText, safeJson } from "./Misuse.ts"
import { Activity, Work, type Pcpu } from "./Pcpu.ts"
import { Outcome, type RequestTable } from "./Requests.ts"
import { AHEAD_THREW, ThreadStatus, type Thread } from "./Thread.ts"


/** The most program steps one look-ahead takes (`Dispatch.lookAhead`). */
const MAX_LOOK_AHEAD = 64

export class Dispatch {
  /** When this driver invokes the scheduler (see vcpu-sched `Invocation.ts`). */
  readonly invokeTiming = Invocation.InvokeTiming.Inline
  private readonly k: Kernel
  private readonly table: RequestTable
  private readonly maxZeroTimeSteps: number
  /** Kernel option `mergePieces`: the look-ahead's switch. */
  private readonly mergePieces: boolean
  /**
   * The longest delay the LAPIC's 32-bit initial count holds (`timerMaxTicks · timerTickNs`): a
   * longer wait (possible when the 1 ms timer rule is off) is armed in steps, the scheduler
   * re-arming at each expiry, as a kernel must with a hardware counter (Quest's own cap is the
   * 1 ms quantum, vcpu.c).
   */
  private readonly timerMaxDelayNs: number

  constructor(k: Kernel, table: RequestTable) {
    this.k = k
    this.table = table
    this.maxZeroTimeSteps = k.options.maxZeroTimeSteps
    this.mergePieces = k.options.mergePieces
    const lapic = k.machine.config.lapic
    this.timerMaxDelayNs = lapic.timerMaxTicks * lapic.timerTickNs
  }

  /** Asks for a scheduler invocation on `p` as soon as the core can take it (now if it runs a thread or idles). */
  requestInvoke(p: Pcpu): void {
    switch (p.activity) {
      case Activity.Idle:
        this.invokeNow(p)
        return
      case Activity.Thread:
      case Activity.Overhead:
        this.suspendThread(p)
        this.invokeNow(p)
        return
      default:
        p.invokeWanted = true
    }
  }

  /** Runs the scheduler on `p` now and applies its decision. */
  invokeNow(p: Pcpu): void {
    if (p.activity === Activity.Thread || p.activity === Activity.Overhead) this.suspendThread(p)
    const k = this.k
    // SMP Quest: a core whose run queue is garbage stops here (smp/Smp.ts).
    if (k.smp !== null && !k.smp.mayInvoke(p)) return
    p.invokeWanted = false
    p.invocations++
    const now = k.sim.now
    const local = p.tsc.localNs(now)
    const d = p.sched.invoke(local)
    const th = d.thread >= 0 ? p.bySched[d.thread]! : null
    const prev = p.current
    // A started job that could go on loses the core: one preemption.
    if (prev !== null && prev !== th) prev.job.lostCore(prev.status === ThreadStatus.Runnable)
    p.current = th
    const lifecycle = k.lifecycle
    if (lifecycle.retiring.length > 0) lifecycle.recycleRetired()
    p.currentVcpu = d.vcpu >= 0 ? p.vcpuOfSched[d.vcpu]! : -1
    k.trace.dispatch(p.index, p.currentVcpu, th === null ? -1 : th.tid, d.timerAtNs === Infinity ? -1 : d.timerAtNs, d.budgetNs)
    if (d.timerAtNs === Infinity) p.lapic.cancelTimer()
    else p.lapic.armTimer(Math.min(this.timerMaxDelayNs, Math.max(0, p.tsc.globalAt(d.timerAtNs) - now)))
    if (th === null) {
      p.activity = Activity.Idle
      return
    }
    th.dispatches++
    if (d.runFromNs > local) {
      p.activity = Activity.Overhead
      p.core.startWork(Math.max(0, p.tsc.globalAt(d.runFromNs) - now), Work.Overhead)
      return
    }
    this.runCurrent(p)
  }

  /** Back to thread context: invoke if asked, else continue the current thread (or idle). */
  resume(p: Pcpu): void {
    if (p.invokeWanted) {
      this.invokeNow(p)
      return
    }
    if (p.current !== null) this.runCurrent(p)
    else p.activity = Activity.Idle
  }

  /** Stops the current thread's CPU work (an interrupt, a preemption), keeping what is left. */
  suspendThread(p: Pcpu): void {
    if (p.activity === Activity.Overhead) {
      p.core.preempt()
      p.activity = Activity.Idle
      return
    }
    const th = p.current!
    const left = p.core.preempt()
    const now = this.k.sim.now
    if (left >= 0) {
      th.cpuNs += th.remainingNs - left
      th.remainingNs = left
    }
    this.ran(p, th, now)
    p.activity = Activity.Idle
  }

  /** The current thread's CPU work completed (`Work.Thread`): account it and step the thread on. */
  threadWorkDone(p: Pcpu): void {
    const th = p.current!
    th.cpuNs += th.remainingNs
    th.remainingNs = 0
    th.mergedNs = 0
    this.ran(p, th, this.k.sim.now)
    this.runCurrent(p)
  }

  /** `th` executed on `p` from `th.runStartNs` to `now`: its segment, and its job's first start (local ns). */
  private ran(p: Pcpu, th: Thread, now: number): void {
    const from = th.runStartNs
    const job = th.job
    // NOTE: with no schedule recorded, a piece changes only an active job's open first start
    // (`accountPiece`: `job.ran`), so otherwise neither the piece's local start (a clock
    // conversion) nor its job number is worked out: nearly every piece (issue 15).
    if (p.schedule === null && (job.firstStartNs >= 0 || !job.active)) return
    SchedJobs.accountPiece(th.job, p.schedule, from, now, p.tsc.localNs(from), p.currentVcpu, th.tid, jobOf(th))
  }

  /** CPU `th` has executed so far, ns, including the piece running now. */
  executedNs(th: Thread): number {
    const p = th.pcpu
    return th.cpuNs + (p.current === th && p.activity === Activity.Thread ? this.k.sim.now - th.runStartNs : 0)
  }

  /**
   * Sets what is left of `th`'s current CPU cost to `ns` (another sandbox's write ends a busy-wait
   * early): if it is executing now, its core work is cut and restarted with the new length.
   */
  setRemaining(th: Thread, ns: number): void {
    const p = th.pcpu
    if (p.current === th && p.activity === Activity.Thread) {
      const now = this.k.sim.now
      const left = p.core.preempt()
      if (left >= 0) th.cpuNs += th.remainingNs - left
      this.ran(p, th, now)
      th.remainingNs = ns
      th.runStartNs = now
      if (ns > 0) {
        p.core.startWork(ns, Work.Thread)
        return
      }
      this.runCurrent(p)
      return
    }
    th.remainingNs = ns
  }

  /**
   * Steps the current thread until it must compute (core work), blocks, stops or is preempted.
   * NOTE: zero-time requests (`now`, effects whose cost is 0) are chained in this loop within the
   * same event instead of one event each.
   */
  runCurrent(p: Pcpu): void {
    const k = this.k
    const th = p.current!
    p.activity = Activity.Step
    if (th.killed) {
      k.processes.exit(th, -9)
      this.blockCurrent(p, th)
      return
    }
    if (th.status === ThreadStatus.Detached || th.status === ThreadStatus.Migrated) {
      this.blockCurrent(p, th)
      return
    }
    let guard = 0
    for (;;) {
      if (th.remainingNs > 0) {
        // Past the merged piece's first boundary (preempted there or after it): the rest is the merged compute's own.
        if (th.mergedNs >= th.remainingNs) th.mergedNs = 0
        if (!th.pending && th.mergedNs === 0 && th.ahead === null && this.mergePieces) this.lookAhead(th)
        p.activity = Activity.Thread
        th.runStartNs = k.sim.now
        p.core.startWork(th.remainingNs, Work.Thread)
        return
      }
      if (th.stopped) {
        // Resumed by the monitor without a resolution: the effect failed.
        th.stopped = false
        th.pending = false
        th.result = th.failValue
      }
      if (th.pending) {
        const req = th.req!
        th.pending = false
        const o = this.table.finish[req.op]!(k, p, th, req)
        if (o !== Outcome.Done) {
          if (o === Outcome.Again) {
            th.pending = true
            continue
          }
          // Applied, with CPU still to run after the effect: like a compute, then the thread steps on.
          if (o === Outcome.DoneAfter) continue
          if (o === Outcome.Stopped) {
            th.pending = true
            th.stopped = true
            p.activity = Activity.ExitWait
            return
          }
          if (o === Outcome.Wait) th.pending = true
          this.blockCurrent(p, th)
          return
        }
      }
      if (p.invokeWanted) {
        this.invokeNow(p)
        return
      }
      if (++guard > this.maxZeroTimeSteps) {
        this.k.misuse(th, `made ${guard - 1} requests without using any time (a program that never computes or sleeps?)`)
      }
      let r: IteratorResult<Program.Request, unknown>
      const ahead = th.ahead
      if (ahead !== null) {
        // The look-ahead took this step already (nothing ran between it and now).
        th.ahead = null
        if (ahead === AHEAD_THREW) {
          const e = th.aheadError
          th.aheadError = undefined
          this.k.misuse(th, `its program threw: ${errorText(e)}`)
        }
        r = ahead
      } else {
        try {
          // NOTE: a `Steps` program from a call site of its own (see ProgramSteps), generators from theirs.
          const steps = th.steps
          r = steps !== null ? steps.next(th.result) : th.gen.next(th.result)
        } catch (e) {
          this.k.misuse(th, `its program threw: ${errorText(e)}`)
        }
      }
      th.result = undefined
      if (r.done === true) {
        k.processes.exit(th, typeof r.value === "number" ? r.value : 0)
        this.blockCurrent(p, th)
        return
      }
      const req = r.value
      if (typeof req !== "object" || req === null) {
        this.k.misuse(th, typeof (r as { then?: unknown }).then === "function"
          ? "its program is async (a program must be a generator function, function*)"
          : `yielded ${String(req)}, which is not a request (use the Program constructors)`)
      }
      this.begin(p, th, req)
    }
  }

  /**
   * Before `th` runs a piece with no effect at its end (a `compute`, the copy after a poll's read):
   * when no event is queued before the piece would end, nothing can run between now and then, so
   * the program's next step is taken now instead of at the piece's end. A request whose `begin`
   * may run early (the table's `early`: a `compute`, a system call, a mailbox send's copy) is begun
   * now and its CPU joins the piece (`mergedNs`: one event instead of two), and so on while the
   * queue allows, up to a request with an effect at its end; anything else is held in `th.ahead`
   * and begun at the piece's end, as before. Every record, draw and effect keeps its time and
   * order: a program's code between two yields runs earlier, with nothing else running meanwhile
   * (an event scheduled later in this same instant may still run before a boundary: it can reach
   * the thread only through the kernel — a kill cuts the piece back at its first boundary,
   * `endAtBoundary`, though an early begin's random draw stays drawn — or through state shared by
   * programs outside the kernel, which programs must not use to talk: they talk through channels
   * and memory). It stops at the run's time limit (`Simulation.horizonNs`: a program's state at
   * the end of a run is as without it) and after {@link MAX_LOOK_AHEAD} steps (an endless loop of
   * computes with nothing queued still returns to the run loop).
   * NOTE: fewer events (issue 15).
   */
  private lookAhead(th: Thread): void {
    const k = this.k
    const sim = k.sim
    const table = this.table
    for (let steps = 0; steps < MAX_LOOK_AHEAD; steps++) {
      // Nothing queued before the piece's end, which the run reaches (not past its time limit).
      const end = sim.now + th.remainingNs
      if (!(sim.queue.peekTime() > end) || end > sim.horizonNs) return
      let r: IteratorResult<Program.Request, unknown>
      try {
        const stepsNow = th.steps
        r = stepsNow !== null ? stepsNow.next(th.result) : th.gen.next(th.result)
      } catch (e) {
        th.result = undefined
        th.ahead = AHEAD_THREW
        th.aheadError = e
        return
      }
      th.result = undefined
      const req = r.value as Program.Request
      const op: unknown = r.done !== true && typeof req === "object" && req !== null ? req.op : undefined
      const early = typeof op === "number" ? table.early[op] : undefined
      if (early === undefined || early === null || !early(k, th, req)) {
        th.ahead = r
        return
      }
      th.req = req
      th.pending = table.finish[op as number] !== null
      const ns = table.begin[op as number]!(k, th.pcpu, th, req)
      th.mergedNs += ns
      th.remainingNs += ns
      if (th.pending) return
    }
  }

  /**
   * `th` was killed: a piece with requests merged into it (`lookAhead`) stops at the first
   * piece's end, where the kill takes effect (the thread exits at its next step), as without the
   * merge.
   */
  endAtBoundary(th: Thread): void {
    if (th.mergedNs === 0) return
    const p = th.pcpu
    const left = p.current === th && p.activity === Activity.Thread ? th.remainingNs - (this.k.sim.now - th.runStartNs) : th.remainingNs
    const toBoundary = left - th.mergedNs
    th.mergedNs = 0
    if (toBoundary > 0) this.setRemaining(th, toBoundary)
  }

  /** Starts request `req`: its CPU cost, and whether an effect follows it. */
  private begin(p: Pcpu, th: Thread, req: Program.Request): void {
    const op: unknown = req.op
    const begin = typeof op === "number" ? this.table.begin[op] : undefined
    if (begin === undefined) this.k.misuse(th, `yielded ${safeJson(req)}, which is not a request (use the Program constructors)`)
    th.req = req
    th.pending = this.table.finish[op as number] !== null
    th.remainingNs = begin(this.k, p, th, req)
  }

  /** The current thread stops being runnable: tell the scheduler and invoke it. */
  private blockCurrent(p: Pcpu, th: Thread): void {
    p.sched.block(th.schedId, this.k.localNow(p))
    this.invokeNow(p)
  }
}
