/**
 * The request table: what the kernel does with each request a program yields, indexed by the
 * request's `op` (`Program.Op`). Every op is registered once, when the system is built, by the
 * module that owns it — the kernel's rooms (sleep queue, jobs, I/O, processes, memory and
 * hypercalls), the channels (`send`, `poll`, `recv`, `pollUntilChanged`) and migration (`migrate`);
 * a device or policy module adds its own the same way. The kernel's stepping loop (`Dispatch`)
 * knows no op: it calls `begin[op]` when a thread yields the request and `finish[op]` once the
 * CPU it costs has run.
 *
 * A request runs in two parts:
 * - `begin(k, p, th, req)` returns the ns of CPU the thread executes before the effect (a system
 *   call's entry, a memory access, a copy); it may set `th.result` at once (`now`);
 * - `finish(k, p, th, req)` applies the effect and returns an {@link Outcome}; a request without
 *   an effect registers `null` (its result is `undefined`, or what `begin` set).
 *
 * Invariants:
 * - an op has at most one registration (a second one is refused, naming both owners);
 * - `finish` is called with `th.pending` already false; the kernel sets it back to true for
 *   `Again`, `Wait` and `Stopped` (not for `DoneAfter`), so a handler never touches it;
 * - handlers are plain functions registered once: no closure or allocation per request.
 *
 * NOTE: the table is two arrays of functions indexed by a small integer (no `switch` the kernel
 * would have to know every op for, no method lookup on a request object): the stepping loop's cost
 * per request is one array load and one call.
 *
 * @module
 */
import * as Program from "../Program.ts"
import { RequestShape } from "../RequestShape.ts"
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"
import { ThreadStatus, type Thread } from "./Thread.ts"

/** What applying a request's effect did. */
export const Outcome = {
  /** Applied; the result is in `th.result`, the thread steps on. */
  Done: 0,
  /** Applied; the thread no longer runs (it sleeps, waits, exited) until something wakes it. */
  Blocked: 1,
  /** The effect raised a VM exit: the core waits for the monitor, which resolves the request (or it fails with `th.failValue`). */
  Stopped: 2,
  /** Not finished: `th.remainingNs` more CPU, then `finish` again. */
  Again: 3,
  /** Not finished: the thread blocks; once woken it runs `th.remainingNs` more CPU, then `finish` again (a channel's retry). */
  Wait: 4,
  /**
   * Applied; the result is in `th.result`, but the request still costs `th.remainingNs` of CPU
   * after its effect (a copy of the message read) before the thread steps on, with no effect at its
   * end: the dispatcher may merge that CPU with the program's next `compute` (one piece, one event).
   */
  DoneAfter: 5,
} as const
export type Outcome = (typeof Outcome)[keyof typeof Outcome]

/** Starts request `req` of `th` on `p`: ns of CPU before its effect. */
export type BeginRequest<R = Program.Request> = (k: Kernel, p: Pcpu, th: Thread, req: R) => number
/** Applies request `req`'s effect for `th` on `p`. */
export type FinishRequest<R = Program.Request> = (k: Kernel, p: Pcpu, th: Thread, req: R) => Outcome
/**
 * Whether `begin` of `req` may run before its time, when nothing can run in between (the
 * dispatcher's look-ahead, `Dispatch.lookAhead`): it must cost > 0 ns, refuse nothing, and read or
 * change nothing but the thread and its sandbox's random streams.
 */
export type EarlyBegin<R = Program.Request> = (k: Kernel, th: Thread, req: R) => boolean

/** Internal ops (kernel library threads), above every `Program.Op`. */
export const KernelOp = {
  /** Block until `Kernel.wake` (returns at once if a wake is already pending). */
  Block: 100,
} as const

/** Largest op the table holds. */
export const MAX_OP = 127

/** The request a library program yields to block until `Kernel.wake`. */
export const BLOCK = new RequestShape(KernelOp.Block) as unknown as Program.Request

export class RequestTable {
  /** `begin` by op (undefined: no such request). */
  readonly begin: (BeginRequest<any> | undefined)[] = new Array<BeginRequest<any> | undefined>(MAX_OP + 1).fill(undefined)
  /** `finish` by op (null: no effect after the CPU). */
  readonly finish: (FinishRequest<any> | null)[] = new Array<FinishRequest<any> | null>(MAX_OP + 1).fill(null)
  /** Whether `begin` may run early, by op (null: never). */
  readonly early: (EarlyBegin<any> | null)[] = new Array<EarlyBegin<any> | null>(MAX_OP + 1).fill(null)
  /** Who registered each op (for the refusal of a second registration). */
  private readonly owners: (string | undefined)[] = []

  constructor() {
    this.register(Program.Op.Compute, "kernel", beginCompute, null, computeEarly)
    this.register(Program.Op.Syscall, "kernel", beginSyscall, null, syscallEarly)
    this.register(Program.Op.Now, "kernel", beginNow, null)
    this.register(Program.Op.KernelCall, "kernel", beginKernelCall, finishKernelCall)
    this.register(KernelOp.Block, "kernel", beginBlock, finishBlock)
  }

  /** Registers `op` (owned by `owner`, named in refusals); `early`: when its `begin` may run early (default never). */
  register<R>(op: number, owner: string, begin: BeginRequest<R>, finish: FinishRequest<R> | null, early: EarlyBegin<R> | null = null): void {
    if (!Number.isInteger(op) || op < 0 || op > MAX_OP) throw new RangeError(`RequestTable.register: op ${op} (${owner}) must be an integer in [0, ${MAX_OP}]`)
    const had = this.owners[op]
    if (had !== undefined) throw new RangeError(`RequestTable.register: op ${op} is already registered by ${had}; ${owner} cannot register it too`)
    this.owners[op] = owner
    this.begin[op] = begin
    this.finish[op] = finish
    this.early[op] = early
  }

  /** Whether `op` is registered. */
  has(op: number): boolean {
    return this.owners[op] !== undefined
  }
}

/** The CPU a system call's entry costs `th` (user threads only), ns. */
export const syscallNs = (k: Kernel, th: Thread): number => (th.user ? k.syscallNs : 0)

/** `begin` of a request that costs only its system-call entry. */
export const beginSyscallEntry: BeginRequest<unknown> = (k, _p, th) => syscallNs(k, th)

const beginCompute: BeginRequest<Program.Compute> = (_k, _p, _th, req) => req.ns

const beginSyscall: BeginRequest<Program.Syscall> = (k, _p, th, req) => syscallNs(k, th) + k.machine.costs.toNs(req.cycles)

const computeEarly: EarlyBegin<Program.Compute> = (_k, _th, req) => Number.isSafeInteger(req.ns) && req.ns > 0

const syscallEarly: EarlyBegin<Program.Syscall> = (k, th, req) => syscallNs(k, th) + k.machine.costs.toNs(req.cycles) > 0

const beginNow: BeginRequest<Program.Now> = (k, p, th) => {
  th.result = k.localNow(p)
  return 0
}

const beginKernelCall: BeginRequest<Program.KernelCall> = (_k, _p, _th, req) => req.costNs

const finishKernelCall: FinishRequest<Program.KernelCall> = (_k, p, th, req) => {
  th.result = req.fn(th.ctx)
  if (p.core.inVmxRoot) return Outcome.Stopped
  return th.status === ThreadStatus.Runnable ? Outcome.Done : Outcome.Blocked
}

const beginBlock: BeginRequest<unknown> = () => 0

const finishBlock: FinishRequest<unknown> = (_k, _p, th) => {
  if (th.wakePending) {
    th.wakePending = false
    return Outcome.Done
  }
  th.status = ThreadStatus.Blocked
  return Outcome.Blocked
}
