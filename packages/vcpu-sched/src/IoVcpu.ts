/**
 * I/O VCPU: the priority-inheritance bandwidth-preserving server (PIBS) of spec §C.2, rules P0–P7.
 *
 * State: utilisation `U = C/T₀` from the creation pair, current (inherited) period `T`, budget `b`,
 * usage `u`, eligibility time `e`, at most one pending replenishment `r = (r.t, r.b)`, the
 * `budgeted` flag, and `T_max` (the largest period it has had, for F6/F7).
 *
 * `U·T` is computed exactly as `floor(C·T / T₀)` and `u/U` as `floor(u·T₀ / C)` (integer floor
 * division, as the C code does; BigInt when the product leaves the safe range).
 *
 * Invariants (F7, checked by {@link checkInvariants}): `e` never decreases; at most one pending
 * replenishment (structural); `b ≤ U·T_max`; with `pibsClampOnInherit`, `b ≤ U·T` and `r.b ≤ U·T`
 * after every refresh and inheritance.
 *
 * Choice: P5 reports `r.t` only when it is strictly in the future (like SS2): a due replenishment
 * is taken at the next refresh and needs no timer.
 *
 * @module
 */
import { mulDivFloor } from "./internal/arith.ts"
import { NONE, VcpuError, checkBudgetPeriod, type PriorityRule, type Vcpu } from "./Vcpu.ts"

export interface IoVcpuOptions {
  /** §C.2 deviation fix, default false. */
  readonly pibsClampOnInherit?: boolean
  /** The PCPU's priority rule, default `'rm'`. */
  readonly rule?: PriorityRule
}

/**
 * Priority: under `'rm'` the current (inherited) period `T` (P6); under `'edf'` the eligibility time
 * of the grant in use plus the current `T` (our definition: a grant is the budget of one period of
 * the inherited rate; no analysis covers PIBS under EDF).
 */
export class IoVcpu implements Vcpu {
  readonly kind = "io" as const
  readonly policy = "pibs"
  readonly rule: PriorityRule
  priority: number
  /** Creation budget `C` (ns); `U = C / T₀`. */
  readonly budgetCapNs: number
  /** Creation period `T₀`, ns. */
  readonly creationPeriodNs: number
  /** Current period `T` (inherited), ns. */
  periodNs: number
  /** `b`, ns. */
  budgetNs: number
  /** `u`, ns. */
  usedNs = 0
  /** `e`, ns. */
  eligibleNs = 0
  /** Whether `r` exists. */
  hasRepl = false
  /** `r.t`, ns. */
  replTimeNs = 0
  /** `r.b`, ns. */
  replBudgetNs = 0
  budgeted = false
  /** Largest period this VCPU has had (creation or inherited), ns. */
  maxPeriodNs: number
  /** Eligibility time of the grant being used (the `r.t` taken by the last P2), ns. */
  grantTimeNs = 0
  /**
   * Longest time from a grant's eligibility to the end of its use (block or exhaustion), ns: how
   * late a grant was used. The window bound F6 needs it (see `Schedule.checkBandwidth`).
   */
  maxGrantSpanNs = 0
  readonly clampOnInherit: boolean

  /** P0: `b := U·T₀` (= C), `e := 0`, no `r`, not budgeted. */
  constructor(budgetNs: number, periodNs: number, _createdAtNs = 0, options: IoVcpuOptions = {}) {
    checkBudgetPeriod("IoVcpu", budgetNs, periodNs)
    this.budgetCapNs = budgetNs
    this.creationPeriodNs = periodNs
    this.periodNs = periodNs
    this.maxPeriodNs = periodNs
    this.budgetNs = budgetNs
    this.clampOnInherit = options.pibsClampOnInherit ?? false
    this.rule = options.rule ?? "rm"
    this.priority = periodNs
  }

  /** `U·T` for a period `T` (ns), floored. */
  budgetFor(periodNs: number): number {
    return mulDivFloor(this.budgetCapNs, periodNs, this.creationPeriodNs)
  }

  /**
   * P1: a Main VCPU of period `requesterPeriodNs` hands a job to this I/O VCPU; `idle` = neither
   * running nor runnable. Raises the priority at once; it is only lowered when the VCPU goes idle.
   */
  inherit(requesterPeriodNs: number, idle: boolean): void {
    if (!Number.isSafeInteger(requesterPeriodNs) || requesterPeriodNs <= 0) {
      throw new VcpuError(`IoVcpu.inherit: period ${requesterPeriodNs}ns must be a positive integer`)
    }
    if (requesterPeriodNs < this.periodNs || idle) this.periodNs = requesterPeriodNs
    this.priority = this.rule === "edf" ? this.grantTimeNs + this.periodNs : this.periodNs
    if (this.periodNs > this.maxPeriodNs) this.maxPeriodNs = this.periodNs
    if (this.clampOnInherit) this.clamp()
  }

  /** P2: a due replenishment replaces `b` (not added). */
  refresh(nowNs: number): void {
    if (this.hasRepl && this.replTimeNs <= nowNs) {
      this.budgetNs = this.replBudgetNs
      this.grantTimeNs = this.replTimeNs
      this.hasRepl = false
      if (this.rule === "edf") this.priority = this.grantTimeNs + this.periodNs
    }
    if (this.clampOnInherit) this.clamp()
  }

  peekBudget(nowNs: number): number {
    let b = this.hasRepl && this.replTimeNs <= nowNs ? this.replBudgetNs : this.budgetNs
    if (this.clampOnInherit) {
      const cap = this.budgetFor(this.periodNs)
      if (b > cap) b = cap
    }
    return b
  }

  /** P5. */
  nextEventNs(nowNs: number): number {
    return this.hasRepl && this.replTimeNs > nowNs ? this.replTimeNs : NONE
  }

  /** P3. */
  endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void {
    this.budgetNs -= deltaNs < this.budgetNs ? deltaNs : this.budgetNs
    this.usedNs += deltaNs
    if (!runnable || this.budgetNs === 0) {
      if (nowNs - this.grantTimeNs > this.maxGrantSpanNs) this.maxGrantSpanNs = nowNs - this.grantTimeNs
      this.eligibleNs += mulDivFloor(this.usedNs, this.creationPeriodNs, this.budgetCapNs)
      if (!this.hasRepl) {
        this.hasRepl = true
        this.replBudgetNs = this.budgetFor(this.periodNs)
      }
      this.replTimeNs = this.eligibleNs
      this.usedNs = 0
      this.budgetNs = 0
      if (!runnable) this.budgeted = false
    }
  }

  /** P4 (follows the code: the first condition is "not budgeted", not `[DOC]`'s "not running"). */
  unblock(nowNs: number): void {
    if (!this.budgeted && this.eligibleNs < nowNs) this.eligibleNs = nowNs
    const cmax = this.budgetFor(this.periodNs)
    if (!this.hasRepl) {
      if (!this.budgeted) {
        this.hasRepl = true
        this.replTimeNs = this.eligibleNs
        this.replBudgetNs = cmax
      }
    } else {
      this.replBudgetNs = cmax
    }
    this.budgeted = true
  }

  private clamp(): void {
    const cap = this.budgetFor(this.periodNs)
    if (this.budgetNs > cap) this.budgetNs = cap
    if (this.hasRepl && this.replBudgetNs > cap) this.replBudgetNs = cap
  }
}

/** F7 (state part) for an I/O VCPU: `null` when it holds, else what is wrong. */
export const checkInvariants = (v: IoVcpu): string | null => {
  if (!(v.budgetNs >= 0)) return `F7: b = ${v.budgetNs} < 0`
  const capMax = v.budgetFor(v.maxPeriodNs)
  if (v.budgetNs > capMax) return `F7: b = ${v.budgetNs} > U·T_max = ${capMax}`
  if (v.clampOnInherit) {
    const cap = v.budgetFor(v.periodNs)
    if (v.budgetNs > cap) return `F7: b = ${v.budgetNs} > U·T = ${cap} with pibsClampOnInherit`
    if (v.hasRepl && v.replBudgetNs > cap) return `F7: r.b = ${v.replBudgetNs} > U·T = ${cap} with pibsClampOnInherit`
  }
  return null
}

/**
 * §C.2 thread attachment: the index of the I/O VCPU whose device-class mask shares the most bits
 * with `requestedMask`; ties (including no bit in common) go to the highest index. -1 when
 * `masks` is empty (the caller then uses its lowest-priority Main VCPU).
 */
export const selectByDeviceClass = (masks: ReadonlyArray<number>, requestedMask: number): number => {
  let best = -1, bestBits = -1
  for (let i = 0; i < masks.length; i++) {
    const bits = popcount(masks[i]! & requestedMask)
    if (bits >= bestBits) {
      best = i
      bestBits = bits
    }
  }
  return best
}

const popcount = (x: number): number => {
  let n = 0
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++
  return n
}

/** Device classes of §C.2 as bits. */
export const DeviceClass = { USB: 1, ATA: 2, NET: 4, DISK: 8, CDROM: 16, GPIO: 32 } as const
