/**
 * The sleep queue (spec §C.1 W2): threads sleeping until a time of their sandbox's clock, and the
 * `sleep` / `sleepUntil` requests. By default (`kernel.sleepWakeup: 'tick'`, as Quest) a core's
 * sleepers are woken by its LAPIC timer handler (`Interrupts.timerTick` → {@link processDue}); with
 * `'exact'` each sleep posts its own `Timer` event instead.
 *
 * Invariants:
 * - each core's queue (`Pcpu.sleepAt` / `Pcpu.sleepers`) is sorted by local wake time, equal
 *   times in the order they went to sleep (FIFO);
 * - a sleeper is woken at most once per sleep: a removed or re-slept thread's pending exact-mode
 *   event is ignored (the thread's `sleepGen` changed);
 * - wake times are local (the sandbox's TSC, F18); only the exact mode converts them to global time.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"
import { beginSyscallEntry, Outcome, type FinishRequest, type RequestTable } from "./Requests.ts"
import { ThreadStatus, type Thread } from "./Thread.ts"

export class SleepQueue {
  private readonly k: Kernel
  private readonly exact: boolean
  private readonly hWake: number

  constructor(k: Kernel, table: RequestTable) {
    this.k = k
    this.exact = k.options.sleepWakeup === "exact"
    this.hWake = k.sim.register(`sandbox${k.sandbox}.wake`, (tid, gen) => this.onTimer(tid, gen))
    table.register(Program.Op.Sleep, "sleep queue", beginSyscallEntry, finishSleep)
    table.register(Program.Op.SleepUntil, "sleep queue", beginSyscallEntry, finishSleepUntil)
  }

  /** Puts `th` to sleep until local time `wakeLocalNs`. */
  sleep(p: Pcpu, th: Thread, wakeLocalNs: number): void {
    th.status = ThreadStatus.Sleeping
    th.wakeLocalNs = wakeLocalNs
    th.sleepGen++
    if (this.exact) {
      const at = Math.max(this.k.sim.now, p.tsc.globalAt(wakeLocalNs))
      this.k.sim.at(at, Simulation.EventClass.Timer, this.hWake, th.tid, th.sleepGen)
      return
    }
    // Sorted insertion (after equal times: FIFO).
    const at = p.sleepAt
    let i = at.length
    while (i > 0 && at[i - 1]! > wakeLocalNs) i--
    at.splice(i, 0, wakeLocalNs)
    p.sleepers.splice(i, 0, th)
  }

  /** Takes `th` out of the queue (it is killed while asleep). */
  remove(th: Thread): void {
    th.sleepGen++
    const p = th.pcpu
    const i = p.sleepers.indexOf(th)
    if (i >= 0) {
      p.sleepers.splice(i, 1)
      p.sleepAt.splice(i, 1)
    }
  }

  /** W2: wakes every sleeper due at the core's local time (called by the timer handler). */
  processDue(p: Pcpu): void {
    const at = p.sleepAt
    if (at.length === 0) return
    const local = this.k.localNow(p)
    let n = 0
    while (n < at.length && at[n]! <= local) n++
    if (n === 0) return
    const due = p.sleepers.splice(0, n)
    at.splice(0, n)
    for (const th of due) this.wakeSleeper(th)
  }

  /** Exact mode: the sleep of `tid` numbered `gen` ends now (unless it was cut short). */
  private onTimer(tid: number, gen: number): void {
    const th = this.k.threads[tid]
    if (th === undefined || th.status !== ThreadStatus.Sleeping || th.sleepGen !== gen) return
    this.wakeSleeper(th)
  }

  private wakeSleeper(th: Thread): void {
    th.status = ThreadStatus.Runnable
    this.k.lifecycle.schedWake(th.pcpu, th)
  }
}

const finishSleep: FinishRequest<Program.Sleep> = (k, p, th, req) => {
  k.sleepQueue.sleep(p, th, k.localNow(p) + req.ns)
  return Outcome.Blocked
}

const finishSleepUntil: FinishRequest<Program.SleepUntil> = (k, p, th, req) => {
  if (req.localNs <= k.localNow(p)) return Outcome.Done
  k.sleepQueue.sleep(p, th, req.localNs)
  return Outcome.Blocked
}
