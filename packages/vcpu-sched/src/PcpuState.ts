/**
 * The state of a PCPU scheduler (spec §C.1) and its read-only views, for checks and reports
 * (`Invariants.ts`, the kernel's and the harness's reports). The rules that change it (S1–S5,
 * W1–W2) are in `PcpuScheduler.ts`, which extends this class; this one only holds and shows.
 *
 * State: the VCPUs (budget policies, by index) and their slots (thread FIFO, round-robin state,
 * `inR`); `R`, the runnable VCPUs (`RunnableSet.ts`); each thread's VCPU and {@link ThreadState};
 * the current VCPU and thread since the last invocation; `t_prev`; the reused {@link Decision}.
 *
 * Invariants outside calls (kept by `PcpuScheduler`): a VCPU is in `R` ⇔ its thread queue is
 * non-empty ⇔ its slot's `inR`; the running thread is not queued.
 *
 * @module
 */
import { Decision, ThreadState, type SchedulerObserver } from "./Decision.ts"
import type { SchedulerOptions } from "./Options.ts"
import { PriorityBuckets } from "./internal/PriorityBuckets.ts"
import { RunnableSet } from "./RunnableSet.ts"
import type { Vcpu } from "./Vcpu.ts"
import type { VcpuSlot } from "./VcpuSlot.ts"

export abstract class PcpuState {
  readonly options: SchedulerOptions
  /** The budget policies, by VCPU index. */
  readonly vcpus: Vcpu[] = []
  protected readonly slots: VcpuSlot[] = []
  /** `R`: the runnable VCPUs (list order; under 'rm' also a tournament tree by priority). */
  protected readonly runnable: RunnableSet
  protected readonly threadVcpu: number[] = []
  protected readonly threadState: number[] = []
  /** Current VCPU (-1 = idle) and thread (-1 = none) since the last invocation. */
  currentVcpu = -1
  currentThread = -1
  /** True when the current VCPU runs in the background band. */
  currentBackground = false
  /** `t_prev`: time of the last invocation, ns. */
  tPrevNs = 0
  /** Invocations so far. */
  invocations = 0
  /** The reused decision record. */
  readonly decision = new Decision()
  /** `invoke`'s time, ns (see there). */
  protected readonly clock = new Float64Array(1)
  /** Called after every wakeup and invocation when set (invariant checking); null costs nothing. */
  observer: SchedulerObserver | null = null

  /** `runnableTreeFrom`: see `PcpuScheduler`'s constructor. */
  constructor(options: SchedulerOptions, runnableTreeFrom: number) {
    this.options = options
    this.runnable = new RunnableSet(options.priority !== "edf", runnableTreeFrom, options.ties === "declaration" ? null : new PriorityBuckets())
  }

  /** Number of threads. */
  get threadCount(): number {
    return this.threadVcpu.length
  }

  /** The VCPU a thread belongs to. */
  vcpuOf(thread: number): number {
    return this.threadVcpu[thread]!
  }

  /** A thread's {@link ThreadState}. */
  stateOf(thread: number): ThreadState {
    return this.threadState[thread] as ThreadState
  }

  /** True when VCPU `v` is in `R`. */
  isRunnable(v: number): boolean {
    return this.slots[v]!.inR
  }

  /** Length of `R`. */
  get runnableCount(): number {
    return this.runnable.size
  }

  /** The `i`-th VCPU of `R` (0 = head), without allocating (under 'rm': sorts once per change of `R`). */
  runnableAt(i: number): number {
    return this.runnable.at(i)
  }

  /** `R` in list order (allocates; for checks and reports). */
  runnableList(): number[] {
    return this.runnable.order()
  }

  /** Under 'rm': the priority `R`'s tree keys listed VCPU `v` by (must equal its `priority`; checked by `Invariants`). */
  runnableKeyOf(v: number): number {
    return this.runnable.keyed ? this.runnable.keyOf(v) : this.vcpus[v]!.priority
  }

  /** Listed VCPU `v`'s next event as S4's cache holds it (`RunnableSet.cachedEventOf`; checked by `Invariants`). */
  runnableCachedEventOf(v: number): number {
    return this.runnable.cachedEventOf(v)
  }

  /** Number of queued threads of VCPU `v`. */
  queuedCount(v: number): number {
    return this.slots[v]!.qLen
  }

  /** Queued threads of VCPU `v`, head first (allocates). */
  queuedThreads(v: number): number[] {
    return this.slots[v]!.queued()
  }
}
