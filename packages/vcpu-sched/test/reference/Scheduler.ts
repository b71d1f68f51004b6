/**
 * Reference PCPU scheduler: spec §C.1 (S1–S5, W1–W2) over the reference VCPU policies, written
 * again from the rules to be compared with `src/PcpuScheduler.ts` (shares no code with it; only the
 * option names, a type, are common). Plain arrays everywhere: `R` is a JS array of VCPU indices in
 * list order, each VCPU's thread queue a JS array; nothing is incremental or pooled.
 *
 * Options, each implemented from its documented meaning (spec §D.12 and the package README):
 * - `enforcementLatencyNs` δ: "when the programmed expiry is at or after the budget end, the timer
 *   fires δ later";
 * - `schedOverheadNs`: "the chosen thread starts this long after the invocation; the time is
 *   charged to the chosen VCPU (its timeslice starts at the invocation)"; the timer cannot fire
 *   before the scheduler has returned (it fires at `max(timer, now + overhead)`);
 * - `timerTickNs` / `maxTimerIntervalNs`: S4's clamps; with nothing to wait for, the upper clamp
 *   (`Infinity` = no timer);
 * - `quantumNs`: S3's round-robin quantum, counted in the VCPU's own time (every ns it is current);
 * - `ioBackground: 'belowAll'`: when no VCPU with budget is runnable, the runnable I/O VCPU with the
 *   smallest period (earlier in R on ties) runs uncharged (its end of timeslice is told Δ = 0);
 * - `rearmOnBudgetlessWakeup`: a wakeup whose VCPU has no budget yet still asks for an invocation
 *   when its VCPU would be in S4's timer set against the current one (idle, background, or
 *   `T ≤ T_current`), so the timer is re-armed for its next replenishment;
 * - `ties`: how S2 breaks equal periods. `'rotate'` is the spec's text (R in list order, ties to the
 *   earlier position; the running VCPU re-enters R at the tail at every invocation, W2), so equal
 *   periods take turns; `'declaration'`: the smaller VCPU index wins — in S2, in the background
 *   band, and in W1 (a woken VCPU preempts an equal-period VCPU of larger index); S4 is unchanged;
 * - `priority` (README "EDF"): `'rm'` compares periods, as above; `'edf'` compares each VCPU's
 *   current absolute deadline instead, read off its state when it is compared (nothing cached):
 *   sporadic server `Q[0].t + D` (the chunk in use or awaited was, or will be, eligible at `Q[0].t`),
 *   naive POSIX server `act + D` (its last activation, 0 before any), PIBS `g + T` (when the budget
 *   in use was granted, 0 at creation; its current, inherited `T`). Where the period rule says
 *   "period", read "priority" (S2, the background band, W1, the ties). Besides: S2 refreshes a VCPU
 *   only when its priority beats the best so far, and after the refresh takes it only if the
 *   refreshed priority still does (a refresh can move a deadline later); S4's timer waits for the
 *   next event of every runnable VCPU and of the chosen one (a replenishment can give any VCPU an
 *   earlier deadline); with `rearmOnBudgetlessWakeup` every budgetless wakeup asks for an
 *   invocation (every runnable VCPU is in S4's set);
 * - per-VCPU `policy` and `deadlineNs` (a Main VCPU's own policy, default the option `policy`; its
 *   relative deadline `D`, default `T`).
 */
import { RefPibs } from "./Pibs.ts"
import { RefPosixServer } from "./PosixServer.ts"
import { RefSporadicServer } from "./SporadicServer.ts"

export type Ties = "rotate" | "declaration"
export type PriorityRule = "rm" | "edf"
/** The options, by their documented names (README option table). */
export interface RefOptions {
  /** Main-VCPU policy: 'sporadic' (§B.3) or 'posixNaive' (§B.1). */
  readonly policy: string
  readonly maxRepl: number
  readonly splitAdvancesHead: boolean
  readonly enforcementLatencyNs: number
  readonly ioBackground: "none" | "belowAll"
  readonly pibsClampOnInherit: boolean
  readonly schedOverheadNs: number
  readonly quantumNs: number
  readonly maxTimerIntervalNs: number
  readonly timerTickNs: number
  readonly rearmOnBudgetlessWakeup: boolean
  readonly ties: Ties
  readonly priority: PriorityRule
}
export type RefVcpu = RefSporadicServer | RefPosixServer | RefPibs

/** §D.12 and the README's option table. */
export const refDefaults: RefOptions = {
  policy: "sporadic",
  maxRepl: 32,
  splitAdvancesHead: false,
  enforcementLatencyNs: 0,
  ioBackground: "none",
  pibsClampOnInherit: false,
  schedOverheadNs: 0,
  quantumNs: 1_000_000,
  maxTimerIntervalNs: 1_000_000,
  timerTickNs: 1,
  rearmOnBudgetlessWakeup: false,
  ties: "rotate",
  priority: "rm",
}

/** What one invocation decided. */
export interface RefDecision {
  vcpu: number
  thread: number
  runFrom: number
  timerAt: number
  budget: number
  background: boolean
}

export class RefScheduler {
  readonly o: RefOptions
  readonly vcpus: RefVcpu[] = []
  readonly queues: number[][] = []
  R: number[] = []
  readonly threadVcpu: number[] = []
  /** Per VCPU: time it has been current (its own clock for the quantum), the thread it picked last, and when that thread's quantum ends on that clock. */
  readonly ownTime: number[] = []
  readonly lastThread: number[] = []
  readonly quantumEnd: number[] = []
  current = -1
  currentThread = -1
  /** The current thread blocked since the last invocation. */
  currentBlocked = false
  currentBackground = false
  tPrev = 0

  constructor(options: { readonly [K in keyof RefOptions]?: RefOptions[K] | undefined } = {}) {
    const o: Record<string, unknown> = { ...refDefaults }
    for (const [k, v] of Object.entries(options)) if (v !== undefined) o[k] = v
    this.o = o as unknown as RefOptions
  }

  /** Relative deadline `D` per VCPU (Main VCPUs: given or `T`; I/O VCPUs: unused). */
  readonly D: number[] = []

  addMain(C: number, T: number, D = T, policy = this.o.policy): number {
    if (policy !== "sporadic" && policy !== "posixNaive") throw new Error(`reference: no policy ${policy}`)
    this.vcpus.push(policy === "sporadic" ? new RefSporadicServer(C, T, 0, this.o.maxRepl, this.o.splitAdvancesHead) : new RefPosixServer(C, T, this.o.maxRepl))
    this.D.push(D)
    return this.addSlot()
  }

  /** What S2 and W1 compare: the period (`'rm'`) or the current absolute deadline (`'edf'`, see the header). */
  prio(v: number): number {
    const vcpu = this.vcpus[v]!
    if (this.o.priority === "rm") return vcpu.T
    if (vcpu instanceof RefSporadicServer) return vcpu.Q[0]!.t + this.D[v]!
    if (vcpu instanceof RefPosixServer) return vcpu.act + this.D[v]!
    return vcpu.g + vcpu.T
  }

  addIo(C: number, T: number): number {
    this.vcpus.push(new RefPibs(C, T, this.o.pibsClampOnInherit))
    this.D.push(T)
    return this.addSlot()
  }

  private addSlot(): number {
    this.queues.push([])
    this.ownTime.push(0)
    this.lastThread.push(-1)
    this.quantumEnd.push(0)
    return this.vcpus.length - 1
  }

  addThread(vcpu: number): number {
    this.threadVcpu.push(vcpu)
    return this.threadVcpu.length - 1
  }

  /** W1. Returns true when the caller must invoke the scheduler now. */
  wakeup(th: number, now: number): boolean {
    if (th === this.currentThread) {
      // Still the current thread (it blocked since the last invocation, or never did): it is
      // runnable again and its VCPU still running, so no hook fires (W2 will re-queue it).
      this.currentBlocked = false
      return false
    }
    const v = this.threadVcpu[th]!
    const vcpu = this.vcpus[v]!
    if (!this.queues[v]!.includes(th)) {
      const wasRunnableOrRunning = this.R.includes(v) || v === this.current
      this.queues[v]!.push(th)
      if (!this.R.includes(v)) this.R.push(v)
      if (!wasRunnableOrRunning) vcpu.unblock(now)
    }
    vcpu.refresh(now)
    const cur = this.current
    const idleLike = cur < 0 || this.currentBackground
    if (vcpu.b > 0) return idleLike || this.better(this.prio(v), v, this.prio(cur), cur)
    return this.o.rearmOnBudgetlessWakeup && (idleLike || this.o.priority === "edf" || this.prio(cur) >= this.prio(v))
  }

  /** P1 then W1. */
  requestIo(ioVcpu: number, requesterT: number, ioThread: number, now: number): boolean {
    const v = this.vcpus[ioVcpu]
    if (!(v instanceof RefPibs)) throw new Error(`reference: VCPU ${ioVcpu} is not an I/O VCPU`)
    const idle = !this.R.includes(ioVcpu) && ioVcpu !== this.current
    v.inherit(requesterT, idle)
    return this.wakeup(ioThread, now)
  }

  /** The current thread stops being runnable (the caller invokes next). */
  block(th: number): void {
    if (th !== this.currentThread || this.currentBlocked) throw new Error(`reference: block of ${th}, which is not the running thread`)
    this.currentBlocked = true
  }

  /** S1–S5 with W2. */
  invoke(now: number): RefDecision {
    const cur = this.current
    if (cur >= 0) {
      const delta = now - this.tPrev
      this.ownTime[cur]! += delta
      if (!this.currentBlocked) {
        this.queues[cur]!.push(this.currentThread) // W2: re-queue the running thread
        if (!this.R.includes(cur)) this.R.push(cur)
      }
      this.vcpus[cur]!.endTimeslice(this.currentBackground ? 0 : delta, now, this.queues[cur]!.length > 0) // S1
    }
    this.current = -1
    this.currentThread = -1
    this.currentBlocked = false
    this.currentBackground = false

    // S2
    let best = -1
    let bestT = Infinity
    for (const v of this.R) {
      const vcpu = this.vcpus[v]!
      if (this.better(this.prio(v), v, bestT, best)) {
        vcpu.refresh(now)
        if (vcpu.b > 0 && this.better(this.prio(v), v, bestT, best)) {
          best = v
          bestT = this.prio(v)
        }
      }
    }
    let background = false
    if (best < 0 && this.o.ioBackground === "belowAll") {
      for (const v of this.R) {
        const vcpu = this.vcpus[v]!
        if (vcpu.kind === "io" && this.better(this.prio(v), v, bestT, best)) {
          best = v
          bestT = this.prio(v)
        }
      }
      background = best >= 0
    }

    // S3
    let thread = -1
    let budget = 0
    if (best >= 0) {
      thread = this.pickThread(best)
      if (this.queues[best]!.length === 0) this.R = this.R.filter((x) => x !== best)
      if (!background) budget = this.vcpus[best]!.b
    }

    // S4
    const edf = this.o.priority === "edf"
    const limitT = best >= 0 && !background && !edf ? bestT : Infinity
    let wait: number | null = best >= 0 && !background ? budget : null
    if (edf && best >= 0 && !background) {
      const e = this.vcpus[best]!.nextEvent(now)
      if (e !== null && e - now < wait!) wait = e - now
    }
    for (const v of this.R) {
      const vcpu = this.vcpus[v]!
      if (this.prio(v) <= limitT) {
        const e = vcpu.nextEvent(now)
        if (e !== null && (wait === null || e - now < wait)) wait = e - now
      }
    }
    let delay = wait === null ? this.o.maxTimerIntervalNs : Math.min(Math.max(wait, this.o.timerTickNs), this.o.maxTimerIntervalNs)
    if (best >= 0 && !background && delay >= budget) delay += this.o.enforcementLatencyNs
    const runFrom = now + this.o.schedOverheadNs
    const timerAt = Math.max(now + delay, runFrom)

    // S5
    this.tPrev = now
    this.current = best
    this.currentThread = thread
    this.currentBackground = background
    return { vcpu: best, thread, runFrom, timerAt, budget, background }
  }

  /** S2's comparison: a strictly smaller period; with `ties: 'declaration'`, an equal period and a smaller index. */
  private better(T: number, v: number, bestT: number, best: number): boolean {
    return T < bestT || (this.o.ties === "declaration" && T === bestT && v < best)
  }

  /** S3: keep the VCPU's last thread while its quantum lasts and it is queued, else the head of the queue. */
  private pickThread(v: number): number {
    const q = this.queues[v]!
    const last = this.lastThread[v]!
    if (last >= 0 && this.ownTime[v]! < this.quantumEnd[v]! && q.includes(last)) {
      q.splice(q.indexOf(last), 1)
      return last
    }
    const th = q.shift()!
    this.lastThread[v] = th
    this.quantumEnd[v] = this.ownTime[v]! + this.o.quantumNs
    return th
  }

  /** Observation of the whole scheduler state after an invocation. */
  describe(): string {
    return `R=[${this.R.join(",")}] ` + this.vcpus.map((v, i) => `v${i}{${v.describe()} q=[${this.queues[i]!.join(",")}]}`).join(" ")
  }
}
