/**
 * A fast, 64-bit-strength hash of a record stream: two independent 32-bit lanes
 * (murmur3-style multiply–rotate mixing with different constants).
 *
 * Each record is first reduced to a two-lane digest (`RecordDigest`, fed the record's canonical
 * 32-bit words); the digest is then folded into the running `Fingerprint` of the run and into
 * the one of the record's scope. So a record costs its words once, whatever the number of prints.
 *
 * Canonical encoding of a number (injective, survives a JSON round trip): an integer in
 * [0, 2^31) is one word; anything else is a tag word with the high bit set, then two words
 * (the integer's low and high halves, or the IEEE-754 bits of a non-integer).
 *
 * Invariants: the value depends only on the sequence of words; any single changed word changes
 * the digest; printed as 16 lowercase hex digits.
 *
 * @module
 */

import { fmix32 as fmix } from "./Rng.ts"

const scratch = new Float64Array(1)
const scratchWords = new Uint32Array(scratch.buffer)

const TAG_INT = 0x8000_0001
const TAG_FLOAT = 0x8000_0002

/** Lane 1 step (murmur3 x86_32 body). */
export const lane1 = (h: number, w: number): number => {
  let k = Math.imul(w, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** Lane 2 step (same shape, other constants). */
export const lane2 = (h: number, w: number): number => {
  let k = Math.imul(w ^ 0x5bd1e995, 0x85ebca6b)
  k = (k << 17) | (k >>> 15)
  k = Math.imul(k, 0xc2b2ae35)
  h ^= k
  h = (h << 19) | (h >>> 13)
  return (Math.imul(h, 9) + 0x52dce729) | 0
}

/** The two-lane digest of one record's words. Reused: `start()` before each record. */
export class RecordDigest {
  a = 0
  b = 0
  start(): void {
    this.a = 0x9747b28c
    this.b = 0x1b873593
  }
  word(w: number): void {
    this.a = lane1(this.a, w)
    this.b = lane2(this.b, w)
  }
  /** A number by its canonical encoding (see the module comment). */
  number(x: number): void {
    if (x >= 0 && x < 0x8000_0000 && (x | 0) === x) {
      this.word(x)
    } else if (Number.isSafeInteger(x)) {
      const lo = x % 0x1_0000_0000
      this.word(TAG_INT)
      this.word(lo)
      this.word((x - lo) / 0x1_0000_0000)
    } else {
      scratch[0] = x
      this.word(TAG_FLOAT)
      this.word(scratchWords[0]!)
      this.word(scratchWords[1]!)
    }
  }
}

/** A running fingerprint over record digests. */
export class Fingerprint {
  private h1 = 0x2545f491
  private h2 = 0x6a09e667
  private count = 0

  /** Folds one record digest in. */
  add(d: RecordDigest): void {
    this.h1 = lane1(lane1(this.h1, d.a), d.b)
    this.h2 = lane2(lane2(this.h2, d.b), d.a)
    this.count++
  }

  /** Records folded in so far. */
  get records(): number {
    return this.count
  }

  /** The 64-bit value as 16 hex digits. */
  hex(): string {
    const a = fmix(this.h1 ^ this.count)
    const b = fmix(this.h2 ^ Math.imul(this.count, 0x27d4eb2d))
    return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
  }
}
