/**
 * Message flows of the Perfetto export: which send a receipt's arrow starts from.
 *
 * A `flowOut` record gets a fresh id (a counter of the run), remembered under its key (the
 * record's id fields, e.g. channel and sequence number); a `flowIn` binds to the latest `flowOut`
 * of the same key that no `flowIn` bound yet, so a sequence number that wraps never points an
 * arrow at an older send. A `flowIn` with no such send (a corrupted read) has no flow.
 *
 * Invariants: ids never repeat in a run; every id a `flowIn` gets was given to a `flowOut` first,
 * and to one `flowIn` at most.
 *
 * @module
 */

const TWO_32 = 2 ** 32

/** The flow key of a record: field `a`, or `a · 2^32 + b` (`b < 0`: no second field). */
export const flowKey = (values: Float64Array, a: number, b: number): number =>
  b < 0 ? values[a]! : values[a]! * TWO_32 + values[b]!

/** Flow ids of a run: given to sends, bound by receipts (see the module header). */
export class FlowBinder {
  /** Flow key → id of the latest `flowOut` no `flowIn` has bound yet. */
  private readonly flows = new Map<number, number>()
  private nextFlow = 1

  /** A send of `key`: its fresh flow id. */
  send(key: number): number {
    const id = this.nextFlow++
    this.flows.set(key, id)
    return id
  }

  /** A receipt of `key`: the id of the send it reads, or undefined (none, or already bound). */
  receive(key: number): number | undefined {
    const id = this.flows.get(key)
    if (id !== undefined) this.flows.delete(key)
    return id
  }
}
