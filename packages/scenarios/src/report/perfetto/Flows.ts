/**
 * Message flows of the Perfetto export: which send each receipt's arrow starts from.
 *
 * A `flowOut` record (a send) gets a fresh id (a counter of the run), remembered under its key
 * (the record's id fields, e.g. channel and sequence number) and its scope (the sender's
 * sandbox). A `flowIn` record (a read) in scope `r` reads the latest send of its key from a scope
 * other than `r` — a channel joins two different sandboxes, and both directions of a channel
 * share its index and count their own sequence numbers, so a sandbox's own send of the same
 * number is never what it reads; and "latest" means a sequence number that wraps (mod 255) never
 * points an arrow at an older send. A read with no such send (a corrupted read: status 255 was
 * never sent) has no flow.
 *
 * Every read of a send gets its own arrow: a mailbox re-read, or read by a second reader, draws
 * a second arrow from the same send. The first read of a send ends the flow the send started;
 * each later read gets a fresh id whose start is written at that read, dated by the send and on
 * its track, so that it binds to the send's slice (Perfetto's importer sorts a JSON trace fully by
 * time, the DevTools engine binds a flow event to the slice of equal ts, pid, tid and cat: where
 * in the file the start is written does not matter to either). (Why not one id with several ends, or Perfetto's
 * flow v2 `bind_id`/`flow_in`/`flow_out` on the slices? Perfetto's JSON importer would draw both
 * (its flow ends never close a flow), but the DevTools trace engine reads only the v1 phase
 * events `s`/`t`/`f` and closes a flow at its first `f`: one start and one end per id is the form
 * every parser reads the same way.)
 *
 * Invariants: ids never repeat in a run; every id a read gets has exactly one start (the send's,
 * or the later start written with it) and one end; a read binds to a send of another scope.
 * Memory is bounded: the sends of the {@link FLOW_MEMORY} most recently sent keys are kept (a read
 * of an older one, which no model here makes, gets no arrow).
 *
 * NOTE: called per send and read on the sink's hot path: one small object per send, no closure.
 *
 * @module
 */

const TWO_32 = 2 ** 32

/**
 * Keys whose sends are remembered for later reads. [ASSUMED] 65,536: far above what a read can
 * lag behind in the models (a last-byte mailbox has 255 sequence numbers per channel; a private
 * channel's sender waits until its message is read), and small enough (a few MiB) for runs of
 * millions of sends.
 */
export const FLOW_MEMORY = 1 << 16

/** The flow key of a record: field `a`, or `a · 2^32 + b` (`b < 0`: no second field). */
export const flowKey = (values: Float64Array, a: number, b: number): number =>
  b < 0 ? values[a]! : values[a]! * TWO_32 + values[b]!

/** One send: its flow id, sender scope, order among sends, and the text of a flow start bound to its slice, up to the id. */
interface Send {
  readonly id: number
  readonly scope: number
  readonly order: number
  /** `{"pid":…,"tid":…,"cat":…,"ph":"s","ts":…,"name":"message","id":"0x` of the send. */
  readonly startHead: string
  /** Whether a read ended the send's own flow already. */
  read: boolean
}

/** Flow ids of a run: given to sends, taken by reads (see the module header). */
export class FlowBinder {
  /** Flow key → the latest send of each scope that sent it. */
  private readonly sends = new Map<number, Send[]>()
  private nextFlow = 1
  private order = 0
  /**
   * After {@link read} returned a fresh id (a later read of a send): the send's start text up to
   * the id, for the sink to write the flow's start; else "".
   */
  lateStart = ""

  /** A send of `key` by `scope`; `startHead` is its flow start's text up to the id. Returns its fresh flow id. */
  send(key: number, scope: number, startHead: string): number {
    this.lateStart = ""
    const id = this.nextFlow++
    const send: Send = { id, scope, order: this.order++, startHead, read: false }
    let list = this.sends.get(key)
    if (list === undefined) {
      list = [send]
      if (this.sends.size >= FLOW_MEMORY) this.sends.delete(this.sends.keys().next().value!)
    } else {
      let i = 0
      while (i < list.length && list[i]!.scope !== scope) i++
      if (i === list.length) list.push(send)
      else list[i] = send
      // Most recently sent last: the oldest key is the first evicted.
      this.sends.delete(key)
    }
    this.sends.set(key, list)
    return id
  }

  /**
   * A read of `key` in `scope`: the flow id of its arrow, or -1 when no other scope sent the key.
   * The first read of a send gets the send's id; a later read a fresh id, with
   * {@link lateStart} set.
   */
  read(key: number, scope: number): number {
    this.lateStart = ""
    const list = this.sends.get(key)
    if (list === undefined) return -1
    let latest: Send | undefined
    for (const s of list) if (s.scope !== scope && (latest === undefined || s.order > latest.order)) latest = s
    if (latest === undefined) return -1
    if (!latest.read) {
      latest.read = true
      return latest.id
    }
    this.lateStart = latest.startHead
    return this.nextFlow++
  }
}
