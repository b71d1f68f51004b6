/**
 * Exact integer arithmetic on safe-integer nanoseconds (no float rounding, ever).
 * @module
 */

/** `floor(a·b / c)` for non-negative safe integers, exact (BigInt when `a·b` leaves the safe range). */
export const mulDivFloor = (a: number, b: number, c: number): number => {
  const p = a * b
  if (p <= Number.MAX_SAFE_INTEGER) return exactFloorSmall(p, c)
  return Number((BigInt(a) * BigInt(b)) / BigInt(c))
}

// `p` is an exact integer here; Math.floor(p / c) can be off by one when the quotient rounds to an
// integer, so correct it with the (exact) remainder.
const exactFloorSmall = (p: number, c: number): number => {
  const q = Math.floor(p / c)
  const r = p - q * c
  return r < 0 ? q - 1 : r >= c ? q + 1 : q
}

/** Greatest common divisor of two non-negative bigints. */
export const gcd = (a: bigint, b: bigint): bigint => {
  while (b !== 0n) [a, b] = [b, a % b]
  return a
}
