/**
 * The records of the scheduler protocol (spec §C.1) that a core's scheduler and its caller share:
 * the {@link Decision} an invocation answers with, the {@link ThreadState}s a scheduler keeps, what
 * a Main VCPU names beyond `(C, T)` ({@link MainVcpuParams}), and the {@link SchedulerObserver} the
 * invariant checker hangs on a scheduler. `PcpuScheduler` and `FairScheduler` implement the
 * protocol (`CoreScheduler.ts`); the harness and the sandbox kernel drive it.
 *
 * Invariant: a scheduler keeps one `Decision` and overwrites it at every `invoke` (read it before
 * the next call).
 *
 * @module
 */
import type { PcpuScheduler } from "./PcpuScheduler.ts"

/** What a Main VCPU may name beyond `(C, T)`: its policy (default: the option `policy`) and relative deadline (default `T`). */
export interface MainVcpuParams {
  readonly policy?: string | undefined
  readonly deadlineNs?: number | undefined
}

/** Thread states as the scheduler sees them. */
export const ThreadState = {
  /** Not runnable, not running. */
  Blocked: 0,
  /** Runnable, in its VCPU's queue. */
  Queued: 1,
  /** The PCPU's current thread, runnable. */
  Running: 2,
  /** The PCPU's current thread, blocked since the last invocation (the next `invoke` retires it). */
  RunningBlocked: 3,
} as const
export type ThreadState = (typeof ThreadState)[keyof typeof ThreadState]

/** The answer of `invoke`. One record per scheduler, reused: read it before the next call. */
export class Decision {
  /** Chosen VCPU index, or -1 when the PCPU idles. */
  vcpu = -1
  /** Chosen thread id, or -1 when the PCPU idles. */
  thread = -1
  /** When the thread starts executing: the invocation time plus `schedOverheadNs`, ns. */
  runFromNs = 0
  /** When the one-shot timer must fire (the next invocation at the latest), ns; `Infinity` = no timer. */
  timerAtNs = Infinity
  /** The chosen VCPU's budget `b` at dispatch, ns (0 when idle or in the background band). */
  budgetNs = 0
  /** True when the chosen VCPU runs in the I/O background band (`ioBackground: 'belowAll'`, uncharged). */
  background = false
  /** True when the timer fires because the budget runs out (δ was added). */
  budgetLimited = false
}

/**
 * Sees the scheduler after every `wakeup` (also the one `requestIo` makes) and every `invoke`,
 * before the caller acts on the answer. Must not change the scheduler's state.
 */
export interface SchedulerObserver {
  afterWakeup(sched: PcpuScheduler, thread: number, nowNs: number, preempt: boolean): void
  afterInvoke(sched: PcpuScheduler, nowNs: number, decision: Decision): void
}

