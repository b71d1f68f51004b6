/**
 * A mailbox's observations (what each reader saw change, in order) in typed columns: 27 bytes an
 * observation instead of an object each (a ping-pong run makes millions of them).
 *
 * Invariants: `length` observations, in the order they were added; entry `i` of the columns
 * holds the i-th; columns grow by whole chunks of 2^16 (never copied), so the memory held is the
 * log's size plus at most one chunk.
 *
 * A mailbox hands its observations to an {@link ObservationSink}: by default its own log; an
 * experiment that needs only some of them (a reader's reply times) streams them to its own sink
 * instead, so a run of millions of exchanges keeps only what its analysis reads.
 *
 * @module
 */

/** Where a mailbox's observations go (called once per observation, in order). */
export interface ObservationSink {
  add(sandbox: number, localNs: number, atNs: number, seq: number, corrupted: boolean): void
}

/** A sink that keeps nothing (the observations are still traced). */
export const DISCARD: ObservationSink = Object.freeze({ add: (): void => {} })

/** One observation as an object (see `ObservationLog.get`). */
export interface Observation {
  /** Reader sandbox. */
  readonly sandbox: number
  /** Reader's local time, ns. */
  readonly localNs: number
  /** Global time, ns. */
  readonly atNs: number
  /** The status read. */
  readonly seq: number
  /** Status 0xFF on a last-byte mailbox: "channel corrupted". */
  readonly corrupted: boolean
}

/** Observations per chunk (a chunk's columns take 27 × 2^16 bytes ≈ 1.7 MiB). */
const CHUNK_BITS = 16
const CHUNK = 1 << CHUNK_BITS
const MASK = CHUNK - 1

/** One chunk of every column. */
class Chunk {
  readonly sandbox = new Uint16Array(CHUNK)
  readonly localNs = new Float64Array(CHUNK)
  readonly atNs = new Float64Array(CHUNK)
  readonly seq = new Float64Array(CHUNK)
  readonly corrupted = new Uint8Array(CHUNK)
}

export class ObservationLog implements Iterable<Observation>, ObservationSink {
  private readonly chunks: Chunk[] = []
  /** Observations kept. */
  length = 0

  /**
   * Appends an observation (a sandbox below 65,536). NOTE: allocates only a new
   * chunk every 2^16 observations: the log never copies, so its peak is its size plus a chunk.
   */
  add(sandbox: number, localNs: number, atNs: number, seq: number, corrupted: boolean): void {
    const i = this.length
    const j = i & MASK
    if (j === 0) this.chunks.push(new Chunk())
    const c = this.chunks[i >>> CHUNK_BITS]!
    c.sandbox[j] = sandbox
    c.localNs[j] = localNs
    c.atNs[j] = atNs
    c.seq[j] = seq
    c.corrupted[j] = corrupted ? 1 : 0
    this.length = i + 1
  }

  sandbox(i: number): number { return this.chunks[i >>> CHUNK_BITS]!.sandbox[i & MASK]! }
  localNs(i: number): number { return this.chunks[i >>> CHUNK_BITS]!.localNs[i & MASK]! }
  atNs(i: number): number { return this.chunks[i >>> CHUNK_BITS]!.atNs[i & MASK]! }
  seq(i: number): number { return this.chunks[i >>> CHUNK_BITS]!.seq[i & MASK]! }
  corrupted(i: number): boolean { return this.chunks[i >>> CHUNK_BITS]!.corrupted[i & MASK] === 1 }

  /** Observation `i` as an object (allocates). */
  get(i: number): Observation {
    if (!(Number.isInteger(i) && i >= 0 && i < this.length)) throw new RangeError(`observation ${i} of ${this.length}`)
    return { sandbox: this.sandbox(i), localNs: this.localNs(i), atNs: this.atNs(i), seq: this.seq(i), corrupted: this.corrupted(i) }
  }

  /** Every observation as an object, in order (allocates one each). */
  *[Symbol.iterator](): Iterator<Observation> {
    for (let i = 0; i < this.length; i++) yield this.get(i)
  }

  /** Every observation as an object (allocates: for tests and small logs). */
  toArray(): Observation[] {
    return [...this]
  }
}
