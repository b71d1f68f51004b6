/**
 * What a kernel needs from the scheduler of one core, whatever its discipline: the rate-monotonic
 * VCPU scheduler of Quest-V ({@link PcpuScheduler}, spec §C.1) or the proportional-share
 * scheduler of a Linux front end ({@link FairScheduler}). The sandbox kernel is written against
 * this contract only, so a sandbox's cores can run either.
 *
 * Protocol (all times integer ns of the core's clock, never decreasing), as in `PcpuScheduler`:
 * `wakeup` (true = invoke now), `block` the running thread then `invoke`, `invoke` on the timer;
 * apply the returned {@link Decision} (run `thread` from `runFromNs`, fire the timer at `timerAtNs`).
 *
 * Invariants every implementation keeps: the decision record is reused (read it before the next
 * call); a thread is Blocked, Queued, Running or RunningBlocked ({@link ThreadState}); the running
 * thread is never queued; `invoke` re-queues a still-runnable running thread before choosing.
 *
 * @module
 */
import type { Decision, MainVcpuParams, ThreadState } from "./Decision.ts"
import type { Vcpu } from "./Vcpu.ts"

/** What a kernel reads of a scheduling group (a VCPU, or a fair scheduler's weight class). */
export interface GroupView {
  /** The rate-monotonic priority of a VCPU, ns; a fair scheduler's groups have none (0). */
  readonly periodNs: number
}

export interface CoreScheduler {
  /** The groups (VCPUs) by index. */
  readonly vcpus: readonly GroupView[]
  /** The reused answer of `invoke`. */
  readonly decision: Decision
  /** Adds a Main VCPU `(C, T)` of the policy `params` name (a fair scheduler: its next weight class); returns its index. */
  addMainVcpu(budgetNs: number, periodNs: number, createdAtNs?: number, params?: MainVcpuParams): number
  /** Adds an I/O VCPU (a fair scheduler: its next weight class); returns its index. */
  addIoVcpu(budgetNs: number, periodNs: number, createdAtNs?: number): number
  /** Adds a blocked thread in group `vcpu`; returns its id. */
  addThread(vcpu: number): number
  /** A thread's state. */
  stateOf(thread: number): ThreadState
  /** `thread` becomes runnable at `nowNs`; true when the caller must invoke now. */
  wakeup(thread: number, nowNs: number): boolean
  /** A requester of period `requesterPeriodNs` hands a job to `ioThread` of group `ioVcpu`, then wakes it. */
  requestIo(ioVcpu: number, requesterPeriodNs: number, ioThread: number, nowNs: number): boolean
  /** The running thread stops being runnable; the caller invokes next. */
  block(thread: number, nowNs: number): void
  /** Charges the current thread, chooses the next one and the timer. */
  invoke(nowNs: number): Decision
}

/** A group as a budget-policy VCPU, or undefined when it is not one (a fair scheduler's weight class). */
export const asVcpu = (g: GroupView | undefined): Vcpu | undefined => (g !== undefined && "refresh" in g ? (g as Vcpu) : undefined)
