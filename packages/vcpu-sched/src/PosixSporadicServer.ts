/**
 * The naive POSIX `SCHED_SPORADIC` rules of spec §B.1 (N1–N5), kept as a second Main-VCPU policy
 * (policy `posixNaive`) so the defects of §B.2 (budget amplification, premature
 * replenishment) can be shown beside the corrected server ({@link MainVcpu}).
 *
 * State: capacity `cap`, activation time `act`, whether the server is active (at foreground
 * priority since `act`), the time consumed since `act`, and the pending replenishments
 * `(time, amount)` sorted by time.
 *
 * Invariants: `0 ≤ cap ≤ C` between calls; pending amounts > 0, sorted, at most `maxRepl`;
 * `b = cap` while active, else 0 (no background band: D3 is not modelled, so a server with
 * `cap = 0` waits for its replenishment, as in the spec's tables). Σ pending may exceed `C`: that
 * is defect D1, not a bug.
 *
 * Choices where §B.1 is silent:
 * - activation by a replenishment (N4) takes the replenishment's own time as `act`, even when the
 *   scheduler only looks at the server later (a POSIX server is at foreground priority from then on);
 * - N5, queue full: the new amount is merged into the latest pending entry, which takes the later
 *   of the two times (lossless and conservative).
 *
 * @module
 */
import { insertBeforeEqual, shiftHead } from "./internal/replQueue.ts"
import type { VcpuPolicy } from "./Policy.ts"
import { NONE, ServerVcpu, VcpuError, type PriorityRule } from "./Vcpu.ts"

/** Policy `posixNaive`. Under `'edf'` the priority is `act + D` (what it consumes from `act` comes back at `act + T`). */
export class PosixSporadicServer extends ServerVcpu {
  readonly policy: string = "posixNaive"
  /** `cap`, ns. */
  capacityNs: number
  /** True between an activation (N1/N4) and the next block or exhaustion (N3). */
  active = false
  /** `act`, ns. */
  activatedAtNs = 0
  /** Execution since `act`, ns (the amount N3 posts). */
  consumedNs = 0
  readonly maxRepl: number
  /** Pending replenishments interleaved (`internal/replQueue.ts`): entry `i` = `(rec[2i], rec[2i + 1])` = (time, amount). */
  private readonly rec: Float64Array
  count = 0

  constructor(budgetNs: number, periodNs: number, createdAtNs = 0, options: { readonly maxRepl?: number; readonly rule?: PriorityRule; readonly deadlineNs?: number } = {}) {
    super("PosixSporadicServer", { budgetNs, periodNs, deadlineNs: options.deadlineNs ?? periodNs }, { rule: options.rule ?? "rm", createdAtNs })
    const maxRepl = options.maxRepl ?? 32
    if (!Number.isSafeInteger(maxRepl) || maxRepl < 1) throw new VcpuError(`PosixSporadicServer: maxRepl ${maxRepl} must be an integer ≥ 1`)
    this.capacityNs = budgetNs
    this.maxRepl = maxRepl
    this.rec = new Float64Array(2 * maxRepl)
  }

  /** N4 (called for a runnable server): apply due replenishments; activate if capacity came back. */
  refresh(nowNs: number): void {
    const raisedAt = this.applyDue(nowNs)
    if (!this.active && this.capacityNs > 0) this.activate(raisedAt >= 0 ? raisedAt : nowNs)
    this.budgetNs = this.active ? this.capacityNs : 0
  }

  peekBudget(nowNs: number): number {
    let cap = this.capacityNs
    const r = this.rec, end = 2 * this.count
    for (let i = 0; i < end && r[i]! <= nowNs; i += 2) cap += r[i + 1]!
    if (cap > this.budgetCapNs) cap = this.budgetCapNs
    return cap > 0 ? cap : 0
  }

  nextEventNs(nowNs: number): number {
    const r = this.rec, end = 2 * this.count
    for (let i = 0; i < end; i += 2) if (r[i]! > nowNs) return r[i]!
    return NONE
  }

  /** N2 (capacity decreases with execution) and N3 (post what was consumed since `act`). */
  endTimeslice(deltaNs: number, _nowNs: number, runnable: boolean): void {
    if (this.active) {
      this.capacityNs -= deltaNs
      this.consumedNs += deltaNs
      if (this.capacityNs <= 0 || !runnable) {
        if (this.consumedNs > 0) this.post(this.activatedAtNs + this.periodNs, this.consumedNs)
        this.active = false
        this.consumedNs = 0
        if (this.capacityNs < 0) this.capacityNs = 0 // N3: overrun is not carried as debt
      }
    }
    this.budgetNs = this.active ? this.capacityNs : 0
  }

  /** N1: becoming runnable with capacity activates the server now. */
  unblock(nowNs: number): void {
    this.applyDue(nowNs)
    if (this.capacityNs > 0) this.activate(nowNs)
  }

  private activate(atNs: number): void {
    this.active = true
    this.activatedAtNs = atNs
    this.consumedNs = 0
    this.setPeriodStart(atNs)
  }

  /** Applies every replenishment due at `nowNs`; returns the time of the one that lifted `cap` above 0, or -1. */
  private applyDue(nowNs: number): number {
    let raisedAt = -1
    const r = this.rec
    while (this.count > 0 && r[0]! <= nowNs) {
      const before = this.capacityNs
      this.capacityNs = Math.min(this.budgetCapNs, before + r[1]!)
      if (before <= 0 && this.capacityNs > 0 && raisedAt < 0) raisedAt = r[0]!
      shiftHead(r, 0, this.count)
      this.count--
    }
    return raisedAt
  }

  /** N3/N5: posts a replenishment (before equal times); a full queue merges into its latest entry. */
  private post(t: number, amount: number): void {
    const r = this.rec
    if (this.count === this.maxRepl) {
      const last = 2 * (this.count - 1)
      r[last + 1] = r[last + 1]! + amount
      if (t > r[last]!) r[last] = t
      return
    }
    insertBeforeEqual(r, 0, this.count, t, amount)
    this.count++
  }

  /** Pending replenishments as `[t, amount]`, earliest first (allocates). */
  replenishments(): Array<[number, number]> {
    const out: Array<[number, number]> = []
    for (let i = 0; i < this.count; i++) out.push([this.rec[2 * i]!, this.rec[2 * i + 1]!])
    return out
  }

  /** Σ pending amounts, ns (grows past `C` under defect D1). */
  pendingSum(): number {
    let s = 0
    for (let i = 0; i < this.count; i++) s += this.rec[2 * i + 1]!
    return s
  }
}

/**
 * Policy `posixNaive`: kept to show the defects of §B.2, so no analysis applies (budget
 * amplification, D1, lets it take more than `C` per period) and it does not migrate.
 */
export const policy: VcpuPolicy = {
  name: "posixNaive",
  description: "the naive POSIX SCHED_SPORADIC rules (§B.1, N1–N5), with their defects (§B.2); no analysis",
  create: (p, ctx) => new PosixSporadicServer(p.budgetNs, p.periodNs, ctx.createdAtNs, { maxRepl: ctx.options.maxRepl, rule: ctx.rule, deadlineNs: p.deadlineNs }),
  analysis: null,
  migration: null,
  optionValues: { maxRepl: [32, 1, 2, 3, 4] },
}
