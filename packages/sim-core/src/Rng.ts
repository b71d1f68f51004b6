/**
 * Seeded, named random streams.
 *
 * One seed per run; every consumer draws from its own stream derived from `(seed, name)`, so
 * adding a consumer never changes another's numbers. The generator is sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, 128-bit state, pure 32-bit integer arithmetic); the state is
 * seeded from the seed and a hash of the name through splitmix32, then warmed up.
 *
 * Invariants:
 * - same seed and name → same sequence on every machine (integer ops only in `nextU32`);
 * - `float` uses 53 random bits; `exponential` uses `Math.log`, which V8 computes with its fdlibm
 *   port (deterministic for the pinned Node); times derived from it are rounded to integer ns by
 *   the caller (`exponentialNs` does it).
 *
 * @module
 */

/** Thrown for an invalid seed or argument. */
export class RngError extends RangeError {
  override readonly name = "RngError"
}

/** The largest seed accepted (seeds are non-negative safe integers). */
export const MAX_SEED = Number.MAX_SAFE_INTEGER

/** FNV-1a over UTF-16 code units, then a murmur3 finaliser: a 32-bit hash of a string. */
export const hashString = (text: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return fmix32(h)
}

/** murmur3's 32-bit finaliser: a bijective avalanche of a 32-bit integer. */
export const fmix32 = (x: number): number => {
  let h = x | 0
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** Validates a run seed: a non-negative safe integer. Names the bad value in the error. */
export const checkSeed = (seed: number): number => {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RngError(`seed ${seed} must be an integer between 0 and ${MAX_SEED}`)
  }
  return seed
}

/**
 * Rejection sampling on 32 bits for `range` in [1, 2^32]: a draw is accepted below the largest
 * multiple of `range` not above 2^32.
 * NOTE: `a % range` as `a − ⌊a / range⌋·range` (no floating-point modulo call): for integers
 * a ≤ 2^32 the rounded quotient never reaches the next integer (it is at least 1/range below it,
 * more than half an ulp), so the floor and the remainder are exact. `int` reduces its draws the same way.
 */
const limitOf = (range: number): number => 0x1_0000_0000 - (0x1_0000_0000 - Math.floor(0x1_0000_0000 / range) * range)

/** A deterministic random stream. Create with {@link stream}. */
export class RngStream {
  readonly name: string
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number, name: string) {
    checkSeed(seed)
    this.name = name
    // splitmix32 over (seed low, seed high, name hash) fills the 128-bit state.
    let x = (seed >>> 0) ^ Math.imul(Math.floor(seed / 0x1_0000_0000), 0x9e3779b9) ^ hashString(name)
    const next = (): number => {
      x = (x + 0x9e3779b9) | 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
      return (z ^ (z >>> 15)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.nextU32()
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    const a = this.a, b = this.b, c = this.c, d = this.d
    const t = (((a + b) | 0) + d) | 0
    this.d = (d + 1) | 0
    this.a = b ^ (b >>> 9)
    this.b = (c + (c << 3)) | 0
    this.c = ((c << 21) | (c >>> 11)) + t | 0
    return t >>> 0
  }

  /**
   * The 53 random bits of {@link float} as an integer in [0, 2^53): the same two draws, and
   * `float() === bits53() / 2^53` on the same stream. So `float() < p` is `bits53() < p · 2^53`
   * exactly (scaling by a power of two is exact), without the division.
   * NOTE: for speed (issue 15: CostNoise's TLB-miss draws, two per copy, millions per experiment).
   */
  bits53(): number {
    const hi = this.nextU32() >>> 5 // 27 bits
    const lo = this.nextU32() >>> 6 // 26 bits
    return hi * 67108864 + lo
  }

  /** A float uniform in [0, 1) with 53 random bits. */
  float(): number {
    const hi = this.nextU32() >>> 5 // 27 bits
    const lo = this.nextU32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }

  /**
   * An integer uniform in [lo, hi] (both inclusive), without modulo bias.
   * `lo` and `hi` must be safe integers with `lo <= hi` and `hi - lo < 2^53`.
   */
  int(lo: number, hi: number): number {
    // NOTE: the fast path of every draw the model makes (cost jitter, spin phase: 32-bit bounds):
    // int32 bounds are safe integers and their range is at most 2^32; the rejection limit is at
    // least 2^32 − range + 1, so a draw up to 2^32 − range is accepted without computing it (all
    // but range / 2^32 of the draws). Same numbers as the general path (issue 15: two
    // isSafeInteger checks and a division less per draw, millions of draws per experiment). The
    // rest is out of line (`intRejected`, `intWide`) so that this stays small enough for V8 to
    // inline into its callers (375 bytecode bytes before, not inlined into CostNoise's copies).
    if ((lo | 0) === lo && (hi | 0) === hi && lo <= hi) {
      const range = hi - lo + 1
      const x = this.nextU32()
      if (x <= 0x1_0000_0000 - range) return lo + (x - Math.floor(x / range) * range)
      return this.intRejected(lo, range, x)
    }
    return this.intWide(lo, hi)
  }

  /** `int`'s int32 path after a first draw `first` above 2^32 − `range`: 32-bit rejection ({@link limitOf}). */
  private intRejected(lo: number, range: number, first: number): number {
    const limit = limitOf(range)
    let x = first
    while (x >= limit) x = this.nextU32()
    return lo + (x - Math.floor(x / range) * range)
  }

  /** `int` for bounds that are not both int32 (or are invalid). */
  private intWide(lo: number, hi: number): number {
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || lo > hi) {
      throw new RngError(`int(${lo}, ${hi}): bounds must be safe integers with lo <= hi`)
    }
    const range = hi - lo + 1
    if (range <= 0x1_0000_0000) {
      const limit = limitOf(range)
      let x = this.nextU32()
      while (x >= limit) x = this.nextU32()
      return lo + (x - Math.floor(x / range) * range)
    }
    // Wide ranges: 53-bit rejection.
    const limit = 9007199254740992 - (9007199254740992 % range)
    for (;;) {
      const x = (this.nextU32() >>> 5) * 67108864 + (this.nextU32() >>> 6)
      if (x < limit) return lo + (x % range)
    }
  }

  /** True with probability `p`. */
  bernoulli(p: number): boolean {
    return this.float() < p
  }

  /** An exponential variate with the given mean (a float). */
  exponential(mean: number): number {
    if (!(mean > 0)) throw new RngError(`exponential(${mean}): mean must be positive`)
    return -mean * Math.log(1 - this.float())
  }

  /** An exponential duration in integer ns (rounded half up), at least 1 ns. */
  exponentialNs(meanNs: number): number {
    return Math.max(1, Math.floor(this.exponential(meanNs) + 0.5))
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<A>(items: ReadonlyArray<A>): A {
    if (items.length === 0) throw new RngError("pick: the array is empty")
    return items[this.int(0, items.length - 1)]!
  }

  /** Shuffles `items` in place (Fisher–Yates) and returns it. */
  shuffle<A>(items: A[]): A[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i)
      const tmp = items[i]!
      items[i] = items[j]!
      items[j] = tmp
    }
    return items
  }
}

/** The stream named `name` of run `seed`. Streams of different names are independent. */
export const stream = (seed: number, name: string): RngStream => new RngStream(seed, name)
