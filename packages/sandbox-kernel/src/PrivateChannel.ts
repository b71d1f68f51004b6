/**
 * The 2015 private channels (spec §D.8, `vm/shm.c` at `ib`): one 4 KiB page per sandbox pair, two
 * 2 KiB halves, one per direction (the higher-numbered sandbox writes the first half). The first
 * word of a half is the message type, 0 = empty: it is the status. A sender that finds its half
 * occupied sleeps 50 ms and retries, at most 20 attempts; a kernel thread of the receiving sandbox,
 * on its own Main VCPU (10 ms, 1000 ms), polls every peer every 50 ms, takes a message and clears
 * the type. Polling only — no IPI.
 *
 * Half layout (bytes): type u32 @0 · length u32 @4 · sequence u32 @8 · check u32 @12 · payload.
 * Messages of one direction are sequential (a sender waits for the half to be empty), so a reader
 * knows the sequence number it expects next: a message whose header does not carry it was read
 * before its payload was written — a torn read.
 *
 * `typeBeforePayload` (default true, faithful): the sender writes the type word first, then copies
 * the payload (its copy cost elapses in between, and interrupts can stretch it): a poll in that
 * window sees an occupied half with the previous payload. With false the type is written last and
 * no reader ever sees a half-written message (F20).
 *
 * Memory: in the 2015 layout the page is the layout's channel page for the pair (RW for the pair
 * only in every EPT, F14); in the 2011 layout a page from the shared pool, set up the same way by
 * the monitors at boot. Every access goes through the accessing sandbox's EPT.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import type { ChannelCall, ChannelOps, ChannelRequest } from "./Channels.ts"
import { Outcome, type Kernel, type Pcpu, type Thread } from "./kernel/index.ts"
import * as Program from "./Program.ts"
import type { ChannelOptions } from "./Options.ts"

const HALF = 2048
const HEADER = 16
/** Byte offsets in a half: the type word (the status), then length, sequence and check (the rest of the header). */
const OFF_TYPE = 0, OFF_LENGTH = 4, OFF_SEQ = 8, OFF_CHECK = 12
/** The header after the type word: what a send copies besides the payload. */
const REST_OF_HEADER = HEADER - OFF_LENGTH
/** Largest payload of one message, bytes. */
export const MAX_PAYLOAD = HALF - HEADER

/** Writes `v` as a little-endian u32 at `o`. */
const putU32 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = v & 255
  b[o + 1] = (v >>> 8) & 255
  b[o + 2] = (v >>> 16) & 255
  b[o + 3] = (v >>> 24) & 255
}

/** A message's check word (deterministic mix of its header). */
const checkOf = (type: number, length: number, seq: number): number => {
  let h = Math.imul(type ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(length + 1, 0xc2b2ae35) ^ Math.imul(seq + 7, 0x27d4eb2f)
  h ^= h >>> 15
  return h >>> 0
}

export class PrivateChannel {
  readonly index: number
  readonly name: string
  readonly pair: readonly [number, number]
  /** Guest-physical address of the page. */
  readonly pageGpa: number
  readonly options: ChannelOptions
  /** Next sequence number per writer sandbox, and the next one each reader expects. */
  readonly nextSeq: number[]
  readonly expected: number[]
  /** Messages taken by each reader's polls, waiting for `recv`. */
  readonly inbox: Program.Message[][]
  /** Every message taken, in order (all readers). */
  readonly received: Array<Program.Message & { readonly sandbox: number; readonly atNs: number }> = []
  /** Torn reads seen, per reader. */
  readonly torn: number[]
  /** Sends that gave up after every attempt, per writer. */
  readonly failedSends: number[]
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kSend: Trace.RecordKind
  private readonly kSeen: Trace.RecordKind
  private payload = new Uint8Array(HALF)

  constructor(index: number, name: string, pair: readonly [number, number], pageGpa: number, options: ChannelOptions, sandboxes: number, trace: Trace.Trace) {
    this.index = index
    this.name = name
    this.pair = pair
    this.pageGpa = pageGpa
    this.options = options
    this.nextSeq = new Array<number>(sandboxes).fill(1)
    this.expected = new Array<number>(sandboxes).fill(1)
    this.inbox = Array.from({ length: sandboxes }, () => [])
    this.torn = new Array<number>(sandboxes).fill(0)
    this.failedSends = new Array<number>(sandboxes).fill(0)
    this.trace = trace
    this.subjects = Array.from({ length: sandboxes }, (_, s) => trace.subject(`sandbox${s}/channels`, s))
    this.kSend = trace.kind("chan.send", ["channel", "seq", "bytes"])
    this.kSeen = trace.kind("chan.seen", ["channel", "seq", "corrupted"])
  }

  /** Base address of the half sandbox `writer` writes (the higher-numbered sandbox writes the first). */
  halfWrittenBy(writer: number): number {
    return this.pageGpa + (writer === Math.max(this.pair[0], this.pair[1]) ? 0 : HALF)
  }

  /** The other party. */
  peerOf(s: number): number {
    return s === this.pair[0] ? this.pair[1] : this.pair[0]
  }

  /** The ops sandbox `s` uses for `send`/`poll`/`recv`. */
  opsFor(s: number): ChannelOps {
    return new PrivateOps(this, s)
  }

  /** The message buffer for a payload of `bytes` with sequence `seq`: header (without the type) then the payload pattern. */
  fill(type: number, bytes: number, seq: number): Uint8Array {
    const b = this.payload
    // Written from the half's length word: a half offset `o` is `o - OFF_LENGTH` here.
    putU32(b, OFF_LENGTH - OFF_LENGTH, bytes)
    putU32(b, OFF_SEQ - OFF_LENGTH, seq)
    putU32(b, OFF_CHECK - OFF_LENGTH, checkOf(type, bytes, seq))
    b.fill(seq & 255, REST_OF_HEADER, REST_OF_HEADER + bytes)
    return b
  }

  /** Clears both halves (a channel re-initialisation by its monitor). */
  reinitialise(k: Kernel, p: Pcpu): boolean {
    const m = k.machine
    return m.write(p.core.index, this.pageGpa, 4, 0) && m.write(p.core.index, this.pageGpa + HALF, 4, 0)
  }

  traceSend(s: number, seq: number, bytes: number): void {
    this.trace.emit3(this.kSend, this.subjects[s]!, this.index, seq, bytes)
  }

  traceSeen(s: number, seq: number, torn: boolean): void {
    this.trace.emit3(this.kSeen, this.subjects[s]!, this.index, seq, torn ? 1 : 0)
  }

  /** Check word a reader expects for a header. */
  static check(type: number, length: number, seq: number): number {
    return checkOf(type, length, seq)
  }
}

const S_CHECK = 0, S_PAYLOAD = 1, S_READ = 2

/** Sandbox `s`'s side of a private channel. */
class PrivateOps implements ChannelOps {
  private readonly ch: PrivateChannel
  private readonly s: number

  constructor(ch: PrivateChannel, s: number) {
    this.ch = ch
    this.s = s
  }

  /** Never early (its requests begin as before: they are not on a hot path). */
  beginsEarly(): boolean {
    return false
  }

  begin(k: Kernel, _p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): number {
    if (req.op === Program.Op.PollUntilChanged) k.misuse(th, `pollUntilChanged works on mailboxes; private channels are polled by their polling thread`)
    call.phase = S_CHECK
    call.attempts = 0
    if (req.op === Program.Op.Send && req.bytes > MAX_PAYLOAD) {
      k.misuse(th, `${req.bytes} bytes do not fit a private-channel half (${MAX_PAYLOAD})`)
    }
    return req.op === Program.Op.Recv ? 0 : k.machine.costs.ns.pollCheck
  }

  finish(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): Outcome {
    if (req.op === Program.Op.Send) return this.send(k, p, th, call, req)
    if (req.op === Program.Op.Poll) return this.poll(k, p, th, call)
    th.result = this.ch.inbox[this.s]!.shift() ?? null
    return Outcome.Done
  }

  private send(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: Program.Send): Outcome {
    const ch = this.ch
    const m = k.machine
    const core = p.core.index
    const half = ch.halfWrittenBy(this.s)
    th.failValue = false
    if (call.phase === S_CHECK) {
      const type = m.read(core, half + OFF_TYPE, 4)
      if (p.core.inVmxRoot) return Outcome.Stopped
      if (type !== 0) {
        call.attempts++
        if (call.attempts >= ch.options.sendAttempts) {
          ch.failedSends[this.s]!++
          th.result = false
          return Outcome.Done
        }
        // Occupied: sleep and retry (the check is paid again on wake-up).
        th.remainingNs = k.machine.costs.ns.pollCheck
        k.sleepQueue.sleep(p, th, k.localNow(p) + ch.options.sendRetryNs)
        return Outcome.Wait
      }
      call.seq = ch.nextSeq[this.s]!++
      if (ch.options.typeBeforePayload && !m.write(core, half + OFF_TYPE, 4, req.type)) return Outcome.Stopped
      call.phase = S_PAYLOAD
      th.remainingNs = k.noise.copyNs(req.bytes + REST_OF_HEADER)
      return th.remainingNs > 0 ? Outcome.Again : this.send(k, p, th, call, req)
    }
    const seq = call.seq
    const buf = ch.fill(req.type, req.bytes, seq)
    if (!m.writeBytes(core, half + OFF_LENGTH, buf, 0, REST_OF_HEADER + req.bytes)) return Outcome.Stopped
    if (!ch.options.typeBeforePayload && !m.write(core, half + OFF_TYPE, 4, req.type)) return Outcome.Stopped
    ch.traceSend(this.s, seq, req.bytes)
    th.result = true
    return Outcome.Done
  }

  private poll(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall): Outcome {
    const ch = this.ch
    const m = k.machine
    const core = p.core.index
    const half = ch.halfWrittenBy(ch.peerOf(this.s))
    th.failValue = FAILED_POLL
    if (call.phase === S_CHECK) {
      const type = m.read(core, half + OFF_TYPE, 4)
      if (p.core.inVmxRoot) return Outcome.Stopped
      if (type === 0) {
        th.result = EMPTY_POLL
        return Outcome.Done
      }
      call.type = type
      call.phase = S_READ
      const length = Math.min(m.read(core, half + OFF_LENGTH, 4), MAX_PAYLOAD)
      th.remainingNs = k.noise.remoteCopyNs(length + REST_OF_HEADER)
      call.bytes = length
      return th.remainingNs > 0 ? Outcome.Again : this.poll(k, p, th, call)
    }
    // Read the header now (the payload may have landed meanwhile), check it, clear the type.
    const type = call.type
    const length = m.read(core, half + OFF_LENGTH, 4)
    const seq = m.read(core, half + OFF_SEQ, 4)
    const check = m.read(core, half + OFF_CHECK, 4)
    if (p.core.inVmxRoot) return Outcome.Stopped
    const expected = ch.expected[this.s]!
    const torn = seq !== expected || check !== PrivateChannel.check(type, length, seq)
    if (!m.write(core, half + OFF_TYPE, 4, 0)) return Outcome.Stopped
    ch.expected[this.s] = torn ? expected + 1 : seq + 1
    if (torn) ch.torn[this.s]!++
    const msg: Program.Message = { type, bytes: length, seq, torn, receivedLocalNs: k.localNow(p) }
    const box = ch.inbox[this.s]!
    box.push(msg)
    if (box.length > ch.options.inboxLimit) box.shift()
    ch.received.push({ ...msg, sandbox: this.s, atNs: k.sim.now })
    ch.traceSeen(this.s, seq, torn)
    th.result = { seq, changed: true, bytes: length, corrupted: torn, torn, ok: true }
    return Outcome.Done
  }
}

const EMPTY_POLL: Program.PollResult = Object.freeze({ seq: 0, changed: false, bytes: 0, corrupted: false, torn: false, ok: true })
const FAILED_POLL: Program.PollResult = Object.freeze({ seq: -1, changed: false, bytes: 0, corrupted: false, torn: false, ok: false })
