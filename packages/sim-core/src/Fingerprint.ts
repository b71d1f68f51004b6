/**
 * A fast, 64-bit-strength hash of a record stream: two 32-bit lanes that absorb 64-bit values.
 *
 * Every value a record carries is absorbed as a pair of 32-bit words `(lo, hi)`:
 * - a number by its IEEE-754 bits (low word, high word), after mapping -0 to 0 and any NaN to the
 *   one canonical quiet NaN (so the pair is a function of the value as JSON carries it, the same
 *   on every machine and byte order);
 * - a string (kind name, subject name, symbol) by its 64-bit hash (`hashString64`: two
 *   independent 32-bit string hashes), computed once when the string is declared or interned.
 *
 * A record is reduced to a two-lane digest: the kind's start lanes (the name absorbed) combined
 * with the subject name's hash, then the time, then each field value in declared order. The
 * digest is absorbed (as one more value) into the run's print and into its scope's print.
 *
 * One absorption step (`absorb`) is a Feistel-like round with one multiply:
 *   a' = imul(rotl(a, 13) ^ lo, K) + b        b' = (rotl(b, 17) + hi) ^ a'
 *
 * Invariants:
 * - a step maps the lane pair bijectively for a fixed value (b from b' and a', then a), and the
 *   value injectively for a fixed lane pair (lo from a', then hi from b'); starting a record is
 *   bijective in each of the subject's words; the printed value is a bijection of the lanes (for a
 *   given record count). So any single changed number (time or field) always changes the
 *   fingerprint, not just with high probability (a changed string: with probability 1 - 2^-64);
 * - the value depends only on the sequence of records' canonical values (not on interning order,
 *   nor on when `PrintBatch` hashes);
 * - printed as 16 lowercase hex digits.
 *
 * NOTE: built for speed (the fingerprint is always on): `PrintBatch.flush` inlines the step.
 *
 * @module
 */

import { fmix32 as fmix } from "./Rng.ts"

/** Lane 1 step (murmur3 x86_32 body). Kept for page content hashes (hardware). */
export const lane1 = (h: number, w: number): number => {
  let k = Math.imul(w, 0xcc9e2d51)
  k = (k << 15) | (k >>> 17)
  k = Math.imul(k, 0x1b873593)
  h ^= k
  h = (h << 13) | (h >>> 19)
  return (Math.imul(h, 5) + 0xe6546b64) | 0
}

/** Lane 2 step (same shape, other constants). Kept for page content hashes (hardware). */
export const lane2 = (h: number, w: number): number => {
  let k = Math.imul(w ^ 0x5bd1e995, 0x85ebca6b)
  k = (k << 17) | (k >>> 15)
  k = Math.imul(k, 0xc2b2ae35)
  h ^= k
  h = (h << 19) | (h >>> 13)
  return (Math.imul(h, 9) + 0x52dce729) | 0
}

/** The multiplier of lane A's step (odd, so the multiply is a bijection). */
export const K = 0xcc9e2d51 | 0

/** Lane A after absorbing `lo`: `imul(rotl(a, 13) ^ lo, K) + b`. */
export const stepA = (a: number, b: number, lo: number): number => (Math.imul(((a << 13) | (a >>> 19)) ^ lo, K) + b) | 0

/** Lane B after absorbing `hi`, given lane A's new value: `(rotl(b, 17) + hi) ^ a'`. */
export const stepB = (b: number, aNext: number, hi: number): number => (((b << 17) | (b >>> 15)) + hi) ^ aNext

/** Initial lanes of a record digest and of a print. */
const RECORD_A = 0x2545f491
const RECORD_B = 0x6a09e667 | 0
export const PRINT_A = 0x3c6ef372
export const PRINT_B = 0xa54ff53a | 0

/** A kind's start lanes: the record lanes after absorbing the kind name's 64-bit hash. */
export const kindStart = (name: readonly [number, number]): [number, number] => {
  const a = stepA(RECORD_A, RECORD_B, name[0])
  return [a, stepB(RECORD_B, a, name[1])]
}

/** The canonical high word of NaN (low word 0). */
export const NAN_HI = 0x7ff8_0000

/** True when this machine stores the low word of a double first (every common one does). */
export const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** A string's 64-bit hash as two 32-bit words (FNV-1a and a second multiplicative hash, finalised). */
export const hashString64 = (text: string): [number, number] => {
  let h1 = 0x811c9dc5
  let h2 = 0x050c5d1f
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x0100_01b3) ^ (h2 >>> 13)
  }
  return [fmix(h1 ^ text.length) | 0, fmix(h2 + Math.imul(text.length, 0x27d4eb2d)) | 0]
}

const scratch = new Float64Array(1)
const scratchWords = new Int32Array(scratch.buffer)

/** The two-lane digest of one record (the general path; `PrintBatch.flush` inlines the same). */
export class RecordDigest {
  a = 0
  b = 0
  /** Starts a record: the kind's start lanes plus (lane A) / xor (lane B) the subject's hash. */
  start(kind: readonly [number, number], subject: readonly [number, number]): void {
    this.a = (kind[0] + subject[0]) | 0
    this.b = kind[1] ^ subject[1]
  }
  /** Absorbs the value `(lo, hi)` (a string's hash, say). */
  value(lo: number, hi: number): void {
    this.a = stepA(this.a, this.b, lo)
    this.b = stepB(this.b, this.a, hi)
  }
  /** Absorbs a number by its canonical IEEE-754 words (see the module comment). */
  number(x: number): void {
    if (x !== x) {
      this.value(0, NAN_HI)
      return
    }
    scratch[0] = x + 0 // -0 → 0
    this.value(scratchWords[LITTLE ? 0 : 1]!, scratchWords[LITTLE ? 1 : 0]!)
  }
}

/** A running fingerprint over record digests (the general path; `PrintBatch` inlines it). */
export class Fingerprint {
  a = PRINT_A
  b = PRINT_B
  /** Records folded in so far. */
  records = 0

  /** Absorbs one record digest. */
  add(d: RecordDigest): void {
    this.a = stepA(this.a, this.b, d.a)
    this.b = stepB(this.b, this.a, d.b)
    this.records++
  }

  /** The 64-bit value as 16 hex digits. */
  hex(): string {
    return Fingerprint.hexOf(this.a, this.b, this.records)
  }

  /** 16 hex digits of the lanes `(a, b)` after `records` records: a bijection of `(a, b)`. */
  static hexOf(a: number, b: number, records: number): string {
    const x = fmix(a ^ records ^ Math.imul(b, 0x2127599b))
    const y = fmix(b ^ Math.imul(records, 0x27d4eb2d) ^ x)
    return x.toString(16).padStart(8, "0") + y.toString(16).padStart(8, "0")
  }
}
