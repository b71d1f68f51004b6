/**
 * The queue of an I/O service thread (PIBS, spec §C.2), shared by the harness and the sandbox
 * kernel: the jobs handed to one serving VCPU, taken in FIFO order. A job is `work` ns of CPU for
 * the service thread, then its completion: a `kind` the driver interprets (0: a user request, whose
 * `arg` is the requesting thread), the device time `delay` after the work, and whether the
 * requester `wait`s (1) or goes on (0).
 *
 * Invariants: jobs leave in the order they came; `cur*` describe the job last taken until the next
 * {@link IoQueue.take}.
 *
 * NOTE: hot path: five number rings (no object per job).
 *
 * @module
 */
import { Ring } from "./internal/Ring.ts"

/** Kind of a user I/O request (the only kind the harness has; a kernel's drivers register others). */
export const USER_IO = 0

export class IoQueue {
  private readonly work = new Ring()
  private readonly kinds = new Ring()
  private readonly args = new Ring()
  private readonly delays = new Ring()
  private readonly waits = new Ring()
  /** The job last taken: its kind, argument, device time (ns) and wait flag (1: the requester waits). */
  curKind = USER_IO
  curArg = 0
  curDelay = 0
  curWait = 0

  /** Jobs waiting (not counting the one taken). */
  get length(): number {
    return this.work.length
  }

  /** Appends a job of `work` ns. */
  push(work: number, kind: number, arg: number, delay: number, wait: number): void {
    this.work.push(work)
    this.kinds.push(kind)
    this.args.push(arg)
    this.delays.push(delay)
    this.waits.push(wait)
  }

  /** Takes the next job (the queue must not be empty); returns its work (ns) and keeps the rest in `cur*`. */
  take(): number {
    this.curKind = this.kinds.shift()
    this.curArg = this.args.shift()
    this.curDelay = this.delays.shift()
    this.curWait = this.waits.shift()
    return this.work.shift()
  }
}
