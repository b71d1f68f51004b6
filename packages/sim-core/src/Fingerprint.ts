/**
 * A fast, 64-bit-strength running hash: two independent 32-bit lanes (multiply–rotate mixing
 * with different constants and seeds, murmur3-style), fed 32-bit words.
 *
 * Invariants: the value depends only on the sequence of words fed in; any single changed word
 * changes both lanes with overwhelming probability; printed as 16 lowercase hex digits.
 *
 * @module
 */

const scratch = new Float64Array(1)
const scratchWords = new Uint32Array(scratch.buffer)

export class Fingerprint {
  private h1 = 0x9747b28c
  private h2 = 0x1b873593
  private count = 0

  /** Feeds one 32-bit word (taken modulo 2^32). */
  word(w: number): void {
    let k1 = Math.imul(w, 0xcc9e2d51)
    k1 = (k1 << 15) | (k1 >>> 17)
    k1 = Math.imul(k1, 0x1b873593)
    let h1 = this.h1 ^ k1
    h1 = (h1 << 13) | (h1 >>> 19)
    this.h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0

    let k2 = Math.imul(w ^ 0x5bd1e995, 0x85ebca6b)
    k2 = (k2 << 17) | (k2 >>> 15)
    k2 = Math.imul(k2, 0xc2b2ae35)
    let h2 = this.h2 ^ k2
    h2 = (h2 << 19) | (h2 >>> 13)
    this.h2 = (Math.imul(h2, 9) + 0x52dce729) | 0
    this.count++
  }

  /**
   * Feeds a number by its canonical encoding: a safe integer as two words (low, high) with a
   * tag; any other number by its IEEE-754 bits. So `1` and `1.0000000001` differ, and the
   * encoding survives a JSON round trip.
   */
  number(x: number): void {
    if (Number.isSafeInteger(x)) {
      const lo = x % 0x1_0000_0000
      this.word(lo)
      this.word((x - lo) / 0x1_0000_0000)
    } else {
      scratch[0] = x
      this.word(0x7ff8_dead)
      this.word(scratchWords[0]!)
      this.word(scratchWords[1]!)
    }
  }

  /** The 64-bit value as 16 hex digits. */
  hex(): string {
    const a = fmix(this.h1 ^ this.count)
    const b = fmix(this.h2 ^ Math.imul(this.count, 0x27d4eb2d))
    return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0")
  }
}

const fmix = (x: number): number => {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}
