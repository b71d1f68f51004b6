/**
 * The timer's invocations of an idle PCPU, run in a row by the single-PCPU harness
 * (`Harness.idleTicks`). While the PCPU idles with nothing runnable, each invocation chooses nothing
 * and sets the timer one fixed step later, so only its time and its `sched.dispatch` record differ
 * from the one before. {@link runIdleTicks} runs them in place (sim-core `runNextInPlace`: one event
 * each, in the order `run` would pop them) while each is the run's very next event, writes each one's
 * record, and says how many ran; the harness then sets the scheduler's state once
 * (`PcpuScheduler.idleInvocations`) and its own.
 *
 * NOTE: for speed: the ticks of an idle PCPU are about a quarter of the jobs bench's invocations
 * (10 tasks, U = 0.7). Each record is written inline (as the harness's own `sched.dispatch` record:
 * see `Harness.invocations` and sim-core `TraceEmit`, "Inline emitters"); the count is returned, not
 * the last time (a number past 2^31 returned from a call that is not inlined is boxed).
 *
 * @module
 */
import type { Simulation, Trace } from "@qvsim/sim-core"

/**
 * Runs the idle timer's invocations in place from `firstNs` (-1: none pending), one every `stepNs`,
 * while each is the run's very next event (handler `hInvoke`); with `out` (the trace's pending records,
 * null: no trace) each one's `sched.dispatch` record (head `dispatchHead`: no VCPU, no thread, the next
 * timer, no budget). Returns how many ran (the last at `firstNs + (count − 1)·stepNs`).
 */
export const runIdleTicks = (sim: Simulation.Simulation, hInvoke: number, firstNs: number, stepNs: number, out: Trace.PrintBatch | null, dispatchHead: number): number => {
  let t = firstNs
  let n = 0
  while (t >= 0 && sim.runNextInPlace(t, hInvoke)) {
    n++
    if (out !== null) {
      let p = out.pos
      if (p >= out.limit) p = out.flush() | 0
      const buf = out.buf
      buf[p] = dispatchHead
      buf[p + 1] = t
      buf[p + 2] = -1
      buf[p + 3] = -1
      buf[p + 4] = t + stepNs
      buf[p + 5] = 0
      out.pos = p + 6
    }
    t += stepNs
  }
  return n
}
