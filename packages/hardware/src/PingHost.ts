/**
 * An external host on the wire that pings a sandbox, the way the paper measures Quest-V from
 * outside (§4.1: a request every 500 ms; §4.3: 30,000 requests 3 ms apart; §4.6: a flood).
 *
 * Modes: `interval` sends request k at `startNs + k · intervalNs`; `flood` sends the next request
 * as soon as the reply to the last one arrives, or `floodIntervalNs` after it, whichever comes
 * first (`ping -f`). Duplicates, replies to no request and corrupt frames are counted, never
 * dropped silently.
 *
 * Memory is flat in the run's length (issue 15): the send and reply times of the last
 * {@link WINDOW} = 65,536 requests are kept by sequence number (a ring: the ICMP sequence number
 * has 16 bits, so no reply can be matched to an older request anyway), and the RTT statistics
 * stream — count, exact sum, min, max and a fixed-size {@link LogHistogram}. Quantiles are exact
 * while every request is in the window (≤ 65,536 sent: every paper experiment), from the
 * histogram beyond (at most 2^−7 ≈ 0.79 % below the exact nearest-rank value; `quantilesExact`
 * says which). A request that leaves the window unanswered is lost at once (its reply could no
 * longer be matched); lost ones are kept as runs of consecutive sequence numbers.
 *
 * Invariants: `received + lost + outstanding = sent`; `late ≤ received`; every reply matches at
 * most one request (16-bit ICMP sequence numbers are unwrapped against the latest request);
 * RTT = reply arrival − request send time, integer ns; the host frees every frame it receives;
 * per-request queries about a request that left the window throw (never a wrong answer).
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type EventQueue, type Trace } from "@qvsim/sim-core"
import type { Wire, WireEndpoint } from "./Wire.ts"
import * as Frame from "./Frame.ts"
import { LogHistogram } from "./LogHistogram.ts"
import { durationNs, int, ipv4, mac, parseConfig } from "./internal/config.ts"
import { selectKth } from "./internal/select.ts"

/** Ping host options. */
export const schema = z.strictObject({
  /** Name (trace subject `host:<name>`; must be unique in a simulation). */
  name: z.string().min(1, "must not be empty").default("pinger"),
  /** This host's MAC (locally administered by default). */
  mac: mac().default(0x0200_0000_0064),
  /** This host's IP. */
  ip: ipv4().prefault("192.168.2.100"),
  /** The pinged IP (default: sandbox 0, 192.168.2.11). */
  targetIp: ipv4().prefault("192.168.2.11"),
  /** The MAC requests are sent to (default: the NIC's). No ARP is modelled. */
  targetMac: mac().default(0x00e0_4c00_0001),
  /** `interval` (fixed spacing) or `flood` (next on reply or after `floodIntervalNs`). */
  mode: z.enum(["interval", "flood"]).default("interval"),
  /** Spacing of requests in interval mode, ns (ping's default 1 s). */
  intervalNs: int(1).default(1_000_000_000),
  /** Flood mode: longest wait for a reply before the next request, ns (`ping -f`: 10 ms). */
  floodIntervalNs: int(1).default(10_000_000),
  /** A reply later than this after its request is late; a request without a reply by then is lost. */
  timeoutNs: int(1).default(1_000_000_000),
  /** Requests to send; unlimited when absent. */
  count: int(1).optional(),
  /** ICMP payload bytes (ping's default 56 → 98-byte frames). */
  payloadBytes: int(0, 1472).default(56),
  /** Time of the first request, ns. */
  startNs: durationNs().default(0),
  /** ICMP identifier of this host's requests. */
  ident: int(0, 0xffff).default(0x5156),
  /** Link speed of this host's port, bit/s (default: the wire's). */
  linkBps: int(1).optional(),
})
export type PingHostInput = z.input<typeof schema>
export type PingHostConfig = z.output<typeof schema>

/** What a ping run measured, at the time `stats()` was called. */
export interface PingStats {
  readonly sent: number
  readonly received: number
  /** Requests without a reply whose timeout has passed. */
  readonly lost: number
  /** Requests without a reply still within their timeout. */
  readonly outstanding: number
  /** Replies that arrived after `timeoutNs` (included in `received`). */
  readonly late: number
  readonly duplicates: number
  /** Echo replies carrying this host's identifier but matching no request sent. */
  readonly unexpected: number
  /** Frames failing their IPv4/ICMP checksums. */
  readonly corrupt: number
  /** RTT statistics over received replies, ns (NaN when none). */
  readonly minRttNs: number
  readonly meanRttNs: number
  readonly maxRttNs: number
  readonly p50RttNs: number
  readonly p99RttNs: number
  /** p50/p99 exact (every request still in the window), or from the log histogram (≤ 0.79 % below). */
  readonly quantilesExact: boolean
}

/** Requests whose send and reply times are kept: the 16-bit ICMP sequence space. */
export const WINDOW = 0x1_0000

export class PingHost implements WireEndpoint {
  readonly config: PingHostConfig
  readonly mac: number
  readonly rxLatencyNs = 0
  readonly port: number
  sent = 0
  received = 0
  late = 0
  duplicates = 0
  unexpected = 0
  corrupt = 0
  /** Frames received that were not echo replies to this host. */
  ignored = 0
  /** Reply arrival times, ring by `seq & (length − 1)` (-1: no reply); grows by doubling up to {@link WINDOW}. */
  private replyTimes = new Float64Array(1024).fill(-1)
  /**
   * Send times, same ring and length as `replyTimes`; `null` while every request so far was sent
   * at `regularStartNs + seq · intervalNs` (interval mode, no restart), which gives them exactly.
   * NOTE: the ring is half the memory without them (issue 15: 3 ping hosts' full windows were
   * 3 MiB of a long system run's growth); the first request sent at another time (flood mode, a
   * restart) stores every send time in the window from then on.
   */
  private sendTimes: Float64Array | null = null
  private regularStartNs = 0
  /** Sum of the received RTTs, ns (integers: exact below 2^53). */
  private rttSumNs = 0
  private readonly rttHistogram = new LogHistogram()
  /** Requests that left the window unanswered. */
  private lostEvicted = 0
  /** Their sequence numbers as inclusive runs: first0, last0, first1, last1, … */
  private readonly lostRuns: number[] = []
  private running = false
  private startedAtNs = 0
  /** The pending send event (-1: none): a stop cancels it, a reply in flood mode replaces it. */
  private sendEvent: EventQueue.EventHandle = -1
  private readonly sim: Simulation.Simulation
  private readonly wire: Wire
  private readonly sendHandler: number
  private readonly subject: Trace.Subject
  private readonly kindRequest: Trace.RecordKind
  private readonly kindReply: Trace.RecordKind

  /** Validates `input` (refusals name `pingHost.<field>`) and plugs the host into `wire`; `start()` begins. */
  constructor(sim: Simulation.Simulation, wire: Wire, input: PingHostInput = {}, prefix = "pingHost") {
    const config = parseConfig("PingHost", schema, input, prefix)
    this.sim = sim
    this.wire = wire
    this.config = config
    this.mac = config.mac
    this.port = wire.attach(this, config.linkBps)
    this.subject = sim.trace.subject(`host:${config.name}`, -1)
    this.kindRequest = sim.trace.kind("host.echo.request", ["seq"])
    this.kindReply = sim.trace.kind("host.echo.reply", ["seq", "rttNs", "late"])
    this.sendHandler = sim.register(`host:${config.name}.send`, () => this.onSendEvent())
  }

  /** Schedules the first request at `startNs` (or now, if later); request k follows k intervals after it. */
  start(): void {
    if (this.running) return
    this.running = true
    this.startedAtNs = Math.max(this.sim.now, this.config.startNs)
    this.sendEvent = this.sim.at(this.startedAtNs, Simulation.EventClass.Workload, this.sendHandler)
  }

  /** Sends no more requests (replies still count). */
  stop(): void {
    this.running = false
    if (this.sendEvent >= 0) this.sim.cancel(this.sendEvent)
    this.sendEvent = -1
  }

  /** True once `count` requests were sent (never for an unlimited host). */
  get done(): boolean {
    return this.config.count !== undefined && this.sent >= this.config.count
  }

  private onSendEvent(): void {
    this.sendEvent = -1
    if (!this.running || this.done) return
    this.sendRequest()
    if (this.done) return
    if (this.config.mode === "interval") {
      this.sendEvent = this.sim.at(this.startedAtNs + this.sent * this.config.intervalNs, Simulation.EventClass.Workload, this.sendHandler)
    } else {
      this.sendEvent = this.sim.after(this.config.floodIntervalNs, Simulation.EventClass.Workload, this.sendHandler)
    }
  }

  private sendRequest(): void {
    const seq = this.sent
    if (seq >= this.replyTimes.length) {
      if (this.replyTimes.length < WINDOW) this.growRecords()
      else this.evict(seq - WINDOW)
    }
    const now = this.sim.now
    if (seq === 0) this.regularStartNs = now
    if (this.sendTimes === null && (this.config.mode !== "interval" || now !== this.regularStartNs + seq * this.config.intervalNs)) this.storeSendTimes()
    const frames = this.wire.frames
    const slot = frames.alloc()
    const c = this.config
    const length = Frame.buildEchoRequest(frames.bytes, frames.offset(slot), c.mac, c.targetMac, c.ip, c.targetIp, c.ident, seq, c.payloadBytes)
    frames.setLength(slot, length)
    const i = seq & (this.replyTimes.length - 1)
    if (this.sendTimes !== null) this.sendTimes[i] = now
    this.replyTimes[i] = -1
    this.sent++
    this.sim.trace.emit1(this.kindRequest, this.subject, seq)
    this.wire.send(this.port, slot)
  }

  /** Request `seq` leaves the window: unanswered, it is lost (no reply can be matched to it any more). */
  private evict(seq: number): void {
    if (this.replyTimes[seq & (WINDOW - 1)]! >= 0) return
    this.lostEvicted++
    const runs = this.lostRuns
    if (runs.length > 0 && runs[runs.length - 1] === seq - 1) runs[runs.length - 1] = seq
    else runs.push(seq, seq)
  }

  /** Doubles the ring while it is smaller than the window (sequence numbers are still indices). */
  private growRecords(): void {
    const n = this.replyTimes.length * 2
    if (this.sendTimes !== null) {
      const s = new Float64Array(n)
      s.set(this.sendTimes)
      this.sendTimes = s
    }
    const r = new Float64Array(n).fill(-1)
    r.set(this.replyTimes)
    this.replyTimes = r
  }

  /** From now on send times are stored: those of the requests in the window, from the regular spacing they all had. */
  private storeSendTimes(): void {
    const mask = this.replyTimes.length - 1
    const s = new Float64Array(this.replyTimes.length)
    for (let q = this.firstKept; q < this.sent; q++) s[q & mask] = this.regularStartNs + q * this.config.intervalNs
    this.sendTimes = s
  }

  /** Send time of request `seq`, in the window, at ring index `i`. */
  private sendTimeAt(seq: number, i: number): number {
    return this.sendTimes === null ? this.regularStartNs + seq * this.config.intervalNs : this.sendTimes[i]!
  }

  /** WireEndpoint: matches echo replies to requests; frees the frame. */
  receiveFrame(slot: number): void {
    const frames = this.wire.frames
    const b = frames.bytes
    const o = frames.offset(slot)
    const length = frames.length(slot)
    const seq = this.matchReply(b, o, length)
    frames.free(slot)
    if (seq < 0) return
    const now = this.sim.now
    const i = seq & (this.replyTimes.length - 1)
    this.replyTimes[i] = now
    this.received++
    const rtt = now - this.sendTimeAt(seq, i)
    this.rttSumNs += rtt
    this.rttHistogram.add(rtt)
    const late = rtt > this.config.timeoutNs ? 1 : 0
    this.late += late
    this.sim.trace.emit3(this.kindReply, this.subject, seq, rtt, late)
    if (this.config.mode === "flood" && this.running && seq === this.sent - 1 && !this.done) {
      if (this.sendEvent >= 0) this.sim.cancel(this.sendEvent)
      this.sendEvent = -1
      this.onSendEvent()
    }
  }

  /** The request index a frame replies to, or -1 (counted by kind). */
  private matchReply(b: Uint8Array, o: number, length: number): number {
    if (!Frame.isIcmp(b, o, length) || Frame.icmpType(b, o) !== Frame.IcmpType.EchoReply ||
      Frame.ipDst(b, o) !== this.config.ip || Frame.icmpIdent(b, o) !== this.config.ident) {
      this.ignored++
      return -1
    }
    if (!Frame.checksumsValid(b, o, length)) {
      this.corrupt++
      return -1
    }
    const last = this.sent - 1
    const seq = last - ((last - Frame.icmpSeq(b, o)) & 0xffff)
    if (seq < 0) {
      this.unexpected++
      return -1
    }
    if (this.replyTimes[seq & (this.replyTimes.length - 1)]! >= 0) {
      this.duplicates++
      return -1
    }
    return seq
  }

  /** The first sequence number still in the window. */
  private get firstKept(): number {
    return Math.max(0, this.sent - WINDOW)
  }

  /** Ring index of request `seq` (sent), or a RangeError if it left the window. */
  private kept(seq: number, what: string): number {
    if (seq < this.firstKept) throw new RangeError(`PingHost ${this.config.name}.${what}(${seq}): only the last ${WINDOW} requests are kept (${this.sent} sent)`)
    return seq & (this.replyTimes.length - 1)
  }

  /** Send time of request `seq`, ns (-1 if not sent; throws if it left the window). */
  sendTimeNs(seq: number): number {
    return seq >= 0 && seq < this.sent ? this.sendTimeAt(seq, this.kept(seq, "sendTimeNs")) : -1
  }

  /** Round-trip time of request `seq`, ns, or -1 without a reply (throws if it left the window). */
  rttNs(seq: number): number {
    if (seq < 0 || seq >= this.sent) return -1
    const i = this.kept(seq, "rttNs")
    return this.replyTimes[i]! < 0 ? -1 : this.replyTimes[i]! - this.sendTimeAt(seq, i)
  }

  /** RTTs of the replied requests in sequence order, ns (throws once requests have left the window: use `stats()`). */
  rtts(): Float64Array {
    if (this.sent > WINDOW) throw new RangeError(`PingHost ${this.config.name}.rtts(): ${this.sent} requests sent, only the last ${WINDOW} are kept; stats() streams over all`)
    const out = new Float64Array(this.received)
    let k = 0
    for (let s = 0; s < this.sent; s++) if (this.replyTimes[s]! >= 0) out[k++] = this.replyTimes[s]! - this.sendTimeAt(s, s)
    return out
  }

  /** Sequence numbers of the requests lost so far (no reply, timeout passed, or left the window unanswered). */
  lostSeqs(): number[] {
    const out: number[] = []
    const runs = this.lostRuns
    for (let r = 0; r < runs.length; r += 2) for (let s = runs[r]!; s <= runs[r + 1]!; s++) out.push(s)
    this.forEachLostInWindow((s) => out.push(s))
    return out
  }

  /** Calls `f` with each request in the window without a reply whose timeout has passed, in order. */
  private forEachLostInWindow(f: (seq: number) => void): void {
    const deadline = this.sim.now - this.config.timeoutNs
    const mask = this.replyTimes.length - 1
    for (let s = this.firstKept; s < this.sent; s++) {
      const i = s & mask
      if (this.replyTimes[i]! < 0 && this.sendTimeAt(s, i) <= deadline) f(s)
    }
  }

  /** The measurements so far. */
  stats(): PingStats {
    const n = this.received
    let lost = this.lostEvicted
    this.forEachLostInWindow(() => lost++)
    const h = this.rttHistogram
    const exact = this.sent <= WINDOW
    // Nearest-rank p50 and p99: exact by selection in the window's RTTs (NOTE: two selections
    // instead of a sort of up to 65,536 values, the same values: issue 15), else the histogram's.
    let p50 = NaN, p99 = NaN
    if (n > 0 && exact) {
      const rtts = this.rtts()
      const k99 = Math.max(0, Math.ceil(0.99 * n) - 1), k50 = Math.max(0, Math.ceil(0.5 * n) - 1)
      p99 = selectKth(rtts, k99)
      p50 = selectKth(rtts, k50, 0, k99)
    } else if (n > 0) {
      p50 = h.quantile(0.5)
      p99 = h.quantile(0.99)
    }
    return {
      sent: this.sent,
      received: n,
      lost,
      outstanding: this.sent - n - lost,
      late: this.late,
      duplicates: this.duplicates,
      unexpected: this.unexpected,
      corrupt: this.corrupt,
      minRttNs: n === 0 ? NaN : h.min,
      meanRttNs: n === 0 ? NaN : this.rttSumNs / n,
      maxRttNs: n === 0 ? NaN : h.max,
      p50RttNs: p50,
      p99RttNs: p99,
      quantilesExact: exact,
    }
  }
}
