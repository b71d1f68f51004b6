/**
 * Thread lifecycle in a sandbox's kernel: creating a thread (a configured one, a fork child, a
 * kernel library thread), adopting a migrated one, detaching it for a migration, waking it from a
 * kernel block, killing it, and giving its scheduler slot back once the scheduler has retired it.
 *
 * Invariants:
 * - a new thread gets the next `tid` and the next pid; it is bound to a scheduler thread of its
 *   VCPU, a free slot of an exited thread first (`Pcpu.freeSched`), else a new one;
 * - a thread's random stream is named `sandbox<s>/thread/<name>` (a migrated thread keeps its own);
 * - a scheduler slot is reused only once the scheduler no longer runs the thread (it is not the
 *   core's current thread and the scheduler has it `Blocked`): an exiting or detaching current
 *   thread waits in `retiring` until the next invocation has picked another;
 * - a wakeup that preempts asks for an invocation only once the kernel has started.
 *
 * @module
 */
import type { Rng, Simulation } from "@qvsim/sim-core"
import { PcpuScheduler } from "@qvsim/vcpu-sched"
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import { errorText } from "./Misuse.ts"
import type { Pcpu } from "./Pcpu.ts"
import { FINISHED, Thread, ThreadStatus, type ThreadSpec } from "./Thread.ts"

const ThreadState = PcpuScheduler.ThreadState

/**
 * A thread's context as its program sees it. Its random stream (`sandbox<s>/thread/<name>`, s the
 * sandbox it was created in) is made at its first use: a stream is a pure function of the run's
 * seed and its name, so the numbers are the same. NOTE: a fork storm adds thousands of threads
 * whose programs never draw (issue 15).
 */
class Context implements Program.ThreadContext {
  sandbox: number
  readonly name: string
  readonly pid: number
  ip: number
  dataBase: number
  sliceBase: number
  private stream: Rng.RngStream | null = null
  private readonly sim: Simulation.Simulation
  private readonly home: number

  constructor(k: Kernel, name: string, pid: number) {
    this.sandbox = k.sandbox
    this.name = name
    this.pid = pid
    this.ip = k.ip
    this.dataBase = k.userDataBase
    this.sliceBase = k.sliceBase
    this.sim = k.sim
    this.home = k.sandbox
  }

  get rng(): Rng.RngStream {
    return (this.stream ??= this.sim.rng(`sandbox${this.home}/thread/${this.name}`))
  }
}

/** A thread as errors name it (built only for an error: a fork storm adds thousands of threads). */
const who = (k: Kernel, name: string): string => `sandbox ${k.sandbox} thread "${name}"`

export class ThreadLifecycle {
  private readonly k: Kernel
  /** Exited or detached threads still current on their core: their slots are freed after the next invocation. */
  readonly retiring: Thread[] = []
  /** The last program that passed `programProblem` (a program's kind never changes). */
  private checkedProgram: Program.Program | null = null

  constructor(k: Kernel) {
    this.k = k
  }

  /** Adds a thread (at construction or at run time); it becomes runnable at its `startNs` (local). */
  add(spec: ThreadSpec, parent: Thread | null = null): Thread {
    const k = this.k
    const v = k.vcpus[spec.vcpu]
    if (v === undefined) throw new RangeError(`sandbox ${k.sandbox}: thread "${spec.name}" on VCPU ${spec.vcpu}, which does not exist`)
    const p = k.pcpus[v.core]!
    const si = k.schedIndexOf[spec.vcpu]!
    const schedId = p.freeSched[si]!.pop() ?? p.sched.addThread(si)
    const tid = k.threads.length
    const pid = k.processes.newPid()
    const ctx: Program.ThreadContext = spec.adoptCtx ?? new Context(k, spec.name, pid)
    let gen: Generator<Program.Request, unknown, unknown>
    // NOTE: a fork storm adds thousands of threads of one program: it is checked once (issue 15).
    if (spec.program !== this.checkedProgram) {
      const problem = Program.programProblem(spec.program)
      if (problem !== undefined) throw new Program.ProgramError(`${who(k, spec.name)}: its program ${problem}`)
      this.checkedProgram = spec.program
    }
    try {
      gen = spec.program(ctx)
    } catch (e) {
      throw new Program.ProgramError(`${who(k, spec.name)}: its program threw when called: ${errorText(e)}`)
    }
    if (gen === null || typeof gen !== "object" || typeof gen.next !== "function") {
      throw new Program.ProgramError(`${who(k, spec.name)}: program must be a generator function (function*)`)
    }
    const th = new Thread(tid, spec.name, pid, spec.user, p, spec.vcpu, schedId, ctx, gen, spec.pages ?? k.options.processPages)
    th.parent = parent
    p.bySched[schedId] = th
    k.threads.push(th)
    k.processes.register(th)
    if (spec.periodic !== undefined) {
      th.periodNs = spec.periodic.periodNs
      th.deadlineNs = spec.periodic.deadlineNs ?? spec.periodic.periodNs
      th.firstReleaseNs = spec.startNs + spec.periodic.offsetNs
      th.nextReleaseNs = th.firstReleaseNs
    }
    const local = k.localNow(p)
    if (spec.startNs === Infinity) return th // adopted: the caller wakes it
    if (spec.startNs <= local) {
      th.status = ThreadStatus.Runnable
      this.schedWake(p, th)
    } else {
      k.sleepQueue.sleep(p, th, spec.startNs)
    }
    return th
  }

  /**
   * Adopts a thread migrated from another sandbox (spec §D.10 step 5): a new record on VCPU
   * `vcpu` running the same generator, its context re-pointed at this sandbox; it is runnable now
   * and its pending `migrate` request returns `true`. A periodic thread keeps its releases and its
   * active job, their times shifted by `shiftNs` (this clock minus the source's).
   */
  adopt(from: Thread, vcpu: number, shiftNs = 0): Thread {
    const k = this.k
    const ctx = from.ctx as { -readonly [K in keyof Program.ThreadContext]: Program.ThreadContext[K] }
    ctx.sandbox = k.sandbox
    ctx.ip = k.ip
    ctx.dataBase = k.userDataBase
    ctx.sliceBase = k.sliceBase
    const gen = from.gen
    const th = this.add({ name: from.name, vcpu, program: () => gen, startNs: Infinity, user: from.user, pages: from.pages, adoptCtx: ctx })
    th.result = true
    th.periodNs = from.periodNs
    th.deadlineNs = from.deadlineNs
    if (from.periodNs > 0) {
      th.firstReleaseNs = from.firstReleaseNs + shiftNs
      th.nextReleaseNs = from.nextReleaseNs + shiftNs
      th.job.adopt(from.job, shiftNs)
      // The active job is finished (and counted) here; the earlier ones stay the source's.
      th.jobBase = from.jobBase + from.stats.started - (from.job.active ? 1 : 0)
      th.stats.started = from.job.active ? 1 : 0
    }
    th.status = ThreadStatus.Runnable
    this.schedWake(th.pcpu, th)
    return th
  }

  /** Takes `th` (the running thread, which has just asked to migrate) off its VCPU for good. */
  detach(th: Thread): void {
    th.status = ThreadStatus.Detached
    th.pending = false
    this.retire(th)
  }

  /** Marks a detached thread as moved away (its record stays for statistics). */
  markMigrated(th: Thread): void {
    th.status = ThreadStatus.Migrated
    th.gen = FINISHED
    th.steps = null
  }

  /** Wakes `th` from a kernel block (or remembers the wake if it is not blocked). */
  wake(th: Thread): void {
    if (th.status === ThreadStatus.Blocked) {
      th.status = ThreadStatus.Runnable
      this.schedWake(th.pcpu, th)
    } else {
      th.wakePending = true
    }
  }

  /** Kills `th` (a fault): it ends at once if blocked, else at its next dispatch. */
  kill(th: Thread): void {
    if (th.status === ThreadStatus.Exited || th.status === ThreadStatus.Migrated) return
    th.killed = true
    if (th.status === ThreadStatus.Runnable) this.k.dispatch.endAtBoundary(th)
    if (th.status === ThreadStatus.Sleeping) this.k.sleepQueue.remove(th)
    if (th.status !== ThreadStatus.Runnable && th.status !== ThreadStatus.Detached) this.k.processes.exit(th, -9)
  }

  /** `th` became runnable: tell its core's scheduler, and invoke it if the wakeup preempts (W1). */
  schedWake(p: Pcpu, th: Thread): void {
    const k = this.k
    // SMP Quest: a wake-up from another core reaches this one by IPI (smp/Smp.ts).
    if (k.smp !== null && k.started && k.smp.remoteWake(p, th)) return
    if (p.sched.wakeup(th.schedId, k.localNow(p)) && k.started) k.dispatch.requestInvoke(p)
  }

  /** `th` leaves its scheduler slot (exit, migration): free now, or after the invocation that retires it. */
  retire(th: Thread): void {
    if (th.pcpu.current === th) this.retiring.push(th)
    else this.releaseSlot(th.pcpu, this.k.schedIndexOf[th.vcpu]!, th.schedId)
  }

  private releaseSlot(p: Pcpu, si: number, schedId: number): void {
    if (p.bySched[schedId] !== null && p.sched.stateOf(schedId) === ThreadState.Blocked) {
      p.freeSched[si]!.push(schedId)
      p.bySched[schedId] = null
    }
  }

  /** Scheduler slots of retiring threads no longer current become reusable (after an invocation). */
  recycleRetired(): void {
    const r = this.retiring
    for (let i = r.length - 1; i >= 0; i--) {
      const th = r[i]!
      const p = th.pcpu
      if (p.current === th) continue
      this.releaseSlot(p, this.k.schedIndexOf[th.vcpu]!, th.schedId)
      // NOTE: the last one by `pop` (the usual case: one retiring thread): `splice` allocates the
      // array it returns and leaves the list's storage empty, so the next `retire`'s `push`
      // allocated new storage (a fork storm: one of each per child, issue 15). Same order.
      if (i === r.length - 1) r.pop()
      else r.splice(i, 1)
    }
  }
}
