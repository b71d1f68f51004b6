/**
 * The scheduling invariants of spec §F, checked at every decision of a {@link PcpuScheduler}:
 * {@link attach} hangs an {@link InvariantChecker} on the scheduler's `observer`, which it calls
 * after every wakeup and every invocation (a scheduler without one pays nothing). The first
 * violation goes to the environment's `fail`, which must throw (the harness and the kernel throw a
 * sim-core `SimulationError` naming the time, the seed, and the sandbox, core and VCPU).
 *
 * Checked (each restated here from the spec, independently of the scheduler's code):
 * - structure (Quest's `check_run_invariants`): `R` holds each VCPU at most once, and exactly the
 *   VCPUs with queued threads; the dispatched thread is running and belongs to the dispatched VCPU;
 * - each Main VCPU's own state check, from its policy (`VcpuPolicy.checkInvariants`): F1 for the
 *   sporadic server (Σ Q = C, amounts > 0, Q sorted, |Q| ≤ maxRepl, 0 ≤ b ≤ C), DS0–DS2 for the
 *   deferrable server; naive POSIX servers break F1 by design (§B.2 D1) and get only `b ≥ 0`;
 * - F7 for I/O VCPUs: `b ≤ U·T_max` (`≤ U·T` with the clamp), `e` never decreases, and `e ≥ now`
 *   after P4 found the VCPU not budgeted;
 * - F2 + S2: the dispatched VCPU is the one S2 selects from `R` as it stood at the invocation (the
 *   runnable VCPU with `b > 0` of smallest priority — period or deadline; ties by the `ties` rule),
 *   with `b > 0`;
 * - F3: the PCPU idles, or runs the P7 background band, only if no runnable VCPU has `b > 0`;
 * - W1: a wakeup asks for preemption exactly when the woken VCPU has budget and outranks the
 *   current VCPU (or the PCPU idles) — or, with `rearmOnBudgetlessWakeup`, has none but would;
 * - F9: after a wakeup that asked for preemption, the scheduler runs before the PCPU spends any
 *   time outside interrupt handlers and the monitor (where it cannot run: interrupts are held);
 * - F10: a decision arms the timer at most `max(maxTimerInterval + δ, schedOverhead)` ahead, and
 *   the next invocation comes no later than that timer plus the timer's slack (tick rounding, LAPIC
 *   latency) plus the time the PCPU held interrupts meanwhile (handlers, monitor).
 *
 * Which apply, per policy (F2 reads "smallest priority": the period under `'rm'`, the current
 * absolute deadline under `'edf'`; F3, F9, F10, W1 and the structure are the scheduler's and apply
 * to every policy under both rules):
 *
 * | policy       | checked per decision (its own + the scheduler's)  | window bounds (tested elsewhere)        |
 * |--------------|---------------------------------------------------|------------------------------------------|
 * | `sporadic`   | F1 (Σ Q = C, sorted, ≤ maxRepl, b ≤ C), F2, F3    | F4 (`C + δ` per `T`); F5 under RM and LL |
 * | `posixNaive` | `b ≥ 0` only (it breaks F1 by design, §B.2 D1), F2, F3 | none: it breaks F4 (§B.2)           |
 * | `deferrable` | DS0–DS2 (`b ≤ C`, periods at `s₀ + kT`), F2, F3   | its RTA's interference (`2C` back to back) |
 * | a user's own | its `checkInvariants` (if any), F2, F3            | none unless it says so                   |
 * | PIBS (I/O)   | F7, F2, F3                                        | F6, F8                                   |
 *
 * F9, F10, W1 and the structural checks are the scheduler's: they apply whatever the policies.
 *
 * Not checked per decision, and why: F4 (window bound) and F6 (PIBS bandwidth) bound execution over
 * windows, which depends on how late enforcement comes (δ, interrupt handlers charged to the
 * current VCPU), so in a full system they are properties to test per configuration, not
 * invariants; F5 and F8 only hold for sets that pass a schedulability test.
 *
 * Cost: only when attached — allocations and O(VCPUs + R) work per call.
 *
 * @module
 */
import { IoVcpu, checkInvariants as checkIo } from "./IoVcpu.ts"
import * as Policy from "./Policy.ts"
import { ThreadState, type Decision, type SchedulerObserver } from "./Decision.ts"
import type { PcpuScheduler } from "./PcpuScheduler.ts"
import { VcpuError } from "./Vcpu.ts"

/** Where the checker runs: how to report, and what it needs to know about the PCPU's time. */
export interface CheckEnv {
  /** Reports a violation and throws; `vcpu` is the scheduler VCPU index concerned, or -1. */
  readonly fail: (message: string, vcpu: number) => never
  /** Global time now, ns (default: the time the scheduler is given). */
  readonly globalNowNs?: () => number
  /** The global time at which the scheduler's local time reaches `localNs` (default: the same). */
  readonly globalAt?: (localNs: number) => number
  /** ns the PCPU has spent, up to now, where the scheduler cannot run: interrupt handlers, the monitor (default 0). */
  readonly heldNs?: () => number
  /** How much later than programmed the timer may fire, ns (tick rounding, latency; default 0). */
  readonly timerSlackNs?: number
}

/** Thrown by the default environment (a {@link VcpuError}: a violated scheduling invariant). */
export class InvariantError extends VcpuError {}

const throwing = (message: string): never => {
  throw new InvariantError(message)
}

export class InvariantChecker implements SchedulerObserver {
  private readonly env: Required<CheckEnv>
  private localNow = 0
  /** `R` (entries `[0, prevRLen)`), the current VCPU and thread as they were after the last call. */
  private prevR = new Int32Array(8)
  private prevRLen = 0
  /** Scratch: `R` as S2 walked it. */
  private walked = new Int32Array(9)
  private prevVcpu = -1
  private prevThread = -1
  /** Per VCPU: last `e` and `budgeted` of an I/O VCPU. */
  private readonly lastEligible: number[] = []
  private readonly lastBudgeted: boolean[] = []
  /** A preempting wakeup waiting for its invocation: global time and held ns then (-1 = none). */
  private pendingAtNs = -1
  private pendingHeldNs = 0
  /** Global time the last decision's timer is due (Infinity = none) and held ns at that decision. */
  private timerDueNs = Infinity
  private heldAtDecisionNs = 0
  /** Scratch: occurrences of each VCPU in R. */
  private inR = new Int32Array(8)
  /** Checks done (wakeups + invocations). */
  checks = 0

  constructor(sched: PcpuScheduler, env: CheckEnv) {
    this.env = {
      fail: env.fail,
      globalNowNs: env.globalNowNs ?? (() => this.localNow),
      globalAt: env.globalAt ?? ((local) => local),
      heldNs: env.heldNs ?? (() => 0),
      timerSlackNs: env.timerSlackNs ?? 0,
    }
    this.snapshot(sched)
  }

  afterWakeup(sched: PcpuScheduler, thread: number, nowNs: number, preempt: boolean): void {
    this.checks++
    this.localNow = nowNs
    const v = sched.vcpuOf(thread)
    this.checkVcpu(sched, v, nowNs)
    // W1, restated: the current thread's wakeup is a no-op; else preempt iff b > 0 and it outranks.
    const vcpu = sched.vcpus[v]!
    const cur = sched.currentVcpu
    let expected = false
    if (!(thread === sched.currentThread && sched.stateOf(thread) === ThreadState.Running)) {
      const b = vcpu.peekBudget(nowNs)
      if (b !== vcpu.budgetNs) this.fail(`W1: VCPU ${v} woken with b = ${vcpu.budgetNs}, but its refresh at ${nowNs} gives ${b}`, v)
      const curP = cur < 0 ? Infinity : sched.vcpus[cur]!.priority
      const outranks = cur < 0 || sched.currentBackground || curP > vcpu.priority ||
        (sched.options.ties === "declaration" && curP === vcpu.priority && v < cur)
      expected = b > 0 ? outranks : sched.options.rearmOnBudgetlessWakeup && (outranks || sched.options.priority === "edf" || curP === vcpu.priority)
    }
    if (preempt !== expected) {
      this.fail(`W1: the wakeup of thread ${thread} (VCPU ${v}, priority ${vcpu.priority}, b=${vcpu.budgetNs}) ${preempt ? "asked for" : "did not ask for"} preemption of ${cur < 0 ? "the idle PCPU" : `VCPU ${cur} (priority ${sched.vcpus[cur]!.priority})`} (ties: ${sched.options.ties}${sched.options.priority === "edf" ? ", edf" : ""})`, v)
    }
    if (preempt && sched.invocations > 0 && this.pendingAtNs < 0) {
      this.pendingAtNs = this.env.globalNowNs()
      this.pendingHeldNs = this.env.heldNs()
    }
    this.saveR(sched)
  }

  afterInvoke(sched: PcpuScheduler, nowNs: number, d: Decision): void {
    this.checks++
    this.localNow = nowNs
    const o = sched.options
    // R as S2 walked it: R after the last call, plus the previously running VCPU if W2 re-queued
    // its thread and it was not in R (it then joined at the tail).
    if (this.walked.length < this.prevRLen + 1) this.walked = new Int32Array(2 * (this.prevRLen + 1))
    const walked = this.walked
    let n = 0
    for (let i = 0; i < this.prevRLen; i++) walked[n++] = this.prevR[i]!
    const pt = this.prevThread
    if (pt >= 0 && sched.stateOf(pt) !== ThreadState.Blocked && !walked.subarray(0, n).includes(this.prevVcpu)) walked[n++] = this.prevVcpu
    let exp = -1, expT = Infinity
    for (let i = 0; i < n; i++) {
      const v = walked[i]!
      const vcpu = sched.vcpus[v]!
      if (!(vcpu.peekBudget(nowNs) > 0)) continue
      const t = vcpu.priority
      if (t < expT || (o.ties === "declaration" && t === expT && v < exp)) { exp = v; expT = t }
    }
    const list = (): string => `R = [${Array.from(walked.subarray(0, n)).join(", ")}]`
    if (d.background) {
      if (exp >= 0) this.fail(`F3: VCPU ${d.vcpu} runs in the background band while VCPU ${exp} is runnable with b = ${sched.vcpus[exp]!.peekBudget(nowNs)} (${list()})`, exp)
      if (o.ioBackground !== "belowAll" || sched.vcpus[d.vcpu]?.kind !== "io") this.fail(`P7: VCPU ${d.vcpu} runs in a background band that ioBackground '${o.ioBackground}' does not allow`, d.vcpu)
    } else if (exp >= 0 && d.vcpu !== exp) {
      const what = d.vcpu < 0 ? "F3: the PCPU idles" : `F2: VCPU ${d.vcpu} (priority ${sched.vcpus[d.vcpu]!.priority}, b=${d.budgetNs}) was dispatched`
      this.fail(`${what}, but S2 (ties: ${o.ties}${o.priority === "edf" ? ", edf" : ""}) selects VCPU ${exp} (priority ${expT}, b=${sched.vcpus[exp]!.peekBudget(nowNs)}) from ${list()}`, d.vcpu < 0 ? exp : d.vcpu)
    } else if (exp < 0 && d.vcpu >= 0) {
      this.fail(`F2: VCPU ${d.vcpu} dispatched with b = ${d.budgetNs} while no runnable VCPU has budget (${list()})`, d.vcpu)
    }
    if (d.vcpu >= 0) {
      if (!d.background && d.budgetNs !== sched.vcpus[d.vcpu]!.peekBudget(nowNs)) this.fail(`F2: VCPU ${d.vcpu} dispatched with b = ${d.budgetNs}, but its budget at ${nowNs} is ${sched.vcpus[d.vcpu]!.peekBudget(nowNs)}`, d.vcpu)
      if (d.thread < 0 || sched.vcpuOf(d.thread) !== d.vcpu || sched.stateOf(d.thread) !== ThreadState.Running) {
        this.fail(`S3: thread ${d.thread} dispatched for VCPU ${d.vcpu} is not one of its threads or not running`, d.vcpu)
      }
    } else if (d.thread >= 0) {
      this.fail(`S3: thread ${d.thread} dispatched with no VCPU`, -1)
    }
    // Structure: R = exactly the VCPUs with queued threads, each once.
    const inR = this.inR.length >= sched.vcpus.length ? this.inR : (this.inR = new Int32Array(sched.vcpus.length * 2))
    inR.fill(0)
    for (let i = 0; i < sched.runnableCount; i++) inR[sched.runnableAt(i)]!++
    for (let v = 0; v < sched.vcpus.length; v++) {
      const k = inR[v]!
      if (k > 1) this.fail(`S: VCPU ${v} is ${k} times in R = [${sched.runnableList().join(", ")}]`, v)
      if ((k === 1) !== (sched.queuedCount(v) > 0)) this.fail(`S: VCPU ${v} ${k === 1 ? "is" : "is not"} in R = [${sched.runnableList().join(", ")}] with ${sched.queuedCount(v)} queued thread(s)`, v)
      if (k === 1 && sched.runnableKeyOf(v) !== sched.vcpus[v]!.priority) this.fail(`S: VCPU ${v} is ordered in R by priority ${sched.runnableKeyOf(v)}, but its priority is ${sched.vcpus[v]!.priority}`, v)
      if (k === 1) {
        // S4's cache of next events (`Vcpu.ts`: a listed VCPU's next event stays put until it passes).
        const c = sched.runnableCachedEventOf(v), e = sched.vcpus[v]!.nextEventNs(nowNs)
        if (c > nowNs && c !== (e === -1 ? Infinity : e)) this.fail(`S4: VCPU ${v}'s next event is cached as ${c}, but it is ${e} (a hook moved it without RunnableSet.eventsChanged or eventIs, or a change outside the hooks without noteBudgetStateEdit)`, v)
      }
      this.checkVcpu(sched, v, nowNs)
    }
    const g = this.env.globalNowNs()
    const held = this.env.heldNs()
    // F9: nothing but held time between the preempting wakeup and this invocation.
    if (this.pendingAtNs >= 0) {
      const free = g - this.pendingAtNs - (held - this.pendingHeldNs)
      if (free > 0) this.fail(`F9: a wakeup at ${this.pendingAtNs}ns asked for preemption, but the scheduler ran only at ${g}ns, after ${free}ns of thread or idle time`, d.vcpu)
      this.pendingAtNs = -1
    }
    // F10: this invocation is not later than the previous decision's timer allows ...
    if (this.timerDueNs !== Infinity) {
      const late = g - this.timerDueNs - this.env.timerSlackNs - (held - this.heldAtDecisionNs)
      if (late > 0) this.fail(`F10: the scheduler ran at ${g}ns, ${late}ns after its timer (due at ${this.timerDueNs}ns) and the time interrupts were held allow`, d.vcpu)
    }
    // ... and this decision's timer is within the bound.
    if (o.maxTimerIntervalNs !== Infinity) {
      const bound = Math.max(o.maxTimerIntervalNs + o.enforcementLatencyNs, o.schedOverheadNs)
      if (!(d.timerAtNs - nowNs <= bound)) this.fail(`F10: timer armed ${d.timerAtNs - nowNs}ns ahead (at ${d.timerAtNs}), more than max(maxTimerInterval + δ, overhead) = ${bound}ns`, d.vcpu)
    }
    this.timerDueNs = d.timerAtNs === Infinity ? Infinity : this.env.globalAt(d.timerAtNs)
    this.heldAtDecisionNs = held
    this.saveR(sched)
    this.prevVcpu = d.vcpu
    this.prevThread = d.thread
  }

  /** F1 / F7 and the budget's range for VCPU `v`. */
  private checkVcpu(sched: PcpuScheduler, v: number, nowNs: number): void {
    const vcpu = sched.vcpus[v]!
    if (!(Number.isSafeInteger(vcpu.budgetNs) && vcpu.budgetNs >= 0)) this.fail(`VCPU ${v}: b = ${vcpu.budgetNs} is not an integer ≥ 0`, v)
    const e = vcpu.nextEventNs(nowNs)
    if (!(e === -1 || e > nowNs)) this.fail(`VCPU ${v}: next event ${e} is not after now (${nowNs})`, v)
    if (vcpu.kind === "main") {
      const m = Policy.of(vcpu)?.checkInvariants?.(vcpu) ?? null
      if (m !== null) this.fail(`VCPU ${v}: ${m}`, v)
    } else if (vcpu instanceof IoVcpu) {
      const m = checkIo(vcpu)
      if (m !== null) this.fail(`VCPU ${v}: ${m}`, v)
      const lastE = this.lastEligible[v] ?? -Infinity
      if (vcpu.eligibleNs < lastE) this.fail(`VCPU ${v}: F7: e went back from ${lastE} to ${vcpu.eligibleNs}`, v)
      if (this.lastBudgeted[v] === false && vcpu.budgeted && vcpu.eligibleNs < nowNs) {
        this.fail(`VCPU ${v}: F7: e = ${vcpu.eligibleNs} < now = ${nowNs} after P4 found it not budgeted`, v)
      }
      this.lastEligible[v] = vcpu.eligibleNs
      this.lastBudgeted[v] = vcpu.budgeted
    }
  }

  private fail(message: string, vcpu: number): never {
    return this.env.fail(message, vcpu)
  }

  /** Copies `R` into `prevR`. */
  private saveR(sched: PcpuScheduler): void {
    const n = sched.runnableCount
    if (this.prevR.length < n) this.prevR = new Int32Array(2 * n)
    for (let i = 0; i < n; i++) this.prevR[i] = sched.runnableAt(i)
    this.prevRLen = n
  }

  private snapshot(sched: PcpuScheduler): void {
    this.saveR(sched)
    this.prevVcpu = sched.currentVcpu
    this.prevThread = sched.currentThread
    for (let v = 0; v < sched.vcpus.length; v++) {
      const vcpu = sched.vcpus[v]!
      if (vcpu instanceof IoVcpu) {
        this.lastEligible[v] = vcpu.eligibleNs
        this.lastBudgeted[v] = vcpu.budgeted
      }
    }
  }
}

/** Checks every later wakeup and invocation of `sched` (replacing any observer); returns the checker. */
export const attach = (sched: PcpuScheduler, env: Partial<CheckEnv> = {}): InvariantChecker => {
  const checker = new InvariantChecker(sched, { fail: env.fail ?? throwing, ...env })
  sched.observer = checker
  return checker
}
