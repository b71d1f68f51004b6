/**
 * A core's time-stamp counter: the only clock a sandbox reads (spec §D.5). Global simulation time
 * is the truth; a core's local time is
 *
 *   local(t) = t + offsetNs + ⌊t · driftPpb / 10⁹⌋        (t = global ns)
 *
 * and its TSC reads `local(t)` converted to cycles at the core's clock rate (rounded half up).
 *
 * Invariants:
 * - `local` is exact integer arithmetic (no float rounding) for every t below 2^53 and
 *   |drift| ≤ 1000 ppm, and it never decreases;
 * - `globalAt(L)` is the earliest global time whose local time is ≥ L, so a sandbox that wants to
 *   act at its local time L schedules at `globalAt(L)` and sees `local ≥ L` then;
 * - offsets are ≥ 0, so a TSC never reads negative.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { ConfigError } from "./Errors.ts"
import type { Issue } from "./Issues.ts"

const NS_PER_S = 1_000_000_000

/** The largest drift accepted, in ppm (crystals drift by tens of ppm). */
export const MAX_DRIFT_PPM = 1000

export class Tsc {
  /** Local time minus global time at t = 0, ns. */
  readonly offsetNs: number
  /** Drift in parts per billion (from the configured ppm). */
  readonly driftPpb: number
  /** Clock rate the TSC counts at, Hz. */
  readonly hz: number

  /**
   * @param hz cycles per second
   * @param offsetNs local − global at t = 0 (integer ≥ 0)
   * @param driftPpm rate error in ppm (a multiple of 0.001, |drift| ≤ 1000)
   */
  constructor(hz: number, offsetNs = 0, driftPpm = 0) {
    const issues: Issue[] = []
    if (!Number.isSafeInteger(hz) || hz <= 0) issues.push({ path: ["hz"], message: `${hz} must be a positive integer number of Hz` })
    if (!Number.isSafeInteger(offsetNs) || offsetNs < 0) issues.push({ path: ["offsetNs"], message: `${offsetNs} must be an integer ≥ 0` })
    const ppb = Math.round(driftPpm * 1000)
    if (!Number.isFinite(driftPpm) || Math.abs(driftPpm) > MAX_DRIFT_PPM || Math.abs(driftPpm * 1000 - ppb) > 1e-6) {
      issues.push({ path: ["driftPpm"], message: `${driftPpm} must be a multiple of 0.001 between -${MAX_DRIFT_PPM} and ${MAX_DRIFT_PPM}` })
    }
    if (issues.length > 0) throw new ConfigError("Tsc", issues)
    this.hz = hz
    this.offsetNs = offsetNs
    this.driftPpb = ppb
  }

  /** Local time (ns) at global time `t`. */
  localNs(t: number): number {
    const ppb = this.driftPpb
    if (ppb === 0) return t + this.offsetNs
    // NOTE: split t so both products stay exact below 2^53 (no BigInt on this path).
    const q = Math.floor(t / NS_PER_S)
    const r = t - q * NS_PER_S
    return t + this.offsetNs + q * ppb + Math.floor((r * ppb) / NS_PER_S)
  }

  /** The earliest global time whose local time is ≥ `local` (0 if already reached at t = 0). */
  globalAt(local: number): number {
    // NOTE: without drift local = t + offset exactly, so the search below would stop at once (issue 15).
    if (this.driftPpb === 0) return local <= this.offsetNs ? 0 : local - this.offsetNs
    if (local <= this.localNs(0)) return 0
    let t = this.driftPpb === 0
      ? local - this.offsetNs
      : Math.max(0, Math.floor((local - this.offsetNs) / (1 + this.driftPpb / NS_PER_S)))
    while (this.localNs(t) < local) t++
    while (t > 0 && this.localNs(t - 1) >= local) t--
    return t
  }

  /** The TSC value (cycles) at global time `t`. */
  cycles(t: number): number {
    return Time.nsToCycles(this.localNs(t), this.hz)
  }
}
