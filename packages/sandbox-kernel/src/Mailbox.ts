/**
 * The 2011 experiment mailboxes (spec §D.8, `sched/msgt.c` at `oct11`): a raw shared frame holding a
 * message of `bytes` (64 B in the isolation experiment) whose status is a sequence number — the
 * message's last byte (`'lastByte'`, mod 255, so 0xFF never appears unless the mailbox is
 * corrupted) or a 32-bit word in a second "meta" page `[size, seq]` (`'meta'`, the ping-pong
 * experiment; each side bumps the shared word: read-modify-write). Polling only: a reader reads the
 * status, and the message when the status changed.
 *
 * Memory: the pages come from the shared pool and are set up once by the monitors at boot so that
 * only the two parties' EPTs map them (RW); the data path never involves a monitor. Every access
 * goes through the accessing sandbox's EPT: a sandbox outside the pair that touches the mailbox
 * takes an EPT violation.
 *
 * Costs: writing copies the message (per 64-byte line), reading a changed message copies it and
 * pays a cache-to-cache transfer per line (`remoteLineTransfer`); each poll costs `pollCheck`.
 *
 * Invariants (F20): the status changes at most once per poll as seen by a reader (one read per
 * poll); a single writer's sequence never goes backwards; observations are traced in the reader's
 * scope and, unless the system turned `recordObservations` off, kept with the reader's local time
 * (`observations`).
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Ept, PhysicalMemory } from "@qvsim/hardware"
import type { ChannelCall, ChannelOps, ChannelRequest } from "./Channels.ts"
import { Outcome, type Kernel, type Pcpu, type Thread } from "./kernel/index.ts"
import * as Program from "./Program.ts"
import { DISCARD, ObservationLog, type ObservationSink } from "./ObservationLog.ts"

export type { Observation, ObservationSink } from "./ObservationLog.ts"
export { DISCARD } from "./ObservationLog.ts"

/** The corrupted marker of a last-byte mailbox. */
export const CORRUPTED = 0xff

export class Mailbox {
  readonly index: number
  readonly name: string
  /** The two sandboxes that may touch it. */
  readonly parties: readonly [number, number]
  /** Message bytes. */
  readonly bytes: number
  readonly status: "lastByte" | "meta"
  /** Guest-physical address of the message. */
  readonly dataGpa: number
  /** Guest-physical address of the status (the last byte, or the meta page's seq word). */
  readonly statusGpa: number
  /** The status's guest page and its byte offset in it (`statusGpa` split once: `peekStatus` reads them at every busy-poll). */
  readonly statusPage: number
  readonly statusOffset: number
  /** Guest-physical address of the meta page (`'meta'`), or -1. */
  readonly metaGpa: number
  /** Each writer's next sequence number, by sandbox. */
  readonly nextSeq: number[]
  /** What each reader saw last, by sandbox (-1 = nothing yet). */
  readonly lastSeen: number[]
  /** Changes seen, in order, by every reader (while `sink` is this log; empty unless `recordObservations`). */
  readonly observations = new ObservationLog()
  /** Whether observations are kept (they are traced either way): `sink`'s default is `observations`, else `DISCARD`. */
  readonly recordObservations: boolean
  /**
   * Where observations go: as `recordObservations` says unless set before the run (an experiment
   * streaming the few it analyses, e.g. message-passing's reply times); the trace records them
   * either way.
   */
  sink: ObservationSink
  /** Messages written, by sandbox. */
  readonly sent: number[]
  /**
   * Threads busy-polling (`pollUntilChanged`) this mailbox: each one's reused record, with its
   * kernel and CPU baseline, in the first `spinning` entries. NOTE: the array is never truncated
   * (setting `length = 0` drops its store, and the next spin allocates a new one: issue 15).
   */
  private readonly spinners: Spinner[] = []
  /** How many threads busy-poll this mailbox now. */
  spinning = 0
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kSend: Trace.RecordKind
  private readonly kSeen: Trace.RecordKind
  private readonly message: Uint8Array

  constructor(index: number, name: string, parties: readonly [number, number], bytes: number, status: "lastByte" | "meta", dataGpa: number, metaGpa: number, sandboxes: number, trace: Trace.Trace, recordObservations = true) {
    this.index = index
    this.recordObservations = recordObservations
    this.sink = recordObservations ? this.observations : DISCARD
    this.name = name
    this.parties = parties
    this.bytes = bytes
    this.status = status
    this.dataGpa = dataGpa
    this.metaGpa = metaGpa
    this.statusGpa = status === "lastByte" ? dataGpa + bytes - 1 : metaGpa + 4
    this.statusPage = Math.floor(this.statusGpa / PhysicalMemory.PAGE_BYTES)
    this.statusOffset = this.statusGpa % PhysicalMemory.PAGE_BYTES
    this.nextSeq = new Array<number>(sandboxes).fill(1)
    this.lastSeen = new Array<number>(sandboxes).fill(-1)
    this.sent = new Array<number>(sandboxes).fill(0)
    this.message = new Uint8Array(bytes)
    this.trace = trace
    this.subjects = Array.from({ length: sandboxes }, (_, s) => trace.subject(`sandbox${s}/channels`, s))
    this.kSend = trace.kind("chan.send", ["channel", "seq", "bytes"])
    this.kSeen = trace.kind("chan.seen", ["channel", "seq", "corrupted"])
  }

  /** The ops sandbox `s` uses for `send`/`poll` on this mailbox. */
  opsFor(s: number): ChannelOps {
    return new MailboxOps(this, s)
  }

  /** The sequence number writer `s` uses next on a last-byte mailbox (and advances). Broken test variants override this. */
  takeSeq(s: number): number {
    const seq = this.nextSeq[s]!
    this.nextSeq[s] = this.status === "lastByte" ? (seq + 1) % 255 : seq + 1
    return seq
  }

  /**
   * The message with sequence `seq` (every byte `seq & 0xff`; its last byte is the status on a
   * last-byte mailbox), valid in its first `bytes` bytes. NOTE: only the bytes a send writes are
   * filled (a 1-byte ping on a 64-byte mailbox fills one byte, not 64).
   */
  fillMessage(seq: number, bytes: number = this.bytes): Uint8Array {
    const m = this.message
    const b = seq & 0xff
    for (let i = 0; i < bytes; i++) m[i] = b
    return m
  }

  /** Re-initialises the mailbox memory as its set-up does (zeros) — used by a channel recovery. */
  reinitialise(k: Kernel, p: Pcpu): boolean {
    const zero = new Uint8Array(this.bytes)
    if (!k.machine.writeBytes(p.core.index, this.dataGpa, zero, 0, this.bytes)) return false
    if (this.metaGpa >= 0 && !k.machine.writeBytes(p.core.index, this.metaGpa, zero, 0, 8)) return false
    return true
  }

  /** Records what reader `s` saw (traced in its scope). */
  observe(k: Kernel, p: Pcpu, s: number, seq: number): void {
    const corrupted = this.status === "lastByte" && seq === CORRUPTED
    this.sink.add(s, k.localNow(p), k.sim.now, seq, corrupted)
    this.trace.emit3(this.kSeen, this.subjects[s]!, this.index, seq, corrupted ? 1 : 0)
  }

  /** Traces a message written by `s`. */
  traceSend(s: number, seq: number): void {
    this.sent[s]!++
    this.trace.emit3(this.kSend, this.subjects[s]!, this.index, seq, this.bytes)
    this.wakeSpinners()
  }

  /**
   * The status changed: every busy-poller notices at its next poll boundary (its own execution time).
   * NOTE: `pollUntilChanged` is simulated as one long CPU piece cut short here, instead of one event
   * per `pollCheck` (23 ns) poll; the boundaries are the same, so the results equal the poll loop's.
   */
  private wakeSpinners(): void {
    const list = this.spinners
    const n = this.spinning
    if (n === 0) return
    this.spinning = 0
    // NOTE: no copy of the list: cutting a spin (`setRemaining` with > 0 ns left) only restarts core
    // work, so no thread spins again on this mailbox during the loop.
    for (let i = 0; i < n; i++) {
      const sp = list[i]!
      const e = sp.k.dispatch.executedNs(sp.th) - sp.baseCpuNs
      const boundary = (Math.floor(e / sp.pollNs) + 1) * sp.pollNs
      sp.call.phase = PH_START
      sp.k.dispatch.setRemaining(sp.th, boundary - e)
    }
  }

  /** Registers `th` as a busy-poller from now (its CPU so far is the baseline of its poll boundaries). */
  spin(k: Kernel, th: Thread, call: ChannelCall): void {
    const sp = (call.spinner ??= new Spinner(th, k, call))
    sp.baseCpuNs = k.dispatch.executedNs(th)
    sp.pollNs = Math.max(1, k.machine.costs.ns.pollCheck)
    this.spinners[this.spinning++] = sp
  }
}

/** A busy-poller's record (one per thread's channel call, reused by every busy-poll of the thread). */
export class Spinner {
  readonly th: Thread
  readonly k: Kernel
  readonly call: ChannelCall
  /** The thread's executed CPU when it started polling, ns. */
  baseCpuNs = 0
  /** One poll's CPU, ns (≥ 1). */
  pollNs = 1

  constructor(th: Thread, k: Kernel, call: ChannelCall) {
    this.th = th
    this.k = k
    this.call = call
  }
}

const PH_START = 0, PH_SPIN = 2
/** A busy-poll's CPU piece while waiting (the writer's change cuts it short). */
const SPIN_NS = 1e15

/** Sandbox `s`'s side of a mailbox, as its kernel drives it. */
class MailboxOps implements ChannelOps {
  private readonly box: Mailbox
  private readonly s: number

  constructor(box: Mailbox, s: number) {
    this.box = box
    this.s = s
  }

  begin(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): number {
    const costs = k.machine.costs
    call.phase = PH_START
    if (req.op === Program.Op.Send) {
      if (req.bytes > this.box.bytes) k.misuse(th, `${req.bytes} bytes do not fit mailbox "${this.box.name}" (${this.box.bytes})`)
      return k.noise.copyNs(req.bytes)
    }
    if (req.op === Program.Op.Recv) k.misuse(th, `recv on mailbox "${this.box.name}" (mailboxes are polled)`)
    if (req.op === Program.Op.PollUntilChanged && k.options.mergePieces) {
      const seq = this.peekStatus(k, p)
      if (seq >= 0 && seq === this.box.lastSeen[this.s]) {
        // Unchanged now: the first poll's check is the spin's first poll (its boundary is the same
        // time, its read the same value unless a send cuts the spin there). NOTE: no event for the
        // first check (issue 15).
        call.phase = PH_SPIN
        this.box.spin(k, th, call)
        return SPIN_NS
      }
    }
    return costs.ns.pollCheck
  }

  /**
   * A send's begin only draws its copy's cost from the sandbox's copy stream (when the message
   * fits); a poll's only returns the check's cost (its read is at its end). Not a busy-poll's: it
   * peeks at the status.
   */
  beginsEarly(req: ChannelRequest): boolean {
    return (req.op === Program.Op.Send && req.bytes <= this.box.bytes) || req.op === Program.Op.Poll
  }

  /**
   * The bytes of the status's page as this sandbox's reads reach them now, or undefined when a read
   * would not simply return a value (root mode, an EPT violation, the I/O APIC page, a frame
   * without bytes): the caller then reads through the machine as usual (`Machine.read`, with its
   * effects). A read that simply returns a value has no effect, so reading these bytes instead is
   * the same read. NOTE: no `Machine.read` per poll and per send (issue 15).
   */
  private statusBytes(k: Kernel, p: Pcpu): Uint8Array | undefined {
    const ept = p.core.guestEpt
    if (ept === null) return undefined
    const frame = ept.translate(this.box.statusPage, Ept.Access.Read)
    const m = k.machine
    if (frame < 0 || frame === m.layout.ioapicBase / PhysicalMemory.PAGE_BYTES) return undefined
    return m.memory.bytesOf(frame)
  }

  /** The status in `b` (its page's bytes): the little-endian value `PhysicalMemory.read` returns (a status never crosses its page). */
  private statusIn(b: Uint8Array): number {
    const box = this.box
    const at = box.statusOffset
    return box.status === "lastByte" ? b[at]! : b[at]! + b[at + 1]! * 0x100 + b[at + 2]! * 0x10000 + b[at + 3]! * 0x1000000
  }

  /** A meta mailbox's size word in `b` (the status's page: `statusGpa` is `metaGpa + 4`), as `PhysicalMemory.read` returns it. */
  private sizeIn(b: Uint8Array): number {
    const at = this.box.statusOffset - 4
    return b[at]! + b[at + 1]! * 0x100 + b[at + 2]! * 0x10000 + b[at + 3]! * 0x1000000
  }

  /**
   * The status word's value as this sandbox's read would see it now, without the read's effects;
   * -1 when the read would not simply return a value (see `statusBytes`): the poll then reads it
   * at its boundary as usual.
   */
  private peekStatus(k: Kernel, p: Pcpu): number {
    const b = this.statusBytes(k, p)
    return b === undefined ? -1 : this.statusIn(b)
  }

  finish(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): Outcome {
    const box = this.box
    const core = p.core.index
    const m = k.machine
    if (req.op === Program.Op.Send) {
      th.failValue = false
      let seq: number
      if (box.status === "meta") {
        // Ping-pong protocol: each side bumps the shared sequence (read-modify-write).
        const b = this.statusBytes(k, p)
        const cur = b !== undefined ? this.statusIn(b) : m.read(core, box.statusGpa, 4)
        if (p.core.inVmxRoot) return Outcome.Stopped
        seq = cur + 1
      } else {
        seq = box.takeSeq(this.s)
      }
      const n = box.status === "lastByte" && req.bytes === box.bytes ? box.bytes - 1 : req.bytes
      const msg = box.fillMessage(seq, n)
      if (box.status === "lastByte") {
        if (!m.writeBytes(core, box.dataGpa, msg, 0, n)) return Outcome.Stopped
        if (!m.write(core, box.statusGpa, 1, seq)) return Outcome.Stopped
      } else {
        if (!m.writeBytes(core, box.dataGpa, msg, 0, n)) return Outcome.Stopped
        // The size word, then the sequence word (`statusGpa` is `metaGpa + 4`): one call.
        if (!m.writeWords(core, box.metaGpa, req.bytes, seq)) return Outcome.Stopped
      }
      box.traceSend(this.s, seq)
      th.result = true
      return Outcome.Done
    }
    // Poll: read the status; when it changed, read the message (a second CPU phase).
    if (call.phase === PH_START) {
      th.failValue = FAILED_POLL
      const b = this.statusBytes(k, p)
      const seq = b !== undefined ? this.statusIn(b) : m.read(core, box.statusGpa, box.status === "lastByte" ? 1 : 4)
      if (p.core.inVmxRoot) return Outcome.Stopped
      const changed = seq !== box.lastSeen[this.s]
      box.lastSeen[this.s] = seq
      if (!changed && req.op === Program.Op.PollUntilChanged) {
        // Keep polling: burn CPU until a writer changes the status (it cuts this piece short).
        call.phase = PH_SPIN
        box.spin(k, th, call)
        th.remainingNs = SPIN_NS
        return Outcome.Again
      }
      if (!changed) {
        th.result = { seq, changed: false, bytes: 0, corrupted: box.status === "lastByte" && seq === CORRUPTED, torn: false, ok: true }
        return Outcome.Done
      }
      box.observe(k, p, this.s, seq)
      const bytes = box.status === "lastByte" ? box.bytes : Math.min(box.bytes, Math.max(0, b !== undefined ? this.sizeIn(b) : m.read(core, box.metaGpa, 4)))
      // The message's copy runs after the read, with nothing at its end: the result is known now.
      th.result = { seq, changed: true, bytes, corrupted: box.status === "lastByte" && seq === CORRUPTED, torn: false, ok: true }
      th.remainingNs = k.noise.remoteCopyNs(bytes)
      return Outcome.DoneAfter
    }
    k.misuse(th, `busy-poll on "${box.name}" never saw a change`)
  }
}

const FAILED_POLL: Program.PollResult = Object.freeze({ seq: -1, changed: false, bytes: 0, corrupted: false, torn: false, ok: false })
