/**
 * The scheduling section of a scenario: PCPUs, each with its VCPUs `(C, T, kind)` and the threads
 * on them (job releases and what each job does), run on vcpu-sched's single-PCPU harness. Names
 * refer to VCPUs; durations are strings with units or integer ns. `toSpec` turns a validated PCPU
 * into vcpu-sched's `PcpuSpec` (indices, ns).
 *
 * @module
 */
import type { Workload } from "@qvsim/vcpu-sched"
import { SchedulerDecl, Vocabulary } from "@qvsim/sandbox-kernel"
import { z } from "zod"

/** The harness's `io` step: a request to the I/O VCPU `vcpu` of the PCPU (by name). */
const VcpuIoStep = z.strictObject({
  io: z.strictObject({
    /** The I/O VCPU, by name. */
    vcpu: Vocabulary.Name,
    ...Vocabulary.ioFields,
    /** Probability that the step happens in a given job (default 1). */
    probability: z.number().min(0).max(1).optional(),
  }),
})

const Step = z.union([Vocabulary.ComputeStep, Vocabulary.SleepStep, VcpuIoStep])

/** A VCPU of a PCPU: the vocabulary's (`{name, kind, budget, period}`). */
export const VcpuDecl = Vocabulary.Vcpu

/** A thread of a PCPU: the vocabulary's thread, with any kind of `arrivals` and a `job` of harness steps. */
export const ThreadDecl = z.strictObject({
  ...Vocabulary.threadFields,
  arrivals: Vocabulary.Arrivals,
  job: z.array(Step).min(1),
})

/** The scheduler options section (sandbox-kernel's `SchedulerDecl`: the same wherever a scenario sets them). */
export const SchedulerOptionsDecl = SchedulerDecl.SchedulerOptionsDecl
export const toOptions = SchedulerDecl.toOptions

export const PcpuDecl = z.strictObject({
  name: z.string().min(1).optional(),
  /**
   * Keep the executed schedule during the run (memory grows with simulated time), so the metrics
   * add, per VCPU, its execution, its share and its most execution in any window of one period.
   */
  recordSchedule: z.boolean().default(false),
  options: SchedulerOptionsDecl.default({}),
  /** Its VCPUs (an unnamed one is named `<kind><index>`). */
  vcpus: z.array(VcpuDecl).min(1).transform((vs) => vs.map((v, i) => ({ ...v, name: Vocabulary.vcpuName(v, i) }))),
  threads: z.array(ThreadDecl).default([]),
}).superRefine((p, ctx) => {
  const names = new Map<string, number>()
  p.vcpus.forEach((v, i) => {
    const name = v.name
    if (names.has(name)) ctx.issues.push({ code: "custom", input: name, path: ["vcpus", i, "name"], message: `duplicate VCPU name "${name}"` })
    else names.set(name, i)
  })
  const known = [...names.keys()].join(", ")
  const threadNames = new Map<string, number>()
  p.threads.forEach((t, i) => {
    const first = threadNames.get(t.name)
    if (first !== undefined) ctx.issues.push({ code: "custom", input: t.name, path: ["threads", i, "name"], message: `duplicate thread name "${t.name}" (threads[${first}] has it)` })
    else threadNames.set(t.name, i)
    const v = names.get(t.vcpu)
    if (v === undefined) ctx.issues.push({ code: "custom", input: t.vcpu, path: ["threads", i, "vcpu"], message: `no VCPU "${t.vcpu}" (known: ${known})` })
    else if (p.vcpus[v]!.kind === "io") ctx.issues.push({ code: "custom", input: t.vcpu, path: ["threads", i, "vcpu"], message: `"${t.vcpu}" is an I/O VCPU: threads run on Main VCPUs and reach I/O VCPUs with io steps` })
    if (t.arrivals.kind === "explicit") {
      const at = t.arrivals.at
      const k = at.findIndex((x, j) => j > 0 && x < at[j - 1]!)
      if (k > 0) ctx.issues.push({ code: "custom", input: at[k], path: ["threads", i, "arrivals", "at", k], message: `${at[k]} ns is before the previous release (${at[k - 1]} ns): list the releases in time order` })
    }
    t.job.forEach((s, k) => {
      if ("io" in s) {
        const io = names.get(s.io.vcpu)
        if (io === undefined || p.vcpus[io]!.kind !== "io") {
          ctx.issues.push({ code: "custom", input: s.io.vcpu, path: ["threads", i, "job", k, "io", "vcpu"], message: `"${s.io.vcpu}" is not an I/O VCPU of this PCPU` })
        }
      }
    })
  })
})

export type PcpuDecl = z.output<typeof PcpuDecl>
export type SchedulerOptionsDecl = SchedulerDecl.SchedulerOptionsDecl

/** A validated PCPU → vcpu-sched's spec, with the scenario-wide options under the PCPU's own. */
export const toSpec = (p: PcpuDecl, scenarioOptions: SchedulerOptionsDecl = {}): Workload.PcpuSpec => {
  const index = new Map(p.vcpus.map((v, i) => [v.name, i]))
  const step = (s: z.output<typeof Step>): Workload.Step => {
    if ("compute" in s) return { compute: s.compute }
    if ("sleep" in s) return { sleep: s.sleep }
    return {
      io: {
        vcpu: index.get(s.io.vcpu)!,
        work: s.io.work,
        ...(s.io.delay !== undefined ? { delay: s.io.delay } : {}),
        ...(s.io.wait !== undefined ? { wait: s.io.wait } : {}),
        ...(s.io.probability !== undefined ? { probability: s.io.probability } : {}),
      },
    }
  }
  const arrivals = (a: Vocabulary.Arrivals): Workload.Arrivals => {
    switch (a.kind) {
      case "periodic": return { kind: "periodic", periodNs: a.period, offsetNs: a.offset }
      case "sporadic": return { kind: "sporadic", minInterArrivalNs: a.minInterArrival, maxExtraNs: a.maxExtra, offsetNs: a.offset }
      case "poisson": return { kind: "poisson", meanInterArrivalNs: a.mean, offsetNs: a.offset }
      case "explicit": return { kind: "explicit", releasesNs: a.at }
    }
  }
  return {
    vcpus: p.vcpus.map((v) => ({
      kind: v.kind, name: v.name, budgetNs: v.budget, periodNs: v.period,
      ...(v.deadline !== undefined ? { deadlineNs: v.deadline } : {}),
      ...(v.policy !== undefined ? { policy: v.policy } : {}),
    })),
    threads: p.threads.map((t) => ({
      vcpu: index.get(t.vcpu)!,
      name: t.name,
      arrivals: arrivals(t.arrivals),
      job: t.job.map(step),
      ...(t.deadline !== undefined ? { deadlineNs: t.deadline } : {}),
    })),
    options: { ...toOptions(scenarioOptions), ...toOptions(p.options) },
  }
}
