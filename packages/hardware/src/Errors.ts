/**
 * The errors the hardware models throw.
 *
 * - {@link ConfigError}: a device or machine configuration refused at construction. Its message
 *   lists one line per problem, each naming the field path (`nic.rxRing: must be ≥ 1`).
 * - {@link HardwareError}: a call that breaks a model's contract outside a running event (a frame
 *   number out of range, reading a page whose contents are only a hash). Inside a running
 *   simulation the models report contract breaks through `sim.fail`, which throws sim-core's
 *   `SimulationError` carrying the simulated time, the event and the seed.
 *
 * @module
 */
import { type Issue, lines } from "./Issues.ts"

/**
 * A configuration refused at construction; `issues` holds one `{path, message}` per problem
 * (structured: a caller re-roots them under its own path, the scenario layer shows them in its
 * path style), and the message one `path: problem` line per issue (dotted paths).
 */
export class ConfigError extends RangeError {
  override readonly name = "ConfigError"
  /** What was being configured (`MachineConfig`, `Nic`, ...). */
  readonly what: string
  /** Every problem, by field path. */
  readonly issues: readonly Issue[]
  constructor(what: string, issues: readonly Issue[]) {
    super(`${what}: invalid configuration:\n  ${lines(issues).join("\n  ")}`)
    this.what = what
    this.issues = issues
  }

  /** One `field.path: problem` line per issue (dotted paths, `(root)` for the whole input). */
  get lines(): string[] {
    return lines(this.issues)
  }
}

/** A model's contract broken by a caller (bad argument, impossible request). */
export class HardwareError extends RangeError {
  override readonly name = "HardwareError"
}
