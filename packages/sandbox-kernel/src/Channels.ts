/**
 * The channels of a system (spec §D.8): their configuration, where their pages live, the monitors'
 * one-time set-up at boot (pages backed with bytes, mapped RW in the two parties' EPTs and in no
 * other EPT — F14), and the per-sandbox lookup the kernels use for `send`/`poll`/`recv`.
 *
 * Placement: mailbox pages and (2011 layout) private-channel pages are taken from the shared pool
 * in configuration order, one page (two for a mailbox with a meta page) each, from the bottom of the
 * pool; under the 2015 layout a private channel uses the layout's page for its pair.
 *
 * Requests: {@link Channels.attach} registers `send`, `poll`, `recv` and `pollUntilChanged` in a
 * kernel's request table; each names its channel, and the sandbox's side of that channel
 * ({@link ChannelOps}: a mailbox's or a private channel's) serves it. What a request keeps between
 * its phases (a poll that reads the status, then the message) is the channels' own
 * {@link ChannelCall}, one per thread, not the kernel's.
 *
 * Invariants: a channel's pages are mapped only for its parties; a sandbox that is not a party has
 * no ops for it (a program that names it is a misuse) and any raw access to its pages is an EPT
 * violation.
 *
 * @module
 */
import { z } from "zod"
import { Ept, PhysicalMemory, type Machine } from "@qvsim/hardware"
import type { Trace } from "@qvsim/sim-core"
import type { Kernel, Outcome, Pcpu, Thread } from "./kernel/index.ts"
import * as Program from "./Program.ts"
import { Mailbox, type Spinner } from "./Mailbox.ts"
import { PrivateChannel } from "./PrivateChannel.ts"
import { int, sandboxIndex, type ChannelOptions } from "./Options.ts"

const PAGE = PhysicalMemory.PAGE_BYTES

const pair = z.tuple([sandboxIndex(), sandboxIndex()]).refine((p) => p[0] !== p[1], "the two sandboxes must differ")

export const channelSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("mailbox"),
    name: z.string().min(1, "must not be empty"),
    /** The two sandboxes that may touch it. */
    between: pair,
    /** Message bytes (64 in the isolation experiment; up to a page). */
    bytes: int(1, 4096).default(64),
    /** Status: the message's last byte (default for ≤ 64 B) or a meta page `[size, seq]` (default above). */
    status: z.enum(["lastByte", "meta"]).optional(),
  }),
  z.strictObject({
    kind: z.literal("private"),
    name: z.string().min(1, "must not be empty"),
    between: pair,
  }),
])
export type ChannelInput = z.input<typeof channelSchema>
export type ChannelConfig = z.output<typeof channelSchema>

export type Channel = Mailbox | PrivateChannel

/** A channel request of the kernel's request table. */
export type ChannelRequest = Program.Send | Program.Poll | Program.Recv | Program.PollUntilChanged

/**
 * A channel request in progress: what the channel keeps between the request's phases (a poll
 * reads the status, then, after the copy's CPU, the message). One per thread, reused.
 */
export class ChannelCall {
  /** The channel side serving the request. */
  ops: ChannelOps | null = null
  /** The request's phase (each channel kind numbers its own). */
  phase = 0
  /** Attempts so far (a private channel's send to an occupied half). */
  attempts = 0
  /** The sequence number read, or being written. */
  seq = 0
  /** The message type read (private channels). */
  type = 0
  /** Message bytes read. */
  bytes = 0
  /** This thread's busy-poll record (mailboxes' `pollUntilChanged`), made at its first busy-poll. */
  spinner: Spinner | null = null
}

/** One sandbox's side of a channel, as its kernel's channel requests drive it. */
export interface ChannelOps {
  /** Begins `req` for `th` (`call.phase` is 0): ns of CPU before `finish` (it may act at once, e.g. refuse a message too big). */
  begin(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): number
  /** Applies it (the result in `th.result`); `Again` and `Wait` come back to `finish` with `call` as left. */
  finish(k: Kernel, p: Pcpu, th: Thread, call: ChannelCall, req: ChannelRequest): Outcome
  /** Whether `begin` of `req` may run early (see the request table's `EarlyBegin`). */
  beginsEarly(req: ChannelRequest): boolean
}

/** A sandbox's channels as its kernel reaches them: its sides by name, and its threads' calls. */
class ChannelPort {
  readonly byName = new Map<string, ChannelOps>()
  /** The call of each thread (by tid) that has made a channel request. */
  private readonly calls: (ChannelCall | undefined)[] = []
  // NOTE: the last two names looked up and their sides: a program's requests name the same
  // channel or two again and again (message-passing's sides send on one mailbox and poll the
  // other), and comparing a string or two is cheaper than a Map look-up per request (issue 15).
  private lastName: string | null = null
  private lastOps: ChannelOps | undefined = undefined
  private prevName: string | null = null
  private prevOps: ChannelOps | undefined = undefined

  private opsOf(name: string): ChannelOps | undefined {
    if (name === this.lastName) return this.lastOps
    let ops: ChannelOps | undefined
    if (name === this.prevName) ops = this.prevOps
    else ops = this.byName.get(name)
    this.prevName = this.lastName
    this.prevOps = this.lastOps
    this.lastName = name
    this.lastOps = ops
    return ops
  }

  begin(k: Kernel, p: Pcpu, th: Thread, req: ChannelRequest): number {
    const ops = this.opsOf(req.channel)
    if (ops === undefined) k.misuse(th, `no channel "${req.channel}" in sandbox ${k.sandbox}`)
    const call = this.calls[th.tid] ?? (this.calls[th.tid] = new ChannelCall())
    call.ops = ops
    call.phase = 0
    return ops.begin(k, p, th, call, req)
  }

  finish(k: Kernel, p: Pcpu, th: Thread, req: ChannelRequest): Outcome {
    const call = this.calls[th.tid]!
    return call.ops!.finish(k, p, th, call, req)
  }

  beginsEarly(req: ChannelRequest): boolean {
    const ops = this.opsOf(req.channel)
    return ops !== undefined && ops.beginsEarly(req)
  }
}

/** The name of the private-channel polling thread (and of its VCPU) in a party sandbox. */
export const RECEIVER = "chan-rx"

export class Channels {
  readonly list: readonly Channel[]
  private readonly byName = new Map<string, Channel>()
  /** Per sandbox: its sides by name, its threads' calls. */
  private readonly ports: ChannelPort[]
  /** Pages (guest-physical = machine, identity) of each channel, for the boot set-up. */
  private readonly pages: number[][] = []

  constructor(machine: Machine.Machine, configs: readonly ChannelConfig[], options: ChannelOptions, trace: Trace.Trace, mailboxClass: typeof Mailbox = Mailbox, recordObservations = true) {
    const layout = machine.layout
    const n = machine.sandboxes
    let next = layout.shmBase
    const take = (): number => {
      const a = next
      next += PAGE
      if (next > layout.poolTop) throw new RangeError(`Channels: the shared pool (${layout.poolTop - layout.shmBase} bytes) is too small for the channels`)
      return a
    }
    this.list = configs.map((c, i) => {
      const [x, y] = c.between
      if (c.kind === "mailbox") {
        const status = c.status ?? (c.bytes <= 64 ? "lastByte" : "meta")
        const data = take()
        const meta = status === "meta" ? take() : -1
        this.pages.push(meta >= 0 ? [data, meta] : [data])
        return new mailboxClass(i, c.name, [x, y], c.bytes, status, data, meta, n, trace, recordObservations)
      }
      const page = layout.kind === "2015" ? layout.channelPage(x, y) : take()
      this.pages.push(layout.kind === "2015" ? [] : [page])
      return new PrivateChannel(i, c.name, [x, y], page, options, n, trace)
    })
    this.ports = Array.from({ length: n }, () => new ChannelPort())
    for (const ch of this.list) {
      this.byName.set(ch.name, ch)
      const parties = ch instanceof Mailbox ? ch.parties : ch.pair
      for (const s of parties) this.ports[s]!.byName.set(ch.name, ch.opsFor(s))
    }
  }

  /** Monitor set-up at boot (root mode): back the pages with bytes; RW for the parties, unmapped elsewhere. */
  bootSetup(machine: Machine.Machine): void {
    this.list.forEach((ch, i) => {
      const parties = ch instanceof Mailbox ? ch.parties : ch.pair
      for (const a of this.pages[i]!) {
        const gpn = a / PAGE
        machine.memory.backWithBytes(gpn)
        for (let s = 0; s < machine.sandboxes; s++) {
          const core = machine.cores[machine.coresOf(s)[0]!]!
          machine.epts[s]!.map(core, gpn, 1, gpn, parties.includes(s) ? Ept.Perm.RW : Ept.Perm.None)
        }
      }
    })
  }

  /** Channel `name`, or undefined. */
  get(name: string): Channel | undefined {
    return this.byName.get(name)
  }

  /** Registers the channel requests in kernel `k`'s request table (once per kernel, at construction). */
  attach(k: Kernel): void {
    const port = this.ports[k.sandbox]!
    // Bound once per kernel (not per request).
    const begin = (k: Kernel, p: Pcpu, th: Thread, req: ChannelRequest): number => port.begin(k, p, th, req)
    const finish = (k: Kernel, p: Pcpu, th: Thread, req: ChannelRequest): Outcome => port.finish(k, p, th, req)
    const early = (_k: Kernel, _th: Thread, req: ChannelRequest): boolean => port.beginsEarly(req)
    for (const op of [Program.Op.Send, Program.Op.Poll, Program.Op.Recv, Program.Op.PollUntilChanged]) k.requests.register(op, "channels", begin, finish, early)
  }

  /** Private channels sandbox `s` is a party of. */
  privateOf(s: number): PrivateChannel[] {
    return this.list.filter((c): c is PrivateChannel => c instanceof PrivateChannel && c.pair.includes(s))
  }

  /** The status word sandbox `s` would corrupt on channel `name` (the direction it receives), or -1. */
  statusAddress(name: string, s: number): number {
    const ch = this.byName.get(name)
    if (ch === undefined) return -1
    if (ch instanceof Mailbox) return ch.statusGpa
    return ch.halfWrittenBy(ch.peerOf(s))
  }
}
