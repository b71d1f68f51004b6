/**
 * The Quest-V system model: a scenario's `system` section built as one sandbox-kernel `System`
 * with the run's seed. Its simulation is the run's simulation (sinks listen from its first record,
 * emitted while the system is built). Metrics are `System.metrics()` keyed by name (sandboxes, threads, hosts), so
 * the summary prints them as rows; segments carry names (`core<c>`, VCPU and thread names).
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Kernel, System } from "@qvsim/sandbox-kernel"
import type { Scenario } from "../Scenario.ts"
import { toSystemInput, type SystemExtra } from "../SystemDecl.ts"
import type { NamedSegment } from "./Pcpus.ts"

/** Builds the system of `scenario` (which must have a `system` section). */
export const build = (scenario: Scenario, seed: number, extra: Omit<SystemExtra, "scheduler"> = {}, sinks: ReadonlyArray<Trace.TraceSink> = []): System.System => {
  const decl = scenario.system
  if (decl === undefined) throw new Error(`scenario ${scenario.name} has no system section`)
  return new System.System(toSystemInput(decl, seed, { ...extra, scheduler: scenario.scheduler }), {}, sinks)
}

/** The name of PCPU (machine core) `core`. */
export const coreName = (core: number): string => `core${core}`

/** The name of thread `tid` of sandbox `s` (negative ids: interrupt handler, monitor, idle). */
export const threadName = (sys: System.System, s: number, tid: number): string | undefined => {
  if (tid === Kernel.SEGMENT_IRQ) return "irq"
  if (tid === Kernel.SEGMENT_MONITOR) return "monitor"
  if (tid < 0) return "idle"
  return sys.sandboxes[s]?.kernel.threads[tid]?.name
}

/** The name of sandbox `s` (its configured name, default `sandbox<s>`). */
export const sandboxName = (sys: System.System, s: number): string => sys.config.sandboxes[s]?.name ?? `sandbox${s}`

/** The name of VCPU `v` of sandbox `s`. */
export const vcpuName = (sys: System.System, s: number, v: number): string | undefined => sys.sandboxes[s]?.config.vcpus[v]?.name

/** Sandbox of each machine core. */
const sandboxOfCore = (sys: System.System): readonly number[] =>
  sys.config.machine.sandboxOfCore ?? Array.from({ length: sys.config.machine.cores }, (_, i) => i)

/** Executed segments with names, by start time then core (needs `recordSchedule`). */
export const segments = (sys: System.System): NamedSegment[] => {
  const owner = sandboxOfCore(sys)
  const all = sys.segments().map((seg) => {
    const s = owner[seg.pcpu] ?? 0
    return {
      pcpu: coreName(seg.pcpu),
      start: seg.start,
      end: seg.end,
      vcpu: vcpuName(sys, s, seg.vcpu) ?? String(seg.vcpu),
      thread: threadName(sys, s, seg.thread) ?? String(seg.thread),
      job: seg.job >= 0 ? seg.job : null,
      order: seg.pcpu,
    }
  })
  all.sort((a, b) => a.start - b.start || a.order - b.order)
  return all.map(({ order: _order, ...s }) => s)
}

/** `System.metrics()` with arrays keyed by name (`sandbox0.threads.t.cpuNs`: sandboxes by their names), idle threads left out. */
export const metrics = (sys: System.System): Record<string, unknown> => {
  const m = sys.metrics()
  const keyed = <A>(items: readonly A[], key: (a: A, i: number) => string, strip: (a: A) => Record<string, unknown>) =>
    Object.fromEntries(items.map((a, i) => [key(a, i), strip(a)]))
  return {
    sandboxes: keyed(m.sandboxes, (s) => sandboxName(sys, s.sandbox), ({ sandbox: _s, threads, ...rest }) => ({
      ...rest,
      // Threads that never ran nor had a release (idle I/O service threads) are left out.
      threads: keyed(threads.filter((t) => t.cpuNs > 0 || t.jobsReleased > 0), (t) => t.name, ({ name: _n, ...t }) => t),
    })),
    net: keyed(m.net, (n) => sandboxName(sys, n.sandbox), ({ sandbox: _s, ...rest }) => rest),
    nic: m.nic,
    hosts: keyed(m.hosts, (h) => h.name, ({ name: _n, ...rest }) => rest),
    recoveries: sys.recoveries().length,
    migrations: sys.migrations().length,
    // SMP Quest only: per core, the kernel lock, wake-up IPIs and whether (when, why) the core stopped.
    ...(m.smp === undefined ? {} : { smp: { cores: keyed(m.smp.cores, (c) => `core${c.core}`, ({ core: _c, ...rest }) => rest), driverBrokenAtNs: m.smp.driverBrokenAtNs } }),
    // Linux sandboxes' own devices (Quest-Linux), when any.
    ...(sys.linuxDevices.length > 0 ? { linuxDevices: keyed(sys.linuxDevices, (d) => `sandbox${d.sandbox}`, (d) => ({ raised: d.raised, handled: d.handled })) } : {}),
  }
}
