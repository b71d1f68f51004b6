/**
 * The channels of a system (spec §D.8): their configuration, where their pages live, the monitors'
 * one-time set-up at boot (pages backed with bytes, mapped RW in the two parties' EPTs and in no
 * other EPT — F14), and the per-sandbox lookup the kernels use for `send`/`poll`/`recv`.
 *
 * Placement: mailbox pages and (2011 layout) private-channel pages are taken from the shared pool
 * in configuration order, one page (two for a mailbox with a meta page) each, from the bottom of the
 * pool; under the 2015 layout a private channel uses the layout's page for its pair.
 *
 * Invariants: a channel's pages are mapped only for its parties; a sandbox that is not a party has
 * no ops for it (its kernel fails the run if a program names it) and any raw access to its pages
 * is an EPT violation.
 *
 * @module
 */
import { z } from "zod"
import { Ept, PhysicalMemory, type Machine } from "@qvsim/hardware"
import type { Trace } from "@qvsim/sim-core"
import type { ChannelOps, Kernel } from "./kernel/index.ts"
import { Mailbox } from "./Mailbox.ts"
import { PrivateChannel } from "./PrivateChannel.ts"
import { int, type ChannelOptions } from "./Options.ts"

const PAGE = PhysicalMemory.PAGE_BYTES

const pair = z.tuple([int(0, 7), int(0, 7)]).refine((p) => p[0] !== p[1], "the two sandboxes must differ")

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

/** The name of the private-channel polling thread (and of its VCPU) in a party sandbox. */
export const RECEIVER = "chan-rx"

export class Channels {
  readonly list: readonly Channel[]
  private readonly byName = new Map<string, Channel>()
  /** Per sandbox: name → ops. */
  private readonly ops: Map<string, ChannelOps>[]
  /** Pages (guest-physical = machine, identity) of each channel, for the boot set-up. */
  private readonly pages: number[][] = []

  constructor(machine: Machine.Machine, configs: readonly ChannelConfig[], options: ChannelOptions, trace: Trace.Trace, mailboxClass: typeof Mailbox = Mailbox) {
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
        return new mailboxClass(i, c.name, [x, y], c.bytes, status, data, meta, n, trace)
      }
      const page = layout.kind === "2015" ? layout.channelPage(x, y) : take()
      this.pages.push(layout.kind === "2015" ? [] : [page])
      return new PrivateChannel(i, c.name, [x, y], page, options, n, trace)
    })
    this.ops = Array.from({ length: n }, () => new Map())
    for (const ch of this.list) {
      this.byName.set(ch.name, ch)
      const parties = ch instanceof Mailbox ? ch.parties : ch.pair
      for (const s of parties) this.ops[s]!.set(ch.name, ch.opsFor(s))
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

  /** The lookup kernel `k` uses. */
  lookupFor(k: Kernel): (name: string) => ChannelOps | undefined {
    const m = this.ops[k.sandbox]!
    return (name) => m.get(name)
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
