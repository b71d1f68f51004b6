/**
 * The same task set on vcpu-sched's single-PCPU harness and on a one-core sandbox-kernel `System`
 * with every kernel cost at zero: a {@link Workload.PcpuSpec} becomes one sandbox whose VCPUs are the
 * spec's and whose threads run generator programs that do what the harness does with the spec —
 * the same releases (drawn from the harness's own named random streams, in the same order), the
 * same compute / sleep / I/O steps (an I/O VCPU per device class), jobs in release order.
 * `compareRuns` then lists the executed segments `(vcpu, thread, start, end)` of both.
 */
import { Rng } from "@qvsim/sim-core"
import { CostModel } from "@qvsim/hardware"
import { Harness as HarnessNs, type Schedule, type Workload } from "@qvsim/vcpu-sched"
import { Program, System } from "../src/index.ts"

type PcpuSpec = Workload.PcpuSpec
type Range = Workload.Range

/** The device class of the k-th I/O VCPU (one class each, so a request reaches exactly its VCPU). */
const DEVICES = ["usb", "ata", "net", "disk", "cdrom", "gpio"] as const

const lo = (r: Range): number => (typeof r === "number" ? r : r[0])
const hi = (r: Range): number => (typeof r === "number" ? r : r[1])
const draw = (rng: Rng.RngStream, r: Range): number => (lo(r) === hi(r) ? lo(r) : rng.int(lo(r), hi(r)))

/** What a program records: job completions (thread index, job number, local time). */
export interface Completion {
  readonly thread: number
  readonly job: number
  readonly atNs: number
}

/** A thread's first release, ns (a huge time when it has none). */
const firstRelease = (t: Workload.ThreadSpec): number => {
  const a = t.arrivals
  return a.kind === "explicit" ? (a.releasesNs.length > 0 ? a.releasesNs[0]! : 2 ** 52) : a.offsetNs ?? 0
}

/** The program of declared thread `i`: jobs at the harness's release times, the harness's draws. */
const programOf = (spec: PcpuSpec, i: number, seed: number, ioIndex: readonly number[], done: Completion[]): Program.Program => {
  const t = spec.threads[i]!
  return function* () {
    const arr = Rng.stream(seed, `harness/pcpu0/thread${i}/arrivals`)
    const job = Rng.stream(seed, `harness/pcpu0/thread${i}/job`)
    const a = t.arrivals
    let release = a.kind === "explicit" ? (a.releasesNs.length > 0 ? a.releasesNs[0]! : -1) : a.offsetNs ?? 0
    let k = 0
    while (release >= 0) {
      const now = (yield Program.now()) as number
      if (release > now) yield Program.sleepUntil(release)
      const steps = t.jobs !== undefined && k < t.jobs.length ? t.jobs[k]! : t.job
      // The harness draws the next release when this one happens: same stream, same order.
      const next = a.kind === "periodic" ? release + a.periodNs
        : a.kind === "sporadic" ? release + a.minInterArrivalNs + ((a.maxExtraNs ?? 0) > 0 ? arr.int(0, a.maxExtraNs!) : 0)
        : a.kind === "poisson" ? release + arr.exponentialNs(a.meanInterArrivalNs)
        : k + 1 < a.releasesNs.length ? a.releasesNs[k + 1]! : -1
      for (const s of steps) {
        if ("compute" in s) {
          const d = draw(job, s.compute)
          if (d > 0) yield Program.compute(d)
        } else if ("sleep" in s) {
          yield Program.sleep(draw(job, s.sleep))
        } else {
          const io = s.io
          if ((io.probability ?? 1) < 1 && !(job.float() < io.probability!)) continue
          const workNs = draw(job, io.work)
          const delayNs = io.delay === undefined ? 0 : draw(job, io.delay)
          yield Program.io({ device: DEVICES[ioIndex[io.vcpu]!]!, workNs, delayNs, wait: io.wait ?? true })
        }
      }
      done.push({ thread: i, job: k, atNs: (yield Program.now()) as number })
      release = next
      k++
    }
    yield Program.sleep(2 ** 52)
  }
}

/** The System for `spec`: one core, one sandbox, every kernel cost 0, sleeps woken at their time. */
export const systemFor = (spec: PcpuSpec, seed: number, done: Completion[], kernel: { readonly sleepWakeup?: "exact" | "timerInterrupt" } = {}, hooks: System.SystemHooks = {}): System.System => {
  const ioIndex: number[] = []
  let ios = 0
  const vcpus = spec.vcpus.map((v, i) => {
    ioIndex.push(v.kind === "io" ? ios++ : -1)
    return v.kind === "io"
      ? { kind: "io" as const, name: `v${i}`, budgetNs: v.budgetNs, periodNs: v.periodNs, device: DEVICES[ioIndex[i]!]! }
      : { kind: "main" as const, name: `v${i}`, budgetNs: v.budgetNs, periodNs: v.periodNs }
  })
  return new System.System({
    seed,
    // Every cost at zero: the machine's cost table, the timer's latency, the kernel's and the monitor's costs.
    machine: { cores: 1, costs: Object.fromEntries(Object.keys(CostModel.defaults).map((k) => [k, 0])), lapic: { timerLatencyNs: 0, timerTickNs: 1 } },
    scheduler: { ...spec.options },
    kernel: {
      sleepWakeup: kernel.sleepWakeup ?? "exact", syscallEntry: "none", timerIrqCycles: 0, memAccessCycles: 0,
      forkBaseCycles: 0, forkPageCycles: 0, forkTlbMissesPerPage: 0, exitCycles: 0, waitpidCycles: 0,
    },
    monitor: { eptViolationCycles: 0, hypercallCycles: 0, singleStepCycles: 0 },
    nic: { sharers: [] },
    recordSchedule: true,
    sandboxes: [{
      vcpus,
      // A thread first becomes runnable at its first release (the harness's threads wait for theirs).
      threads: spec.threads.map((t, i) => ({ name: `t${i}`, vcpu: t.vcpu, program: programOf(spec, i, seed, ioIndex, done), user: false, startNs: firstRelease(t) })),
    }],
  }, hooks)
}

/**
 * The harness run, event by event, noting the instants where two things happen at once: workload
 * events of two different threads (a release, a sleep's end, an I/O completion that wakes its
 * requester, the end of a computation), or one of them exactly when the scheduler's timer fires.
 * The harness applies all of an instant's events before it invokes the scheduler once; the System
 * invokes it as soon as one of them asks for it (see the test's header).
 */
const runHarness = (spec: PcpuSpec, seed: number, horizonNs: number): { h: HarnessNs.Harness; coincidences: number; firstCoincidenceNs: number } => {
  let timerAt = -1 // the first invocation, at 0, is the start, not a timer
  const h = new HarnessNs.Harness(spec, { seed, recordJobs: true, onInvoke: (hh) => { timerAt = hh.sched.decision.timerAtNs } })
  const sim = h.sim
  let instant = -1, thread = -1, coincidences = 0, first = -1
  while (sim.run({ untilNs: horizonNs, maxEvents: 1 }) === "maxEvents") {
    const name = sim.handlerName(sim.queue.handler)
    if (name === "harness.invoke" || (name === "harness.ioDone" && sim.queue.a1 === 0)) continue
    const th = sim.queue.a0
    let clash = false
    if (sim.now !== instant) {
      instant = sim.now
      thread = th
      clash = sim.now === timerAt
    } else if (th !== thread) {
      clash = thread >= 0
      thread = -1 // counted once per instant
    }
    if (clash) {
      coincidences++
      if (first < 0) first = sim.now
    }
  }
  h.flush(horizonNs)
  return { h, coincidences, firstCoincidenceNs: first }
}

export interface Runs {
  /** Instants of the harness run where two events coincide (or one coincides with the timer); the first one (-1: none). */
  readonly coincidences: number
  readonly firstCoincidenceNs: number
  /** `[start, end) v<vcpu>/<thread name>`, both runs in the harness's numbering. */
  readonly harness: string[]
  readonly system: string[]
  readonly harnessJobs: string[]
  readonly systemJobs: string[]
}

/**
 * Runs both until `horizonNs` and lists their segments up to the end of the System's last recorded
 * segment (the System records a running thread's segment when it stops, the harness at the end).
 */
export const compareRuns = (spec: PcpuSpec, seed: number, horizonNs: number, kernel: { readonly sleepWakeup?: "exact" | "timerInterrupt" } = {}, hooks: System.SystemHooks = {}): Runs => {
  const { h, coincidences, firstCoincidenceNs } = runHarness(spec, seed, horizonNs)
  const done: Completion[] = []
  const sys = systemFor(spec, seed, done, kernel, hooks).run(horizonNs)
  const k = sys.sandbox(0).kernel
  // Thread names: declared threads t<i>; I/O service threads io:v<j> are the harness's threads after the declared ones.
  const nameOfTid = (tid: number): string => (tid < 0 ? `#${tid}` : k.threads[tid]!.name)
  const serviceName = (hth: number): string => (hth < spec.threads.length ? `t${hth}` : `io:v${h.sched.vcpuOf(hth)}`)
  const sysSegs = sys.segments()
  const cut = sysSegs.length === 0 ? 0 : sysSegs[sysSegs.length - 1]!.end
  const text = (s: Schedule.Segment, name: string, end: number) => `[${s.start}, ${end}) v${s.vcpu}/${name}`
  const harness = h.schedule.segments().filter((s) => s.start < cut).map((s) => text(s, serviceName(s.thread), Math.min(s.end, cut)))
  const system = sysSegs.map((s) => text(s, nameOfTid(s.thread), s.end))
  const lastDone = Math.min(cut, horizonNs)
  return {
    coincidences,
    firstCoincidenceNs,
    harness,
    system,
    harnessJobs: h.jobs.filter((j) => j.completeNs <= lastDone).map((j) => `t${j.thread} job ${j.job} done ${j.completeNs}`),
    systemJobs: done.filter((j) => j.atNs <= lastDone).map((j) => `t${j.thread} job ${j.job} done ${j.atNs}`),
  }
}

/** The first difference of two runs, with the segment before it, or null. */
export const firstSegmentDifference = (r: Runs): string | null => {
  const cmp = (what: string, a: string[], b: string[]): string | null => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== b[i]) return `first differing ${what} #${i}${i > 0 ? ` (after ${a[i - 1]})` : ""}:\n  harness: ${a[i] ?? "(none)"}\n  System:  ${b[i] ?? "(none)"}`
    }
    return null
  }
  return cmp("segment", r.harness, r.system) ?? cmp("job completion", r.harnessJobs, r.systemJobs)
}
