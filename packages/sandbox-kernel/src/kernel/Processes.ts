/**
 * Processes in a sandbox's kernel: pids, and the `fork`, `exit` and `waitpid` requests with their
 * costs (`kernel.forkBaseCycles` + per copied page, TLB misses per page under EPT; `exitCycles`;
 * `waitpidCycles`). A thread's end — its program returned, it exited, it was killed — goes through
 * {@link Processes.exit}.
 *
 * Invariants:
 * - pids are 1, 2, … in creation order within the sandbox, never reused;
 * - a process stays in the table until it is reaped: by its parent's `waitpid`, or at exit when it
 *   has no parent or its parent has exited;
 * - an exiting thread completes its active job (if any), ends with its code exactly once, and
 *   gives its scheduler slot back (`ThreadLifecycle.retire`);
 * - a parent blocked in `waitpid` for a child is woken by that child's exit, with its code.
 *
 * @module
 */
import * as Program from "../Program.ts"
import type { Kernel } from "./Kernel.ts"
import { Outcome, syscallNs, type BeginRequest, type FinishRequest, type RequestTable } from "./Requests.ts"
import { FINISHED, ReapedThread, ThreadStatus, type Thread } from "./Thread.ts"

export class Processes {
  private readonly k: Kernel
  private nextPid = 1
  private readonly procs = new Map<number, Thread>()

  constructor(k: Kernel, table: RequestTable) {
    this.k = k
    table.register(Program.Op.Fork, "processes", beginFork, finishFork)
    table.register(Program.Op.Exit, "processes", beginExit, finishExit)
    table.register(Program.Op.Waitpid, "processes", beginWaitpid, finishWaitpid)
  }

  /** The pid of the next thread created. */
  newPid(): number {
    return this.nextPid++
  }

  /** Enters a new thread's process. */
  register(th: Thread): void {
    this.procs.set(th.pid, th)
  }

  /** Forks `parent`: a child process running `req.program`; returns its pid. */
  fork(parent: Thread, req: Program.Fork): number {
    const k = this.k
    const name = req.name !== "" ? req.name : `${parent.name}#${this.nextPid}`
    const child = k.addThread({ name, vcpu: parent.vcpu, program: req.program, startNs: 0, user: parent.user, pages: req.pages >= 0 ? req.pages : parent.pages }, parent)
    k.trace.thread("fork", parent.tid, child.tid)
    return child.pid
  }

  /** `th` waits for child `pid`: its exit code now if it has exited, else `th` blocks until it does. */
  waitpid(th: Thread, pid: number): Outcome {
    const child = this.procs.get(pid)
    if (child === undefined || child.parent !== th) {
      th.result = -1
      return Outcome.Done
    }
    if (child.status === ThreadStatus.Exited) {
      th.result = this.reap(child)
      return Outcome.Done
    }
    th.waitingFor = pid
    th.status = ThreadStatus.WaitChild
    return Outcome.Blocked
  }

  private reap(child: Thread): number {
    child.reaped = true
    this.procs.delete(child.pid)
    // NOTE: the kernel's table keeps a compact record of a reaped fork child (issue 15: fork storms).
    if (ReapedThread.fits(child)) this.k.threads[child.tid] = new ReapedThread(child)
    return child.exitCode
  }

  /** Ends `th` with `code`: wakes a parent waiting for it; frees its scheduler slot for reuse. */
  exit(th: Thread, code: number): void {
    if (th.status === ThreadStatus.Exited) return
    const k = this.k
    if (th.job.active) k.jobs.complete(th, k.localNow(th.pcpu))
    th.status = ThreadStatus.Exited
    th.exitCode = code
    th.remainingNs = 0
    th.pending = false
    th.gen = FINISHED
    th.steps = null
    k.trace.thread("exit", th.tid, code)
    const parent = th.parent
    if (parent !== null && parent.status === ThreadStatus.WaitChild && parent.waitingFor === th.pid) {
      parent.waitingFor = -1
      parent.result = this.reap(th)
      parent.status = ThreadStatus.Runnable
      k.lifecycle.schedWake(parent.pcpu, parent)
    } else if (parent === null || parent.status === ThreadStatus.Exited) {
      this.procs.delete(th.pid)
    }
    // The slot is reusable once the scheduler has retired the thread (it is not current any more).
    k.lifecycle.retire(th)
  }
}

const beginFork: BeginRequest<Program.Fork> = (k, _p, th, req) => {
  const pages = req.pages >= 0 ? req.pages : th.pages
  const o = k.options
  const cycles = o.forkBaseCycles + pages * o.forkPageCycles
  return syscallNs(k, th) + k.machine.costs.toNs(cycles) + pages * o.forkTlbMissesPerPage * k.eptWalkNs
}

const finishFork: FinishRequest<Program.Fork> = (k, _p, th, req) => {
  th.result = k.processes.fork(th, req)
  return Outcome.Done
}

const beginExit: BeginRequest<Program.Exit> = (k, _p, th) => syscallNs(k, th) + k.machine.costs.toNs(k.options.exitCycles)

const finishExit: FinishRequest<Program.Exit> = (k, _p, th, req) => {
  k.processes.exit(th, req.code)
  return Outcome.Blocked
}

const beginWaitpid: BeginRequest<Program.Waitpid> = (k, _p, th) => syscallNs(k, th) + k.machine.costs.toNs(k.options.waitpidCycles)

const finishWaitpid: FinishRequest<Program.Waitpid> = (k, _p, th, req) => k.processes.waitpid(th, req.pid)
