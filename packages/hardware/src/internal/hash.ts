/**
 * The 2×32-bit mixing rounds behind page content hashes (see `PhysicalMemory`).
 *
 * A page's hash is a running hash of its content history: each write mixes `(offset, size,
 * value)` into both lanes. Lane 1 uses murmur3's constants, lane 2 independent ones, so the pair
 * behaves as a 64-bit hash. `frameContribution` folds a frame number and its hash into one
 * word pair for the XOR digests of whole memory or a range; a never-written frame (hash 0, 0)
 * contributes nothing.
 */
import { Fingerprint, Rng } from "@qvsim/sim-core"

/** One round of lane 1 / lane 2: the same mixing as the trace fingerprint's two lanes. */
export const round1 = Fingerprint.lane1
export const round2 = Fingerprint.lane2

/** A frame's lane-1 contribution to an XOR digest (0 for a never-written frame). */
export const contribution1 = (frame: number, h1: number, h2: number): number =>
  (h1 | h2) === 0 ? 0 : Rng.fmix32(round1(h1 ^ Math.imul(frame, 0x9e3779b1), h2))

/** A frame's lane-2 contribution to an XOR digest (0 for a never-written frame). */
export const contribution2 = (frame: number, h1: number, h2: number): number =>
  (h1 | h2) === 0 ? 0 : Rng.fmix32(round2(h2 ^ Math.imul(frame, 0x85ebca77), h1))

/** 16 hex digits of a lane pair. */
export const hex64 = (h1: number, h2: number): string =>
  (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0")
