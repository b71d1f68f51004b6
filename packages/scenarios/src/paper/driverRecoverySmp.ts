/**
 * The SMP Quest variant of `driver-recovery` (`smp`): the same ping service and the same fault —
 * the NIC driver breaks after the 20th reply and is detected at once — in SMP Quest, one kernel
 * over the four cores with one NIC driver instance. There is no monitor, so neither local nor
 * remote recovery exists: the kernel cannot replace one of its components, and the only way back
 * is to reboot the machine (`recovery: "reboot"`, the same `rebootNs` as the Quest-V reboot
 * baseline). The detection is modelled by the same forced exit as Quest-V's manual trigger (its
 * ~1,500 cycles are nothing beside the reboot).
 *
 * To measure what the fault costs every core, each core runs a heartbeat thread (1 ms of CPU every
 * 100 ms on a Main VCPU of its core); the longest gap between two of its completed jobs is how long
 * that core's threads were stopped.
 *
 * @module
 */
import type { Params } from "../robust/Domain.ts"
import { Kernel, Program, type Config, type Program as ProgramNs, type System } from "@qvsim/sandbox-kernel"
import type { Claim, ResultTable, Run } from "./Experiment.ts"
import type { RecoveryRun } from "./driver-recovery.ts"

const MS = 1_000_000
const CORES = 4
const BEAT_NS = 100 * MS
export const SMP_VARIANT = "smp"

/** Each heartbeat thread's completion times, keyed by its thread context (one per thread of one run). */
const beats = new WeakMap<ProgramNs.ThreadContext, number[]>()

const heartbeat = (): ProgramNs.Program => {
  const work = Program.compute(1 * MS)
  const now = Program.now()
  return function* (ctx) {
    const log: number[] = []
    beats.set(ctx, log)
    for (;;) {
      yield Program.waitJob()
      yield work
      log.push((yield now) as number)
    }
  }
}

/** The SMP system: `base` (the Quest-V variant's hosts and fault), one kernel, reboot as the recovery, a heartbeat per core. */
export const smpSystem = (base: (seed: number, scale: number, params?: Params) => Config.SystemInput) => (seed: number, scale: number, params?: Params): Config.SystemInput => {
  // One kernel: the pinged and broken "sandbox" is always its index 0 (the domain's other parameters apply).
  const b = base(seed, scale, { ...params, pinged: 0 })
  return {
    ...b,
    kind: "smp",
    faults: (b.faults ?? []).map((f) => ({ ...f, recovery: "reboot" as const })),
    sandboxes: [{
      vcpus: Array.from({ length: CORES }, (_, c) => ({ name: `main@${c}`, budgetNs: 20 * MS, periodNs: 100 * MS, core: c })),
      threads: Array.from({ length: CORES }, (_, c) => ({ name: `heartbeat@${c}`, vcpu: c, program: heartbeat(), periodic: { periodNs: BEAT_NS } })),
    }],
  }
}

/**
 * Per core: the longest time between two heartbeats, ns (the first beat counts from 0). The reboot
 * kills each heartbeat thread and starts a new one of the same name: the core's beats are those of
 * every thread of its name, in creation order (killed before restarted).
 */
export const heartbeatGaps = (run: Run): number[] => {
  const sys: System.System = run.system
  return Array.from({ length: CORES }, (_, c) => {
    const name = `heartbeat@${c}`
    const log = sys.sandboxes[0]!.kernel.threads.filter((th) => th.name === name).flatMap((th) => (th instanceof Kernel.Thread ? beats.get(th.ctx) ?? [] : []))
    let gap = 0, prev = 0
    for (const t of log) {
      gap = Math.max(gap, t - prev)
      prev = t
    }
    return Math.max(gap, sys.sim.now - prev)
  })
}

const ms = (ns: number, digits = 1): number => Number((ns / MS).toFixed(digits))

export const smpTable = (gaps: readonly number[], smp: RecoveryRun): ResultTable => ({
  id: "smp_heartbeat_gaps",
  title: "SMP Quest: the one kernel's only recovery is a reboot — per core, the longest time its heartbeat thread (1 ms every 100 ms) was stopped",
  columns: ["core", "longest heartbeat gap (ms)", "reboot outage (ms)"],
  rows: gaps.map((g, c) => ({ core: c, "longest heartbeat gap (ms)": ms(g), "reboot outage (ms)": ms(smp.outageNs) })),
})

/** The comparison, computed: the fault stops every core of SMP Quest for the reboot; Quest-V's local recovery is a small fraction of it. */
export const smpClaim = (smp: RecoveryRun | undefined, gaps: readonly number[], local: RecoveryRun | undefined): Claim => {
  const text = "in SMP Quest the same driver fault can only be recovered by rebooting the one kernel: every core's threads stop for the outage (each core's longest heartbeat gap ≥ the outage), and Quest-V's online recovery takes ≤ 10 % of that outage"
  if (smp === undefined || local === undefined) return { text, holds: false, detail: "needs the smp and local runs" }
  const ok = Number.isFinite(smp.outageNs) && smp.phases.length === 1 && smp.phases[0]!.phase === "reboot"
  const stopped = gaps.filter((g) => ok && g >= smp.outageNs).length
  return {
    text,
    holds: ok && stopped === CORES && local.outageNs <= 0.1 * smp.outageNs,
    detail: `SMP Quest: ${ok ? `reboot outage ${ms(smp.outageNs)} ms` : "no reboot recorded"}, ${smp.lost} replies lost; longest heartbeat gap per core ${gaps.map((g) => `${ms(g)} ms`).join(", ")} (${stopped} of ${CORES} cores stopped at least as long as the outage); Quest-V local recovery outage ${ms(local.outageNs)} ms, ${local.lost} lost`,
  }
}
