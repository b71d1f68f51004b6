/**
 * I/O service threads (PIBS, spec §C.2): the `io` request and the kernel-side jobs of drivers. A
 * request is served by the I/O VCPU of its device class (the most shared class bits, ties to the
 * highest index), else by the lowest-priority Main VCPU; each serving VCPU has one kernel service
 * thread that runs its queue's jobs in FIFO order — `work` ns of CPU, then the job's completion.
 * An I/O VCPU inherits the requester's VCPU period for the job (P1, `PcpuScheduler.requestIo`).
 *
 * Job kinds: kind 0 is a user `io` request (device time `delayNs` after the work, then the waiting
 * thread is woken); a driver registers its own kinds ({@link registerJobKind}) whose handler runs
 * when the work is done (the shared NIC driver's bottom half hands a frame to its stack).
 *
 * Invariants:
 * - a VCPU's service thread exists from construction (I/O VCPUs) or from first use (a Main VCPU
 *   standing in), and only ever runs its own queue's jobs, in submission order;
 * - a submission wakes the service thread (or leaves a wake pending if it is busy), so no job waits
 *   while its thread blocks;
 * - the requester of a waiting `io` is woken once, after the work and the device time.
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import { IoQueue as SchedIoQueue } from "@qvsim/vcpu-sched"
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"
import { BLOCK, beginSyscallEntry, Outcome, type FinishRequest, type RequestTable } from "./Requests.ts"
import { ThreadStatus, type Thread } from "./Thread.ts"

/** What a driver's I/O job does once its work is done, with the `arg` it was submitted with. */
export type IoJobHandler = (k: Kernel, p: Pcpu, arg: number) => void

/** The queue of one I/O VCPU's service thread (the harness's, vcpu-sched `IoQueue`), with the kernel call that ends a job. */
export class IoQueue extends SchedIoQueue.IoQueue {
  doneCall: Program.Request = BLOCK
}

export class IoService {
  private readonly k: Kernel
  /** Per sandbox VCPU: its service thread (or null). */
  readonly service: (Thread | null)[] = []
  /** Per sandbox VCPU: its service thread's queue. */
  readonly queues: IoQueue[] = []
  /** Handlers of non-user I/O jobs by kind (kind 0 = user request). */
  private readonly jobHandlers: IoJobHandler[] = [() => {}]
  private readonly hIoDone: number

  constructor(k: Kernel, table: RequestTable) {
    this.k = k
    for (let i = 0; i < k.vcpus.length; i++) {
      this.service.push(null)
      this.queues.push(new IoQueue())
    }
    this.hIoDone = k.sim.register(`sandbox${k.sandbox}.ioDone`, (tid, wait) => this.onIoDone(tid, wait))
    table.register(Program.Op.Io, "I/O service", beginSyscallEntry, finishIo)
  }

  /** Spawns the service threads of the I/O VCPUs (at construction, after every room exists). */
  spawnIoVcpuServices(): void {
    this.k.vcpus.forEach((v, i) => {
      if (v.kind === "io") this.service[i] = this.spawnService(i)
    })
  }

  /** Registers a kind of driver job: `handler` runs when such a job's work is done. Returns the kind for {@link submit}. */
  registerJobKind(handler: IoJobHandler): number {
    this.jobHandlers.push(handler)
    return this.jobHandlers.length - 1
  }

  /** The I/O VCPU (sandbox index) serving device-class `mask`: most shared bits, ties to the highest index; -1 if none. */
  selectIoVcpu(mask: number): number {
    const vcpus = this.k.vcpus
    let best = -1
    let bestBits = -1
    for (let i = 0; i < vcpus.length; i++) {
      const v = vcpus[i]!
      if (v.kind !== "io") continue
      const bits = popcount(v.classMask & mask)
      if (bits >= bestBits) {
        best = i
        bestBits = bits
      }
    }
    return best
  }

  /** The VCPU serving device class `mask`: its I/O VCPU, else the lowest-priority Main VCPU (spec §C.2). */
  vcpuFor(mask: number): number {
    const v = this.selectIoVcpu(mask)
    return v >= 0 ? v : this.lowestMain()
  }

  /** The lowest-priority Main VCPU (largest period; ties to the highest index). A static choice by rate, as Quest's, under 'edf' too. */
  private lowestMain(): number {
    const vcpus = this.k.vcpus
    let best = -1
    for (let i = 0; i < vcpus.length; i++) {
      const v = vcpus[i]!
      if (v.kind === "main" && (best < 0 || v.periodNs >= vcpus[best]!.periodNs)) best = i
    }
    return best
  }

  /** The service thread of VCPU `v` (created on first use for a Main VCPU standing in for I/O). */
  serviceOf(v: number): Thread {
    return this.service[v] ?? (this.service[v] = this.spawnService(v))
  }

  private spawnService(v: number): Thread {
    const k = this.k
    const q = this.queues[v]!
    const program: Program.Program = function* () {
      for (;;) {
        if (q.length === 0) {
          yield BLOCK
          continue
        }
        const work = q.take()
        if (work > 0) yield Program.compute(work)
        yield q.doneCall
      }
    }
    q.doneCall = Program.kernelCall(() => this.jobDone(v))
    return k.addThread({ name: `io:${k.vcpus[v]!.name}`, vcpu: v, program, startNs: 0, user: false })
  }

  /**
   * Hands an I/O job to VCPU `ioVcpu`'s service thread with the period of `requesterVcpu`
   * inherited (P1). `kind` 0 is a user request from thread `arg` (device time `delayNs`, `wait`);
   * other kinds call their registered handler with `arg` once the work is done.
   */
  submit(ioVcpu: number, requesterVcpu: number, workNs: number, kind: number, arg: number, delayNs = 0, wait = false): void {
    const k = this.k
    const svc = this.serviceOf(ioVcpu)
    this.queues[ioVcpu]!.push(workNs, kind, arg, delayNs, wait ? 1 : 0)
    svc.wakePending = true
    const p = svc.pcpu
    const local = k.localNow(p)
    let preempt: boolean
    if (k.vcpus[ioVcpu]!.kind === "io") {
      const req = k.vcpus[requesterVcpu]
      const period = req === undefined ? k.vcpus[ioVcpu]!.periodNs : p.sched.vcpus[k.schedIndexOf[requesterVcpu]!]!.periodNs
      if (svc.status === ThreadStatus.Blocked) {
        svc.status = ThreadStatus.Runnable
        svc.wakePending = false
      }
      // SMP Quest: a hand-off from another core reaches this one by IPI (smp/Smp.ts).
      if (k.smp !== null && k.started && k.smp.remoteIo(p, svc, k.schedIndexOf[ioVcpu]!, period)) return
      preempt = p.sched.requestIo(k.schedIndexOf[ioVcpu]!, period, svc.schedId, local)
    } else {
      if (svc.status === ThreadStatus.Blocked) {
        svc.status = ThreadStatus.Runnable
        svc.wakePending = false
      }
      if (k.smp !== null && k.started && k.smp.remoteWake(p, svc)) return
      preempt = p.sched.wakeup(svc.schedId, local)
    }
    if (preempt && k.started) k.dispatch.requestInvoke(p)
  }

  /** The `io` request's effect: the job goes to its VCPU's service thread; the thread waits if asked. */
  startIo(th: Thread, req: Program.Io): Outcome {
    const v = this.vcpuFor(req.classMask)
    if (v < 0) this.k.misuse(th, `an I/O request but the sandbox has no VCPU to serve it`)
    this.submit(v, th.vcpu, req.workNs, SchedIoQueue.USER_IO, th.tid, req.delayNs, req.wait)
    if (!req.wait) return Outcome.Done
    th.status = ThreadStatus.IoWait
    return Outcome.Blocked
  }

  /** The service thread of VCPU `v` finished its current job's work. */
  private jobDone(v: number): void {
    const k = this.k
    const q = this.queues[v]!
    const kind = q.curKind
    if (kind !== SchedIoQueue.USER_IO) {
      this.jobHandlers[kind]!(k, k.pcpus[k.vcpus[v]!.core]!, q.curArg)
      return
    }
    if (q.curWait === 0) return
    if (q.curDelay === 0) this.onIoDone(q.curArg, 1)
    else k.sim.after(q.curDelay, Simulation.EventClass.Device, this.hIoDone, q.curArg, 1)
  }

  private onIoDone(tid: number, wait: number): void {
    const th = this.k.threads[tid]!
    if (wait === 1 && th.status === ThreadStatus.IoWait) {
      th.status = ThreadStatus.Runnable
      this.k.lifecycle.schedWake(th.pcpu, th)
    }
  }
}

const finishIo: FinishRequest<Program.Io> = (k, _p, th, req) => k.io.startIo(th, req)

const popcount = (x: number): number => {
  let n = 0
  for (let v = x >>> 0; v !== 0; v &= v - 1) n++
  return n
}
