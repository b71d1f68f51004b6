/**
 * Thread programs: a thread's behaviour is a generator function that yields requests to its
 * sandbox kernel and receives each request's result as the value of the `yield` expression
 * (DESIGN.md "Workload"). This module holds the request records and their constructors.
 *
 * ```ts
 * const worker: Program.Program = function* (ctx) {
 *   for (;;) {
 *     yield Program.waitJob()                       // next periodic release (thread's `periodic`)
 *     yield Program.compute(ctx.rng.int(1e6, 2e6))  // 1–2 ms of CPU
 *     const ok = yield Program.send("to-s2", { bytes: 64 })
 *   }
 * }
 * ```
 *
 * Invariants:
 * - every request is a record validated at construction (a bad argument throws a
 *   {@link ProgramError} naming the constructor and the value), never changed afterwards, so a
 *   program may build a request once and yield it many times; all have one runtime shape
 *   (`RequestShape.ts`: the dispatch's loads stay monomorphic);
 * - durations are integer ns of the sandbox's own clock (sleep) or of CPU execution (compute);
 * - nothing here reads a clock or a random source: programs draw from `ctx.rng`, a sim-core stream
 *   named after the sandbox and the thread.
 *
 * Results of `yield` (the kernel passes them back): `compute`, `sleep*`, `waitJob`, `syscall`,
 * `io`, `hypercall` → `undefined`; `read` → the value, or -1 when the monitor refused the access;
 * `write`/`writeBytes` → whether the write happened; `send` → whether the message was written;
 * `poll`, `pollUntilChanged` → a {@link PollResult}; `recv` → a {@link Message} or `null`; `fork` → the child's pid;
 * `waitpid` → the child's exit code; `migrate` → whether the thread now runs in the destination;
 * `now` → the sandbox's local time, ns; `kernelCall` → the function's return value.
 *
 * @module
 */
import type { Rng } from "@qvsim/sim-core"
import { RequestShape } from "./RequestShape.ts"

/** Request codes (the `op` of every request). */
export const Op = {
  Compute: 0,
  Sleep: 1,
  SleepUntil: 2,
  WaitJob: 3,
  Syscall: 4,
  Read: 5,
  Write: 6,
  WriteBytes: 7,
  Io: 8,
  Send: 9,
  Poll: 10,
  Recv: 11,
  Fork: 12,
  Exit: 13,
  Waitpid: 14,
  Hypercall: 15,
  Migrate: 16,
  Now: 17,
  KernelCall: 18,
  TlbMisses: 19,
  PollUntilChanged: 20,
} as const
export type Op = (typeof Op)[keyof typeof Op]

/** Device classes of I/O VCPUs (spec §C.2; bit masks as in `include/sched/vcpu.h`). */
export const DeviceClass = { usb: 1, ata: 2, net: 4, disk: 8, cdrom: 16, gpio: 32 } as const
export type DeviceClassName = keyof typeof DeviceClass

/** What a program sees of its thread. */
export interface ThreadContext {
  /** Sandbox index. */
  readonly sandbox: number
  /** Thread name (unique in its sandbox). */
  readonly name: string
  /** Process id in the sandbox (1, 2, …). */
  readonly pid: number
  /** The thread's random stream (`sandbox<s>/thread/<name>`; a fork child gets `…/<name>#<pid>`). */
  readonly rng: Rng.RngStream
  /** The sandbox's IPv4 address (unsigned 32-bit). */
  readonly ip: number
  /** Guest-physical base of the sandbox's data area (`kernel.dataPages` pages backed with bytes, RW). */
  readonly dataBase: number
  /** Guest-physical base of the sandbox's memory slice. */
  readonly sliceBase: number
}

/** A thread program: a generator function over requests. */
export type Program = (ctx: ThreadContext) => Generator<Request, unknown, any>

export interface Compute { readonly op: 0; readonly ns: number }
export interface Sleep { readonly op: 1; readonly ns: number }
export interface SleepUntil { readonly op: 2; readonly localNs: number }
export interface WaitJob { readonly op: 3 }
export interface Syscall { readonly op: 4; readonly cycles: number }
export interface Read { readonly op: 5; readonly gpa: number; readonly size: 1 | 2 | 4 }
export interface Write { readonly op: 6; readonly gpa: number; readonly size: 1 | 2 | 4; readonly value: number }
export interface WriteBytes { readonly op: 7; readonly gpa: number; readonly length: number; readonly fill: number }
export interface Io {
  readonly op: 8
  /** Device-class mask the request is for (selects the I/O VCPU, spec §C.2). */
  readonly classMask: number
  /** Work for the I/O VCPU's service thread, ns. */
  readonly workNs: number
  /** Device time after the work, ns. */
  readonly delayNs: number
  /** Whether the requesting thread blocks until the device completes. */
  readonly wait: boolean
}
export interface Send {
  readonly op: 9
  readonly channel: string
  /** Payload bytes (the copy cost is per 64-byte line). */
  readonly bytes: number
  /** Message type word (private channels; ≠ 0). */
  readonly type: number
}
export interface Poll { readonly op: 10; readonly channel: string }
export interface Recv { readonly op: 11; readonly channel: string }
export interface Fork {
  readonly op: 12
  /** The child's program. */
  readonly program: Program
  /** Address-space pages to copy (default: the parent's). */
  readonly pages: number
  /** Child's name suffix (the child is named `<parent>#<pid>` unless given). */
  readonly name: string
}
export interface Exit { readonly op: 13; readonly code: number }
export interface Waitpid { readonly op: 14; readonly pid: number }
export interface Hypercall { readonly op: 15; readonly number: number }
export interface Migrate { readonly op: 16; readonly sandbox: number }
export interface Now { readonly op: 17 }
export interface KernelCall { readonly op: 18; readonly costNs: number; readonly fn: (ctx: ThreadContext) => unknown }
export interface TlbMisses { readonly op: 19; readonly count: number }
export interface PollUntilChanged { readonly op: 20; readonly channel: string }

export type Request =
  | Compute | Sleep | SleepUntil | WaitJob | Syscall | Read | Write | WriteBytes | Io | Send | Poll | Recv
  | Fork | Exit | Waitpid | Hypercall | Migrate | Now | KernelCall | TlbMisses | PollUntilChanged

/** What `poll` returns. */
export interface PollResult {
  /** The status (sequence number) read. */
  readonly seq: number
  /** True when it differs from what this reader saw at its previous poll. */
  readonly changed: boolean
  /** Bytes read (the message, when changed; 0 otherwise). */
  readonly bytes: number
  /** True when the status reads as the "channel corrupted" marker (0xFF on a last-byte mailbox) or the message was torn. */
  readonly corrupted: boolean
  /** Private channels: the message was read before its payload was written (spec F20). */
  readonly torn: boolean
  /** False when the access was refused (EPT violation). */
  readonly ok: boolean
}

/** A message taken from a private channel (`recv`). */
export interface Message {
  readonly type: number
  readonly bytes: number
  readonly seq: number
  /** True when the payload did not match its header (a torn read, spec F20). */
  readonly torn: boolean
  /** Receiver's local time when the polling thread found it, ns. */
  readonly receivedLocalNs: number
}

/**
 * A program's misuse: a request refused at construction, or at run time a program that yields
 * something that is not a request, makes a request its sandbox cannot serve (a channel it is not
 * on, a message too big for the channel), or throws. The author's mistake, not a model invariant:
 * the CLI reports it as bad input, naming the thread.
 */
export class ProgramError extends RangeError {
  override readonly name = "ProgramError"
}

/** Why `v` cannot be a program (not a function, an async function), or undefined when it may be one. */
export const programProblem = (v: unknown): string | undefined => {
  if (typeof v !== "function") return "must be a generator function (function*)"
  const kind = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name
  if (kind === "AsyncGeneratorFunction" || kind === "AsyncFunction") {
    return "must be a generator function (function*), not an async one: a program yields requests and the kernel resumes it at simulated times"
  }
  return undefined
}

const nat = (api: string, what: string, v: number, min = 0): number => {
  if (!Number.isSafeInteger(v) || v < min) throw new ProgramError(`Program.${api}: ${what} ${v} must be an integer ≥ ${min}`)
  return v
}
const size = (api: string, s: number): 1 | 2 | 4 => {
  if (s !== 1 && s !== 2 && s !== 4) throw new ProgramError(`Program.${api}: size ${s} must be 1, 2 or 4`)
  return s
}
const address = (api: string, gpa: number): number => {
  if (!Number.isSafeInteger(gpa) || gpa < 0 || gpa >= 2 ** 32) throw new ProgramError(`Program.${api}: address ${gpa} is not a 32-bit guest-physical address`)
  return gpa
}

/** Computes for `ns` ns of CPU (the thread's VCPU is charged; interrupts may stretch it in wall time). */
export const compute = (ns: number): Compute => {
  const r = new RequestShape(Op.Compute)
  r.ns = nat("compute", "duration", ns)
  return r as Compute
}

/** Sleeps `ns` ns of the sandbox's clock (a system call; woken by the sleep queue, spec §C.1 W2). */
export const sleep = (ns: number): Sleep => {
  const r = new RequestShape(Op.Sleep)
  r.ns = nat("sleep", "duration", ns)
  return r as Sleep
}

/** Sleeps until the sandbox's local time `localNs`. */
export const sleepUntil = (localNs: number): SleepUntil => {
  const r = new RequestShape(Op.SleepUntil)
  r.localNs = nat("sleepUntil", "time", localNs)
  return r as SleepUntil
}

/**
 * Ends the current job (if any) and waits for the thread's next periodic release (the thread's
 * `periodic` option); returns at once when a release is already due (a backlog).
 */
export const waitJob = (): WaitJob => WAIT_JOB
const WAIT_JOB = new RequestShape(Op.WaitJob) as WaitJob

/** A system call that does nothing but cost its entry (and `cycles` of kernel work). */
export const syscall = (cycles = 0): Syscall => {
  const r = new RequestShape(Op.Syscall)
  r.cycles = nat("syscall", "cycles", cycles)
  return r as Syscall
}

/** Reads `size` bytes at guest-physical `gpa` through the sandbox's EPT. */
export const read = (gpa: number, bytes: 1 | 2 | 4 = 4): Read => {
  const r = new RequestShape(Op.Read)
  r.gpa = address("read", gpa)
  r.size = size("read", bytes)
  return r as Read
}

/** Writes `value` (`size` bytes) at guest-physical `gpa` through the sandbox's EPT. */
export const write = (gpa: number, value: number, bytes: 1 | 2 | 4 = 4): Write => {
  const r = new RequestShape(Op.Write)
  r.gpa = address("write", gpa)
  r.size = size("write", bytes)
  r.value = nat("write", "value", value)
  return r as Write
}

/** Writes `length` bytes of `fill` from `gpa` (a wild write, a memset), across pages. */
export const writeBytes = (gpa: number, length: number, fill = 0): WriteBytes => {
  address("writeBytes", gpa)
  nat("writeBytes", "length", length, 1)
  if (gpa + length > 2 ** 32) throw new ProgramError(`Program.writeBytes: [${gpa}, ${gpa + length}) leaves the 32-bit space`)
  if (!Number.isInteger(fill) || fill < 0 || fill > 255) throw new ProgramError(`Program.writeBytes: fill ${fill} must be a byte`)
  const r = new RequestShape(Op.WriteBytes)
  r.gpa = gpa
  r.length = length
  r.fill = fill
  return r as WriteBytes
}

export interface IoOptions {
  /** Device class (default `"net"`... any name of {@link DeviceClass}) or a raw class mask. */
  readonly device?: DeviceClassName | number
  /** Work done on the I/O VCPU, ns. */
  readonly workNs: number
  /** Device latency after the work, ns (default 0). */
  readonly delayNs?: number
  /** Block until the device completes (default true). */
  readonly wait?: boolean
}

/**
 * An I/O request served by the sandbox's I/O VCPU for the device class (PIBS with priority
 * inheritance from the requesting thread's VCPU, spec §C.2 P1).
 */
export const io = (o: IoOptions): Io => {
  const d = o.device ?? "ata"
  const mask = typeof d === "number" ? d : DeviceClass[d]
  if (mask === undefined || !Number.isSafeInteger(mask) || mask < 0) throw new ProgramError(`Program.io: unknown device ${String(d)}`)
  const r = new RequestShape(Op.Io)
  r.classMask = mask
  r.workNs = nat("io", "workNs", o.workNs)
  r.delayNs = nat("io", "delayNs", o.delayNs ?? 0)
  r.wait = o.wait ?? true
  return r as Io
}

/** Sends on channel `channel` (a mailbox write or a private-channel message). */
export const send = (channel: string, o: { readonly bytes?: number; readonly type?: number } = {}): Send => {
  if (typeof channel !== "string" || channel === "") throw new ProgramError(`Program.send: channel must be a non-empty name`)
  const r = new RequestShape(Op.Send)
  r.channel = channel
  r.bytes = nat("send", "bytes", o.bytes ?? 64, 1)
  r.type = nat("send", "type", o.type ?? 1, 1)
  return r as Send
}

/** Polls channel `channel`'s status word (a mailbox sequence number); reads the message if it changed. */
export const poll = (channel: string): Poll => {
  if (typeof channel !== "string" || channel === "") throw new ProgramError(`Program.poll: channel must be a non-empty name`)
  const r = new RequestShape(Op.Poll)
  r.channel = channel
  return r as Poll
}

/**
 * Busy-polls mailbox `channel` until its status differs from what this reader saw last, and
 * returns that poll's result: exactly `while (!(yield poll(channel)).changed) {}` — every poll costs
 * `pollCheck` of CPU and the VCPU is charged throughout — but simulated without an event per poll
 * (the change is noticed at the first poll boundary after the write).
 */
export const pollUntilChanged = (channel: string): PollUntilChanged => {
  if (typeof channel !== "string" || channel === "") throw new ProgramError(`Program.pollUntilChanged: channel must be a non-empty name`)
  const r = new RequestShape(Op.PollUntilChanged)
  r.channel = channel
  return r as PollUntilChanged
}

/** Takes the next message the sandbox's channel-polling thread received on private channel `channel`, or null. */
export const recv = (channel: string): Recv => {
  if (typeof channel !== "string" || channel === "") throw new ProgramError(`Program.recv: channel must be a non-empty name`)
  const r = new RequestShape(Op.Recv)
  r.channel = channel
  return r as Recv
}

/** Forks a child process running `program` (its address space of `pages` pages is copied); returns its pid. */
export const fork = (program: Program, o: { readonly pages?: number; readonly name?: string } = {}): Fork => {
  if (typeof program !== "function") throw new ProgramError("Program.fork: program must be a generator function")
  const r = new RequestShape(Op.Fork)
  r.program = program
  r.pages = o.pages === undefined ? -1 : nat("fork", "pages", o.pages)
  r.name = o.name ?? ""
  return r as Fork
}

/** Ends the thread with exit code `code` (its parent's `waitpid` returns it). */
export const exit = (code = 0): Exit => {
  const r = new RequestShape(Op.Exit)
  r.code = Math.trunc(code)
  return r as Exit
}

/** Waits for child `pid` to exit; returns its exit code (or -1 if it is not a child). */
export const waitpid = (pid: number): Waitpid => {
  const r = new RequestShape(Op.Waitpid)
  r.pid = nat("waitpid", "pid", pid, 1)
  return r as Waitpid
}

/** A hypercall (VMCALL): a VM exit to the sandbox's monitor (spec §D.4). */
export const hypercall = (number: number): Hypercall => {
  const r = new RequestShape(Op.Hypercall)
  r.number = nat("hypercall", "number", number)
  return r as Hypercall
}

/** Migrates the calling thread to sandbox `sandbox` (spec §D.10). */
export const migrate = (sandbox: number): Migrate => {
  const r = new RequestShape(Op.Migrate)
  r.sandbox = nat("migrate", "sandbox", sandbox)
  return r as Migrate
}

/** The sandbox's local time (its TSC), ns; costs nothing. */
export const now = (): Now => NOW
const NOW = new RequestShape(Op.Now) as Now

/** Charges `count` TLB misses (under EPT each costs the extra 2-D walk, `eptWalkExtra`). */
export const tlbMisses = (count: number): TlbMisses => {
  const r = new RequestShape(Op.TlbMisses)
  r.count = nat("tlbMisses", "count", count)
  return r as TlbMisses
}

/**
 * Runs `fn` inside the kernel after `costNs` of CPU (for kernel threads the library builds:
 * recovery, channel polling). `fn` must be deterministic.
 */
export const kernelCall = (fn: (ctx: ThreadContext) => unknown, costNs = 0): KernelCall => {
  const r = new RequestShape(Op.KernelCall)
  r.fn = fn
  r.costNs = nat("kernelCall", "costNs", costNs)
  return r as KernelCall
}

/** A periodic program: waits for each release, then runs `job` (a generator function). */
export const periodic = (job: (ctx: ThreadContext, index: number) => Generator<Request, unknown, any>): Program =>
  function* (ctx) {
    for (let k = 0; ; k++) {
      yield WAIT_JOB
      yield* job(ctx, k)
    }
  }

/** A periodic program whose every job computes `ns` (or an integer drawn from `[lo, hi]`). */
export const periodicCompute = (ns: number | readonly [number, number]): Program => {
  const fixed = typeof ns === "number" ? compute(ns) : null
  const lo = typeof ns === "number" ? ns : ns[0]
  const hi = typeof ns === "number" ? ns : ns[1]
  nat("periodicCompute", "lo", lo)
  nat("periodicCompute", "hi", hi, lo)
  return function* (ctx) {
    for (;;) {
      yield WAIT_JOB
      yield fixed ?? compute(ctx.rng.int(lo, hi))
    }
  }
}
