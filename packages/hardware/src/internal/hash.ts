/**
 * The 2×32-bit mixing rounds behind page content hashes (see `PhysicalMemory`).
 *
 * A page's hash is a running hash of its content history: each write mixes `(offset, size,
 * value)` into both lanes. Lane 1 uses murmur3's constants, lane 2 independent ones, so the pair
 * behaves as a 64-bit hash. `frameContribution` folds a frame number and its hash into one
 * word pair for the XOR digests of whole memory or a range; a never-written frame (hash 0, 0)
 * contributes nothing.
 */
import { Rng } from "@qvsim/sim-core"

/** One murmur3-style round of lane 1. */
export const round1 = (h: number, w: number): number => {
  let k = Math.imul(w, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** One round of lane 2 (different constants and rotations). */
export const round2 = (h: number, w: number): number => {
  let k = Math.imul(w ^ 0x5bd1e995, 0x85ebca6b)
  k = (k << 17) | (k >>> 15)
  k = Math.imul(k, 0xc2b2ae35)
  h ^= k
  h = (h << 19) | (h >>> 13)
  return (Math.imul(h, 9) + 0x52dce729) | 0
}

/** A frame's lane-1 contribution to an XOR digest (0 for a never-written frame). */
export const contribution1 = (frame: number, h1: number, h2: number): number =>
  (h1 | h2) === 0 ? 0 : Rng.fmix32(round1(h1 ^ Math.imul(frame, 0x9e3779b1), h2))

/** A frame's lane-2 contribution to an XOR digest (0 for a never-written frame). */
export const contribution2 = (frame: number, h1: number, h2: number): number =>
  (h1 | h2) === 0 ? 0 : Rng.fmix32(round2(h2 ^ Math.imul(frame, 0x85ebca77), h1))

/** 16 hex digits of a lane pair. */
export const hex64 = (h1: number, h2: number): string =>
  (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0")
