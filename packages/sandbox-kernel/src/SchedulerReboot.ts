/**
 * A core's VCPU scheduler after the reboot baseline (spec §D.9): a real reboot loses all kernel
 * state, so when a core comes up again its scheduler starts as at boot, at that instant.
 *
 * - No VCPU is charged for the time the machine was down: the scheduler charges the current VCPU
 *   the wall time since its last invocation (§C.1 S1), so its accounting clock (`t_prev`) restarts
 *   at the core's restart instant. Without this the whole halt (monitor or interrupt context, with
 *   interrupts off) lands on the VCPU that was current at the fault, and a restarted thread on it
 *   waits up to a period or more for budget it never used.
 * - Every Main VCPU whose policy can install a budget state (the registry's `migration` hooks,
 *   vcpu-sched `Policy.ts`: `sporadic`, `deferrable`, a user's policy that migrates) gets its boot
 *   state at the restart instant `R`: the portable form `[[R, C]]` with nothing used — SS0 for the
 *   sporadic server (`Q := [(R, C)]`, `u := 0`), DS0 for the deferrable server (`s₀ := R`, full
 *   budget).
 * - VCPUs with no such hook keep their budget state (they are still not charged for the halt):
 *   the naive POSIX server (`posixNaive`, no migration), a user's policy without migration, the
 *   PIBS I/O VCPUs (not in the policy registry), and a Linux sandbox's fair-scheduler classes
 *   (vruntimes).
 *
 * Invariants: called once per core, at the end of that core's halt (`RecoveryTasks`), before the
 * core's first scheduler invocation after it; times are the core's local clock (F18).
 *
 * @module
 */
import { CoreScheduler, FairScheduler, PcpuScheduler, Policy } from "@qvsim/vcpu-sched"
import type { Kernel, Pcpu } from "./kernel/index.ts"

/**
 * `p`'s scheduler as at boot now: its accounting restarts now and every VCPU of a policy with an
 * install hook gets a full budget eligible now. Returns the scheduler indices of the VCPUs that kept
 * their state (no hook).
 */
export const restartScheduler = (k: Kernel, p: Pcpu): number[] => {
  const localNs = k.localNow(p)
  const sched = p.sched
  // `t_prev` is a public field of both built-in schedulers (typed here, so a rename fails to compile);
  // a scheduler of another class (a test's injected one that is neither) keeps its clock.
  if (sched instanceof PcpuScheduler.PcpuScheduler || sched instanceof FairScheduler.FairScheduler) sched.tPrevNs = localNs
  const kept: number[] = []
  for (let i = 0; i < sched.vcpus.length; i++) {
    const v = CoreScheduler.asVcpu(sched.vcpus[i])
    const hook = v === undefined ? null : (Policy.of(v)?.migration ?? null)
    if (v === undefined || hook === null) {
      kept.push(i)
      continue
    }
    const problem = hook.install(v, { queue: [[localNs, v.budgetCapNs]], usedNs: 0 }, 0)
    if (problem !== null) k.sim.fail(`reboot: VCPU ${i} of sandbox ${k.sandbox} (policy ${v.policy}) refused its boot state: ${problem}`)
  }
  return kept
}
