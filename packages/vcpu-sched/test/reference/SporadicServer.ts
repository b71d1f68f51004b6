/**
 * Reference Main VCPU: the corrected sporadic server of spec §B.3 (SS0–SS7), written again from the
 * rules, as plainly as possible, to be compared with `src/MainVcpu.ts` (shares no code with it).
 *
 * State: `Q`, a plain array of `{t, b}` sorted by `t` (head = `Q[0]`), `u` (used, not yet charged)
 * and `b` (the budget the scheduler sees). Every rule below cites its number in §B.3.
 *
 * Where the repository knowingly departs from §B.3 (packages/vcpu-sched/README.md, "Choices"), this
 * file follows the README's words, not src/'s code:
 * - SS4.2: "after the rule's one merge, entries still out of order are merged as well, at the
 *   head's (later) time";
 * - SS5 with `maxRepl = 1`: "the whole chunk moves to head.t + T";
 * - SS5 with `splitAdvancesHead`: "the used part is re-posted at the original head.t + T and the
 *   remnant (moved to head.t + u) re-inserted in order" (only when the queue is not full: the
 *   full-queue branch of SS5.2 comes first in the spec's text).
 */

export interface Repl {
  t: number
  b: number
}

export class RefSporadicServer {
  readonly kind = "main"
  readonly C: number
  T: number
  readonly maxRepl: number
  readonly splitAdvancesHead: boolean
  Q: Repl[]
  u = 0
  b = 0

  /** SS0: `Q := [(t_create, C)]`, `u := 0`. */
  constructor(C: number, T: number, createdAt: number, maxRepl: number, splitAdvancesHead: boolean) {
    this.C = C
    this.T = T
    this.maxRepl = maxRepl
    this.splitAdvancesHead = splitAdvancesHead
    this.Q = [{ t: createdAt, b: C }]
  }

  /** 0 if `Q` is empty or `head.t > now`, else `head.b − u` (may be ≤ 0). */
  capacity(now: number): number {
    if (this.Q.length === 0 || this.Q[0]!.t > now) return 0
    return this.Q[0]!.b - this.u
  }

  /** SS1. */
  refresh(now: number): void {
    this.b = Math.max(this.capacity(now), 0)
  }

  /** What SS1 would give, without changing anything. */
  peek(now: number): number {
    return Math.max(this.capacity(now), 0)
  }

  /** SS2: the earliest entry time strictly in the future, or null. */
  nextEvent(now: number): number | null {
    let best: number | null = null
    for (const r of this.Q) if (r.t > now && (best === null || r.t < best)) best = r.t
    return best
  }

  /** SS3. */
  endTimeslice(delta: number, now: number, runnable: boolean): void {
    this.u += delta // SS3, step 1
    this.budgetCheck(now) // SS3, step 2
    if (!runnable) this.splitCheck(now) // SS3, step 3
    this.b = Math.max(this.capacity(now), 0) // SS3, step 4
  }

  /** SS4, only when `capacity(now) ≤ 0`. */
  private budgetCheck(now: number): void {
    if (this.capacity(now) > 0) return
    // SS4.1
    while (this.Q.length > 0 && this.Q[0]!.b <= this.u) {
      const head = this.Q.shift()!
      this.u -= head.b
      this.insert(head.t + this.T, head.b)
    }
    // SS4.2
    if (this.u > 0) {
      this.Q[0]!.t += this.u
      if (this.Q.length > 1 && this.Q[0]!.t + this.Q[0]!.b >= this.Q[1]!.t) this.mergeHeadIntoSecond()
      // README: entries still out of order are merged too, at the head's (later) time.
      while (this.Q.length > 1 && this.Q[0]!.t > this.Q[1]!.t) this.mergeHeadIntoSecond()
    }
  }

  /** Removes the head, adds its amount to the new head, which takes the removed head's time. */
  private mergeHeadIntoSecond(): void {
    const head = this.Q.shift()!
    this.Q[0]!.b += head.b
    this.Q[0]!.t = head.t
  }

  /** SS5. */
  private splitCheck(now: number): void {
    if (!(this.u > 0 && this.Q[0]!.t <= now)) return
    const head = this.Q[0]!
    const used = this.u
    const remnant = head.b - used // SS5.1
    if (this.Q.length === this.maxRepl) {
      if (this.Q.length === 1) {
        head.t = head.t + this.T // README: maxRepl = 1, the whole chunk moves one period later
      } else {
        // SS5.2 (full): remove the head, add the remnant to the new head; SS5.3 with that head's time
        this.Q.shift()
        this.Q[0]!.b += remnant
        this.insert(this.Q[0]!.t + this.T, used)
      }
    } else if (this.splitAdvancesHead) {
      const origT = head.t
      this.Q.shift()
      this.insert(origT + used, remnant)
      this.insert(origT + this.T, used)
    } else {
      head.b = remnant // SS5.2
      this.insert(head.t + this.T, used) // SS5.3
    }
    this.u = 0 // SS5.4
  }

  /** SS6. */
  unblock(now: number): void {
    if (!(this.capacity(now) > 0)) return
    this.Q[0]!.t = now
    while (this.Q.length > 1 && this.Q[1]!.t <= now + this.Q[0]!.b - this.u) {
      const head = this.Q.shift()!
      this.Q[0]!.b += head.b
      this.Q[0]!.t = now
    }
  }

  /** The insertion rule of §B.3: before any entry of equal time; never into a full queue. */
  private insert(t: number, b: number): void {
    if (this.Q.length >= this.maxRepl) throw new Error(`reference SS: insert (${t}, ${b}) into a full queue`)
    let i = 0
    while (i < this.Q.length && this.Q[i]!.t < t) i++
    this.Q.splice(i, 0, { t, b })
  }

  /** Observation: budget, usage and the queue. */
  describe(): string {
    return `b=${this.b} u=${this.u} Q=[${this.Q.map((r) => `${r.t}:${r.b}`).join(",")}]`
  }
}
