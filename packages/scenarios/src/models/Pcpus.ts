/**
 * The scheduling model: each declared PCPU runs on vcpu-sched's harness, all on the run's one
 * simulation (so records interleave by time and one fingerprint covers them). Metrics per PCPU:
 * per-thread job statistics and the scheduler's own counters; segments on demand (`--schedule`).
 */
import type { Simulation } from "@qvsim/sim-core"
import { Harness, Schedule } from "@qvsim/vcpu-sched"
import * as Jobs from "../Jobs.ts"
import { toSpec, type PcpuDecl, type SchedulerOptionsDecl } from "../Pcpus.ts"

/** One executed segment as written by `--schedule`. */
export interface NamedSegment {
  readonly pcpu: string
  readonly start: number
  readonly end: number
  readonly vcpu: string
  readonly thread: string
  /** The thread's job (0-based), or null (no job: interrupt or monitor time, a thread without releases). */
  readonly job: number | null
}

export interface Installed {
  readonly metrics: () => Record<string, unknown>
  /** Accounts each PCPU's running thread up to `sim.now` (call once the run loop returns). */
  readonly finish: () => void
  /** The executed segments of every PCPU, by start time then PCPU order (needs `recordSchedule`). */
  readonly segments: () => NamedSegment[]
  /** Every job released so far (needs `recordJobs`). */
  readonly jobs: () => Jobs.JobRow[]
}

/** What a run asks of the harnesses besides the scenario. */
export interface InstallOptions {
  readonly recordSchedule?: boolean
  readonly recordJobs?: boolean
  /** Check the scheduling invariants at every decision (`--check-invariants`). */
  readonly checkInvariants?: boolean
}

export const install = (
  sim: Simulation.Simulation,
  pcpus: ReadonlyArray<PcpuDecl>,
  options: SchedulerOptionsDecl,
  run: InstallOptions = {},
): Installed => {
  const harnesses = pcpus.map((p, i) =>
    new Harness.Harness(toSpec(p, options), {
      sim, pcpu: i, recordSchedule: (run.recordSchedule ?? false) || p.recordSchedule, segmentsByJob: true, trace: true,
      recordJobs: run.recordJobs ?? false, checkInvariants: run.checkInvariants ?? false,
    }),
  )
  const nameOf = (i: number): string => pcpus[i]!.name ?? `pcpu${i}`
  const threadName = (i: number, thread: number): string => {
    const declared = pcpus[i]!.threads[thread]
    if (declared !== undefined) return declared.name
    const ioVcpu = harnesses[i]!.serviceThreadOf.indexOf(thread)
    return `io-service/${pcpus[i]!.vcpus[ioVcpu]?.name ?? ioVcpu}`
  }
  const metrics = (): Record<string, unknown> =>
    Object.fromEntries(harnesses.map((h, i) => {
      const p = pcpus[i]!
      const threads = Object.fromEntries(p.threads.map((t, k) => {
        const st = h.statsOf(k)
        return [t.name, {
          released: st.released,
          completed: st.completed,
          missed: st.missed,
          maxResponseNs: st.maxResponseNs,
          meanResponseNs: st.completed > 0 ? Math.round(st.sumResponseNs / st.completed) : 0,
        }]
      }))
      const vcpus = p.recordSchedule
        ? Object.fromEntries(p.vcpus.map((v, k) => {
          const executedNs = h.schedule.executionOf(k)
          return [v.name, {
            executedNs,
            share: sim.now > 0 ? Math.round((executedNs / sim.now) * 1e6) / 1e6 : 0,
            maxInPeriodWindowNs: Schedule.maxExecutionInWindow(h.schedule.intervalsOf(k), v.period),
          }]
        }))
        : undefined
      return [nameOf(i), { invocations: h.sched.invocations, maxInvocationGapNs: h.maxInvocationGapNs, threads, ...(vcpus ? { vcpus } : {}) }]
    }))
  const segments = (): NamedSegment[] => {
    const all: Array<NamedSegment & { order: number }> = []
    harnesses.forEach((h, i) => {
      const sched = h.schedule
      for (const s of sched.segments()) {
        all.push({ pcpu: nameOf(i), start: s.start, end: s.end, vcpu: pcpus[i]!.vcpus[s.vcpu]?.name ?? String(s.vcpu), thread: threadName(i, s.thread), job: s.job >= 0 ? s.job : null, order: i })
      }
    })
    all.sort((a, b) => a.start - b.start || a.order - b.order)
    return all.map(({ order: _order, ...s }) => s)
  }
  const finish = (): void => {
    for (const h of harnesses) h.flush(sim.now)
  }
  const jobs = (): Jobs.JobRow[] =>
    Jobs.fromHarnesses(harnesses.map((h, i) => ({ name: nameOf(i), harness: h, threadName: (th: number) => threadName(i, th) })), sim.now)
  return { metrics, segments, finish, jobs }
}
