/**
 * The dispatch rules F2 and F3 (docs/model/invariants.md) checked on a {@link PcpuScheduler}'s
 * last decision: what the invariant checker (`Invariants.ts`) and the scheduler's tests assert
 * after every invocation. It reads the scheduler (`peekBudget`) and changes nothing.
 *
 * @module
 */
import type { PcpuScheduler } from "./PcpuScheduler.ts"

/**
 * F2 and F3 right after an `invoke` at `nowNs` (uses `peekBudget`, changes nothing): a dispatched
 * VCPU had `b > 0` and no runnable VCPU with budget has a strictly smaller period (nor, with
 * `ties: 'declaration'`, an equal period and a smaller index); an idle PCPU
 * (or one running the background band) has no runnable VCPU with budget. `null` when both hold.
 */
export const checkDispatch = (sched: PcpuScheduler, nowNs: number): string | null => {
  const d = sched.decision
  const r = sched.runnableList()
  if (d.vcpu >= 0 && !d.background) {
    if (!(d.budgetNs > 0)) return `F2: VCPU ${d.vcpu} dispatched with b = ${d.budgetNs}`
    const t = sched.vcpus[d.vcpu]!.priority
    for (const v of r) {
      if (v === d.vcpu) continue
      const other = sched.vcpus[v]!
      const better = other.priority < t || (sched.options.ties === "declaration" && other.priority === t && v < d.vcpu)
      if (better && other.peekBudget(nowNs) > 0) {
        return `F2: VCPU ${d.vcpu} (priority ${t}) dispatched while VCPU ${v} (priority ${other.priority}) has b = ${other.peekBudget(nowNs)}`
      }
    }
    return null
  }
  for (const v of r) {
    const b = sched.vcpus[v]!.peekBudget(nowNs)
    if (b > 0) return `F3: PCPU ${d.background ? "in background" : "idle"} while VCPU ${v} is runnable with b = ${b}`
  }
  return null
}
