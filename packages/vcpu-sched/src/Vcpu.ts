/**
 * What the PCPU scheduler needs from a VCPU: the hooks of spec §C.1 (refresh, next event, end of
 * timeslice, unblock) and the priority it is ordered by. Implemented by the Main-VCPU policies of
 * the registry (`Policy.ts`: the corrected sporadic server {@link MainVcpu}, the naive POSIX server,
 * the deferrable server, a user's own) and by the I/O VCPU (§C.2, PIBS).
 *
 * Priority: `priority` is a number the VCPU keeps current itself (smaller runs first; the scheduler
 * reads the field, it never calls anything to get it). Under the PCPU's priority rule `'rm'` it is
 * the period `T` (PIBS: the inherited one); under `'edf'` it is the VCPU's current absolute
 * deadline: the start of its current replenishment period plus its relative deadline `D`
 * (see {@link ServerVcpu} and §C.5, docs/model/scheduler.md#C.5.edf).
 *
 * Invariants every implementation keeps:
 * - `budgetNs` (the spec's `b`) is the value computed by the last `refresh` or `endTimeslice`,
 *   an integer ≥ 0; `peekBudget(now)` returns what `refresh(now)` would set, without changing state;
 * - `nextEventNs(now)` is strictly greater than `now`, or `NONE` (-1);
 * - `refresh` never makes `priority` smaller (S2 compares the priority it finds before refreshing);
 * - under `'rm'`, `priority` does not change while the VCPU is runnable (the PCPU keys its
 *   runnable list by it, `RunnableSet.ts`), except through PIBS inheritance, which
 *   `PcpuScheduler.requestIo` re-keys; the invariant checker checks the keys;
 * - all times and amounts are integer nanoseconds;
 * - next events stay put: while a VCPU is runnable (in `R`) and not current, its `nextEventNs(t)`
 *   keeps returning the same `e` for every `t < e` — only `endTimeslice` (current VCPU only) and
 *   `unblock` (a VCPU neither runnable nor running) may move it, and `refresh` only takes what is
 *   due. Quest keeps this by construction (`vcpu.c`: `end_timeslice` on `cur` only, `unblock` only if
 *   `!runnable && !running`, `update_replenishments` reads `Q` or clears a passed `r`), and the PCPU
 *   relies on it to cache listed VCPUs' next events for S4 (`internal/RankedEvents.ts`; the
 *   invariant checker compares the cache with `nextEventNs`). Code that changes a VCPU's budget
 *   state outside these hooks (a migration's or a reboot's `install`) calls {@link noteBudgetStateEdit}.
 *
 * @module
 */

/** `nextEventNs` when the VCPU has nothing pending. */
export const NONE = -1

/**
 * How many times a VCPU's budget state was changed outside the scheduler's hooks (see the rule
 * "next events stay put" above); every PCPU re-reads its cached next events when it moves.
 * Deterministic: it only decides what is re-read, never what is computed.
 */
export const budgetStateEdits = { count: 0 }

/** Call after changing a VCPU's budget state outside its hooks (migration, reboot: a policy's `install`). */
export const noteBudgetStateEdit = (): void => {
  budgetStateEdits.count++
}

export type VcpuKind = "main" | "io"

/**
 * How a PCPU orders its VCPUs (the scheduler option `priority`): `'rm'` by period (rate
 * monotonic, Quest), `'edf'` by current absolute deadline (earliest deadline first).
 */
export type PriorityRule = "rm" | "edf"

/** The budget policy of one VCPU, as the scheduler drives it. */
export interface Vcpu {
  readonly kind: VcpuKind
  /** The registered name of its policy (`Policy.ts`; `'pibs'` for I/O VCPUs). */
  readonly policy: string
  /** The priority rule the VCPU computes `priority` for (the PCPU's; checked by `addVcpu`). */
  readonly rule: PriorityRule
  /** Budget `C`, ns (for PIBS: the creation budget, `U = C/T₀`). */
  readonly budgetCapNs: number
  /** Current period `T`, ns. PIBS: inherited. */
  periodNs: number
  /**
   * What the PCPU scheduler orders by, smaller first: `T` under `'rm'`, the current absolute
   * deadline (ns) under `'edf'`. Kept current by the VCPU; never decreased by `refresh`.
   */
  priority: number
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

/** What a scenario gives for a Main VCPU: `C`, `T` and the relative deadline `D` (`≤ T`; default `T`). */
export interface ServerParams {
  readonly budgetNs: number
  readonly periodNs: number
  readonly deadlineNs: number
}

/** Where a VCPU is created: its PCPU's priority rule and (local) time of creation. */
export interface ServerContext {
  readonly rule: PriorityRule
  readonly createdAtNs: number
}

/**
 * The common part of a Main-VCPU budget server: `C`, `T`, `D`, the budget, and the priority under
 * either rule. A server starts a replenishment period at some time `s` (its own definition: when a
 * chunk becomes eligible, an activation, a period boundary) and calls {@link setPeriodStart}; under
 * `'edf'` its priority is then `s + D`, under `'rm'` it stays `T`.
 */
export abstract class ServerVcpu implements Vcpu {
  readonly kind = "main" as const
  abstract readonly policy: string
  readonly rule: PriorityRule
  readonly budgetCapNs: number
  periodNs: number
  /** Relative deadline `D`, ns (`0 < D ≤ T`); only the `'edf'` priority uses it. */
  readonly deadlineNs: number
  priority: number
  budgetNs = 0

  constructor(api: string, params: ServerParams, ctx: ServerContext) {
    checkBudgetPeriod(api, params.budgetNs, params.periodNs)
    const d = params.deadlineNs
    if (!Number.isSafeInteger(d) || d <= 0 || d > params.periodNs) throw new VcpuError(`${api}: deadline ${d}ns must be an integer with 0 < D ≤ T (${params.periodNs}ns)`)
    if (ctx.rule !== "rm" && ctx.rule !== "edf") throw new VcpuError(`${api}: priority rule ${String(ctx.rule)} must be 'rm' or 'edf'`)
    this.rule = ctx.rule
    this.budgetCapNs = params.budgetNs
    this.periodNs = params.periodNs
    this.deadlineNs = d
    this.priority = ctx.rule === "edf" ? ctx.createdAtNs + d : params.periodNs
  }

  /** A replenishment period starts at `startNs`: under `'edf'` the priority becomes `startNs + D`. */
  protected setPeriodStart(startNs: number): void {
    if (this.rule === "edf") this.priority = startNs + this.deadlineNs
  }

  abstract refresh(nowNs: number): void
  abstract peekBudget(nowNs: number): number
  abstract nextEventNs(nowNs: number): number
  abstract endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void
  abstract unblock(nowNs: number): void
}
