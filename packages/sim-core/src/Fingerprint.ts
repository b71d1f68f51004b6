/**
 * The run fingerprint: a 64-bit digest of a record stream, here computed record by record (the
 * general path: `fingerprintRecords`, the `.qvt` reader); `PrintBatch` computes the same in batches
 * (the hot path, WebAssembly: `PrintWasm`).
 *
 * Every value a record carries is one 64-bit word `v` (held here as two 32-bit halves):
 * - a number: its IEEE-754 bits, after mapping -0 to 0 and any NaN to the one canonical quiet NaN
 *   (so the word is a function of the value as JSON carries it, the same on every machine);
 * - a string (kind name, subject name, symbol): its 64-bit hash (`hashString64`: two independent
 *   32-bit string hashes), computed once when the string is declared or interned.
 *
 * One absorption step (xxHash64's round, `P1`, `P2` odd):  `round(acc, v) = rotl(acc + v·P2, 31)·P1`.
 *
 * A record has two lanes, X and Y: X starts from the kind (`kindStart`: the name's hash absorbed
 * into a constant), Y from the subject (`subjectStart`, the same with another constant). Its values
 * (the time, then each field in declared order) go to X and Y in turn: the time to X, field 0 to Y,
 * field 1 to X, … The record's digest is `d = X ⊕ Y·P3`. A print starts at `PRINT_SEED` and absorbs
 * each record's digest (xxHash64's merge step): `acc' = (acc ⊕ round(0, d))·P1 + P4`. A run has one
 * print over every record and one per scope (see `Trace`). It is printed as 16 hex digits of a
 * bijective finaliser of `acc + records·P5`.
 *
 * NOTE: built for speed (the fingerprint is always on). The two lanes are independent chains of
 * one multiply per value (the CPU overlaps them; a record's values are in at most ⌈(n+1)/2⌉ serial
 * steps), and one merge per record.
 *
 * Why any single changed number (time or field) always changes the fingerprint, not just with high
 * probability: the canonical word is injective on values (as JSON carries them); `round(acc, ·)` is
 * injective for a fixed `acc` (a multiply by an odd constant, an add, a rotation and a multiply by
 * an odd constant are each bijections modulo 2^64), so the changed value's lane differs after its
 * step; every later step of that lane is a bijection of the lane for fixed inputs, so the lane
 * differs at the record's end, and the other lane is unchanged; `d` is a bijection of each lane when
 * the other is fixed, so `d` differs; the merge is injective in `d` for a fixed `acc` and a
 * bijection of `acc` for fixed later digests, so the print differs; the finaliser is a bijection for
 * a given record count. The same holds for the scope's print. A changed string (kind, subject,
 * symbol) changes the print with probability 1 - 2^-64.
 *
 * Invariants: the value depends only on the sequence of records' canonical values (not on interning
 * order, nor on when `PrintBatch` hashes); integer arithmetic only, so it is the same on every machine.
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

/** xxHash64's primes (odd), as BigInts for the WebAssembly code and as 32-bit halves here. */
export const P1 = 0x9e3779b185ebca87n
export const P2 = 0xc2b2ae3d27d4eb4fn
export const P3 = 0x165667b19e3779f9n
export const P4 = 0x85ebca77c2b2ae63n
export const P5 = 0x27d4eb2f165667c5n
/** The start of a print; the constants the kind's and the subject's hash are absorbed into. */
export const PRINT_SEED = P5
const KIND_SEED = P1
const SUBJECT_SEED = P2

/** A 64-bit constant as `[low, high]` 32-bit halves (int32). */
export const halves = (x: bigint): readonly [number, number] => [Number(BigInt.asIntN(32, x)), Number(BigInt.asIntN(32, x >> 32n))]
const [P1L, P1H] = halves(P1), [P2L, P2H] = halves(P2), [P3L, P3H] = halves(P3)
const [P4L, P4H] = halves(P4), [P5L, P5H] = halves(P5)

/** The canonical NaN's word: high half (low half 0). */
export const NAN_HI = 0x7ff8_0000

/** True when this machine stores the low word of a double first (every common one does). */
export const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

// 64-bit arithmetic on 32-bit halves (the general path): results in `rl`, `rh` (no allocation).
let rl = 0
let rh = 0

/** The high 32 bits of the unsigned product of two 32-bit words (16-bit limbs, exact in doubles). */
const mulHigh = (a: number, b: number): number => {
  const a0 = a & 0xffff, a1 = a >>> 16, b0 = b & 0xffff, b1 = b >>> 16
  const p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0
  const carry = ((p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)) >>> 16
  return (a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + carry) | 0
}

/** `(al, ah)·(bl, bh)` modulo 2^64 → `rl`, `rh`. */
const mul = (al: number, ah: number, bl: number, bh: number): void => {
  rl = Math.imul(al, bl)
  rh = (mulHigh(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0
}

/** `(al, ah) + (bl, bh)` modulo 2^64 → `rl`, `rh`. */
const add = (al: number, ah: number, bl: number, bh: number): void => {
  const low = (al >>> 0) + (bl >>> 0)
  rl = low | 0
  rh = (ah + bh + (low > 0xffff_ffff ? 1 : 0)) | 0
}

/** `round(acc, v) = rotl(acc + v·P2, 31)·P1` → `rl`, `rh`. */
const round = (al: number, ah: number, vl: number, vh: number): void => {
  mul(vl, vh, P2L, P2H)
  add(al, ah, rl, rh)
  // rotl 31: bits move up by 31, the top 31 bits wrap to the bottom
  const l = (rl << 31) | (rh >>> 1)
  const h = (rh << 31) | (rl >>> 1)
  mul(l, h, P1L, P1H)
}

/** 64-bit arithmetic for tests: `round` and the finaliser as BigInt functions of BigInts (via the halves). */
export const arithmetic = {
  mul: (a: bigint, b: bigint): bigint => { const [al, ah] = halves(a), [bl, bh] = halves(b); mul(al, ah, bl, bh); return word(rl, rh) },
  round: (acc: bigint, v: bigint): bigint => { const [al, ah] = halves(acc), [vl, vh] = halves(v); round(al, ah, vl, vh); return word(rl, rh) },
}
const word = (lo: number, hi: number): bigint => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)

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

const [KSL, KSH] = halves(KIND_SEED), [SSL, SSH] = halves(SUBJECT_SEED)

/** A record's lane X at its start: the kind name's hash absorbed into `KIND_SEED`. */
export const kindStart = (name: readonly [number, number]): [number, number] => {
  round(KSL, KSH, name[0], name[1])
  return [rl, rh]
}

/** A record's lane Y at its start: the subject name's hash absorbed into `SUBJECT_SEED`. */
export const subjectStart = (name: readonly [number, number]): [number, number] => {
  round(SSL, SSH, name[0], name[1])
  return [rl, rh]
}

const scratch = new Float64Array(1)
const scratchWords = new Int32Array(scratch.buffer)

/** The two-lane digest of one record (the general path; `PrintWasm` computes the same). */
export class RecordDigest {
  /** Lane X (low, high half), lane Y, and the values absorbed so far. */
  xl = 0
  xh = 0
  yl = 0
  yh = 0
  values = 0
  /** Starts a record: lane X from the kind (`kindStart`), lane Y from the subject (`subjectStart`). */
  start(kind: readonly [number, number], subject: readonly [number, number]): void {
    this.xl = kind[0]
    this.xh = kind[1]
    this.yl = subject[0]
    this.yh = subject[1]
    this.values = 0
  }
  /** Absorbs the word `(lo, hi)` (a string's hash, say) into lane X, then Y, in turn. */
  value(lo: number, hi: number): void {
    if ((this.values & 1) === 0) {
      round(this.xl, this.xh, lo, hi)
      this.xl = rl
      this.xh = rh
    } else {
      round(this.yl, this.yh, lo, hi)
      this.yl = rl
      this.yh = rh
    }
    this.values++
  }
  /** Absorbs a number by its canonical IEEE-754 word (see the module comment). */
  number(x: number): void {
    if (x !== x) {
      this.value(0, NAN_HI)
      return
    }
    scratch[0] = x + 0 // -0 → 0
    this.value(scratchWords[LITTLE ? 0 : 1]!, scratchWords[LITTLE ? 1 : 0]!)
  }
}

const [SEEDL, SEEDH] = halves(PRINT_SEED)

/** A running fingerprint over record digests (the general path). */
export class Fingerprint {
  /** The print (low, high half). */
  lo = SEEDL
  hi = SEEDH
  /** Records folded in so far. */
  records = 0

  /** Absorbs one record's digest `d = X ⊕ Y·P3`: `acc' = rotl(acc ⊕ d, 27)·P1 + P4`. */
  add(d: RecordDigest): void {
    mul(d.yl, d.yh, P3L, P3H)
    const l = this.lo ^ d.xl ^ rl, h = this.hi ^ d.xh ^ rh
    // rotl 27
    mul((l << 27) | (h >>> 5), (h << 27) | (l >>> 5), P1L, P1H)
    add(rl, rh, P4L, P4H)
    this.lo = rl
    this.hi = rh
    this.records++
  }

  /** The 64-bit value as 16 hex digits. */
  hex(): string {
    return Fingerprint.hexOf(this.lo, this.hi, this.records)
  }

  /**
   * 16 hex digits of the print `(lo, hi)` after `records` records: xxHash64's finaliser of
   * `print + records·P5`, a bijection of the print for a given count.
   */
  static hexOf(lo: number, hi: number, records: number): string {
    mul(records % 2 ** 32, Math.floor(records / 2 ** 32), P5L, P5H)
    add(lo, hi, rl, rh)
    let l = rl, h = rh
    // x ^= x >>> 33; x *= P2; x ^= x >>> 29; x *= P3; x ^= x >>> 32
    l ^= h >>> 1
    mul(l, h, P2L, P2H)
    l = rl ^ ((rl >>> 29) | (rh << 3))
    h = rh ^ (rh >>> 29)
    mul(l, h, P3L, P3H)
    l = rl ^ rh
    h = rh
    return (h >>> 0).toString(16).padStart(8, "0") + (l >>> 0).toString(16).padStart(8, "0")
  }
}
