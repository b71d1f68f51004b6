/**
 * @qvsim/sim-core — time, seeded random streams, the event queue, the run loop, trace records,
 * the fingerprint, replay and diff. Plain TypeScript, no dependencies.
 */
export * as Time from "./Time.ts"
export * as Rng from "./Rng.ts"
export * as EventQueue from "./EventQueue.ts"
export * as Simulation from "./Simulation.ts"
export * as Trace from "./Trace.ts"
export * as Fingerprint from "./Fingerprint.ts"
export * as Diff from "./Diff.ts"
export * as Replay from "./Replay.ts"
export * as Capacity from "./Capacity.ts"
export * as Objects from "./Objects.ts"
export * as Qvt from "./Qvt.ts"
