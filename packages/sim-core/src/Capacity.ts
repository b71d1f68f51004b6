/**
 * The simulator's capacity: what a run may hold at once. A run that needs more (an event beyond
 * the time range `Time.MAX_TIME`, more pending events than the queue's slots, more live frames
 * than the frame store) fails with a {@link CapacityError}: the input asked for it (a huge period,
 * a host flooding the wire), so the CLI reports it as bad input, never as a model invariant.
 *
 * @module
 */

/** A run needed more than the simulator holds; the message says what, when and how to avoid it. */
export class CapacityError extends Error {
  override readonly name = "CapacityError"
}
