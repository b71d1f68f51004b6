/**
 * The run loop.
 *
 * Models register handlers once (`const fire = sim.register("timer.fire", (a0, a1) => ...)`)
 * and schedule events by handler id with up to two numeric arguments; no closure or object is
 * created per event. `run` pops events in `(time, priority, seq)` order until a time, an event
 * count, an empty queue or `stop()`.
 *
 * Invariants (asserted, throwing `SimulationError` with the simulated time, the event and the
 * seed to replay):
 * - time never goes back: an event is never scheduled before `now`, and `now` never decreases;
 * - times are integer nanoseconds.
 *
 * Event priorities (the `class` of the determinism rule, lower runs first at equal time):
 *
 * | class       | value | what                                           |
 * |-------------|-------|------------------------------------------------|
 * | `Device`    | 0     | device interrupts, IPI and DMA deliveries      |
 * | `Timer`     | 1     | timer expiries (LAPIC one-shot, sleep queue)   |
 * | `Scheduler` | 2     | scheduler invocations                          |
 * | `Workload`  | 3     | workload actions (job releases, program steps) |
 * | `Probe`     | 4     | measurements that must see the settled state   |
 *
 * @module
 */
import { EventQueue, type EventHandle } from "./EventQueue.ts"
import { Trace } from "./Trace.ts"
import { checkSeed, stream, type RngStream } from "./Rng.ts"
import { MAX_TIME } from "./Time.ts"
import { CapacityError } from "./Capacity.ts"

export { CapacityError }

export const EventClass = {
  Device: 0,
  Timer: 1,
  Scheduler: 2,
  Workload: 3,
  Probe: 4,
} as const
export type EventClass = (typeof EventClass)[keyof typeof EventClass]

/** Why `run` returned. */
export type StopReason = "until" | "maxEvents" | "empty" | "stopped"

/** A handler: receives the event's two numeric arguments; `sim.now` is the event time. */
export type Handler = (a0: number, a1: number) => void

/** An invariant violated inside the simulation: carries what is needed to replay it. */
export class SimulationError extends Error {
  override readonly name = "SimulationError"
  readonly timeNs: number
  readonly event: string
  readonly seed: number
  constructor(message: string, timeNs: number, event: string, seed: number) {
    super(`${message} (at t=${timeNs}ns, event ${event}, seed ${seed})`)
    this.timeNs = timeNs
    this.event = event
    this.seed = seed
  }
}

export interface RunLimits {
  /** Process events with time ≤ `untilNs`, then set `now = untilNs` (also if the queue empties first). */
  readonly untilNs?: number
  /** Stop after this many more events. */
  readonly maxEvents?: number
}

export class Simulation {
  readonly seed: number
  readonly queue: EventQueue
  readonly trace: Trace
  /** Current simulated time, ns. */
  now = 0
  /** Events processed so far. */
  events = 0
  /**
   * The time limit of the latest `run` (0 before the first): no event past it runs in that call.
   * A model that takes work early when nothing can intervene (sandbox-kernel's merged CPU pieces)
   * stays within it.
   */
  horizonNs = 0
  /** Why the last `run` returned (null before the first). */
  stopReason: StopReason | null = null
  private readonly handlers: Handler[] = []
  private readonly handlerNames: string[] = []
  private stopRequested = false
  /**
   * While `run` runs and no `stop()` was asked: the `events` count at which it stops for its
   * `maxEvents` (Infinity: none); else 0, so no event runs in place (`runNextInPlace`).
   */
  private inPlaceLimit = 0
  /** Name of the handler running now (for error messages), or "" between events. */
  private current = -1

  constructor(seed: number) {
    this.seed = checkSeed(seed)
    this.queue = new EventQueue()
    this.trace = new Trace(this)
  }

  /** The named random stream of this run (see `Rng.stream`). */
  rng(name: string): RngStream {
    return stream(this.seed, name)
  }

  /** Registers a handler and returns its id. Names are for errors and profiles only. */
  register(name: string, handler: Handler): number {
    this.handlers.push(handler)
    this.handlerNames.push(name)
    return this.handlers.length - 1
  }

  /** The name a handler was registered with. */
  handlerName(id: number): string {
    return this.handlerNames[id] ?? `#${id}`
  }

  /** Schedules `handler` at absolute time `timeNs` (≥ now). */
  at(timeNs: number, priority: number, handler: number, a0 = 0, a1 = 0): EventHandle {
    if (!(timeNs >= this.now && timeNs <= MAX_TIME) || Math.floor(timeNs) !== timeNs) {
      if (timeNs > MAX_TIME && timeNs !== Infinity) {
        throw new CapacityError(`${this.handlerName(handler)} asked for an event at ${timeNs}ns, beyond the time range (2^53 ns ≈ 104 days) (at t=${this.now}ns, seed ${this.seed}): a duration or period too large?`)
      }
      this.fail(`cannot schedule ${this.handlerName(handler)} at ${timeNs}ns: time must be an integer ≥ now (${this.now}ns)`)
    }
    return this.queue.push(timeNs, priority, handler, a0, a1)
  }

  /** Schedules `handler` after `delayNs` (an integer ≥ 0). */
  after(delayNs: number, priority: number, handler: number, a0 = 0, a1 = 0): EventHandle {
    return this.at(this.now + delayNs, priority, handler, a0, a1)
  }

  /** Cancels a pending event; false if it already ran or was cancelled. */
  cancel(handle: EventHandle): boolean {
    return this.queue.cancel(handle)
  }

  /** True while the event of `handle` is pending. */
  isPending(handle: EventHandle): boolean {
    return this.queue.isPending(handle)
  }

  /**
   * Lets the running handler process the next event it would post, at `timeNs`, in place, when
   * that event would be the very next one `run` pops: no pending event has a time ≤ `timeNs`,
   * `timeNs` (an integer ≥ now) is within the run's time limit, and neither `stop()` nor the run's
   * event limit ends the run first. Then it returns true: the current event counts as processed,
   * `now` moves to `timeNs`, and the caller does the event's work at once instead of posting it
   * (`run` counts that event when the handler returns). False changes nothing: post it as usual.
   * Outside `run` (also after a handler threw out of it) it is always false. `handler` is the id the event would be posted with: it
   * names the event in errors from then on.
   *
   * NOTE: for speed (the vcpu-sched harness's timer ticks): saves a push, a pop and a dispatch. The
   * order is that of posting: an event posted now at `timeNs` runs after every pending event at
   * `timeNs`, whatever its priority, so with none pending (strict `>`) it is the next one; its
   * `seq` is the only thing not consumed, and nothing reads it.
   */
  runNextInPlace(timeNs: number, handler: number): boolean {
    // `inPlaceLimit`: the run's event limit, 0 outside `run` and after `stop()`.
    // A cancelled event surfaced at the queue's top only makes the test stricter (then it is posted).
    if (this.events + 1 >= this.inPlaceLimit || !(timeNs <= this.horizonNs && timeNs >= this.now) || !this.queue.noneUntil(timeNs) || Math.floor(timeNs) !== timeNs) return false
    this.events++
    this.now = timeNs
    this.current = handler
    return true
  }

  /** Asks `run` to return after the current event. */
  stop(): void {
    this.stopRequested = true
    this.inPlaceLimit = 0
  }

  /** Throws a `SimulationError` at the current time and event. */
  fail(message: string): never {
    const event = this.current >= 0 ? this.handlerName(this.current) : "(none)"
    throw new SimulationError(message, this.now, event, this.seed)
  }

  /** Runs events until a limit is reached, the queue is empty or `stop()` is called. */
  run(limits: RunLimits = {}): StopReason {
    const until = limits.untilNs ?? Infinity
    if (until !== Infinity && (!(until >= this.now) || Math.floor(until) !== until)) {
      this.fail(`run: untilNs ${until} must be an integer ≥ now (${this.now}ns)`)
    }
    const maxEvents = limits.maxEvents ?? Infinity
    this.horizonNs = until
    const queue = this.queue
    const handlers = this.handlers
    // Counting against `events` (not a local count) lets `runNextInPlace` see the limit too.
    const eventsLimit = this.events + maxEvents
    this.inPlaceLimit = eventsLimit
    this.stopRequested = false
    let reason: StopReason
    try {
      for (;;) {
        if (this.events >= eventsLimit) { reason = "maxEvents"; break }
        if (!queue.popUntil(until)) { reason = queue.size === 0 ? "empty" : "until"; break }
        const t = queue.time
        if (t < this.now) this.fail(`time went back from ${this.now}ns to ${t}ns`)
        this.now = t
        this.current = queue.handler
        handlers[queue.handler]!(queue.a0, queue.a1)
        this.current = -1
        this.events++
        if (this.stopRequested) { reason = "stopped"; break }
      }
    } finally {
      this.inPlaceLimit = 0
    }
    // Reaching the time limit (or emptying the queue before it) leaves the clock at the limit.
    if ((reason === "until" || reason === "empty") && until !== Infinity) this.now = until
    this.stopReason = reason
    return reason
  }
}
