/**
 * The two programs of experiment E3 (message passing, `MessagePassing.ts`): the sender, which
 * writes each chunk of each message into the `ping` mailbox and busy-waits for the echo's reply on
 * `pong`, and the echo, which busy-waits on `ping` and writes the chunk back. Each computes the
 * payload's copy beyond the 1-byte message the mailboxes carry (see `MessagePassing.ts`'s module
 * comment). Also the message sizes and their chunks, which the experiment's analysis shares.
 *
 * @module
 */
import type { CostModel } from "@qvsim/hardware"
import { Program, ProgramSteps } from "@qvsim/sandbox-kernel"

/** Bytes per chunk (one round trip each). */
export const CHUNK = 4096
/** 64 B, 128 B, …, 512 KiB. */
export const SIZES: readonly number[] = Array.from({ length: 14 }, (_, i) => 64 * 2 ** i)

/** The chunks of a message of `size` bytes, in order. */
export const chunksOf = (size: number): number[] => {
  const out: number[] = []
  for (let left = size; left > 0; left -= CHUNK) out.push(Math.min(CHUNK, left))
  return out
}

/** The writer's copy of `b` bytes beyond the 1-byte message the mailbox carries, ns. */
const extraWriteNs = (costs: CostModel.CostTable, b: number): number => costs.copyNs(b) - costs.copyNs(1)
/** The reader's copy and cache-to-cache transfers of `b` bytes beyond the 1-byte message, ns. */
const extraReadNs = (costs: CostModel.CostTable, b: number): number => costs.copyNs(b) + Math.ceil(b / 64) * costs.ns.remoteLineTransfer - (costs.copyNs(1) + costs.ns.remoteLineTransfer)
const ONE_BYTE_PING = Program.send("ping", { bytes: 1 })
const ONE_BYTE_PONG = Program.send("pong", { bytes: 1 })

/**
 * Every chunk of the run in order, walked one at a time: the warm-up (64 B), then `iterations`
 * messages of each size. NOTE: no generator of generators and no
 * array of the run's chunks: the programs below step through it with `next()` (issue 15).
 */
class ChunkWalk {
  private readonly iterations: number
  private size = -1 // index in SIZES; -1: the warm-up
  private rep = 0
  private chunk = 0
  private chunks: readonly number[] = [64]

  constructor(iterations: number) {
    this.iterations = iterations
  }

  /** The next chunk's bytes, or 0 after the last. */
  next(): number {
    if (this.chunk === this.chunks.length) {
      this.chunk = 0
      if (++this.rep >= (this.size < 0 ? 1 : this.iterations)) {
        this.rep = 0
        if (++this.size === SIZES.length) return 0
        this.chunks = chunksOf(SIZES[this.size]!)
      }
    }
    return this.chunks[this.chunk++]!
  }
}

/**
 * The programs' CPU per chunk size and their compute requests, built once per program: the writer's
 * and the reader's extra copy by chunk size, and one `compute` request per duration (a few
 * distinct values over the whole run). NOTE: no request and no cost evaluation per round trip.
 */
class ChunkCosts {
  readonly writeNs = new Float64Array(CHUNK + 1)
  readonly readNs = new Float64Array(CHUNK + 1)
  private readonly computes = new Map<number, Program.Compute>()
  private lastNs = -1
  private lastCompute: Program.Compute | null = null

  constructor(costs: CostModel.CostTable) {
    for (const size of [64, ...SIZES]) {
      for (const c of chunksOf(size)) {
        this.writeNs[c] = extraWriteNs(costs, c)
        this.readNs[c] = extraReadNs(costs, c)
      }
    }
  }

  compute(ns: number): Program.Compute {
    // NOTE: the last duration first: a size's round trips ask for the same one thousands of times in a row.
    if (ns === this.lastNs) return this.lastCompute!
    let r = this.computes.get(ns)
    if (r === undefined) this.computes.set(ns, (r = Program.compute(ns)))
    this.lastNs = ns
    this.lastCompute = r
    return r
  }
}

/**
 * NOTE: the sender and the echo step once per request of every round trip (2.6 M round trips at
 * paper size): they are `ProgramSteps.Steps` (a small state machine each, one reused iterator
 * result), not generator functions, whose resumption and fresh `{ value, done }` per step were
 * about a third of the run's allocation (issue 15). Each class's comment gives the generator
 * function it stands for: the same requests in the same order.
 */
const S_CHUNK = 0, S_PING = 1, S_POLL = 2, S_REPLY = 3, S_LAST = 4, S_SLEEP = 5, S_END = 6

/** What the sender and the echo share: the walk over the run's chunks, their costs, the step state. */
abstract class ChunkSteps extends ProgramSteps.Steps {
  protected readonly walk: ChunkWalk
  protected readonly cpu: ChunkCosts
  protected state = S_CHUNK
  /** The chunk in flight (its bytes). */
  protected c = 0

  constructor(iterations: number, costs: CostModel.CostTable) {
    super()
    this.walk = new ChunkWalk(iterations)
    this.cpu = new ChunkCosts(costs)
  }
}

/**
 * The sender, as this generator function (one step per yield):
 *
 *     const walk = new ChunkWalk(iterations), cpu = new ChunkCosts(costs)
 *     const pong = Program.pollUntilChanged("pong")
 *     // The reader's copy of reply k and the writer's copy of chunk k + 1 run back to back: one compute.
 *     let read = 0
 *     for (let c = walk.next(); c > 0; c = walk.next()) {
 *       const w = read + cpu.writeNs[c]!
 *       if (w > 0) yield cpu.compute(w)
 *       yield ONE_BYTE_PING
 *       // Wait for a real change (sequence ≥ 1: the first poll of a fresh mailbox reports its zero status as a change).
 *       while (((yield pong) as Program.PollResult).seq < 1) { poll again }
 *       read = cpu.readNs[c]!
 *     }
 *     if (read > 0) yield Program.compute(read)
 *     yield Program.sleep(1e15)
 */
class SenderSteps extends ChunkSteps {
  private readonly pong = Program.pollUntilChanged("pong")
  private read = 0

  protected step(resumed: unknown): Program.Request | undefined {
    let state = this.state
    if (state === S_REPLY) {
      if ((resumed as Program.PollResult).seq < 1) return this.pong
      this.read = this.cpu.readNs[this.c]!
      state = S_CHUNK
    }
    if (state === S_CHUNK) {
      const c = (this.c = this.walk.next())
      if (c <= 0) {
        state = S_LAST
      } else {
        const w = this.read + this.cpu.writeNs[c]!
        state = S_PING
        if (w > 0) {
          this.state = S_PING
          return this.cpu.compute(w)
        }
      }
    }
    if (state === S_PING) {
      this.state = S_POLL
      return ONE_BYTE_PING
    }
    if (state === S_POLL) {
      this.state = S_REPLY
      return this.pong
    }
    if (state === S_LAST) {
      state = S_SLEEP
      if (this.read > 0) {
        this.state = S_SLEEP
        return Program.compute(this.read)
      }
    }
    if (state === S_SLEEP) {
      this.state = S_END
      return Program.sleep(1e15)
    }
    return undefined
  }
}

/**
 * The echo, as this generator function (one step per yield):
 *
 *     const walk = new ChunkWalk(iterations), cpu = new ChunkCosts(costs)
 *     const ping = Program.pollUntilChanged("ping")
 *     for (let c = walk.next(); c > 0; c = walk.next()) {
 *       while (((yield ping) as Program.PollResult).seq < 1) { poll again }
 *       const work = cpu.readNs[c]! + cpu.writeNs[c]!
 *       if (work > 0) yield cpu.compute(work)
 *       yield ONE_BYTE_PONG
 *     }
 *     yield Program.sleep(1e15)
 */
class EchoSteps extends ChunkSteps {
  private readonly ping = Program.pollUntilChanged("ping")

  protected step(resumed: unknown): Program.Request | undefined {
    let state = this.state
    if (state === S_CHUNK) {
      const c = (this.c = this.walk.next())
      if (c <= 0) {
        this.state = S_END
        return Program.sleep(1e15)
      }
      this.state = S_REPLY
      return this.ping
    }
    if (state === S_REPLY) {
      if ((resumed as Program.PollResult).seq < 1) return this.ping
      const c = this.c
      const work = this.cpu.readNs[c]! + this.cpu.writeNs[c]!
      state = S_PING
      if (work > 0) {
        this.state = S_PING
        return this.cpu.compute(work)
      }
    }
    if (state === S_PING) {
      this.state = S_CHUNK
      return ONE_BYTE_PONG
    }
    return undefined
  }
}

export const senderProgram = (iterations: number, costs: CostModel.CostTable): Program.Program =>
  () => new SenderSteps(iterations, costs)

export const echoProgram = (iterations: number, costs: CostModel.CostTable): Program.Program =>
  () => new EchoSteps(iterations, costs)
