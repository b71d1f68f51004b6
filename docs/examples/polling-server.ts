import { defineScenario } from "@qvsim/scenarios"
import { Analysis, Policy, Vcpu } from "@qvsim/vcpu-sched"

// A polling server (Lehoczky, Sha & Strosnider 1987), registered from this file: at every period
// boundary s₀ + kT it polls; with work pending it may run C; as soon as it has nothing to run,
// what is left is lost until the next boundary. (docs/extending.md walks through it.)
class PollingServer extends Vcpu.ServerVcpu {
  readonly policy = "polling"
  private startNs: number // start of the current period
  private usedNs = 0
  private idled = false // idle since the boundary or blocked since: the rest of the budget is gone

  constructor(params: Vcpu.ServerParams, ctx: Vcpu.ServerContext) {
    super("PollingServer", params, ctx)
    this.startNs = ctx.createdAtNs
    this.budgetNs = params.budgetNs
  }
  /** The start of the period containing `nowNs`. */
  private periodAt(nowNs: number): number {
    return this.startNs + Math.floor((nowNs - this.startNs) / this.periodNs) * this.periodNs
  }
  private roll(nowNs: number): void {
    const s = this.periodAt(nowNs)
    if (s === this.startNs) return
    this.startNs = s
    this.usedNs = 0
    this.idled = false
    this.setPeriodStart(s) // keeps the 'edf' priority (s + D) current
  }
  peekBudget(nowNs: number): number {
    if (this.periodAt(nowNs) !== this.startNs) return this.budgetCapNs
    return this.idled ? 0 : this.budgetCapNs - this.usedNs
  }
  refresh(nowNs: number): void {
    this.roll(nowNs)
    this.budgetNs = this.peekBudget(nowNs)
  }
  nextEventNs(nowNs: number): number {
    return this.periodAt(nowNs) + this.periodNs
  }
  endTimeslice(deltaNs: number, nowNs: number, runnable: boolean): void {
    this.roll(nowNs) // a slice that crossed a boundary is charged from the boundary on
    this.usedNs = Math.min(this.budgetCapNs, this.usedNs + Math.min(deltaNs, nowNs - this.startNs))
    if (!runnable) this.idled = true
    this.budgetNs = this.peekBudget(nowNs)
  }
  unblock(nowNs: number): void {
    this.roll(nowNs)
    if (nowNs !== this.startNs) this.idled = true // work that arrives after the poll waits for the next one
  }
}

Policy.register({
  name: "polling",
  description: "polling server: C from each period boundary while work is pending, lost when idle (Lehoczky, Sha & Strosnider 1987)",
  create: (params, ctx) => new PollingServer(params, ctx),
  analysis: Analysis.sporadicTask, // runs only from a poll, at most C: a periodic task
  migration: null, // refused by migration
  optionValues: {}, // it reads no scheduler options
})

export default defineScenario({
  name: "polling-server",
  description: "a polling server registered from the scenario file, beside a sporadic server with the same (C, T) and work",
  duration: "1s",
  seed: 7,
  pcpus: [{
    name: "cpu0",
    vcpus: [
      { name: "poller", budget: "2ms", period: "10ms", policy: "polling" },
      { name: "sporadic", budget: "2ms", period: "10ms" },
      { name: "background", budget: "10ms", period: "40ms" },
    ],
    threads: [
      { name: "requests-p", vcpu: "poller", arrivals: { kind: "poisson", mean: "7ms" }, job: [{ compute: ["200us", "1ms"] }] },
      { name: "requests-s", vcpu: "sporadic", arrivals: { kind: "poisson", mean: "7ms" }, job: [{ compute: ["200us", "1ms"] }] },
      { name: "batch", vcpu: "background", arrivals: { kind: "periodic", period: "40ms" }, job: [{ compute: "10ms" }] },
    ],
  }],
})
