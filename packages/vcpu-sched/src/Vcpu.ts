/**
 * What the PCPU scheduler needs from a VCPU: the hooks of spec §C.1 (refresh, next event, end of
 * timeslice, unblock), implemented by the three budget policies — {@link MainVcpu} (§B.3, corrected
 * sporadic server), {@link PosixSporadicServer} (§B.1, naive POSIX) and {@link IoVcpu} (§C.2, PIBS).
 *
 * Invariants every implementation keeps:
 * - `budgetNs` (the spec's `b`) is the value computed by the last `refresh` or `endTimeslice`,
 *   an integer ≥ 0; `peekBudget(now)` returns what `refresh(now)` would set, without changing state;
 * - `nextEventNs(now)` is strictly greater than `now`, or `NONE` (-1);
 * - all times and amounts are integer nanoseconds.
 *
 * @module
 */

/** `nextEventNs` when the VCPU has nothing pending. */
export const NONE = -1

export type VcpuKind = "main" | "io"

/** The budget policy of one VCPU, as the scheduler drives it. */
export interface Vcpu {
  readonly kind: VcpuKind
  /** Budget `C`, ns (for PIBS: the creation budget, `U = C/T₀`). */
  readonly budgetCapNs: number
  /** Current period `T`, ns = the rate-monotonic priority (smaller = higher). PIBS: inherited. */
  periodNs: number
  /** Budget `b` the scheduler sees, ns (set by `refresh` / `endTimeslice`). */
  budgetNs: number
  /** SS1 / P2 / N4: recompute `budgetNs` at `now`. */
  refresh(nowNs: number): void
  /** The budget `refresh(nowNs)` would give, without changing anything. */
  peekBudget(nowNs: number): number
  /** SS2 / P5: the earliest pending replenishment time strictly after `nowNs`, or `NONE`. */
  nextEventNs(nowNs: number): number
  /**
   * SS3 / P3 / N2–N3: charge `deltaNs` of wall time to this VCPU (it was current since the previous
   * invocation); `runnable` tells whether it still has a runnable thread.
   */
  endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void
  /** SS6 / P4 / N1: the VCPU was neither runnable nor running and gets a runnable thread. */
  unblock(nowNs: number): void
}

/** A violated scheduling invariant or a misuse of the scheduler API (names the rule and the values). */
export class VcpuError extends Error {
  override readonly name = "VcpuError"
}

/** Validates a (budget, period) pair: integers with `0 < C ≤ T`. Names the API and the values. */
export const checkBudgetPeriod = (api: string, budgetNs: number, periodNs: number): void => {
  if (!Number.isSafeInteger(budgetNs) || !Number.isSafeInteger(periodNs) || budgetNs <= 0 || periodNs <= 0 || budgetNs > periodNs) {
    throw new VcpuError(`${api}: budget ${budgetNs}ns and period ${periodNs}ns must be integers with 0 < C ≤ T`)
  }
}
