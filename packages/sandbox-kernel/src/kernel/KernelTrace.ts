/**
 * The kernel's trace records: `k.dispatch` (every scheduler decision), `k.job` (every completed
 * job of a periodic thread), `k.thread` (fork, exit). Subjects are scoped by sandbox, so
 * per-sandbox fingerprints work (F19).
 *
 * Invariant: record kinds are declared once, in this order, when the kernel is built (the order
 * of declarations is part of the fingerprint).
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"

/** The kernel's trace records (subjects scoped by sandbox, so per-sandbox fingerprints work, F19). */
export class KernelTrace {
  readonly trace: Trace.Trace
  readonly subject: Trace.Subject
  private readonly kDispatch: Trace.RecordKind
  private readonly kJob: Trace.RecordKind
  private readonly kThread: Trace.RecordKind
  private forkSymbol = -1
  private exitSymbol = -1
  constructor(trace: Trace.Trace, sandbox: number) {
    this.trace = trace
    this.subject = trace.subject(`sandbox${sandbox}`, sandbox)
    this.kDispatch = trace.kind("k.dispatch", ["pcpu", "vcpu", "thread", "timerAt", "budget"])
    this.kJob = trace.kind("k.job", ["thread", "job", "responseNs", "missed"])
    this.kThread = trace.kind("k.thread", ["$event", "thread", "arg"])
  }
  dispatch(pcpu: number, vcpu: number, thread: number, timerAt: number, budget: number): void {
    this.trace.emit5(this.kDispatch, this.subject, pcpu, vcpu, thread, timerAt, budget)
  }
  job(thread: number, job: number, response: number, missed: number): void {
    this.trace.emit4(this.kJob, this.subject, thread, job, response, missed)
  }
  thread(event: string, thread: number, arg: number): void {
    // NOTE: the symbols of fork and exit remembered (a fork storm: two look-ups per child); each
    // interned at its first use as before, so the symbol order is unchanged.
    let symbol: number
    if (event === "fork") symbol = this.forkSymbol >= 0 ? this.forkSymbol : (this.forkSymbol = this.trace.symbol(event))
    else if (event === "exit") symbol = this.exitSymbol >= 0 ? this.exitSymbol : (this.exitSymbol = this.trace.symbol(event))
    else symbol = this.trace.symbol(event)
    this.trace.emit3(this.kThread, this.subject, symbol, thread, arg)
  }
}
