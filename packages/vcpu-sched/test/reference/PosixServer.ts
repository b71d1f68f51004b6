/**
 * Reference naive POSIX sporadic server: spec §B.1 (N1–N5), written again from the rules, to be
 * compared with `src/PosixSporadicServer.ts` (shares no code with it).
 *
 * State: capacity `cap`, whether the server is at foreground priority (`active`), its activation
 * time `act`, what it consumed since `act`, and the pending replenishments, a plain sorted array.
 *
 * Choices where §B.1 is silent, taken from the README's words (not from src/'s code):
 * - replenishments are applied (N4) when the scheduler framework looks at the server (its refresh
 *   hook, §C.1 S2/W1, and its unblock hook), in time order; `cap := min(C, cap + amount)` each;
 * - "activation by a replenishment (N4) takes the replenishment's time as act";
 * - N5: "full queue merges the new amount into the latest entry at the later time";
 * - there is no background band (D3 not modelled): `b = cap` while active, else 0.
 */
import type { Repl } from "./SporadicServer.ts"

export class RefPosixServer {
  readonly kind = "main"
  readonly C: number
  T: number
  readonly maxRepl: number
  cap: number
  active = false
  act = 0
  consumed = 0
  pending: Repl[] = []
  b = 0

  constructor(C: number, T: number, maxRepl: number) {
    this.C = C
    this.T = T
    this.maxRepl = maxRepl
    this.cap = C
  }

  /** N4 for every due replenishment; returns the time of the one that brought `cap` above 0, or null. */
  private applyDue(now: number): number | null {
    let raisedAt: number | null = null
    while (this.pending.length > 0 && this.pending[0]!.t <= now) {
      const r = this.pending.shift()!
      const before = this.cap
      this.cap = Math.min(this.C, this.cap + r.b)
      if (before <= 0 && this.cap > 0 && raisedAt === null) raisedAt = r.t
    }
    return raisedAt
  }

  /** Refresh hook (for a runnable server): N4, and back to foreground if capacity came back. */
  refresh(now: number): void {
    const raisedAt = this.applyDue(now)
    if (!this.active && this.cap > 0) this.activate(raisedAt ?? now)
    this.b = this.active ? this.cap : 0
  }

  peek(now: number): number {
    let cap = this.cap
    for (const r of this.pending) if (r.t <= now) cap = Math.min(this.C, cap + r.b)
    return Math.max(cap, 0)
  }

  nextEvent(now: number): number | null {
    for (const r of this.pending) if (r.t > now) return r.t
    return null
  }

  /** N2 and N3. */
  endTimeslice(delta: number, _now: number, runnable: boolean): void {
    if (this.active) {
      this.cap -= delta // N2
      this.consumed += delta
      if (this.cap <= 0 || !runnable) {
        // N3: one replenishment of everything consumed since act, at act + T
        if (this.consumed > 0) this.post(this.act + this.T, this.consumed)
        this.active = false
        this.consumed = 0
        this.cap = Math.max(this.cap, 0)
      }
    }
    this.b = this.active ? this.cap : 0
  }

  /** N1: runnable again with capacity → activation now. */
  unblock(now: number): void {
    this.applyDue(now)
    if (this.cap > 0) this.activate(now)
  }

  private activate(at: number): void {
    this.active = true
    this.act = at
    this.consumed = 0
  }

  /** N3/N5. */
  private post(t: number, amount: number): void {
    if (this.pending.length === this.maxRepl) {
      const last = this.pending[this.pending.length - 1]!
      last.b += amount
      last.t = Math.max(last.t, t)
      return
    }
    let i = 0
    while (i < this.pending.length && this.pending[i]!.t < t) i++
    this.pending.splice(i, 0, { t, b: amount })
  }

  describe(): string {
    return `b=${this.b} cap=${this.cap} active=${this.active} act=${this.act} consumed=${this.consumed} P=[${this.pending.map((r) => `${r.t}:${r.b}`).join(",")}]`
  }
}
