/**
 * Reference I/O VCPU: PIBS, spec §C.2 (P0–P7), written again from the rules, to be compared with
 * `src/IoVcpu.ts` (shares no code with it). All products and quotients are exact BigInt floors
 * (`U·T = ⌊C·T / T₀⌋`, `u/U = ⌊u·T₀ / C⌋`, as the C code's integer divisions).
 *
 * Options, from their documented meaning:
 * - `pibsClampOnInherit`: `b` and `r.b` are clamped to `U·T` (current `T`) at every refresh and at
 *   every inheritance (README option table and F7);
 * - P5 reports `r.t` only when it is strictly in the future (README "Choices").
 */

const mulDiv = (a: number, b: number, c: number): number => Number((BigInt(a) * BigInt(b)) / BigInt(c))

export class RefPibs {
  readonly kind = "io"
  readonly C: number
  readonly T0: number
  T: number
  b: number
  u = 0
  e = 0
  r: { t: number; b: number } | null = null
  budgeted = false
  /** When the budget in use was granted (P2 applied a replenishment at `r.t`; 0 at creation): the `'edf'` deadline is `g + T`. */
  g = 0
  readonly clamp: boolean

  /** P0. */
  constructor(C: number, T: number, clamp: boolean) {
    this.C = C
    this.T0 = T
    this.T = T
    this.b = mulDiv(C, T, T) // U·T₀ = C
    this.clamp = clamp
  }

  /** `U·T` for the current period. */
  cmax(): number {
    return mulDiv(this.C, this.T, this.T0)
  }

  /** P1: `idle` = neither running nor runnable. */
  inherit(requesterT: number, idle: boolean): void {
    if (requesterT < this.T || idle) this.T = requesterT
    if (this.clamp) this.applyClamp()
  }

  /** P2. */
  refresh(now: number): void {
    if (this.r !== null && this.r.t <= now) {
      this.b = this.r.b
      this.g = this.r.t
      this.r = null
    }
    if (this.clamp) this.applyClamp()
  }

  peek(now: number): number {
    let b = this.r !== null && this.r.t <= now ? this.r.b : this.b
    if (this.clamp) b = Math.min(b, this.cmax())
    return b
  }

  /** P5. */
  nextEvent(now: number): number | null {
    return this.r !== null && this.r.t > now ? this.r.t : null
  }

  /** P3. */
  endTimeslice(delta: number, _now: number, runnable: boolean): void {
    this.b -= Math.min(delta, this.b)
    this.u += delta
    if (!runnable || this.b === 0) {
      this.e += mulDiv(this.u, this.T0, this.C) // P3.1
      if (this.r === null) this.r = { t: this.e, b: this.cmax() } // P3.2
      else this.r.t = this.e
      this.u = 0 // P3.3
      this.b = 0
      if (!runnable) this.budgeted = false // P3.4
    }
  }

  /** P4 (the code's form: "not budgeted"). */
  unblock(now: number): void {
    if (!this.budgeted && this.e < now) this.e = now
    const cmax = this.cmax()
    if (this.r === null) {
      if (!this.budgeted) this.r = { t: this.e, b: cmax }
    } else {
      this.r.b = cmax
    }
    this.budgeted = true
  }

  private applyClamp(): void {
    const cap = this.cmax()
    if (this.b > cap) this.b = cap
    if (this.r !== null && this.r.b > cap) this.r.b = cap
  }

  describe(): string {
    return `T=${this.T} b=${this.b} u=${this.u} e=${this.e} r=${this.r === null ? "-" : `${this.r.t}:${this.r.b}`} budgeted=${this.budgeted}`
  }
}
