/**
 * Policy `deferrable`: the deferrable server (Strosnider, Lehoczky & Sha, "The deferrable server
 * algorithm for enhanced aperiodic responsiveness in hard real-time environments", IEEE Trans.
 * Computers 44(1), 1995), as a Main VCPU. Rules (§C.5, docs/model/scheduler.md#C.5.deferrable):
 *
 * - DS0 periods: `[s₀ + kT, s₀ + (k+1)T)`, `s₀` the creation time; the budget starts full (`C`);
 * - DS1 replenishment: at every period boundary the budget becomes `C` again, whatever was left
 *   (unused budget is lost, never banked);
 * - DS2 consumption: execution in a period is charged to that period; a timeslice that crosses a
 *   boundary charges only its part after the last boundary (an overrun never becomes debt);
 * - DS3 idling: the budget is kept while the VCPU has nothing to run (unlike a polling server);
 * - DS4 next event: the next period boundary; priority `T` (`'rm'`) or the end of the current
 *   period (`'edf'`: deadline `s + T`, so `D = T` is required).
 *
 * Analysis ({@link deferrableDemand}): under fixed priorities a deferrable server interferes like a
 * periodic task whose release may be up to `T − C` late (it can run `C` at the end of one period
 * and `C` again at the start of the next), the jitter form of RTA (Audsley, Burns, Richardson,
 * Tindell & Wellings 1993; applied to the deferrable server in Bernat & Burns 1999, "New results on
 * fixed priority aperiodic servers", RTSS): interference `⌈(w + T − C)/T⌉·C`. Under EDF, its demand
 * over an interval of length `L = nT + r` is `n·C + min(r, C)` (what can execute inside the interval
 * with a deadline inside it: the first period's budget only from the interval's start; derived here
 * from the busy-interval argument of Baruah, Rosier & Howell 1990 — a dbf with jitter `T − C`
 * alone would miss the first period's partial demand).
 *
 * Invariants: `0 ≤ usedNs`; `0 ≤ budgetNs ≤ C`; `periodStartNs − s₀` is a multiple of `T`.
 *
 * @module
 */
import type { DemandModel, TaskParams } from "./Analysis.ts"
import type { VcpuPolicy } from "./Policy.ts"
import { noteBudgetStateEdit, ServerVcpu, VcpuError, type ServerContext, type ServerParams, type Vcpu } from "./Vcpu.ts"

export class DeferrableServer extends ServerVcpu {
  readonly policy: string = "deferrable"
  /** `s₀`: the first period's start, ns (a migration re-aligns it). */
  originNs: number
  /** Start of the current period, ns (as of the last hook). */
  periodStartNs: number
  /** Budget used in the current period, ns. */
  usedNs = 0

  constructor(params: ServerParams, ctx: ServerContext) {
    super("DeferrableServer", params, ctx)
    if (params.deadlineNs !== params.periodNs) throw new VcpuError(`DeferrableServer: deadline ${params.deadlineNs}ns must equal the period ${params.periodNs}ns (the budget is usable until the period ends)`)
    this.originNs = ctx.createdAtNs
    this.periodStartNs = ctx.createdAtNs
    this.budgetNs = params.budgetNs
  }

  /** The start of the period that contains `nowNs` (not before the current one). */
  private startAt(nowNs: number): number {
    const s = this.periodStartNs, T = this.periodNs
    return nowNs < s + T ? s : s + Math.floor((nowNs - s) / T) * T
  }

  /** DS1: moves to the period containing `nowNs`, with a full budget if that is a new one. */
  private roll(nowNs: number): void {
    const s = this.startAt(nowNs)
    if (s !== this.periodStartNs) {
      this.periodStartNs = s
      this.usedNs = 0
      this.setPeriodStart(s)
    }
  }

  refresh(nowNs: number): void {
    this.roll(nowNs)
    const b = this.budgetCapNs - this.usedNs
    this.budgetNs = b > 0 ? b : 0
  }

  peekBudget(nowNs: number): number {
    const b = this.startAt(nowNs) !== this.periodStartNs ? this.budgetCapNs : this.budgetCapNs - this.usedNs
    return b > 0 ? b : 0
  }

  /** DS4: the next period boundary. */
  nextEventNs(nowNs: number): number {
    return this.startAt(nowNs) + this.periodNs
  }

  /** DS2: charge `deltaNs`, only its part after the last boundary when the slice crossed one. */
  endTimeslice(deltaNs: number, nowNs: number, _runnable: boolean): void {
    const s = this.startAt(nowNs)
    if (s !== this.periodStartNs) {
      this.periodStartNs = s
      this.usedNs = deltaNs < nowNs - s ? deltaNs : nowNs - s
      this.setPeriodStart(s)
    } else {
      this.usedNs += deltaNs
    }
    const b = this.budgetCapNs - this.usedNs
    this.budgetNs = b > 0 ? b : 0
  }

  /** DS3: the budget is kept while idle; only the period may have moved on. */
  unblock(nowNs: number): void {
    this.roll(nowNs)
  }
}

/** What is wrong with a deferrable server's state, or null. */
export const checkInvariants = (v: Vcpu): string | null => {
  if (!(v instanceof DeferrableServer)) return null
  if (!(v.usedNs >= 0)) return `DS2: used ${v.usedNs} < 0`
  if (!(v.budgetNs >= 0 && v.budgetNs <= v.budgetCapNs)) return `DS1: b = ${v.budgetNs} outside [0, C = ${v.budgetCapNs}]`
  if ((v.periodStartNs - v.originNs) % v.periodNs !== 0) return `DS0: period start ${v.periodStartNs} is not s₀ + kT (s₀ = ${v.originNs}, T = ${v.periodNs})`
  return null
}

const ceilDiv = (a: number, b: number): number => Math.floor((a + b - 1) / b)

/** The deferrable server's demand model (see the module header for the sources). */
export const deferrableDemand: DemandModel = Object.freeze({
  source: "deferrable server: RTA with release jitter T − C (Strosnider, Lehoczky & Sha 1995; Bernat & Burns 1999); EDF dbf n·C + min(r, C) for L = nT + r (this package)",
  sporadicTask: false,
  rm: { interferenceNs: (v: TaskParams, w: number) => ceilDiv(w + v.periodNs - v.budgetNs, v.periodNs) * v.budgetNs },
  edf: {
    dbfNs: (v: TaskParams, L: number) => {
      const n = Math.floor(L / v.periodNs), r = L - n * v.periodNs
      return n * v.budgetNs + (r < v.budgetNs ? r : v.budgetNs)
    },
    nextPointNs: (v: TaskParams, L: number) => (L < v.budgetNs ? v.budgetNs : v.budgetNs + (Math.floor((L - v.budgetNs) / v.periodNs) + 1) * v.periodNs),
    dbfOffsetNs: (v: TaskParams) => v.budgetNs * (1 - v.budgetNs / v.periodNs),
  },
})

export const policy: VcpuPolicy = {
  name: "deferrable",
  description: "deferrable server: full budget C at every period boundary, kept while idle (Strosnider, Lehoczky & Sha 1995)",
  create: (params, ctx) => new DeferrableServer(params, ctx),
  analysis: deferrableDemand,
  migration: {
    save: (v) => {
      const d = v as DeferrableServer
      return { queue: [[d.periodStartNs, d.budgetCapNs]], usedNs: d.usedNs }
    },
    install: (v, saved, shiftNs) => {
      if (!(v instanceof DeferrableServer) || saved.queue.length !== 1) return "not a deferrable server's state"
      noteBudgetStateEdit() // outside the hooks: a PCPU's cached next event of this VCPU may be wrong now
      v.periodStartNs = saved.queue[0]![0] + shiftNs
      v.originNs = v.periodStartNs
      v.usedNs = saved.usedNs
      v.budgetNs = 0
      if (v.rule === "edf") v.priority = v.periodStartNs + v.deadlineNs
      return null
    },
  },
  optionValues: {},
  checkInvariants,
}
