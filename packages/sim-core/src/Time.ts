/**
 * Simulated time: an integer number of nanoseconds held in a JS `number`.
 *
 * Invariants:
 * - every value produced here is a safe integer (exact up to 2^53 ns, about 104 days);
 * - nothing here reads a wall clock;
 * - cycle/ns conversions use ONE rounding rule, {@link roundHalfUp}: round to the nearest
 *   integer, ties towards +infinity, computed exactly (BigInt) whatever the magnitude.
 *
 * @module
 */

/** Nanoseconds of simulated time. Always an integer. */
export type Ns = number

export const NS_PER_US = 1_000
export const NS_PER_MS = 1_000_000
export const NS_PER_S = 1_000_000_000

/** The largest representable simulated time. */
export const MAX_TIME: Ns = Number.MAX_SAFE_INTEGER

/**
 * `[ASSUMED]` The longest duration an input may give (2^50 ns, about 13 days): a run's end plus a
 * few such durations (an offset, a period, a deadline) stays below {@link MAX_TIME}, so a valid
 * input never asks for an event beyond the representable time. Inputs above it are refused at
 * load time, naming the field.
 */
export const MAX_INPUT_NS: Ns = 2 ** 50

/** The refusal of a duration above {@link MAX_INPUT_NS}, for validation messages. */
export const tooLong = (t: number): string => `${t} ns is beyond the time range (at most 2^50 ns ≈ 13 days)`

const unitNs = { ns: 1, us: NS_PER_US, "µs": NS_PER_US, ms: NS_PER_MS, s: NS_PER_S } as const
export type Unit = keyof typeof unitNs

/** Thrown for a value that is not an exact integer number of nanoseconds. */
export class TimeError extends RangeError {
  override readonly name = "TimeError"
}

const exact = (api: string, value: number, factor: number): Ns => {
  const out = value * factor
  if (!Number.isFinite(value) || !Number.isSafeInteger(Math.round(out)) || Math.abs(out - Math.round(out)) > 1e-6) {
    throw new TimeError(`${api}(${value}): not an exact integer number of nanoseconds`)
  }
  // The product of a decimal fraction and a power of ten can be off by an ulp (0.1 * 1e9):
  // snap it, having checked above that it is an integer to well within a nanosecond.
  return Math.round(out)
}

/** `n` nanoseconds; `n` must be an integer. */
export const ns = (n: number): Ns => exact("ns", n, 1)
/** `n` microseconds in ns; the result must be an integer number of ns. */
export const us = (n: number): Ns => exact("us", n, NS_PER_US)
/** `n` milliseconds in ns. */
export const ms = (n: number): Ns => exact("ms", n, NS_PER_MS)
/** `n` seconds in ns. */
export const s = (n: number): Ns => exact("s", n, NS_PER_S)

/** True when `t` is a valid simulated time or duration (a non-negative safe integer). */
export const isTime = (t: number): boolean => Number.isSafeInteger(t) && t >= 0

/**
 * The syntax {@link parseDuration} accepts: digits, an optional fraction, a unit (`ns`, `us`, `µs`,
 * `ms`, `s`), blanks around them allowed. A match can still be refused for its value (not an
 * integer number of ns, beyond the safe integers). Exported for JSON Schemas (`pattern`).
 */
export const durationPattern = /^\s*(\d+)(?:\.(\d+))?\s*(ns|us|µs|ms|s)\s*$/

/**
 * Parses a duration such as `"10ms"`, `"2.5s"`, `"750us"`, `"42ns"` into integer ns.
 * Refuses (with a {@link TimeError} that quotes the input) anything that is not an exact,
 * non-negative, safe integer number of nanoseconds: `"1.5ns"`, `"-3ms"`, `"10"`, `"1e3ms"`.
 * The arithmetic is exact (BigInt), so `"0.000000001s"` is 1 ns and `"0.0000000015s"` is refused.
 */
export const parseDuration = (text: string): Ns => {
  const m = durationPattern.exec(text)
  if (m === null) {
    throw new TimeError(`invalid duration "${text}": expected a number and a unit (ns, us, ms, s), e.g. "10ms"`)
  }
  const [, whole, frac = "", unit] = m
  const per = BigInt(unitNs[unit as Unit])
  const scale = 10n ** BigInt(frac.length)
  const numerator = (BigInt(whole!) * scale + BigInt(frac === "" ? "0" : frac)) * per
  if (numerator % scale !== 0n) {
    throw new TimeError(`invalid duration "${text}": not an integer number of nanoseconds`)
  }
  const value = numerator / scale
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new TimeError(`invalid duration "${text}": larger than ${Number.MAX_SAFE_INTEGER}ns`)
  }
  return Number(value)
}

/**
 * Formats a duration with the largest unit that represents it exactly (`1500000` → `"1500us"`,
 * `2000000000` → `"2s"`), so that `parseDuration(formatDuration(t)) === t` for every valid `t`.
 */
export const formatDuration = (t: Ns): string => {
  if (!isTime(t)) throw new TimeError(`formatDuration(${t}): not a valid duration`)
  if (t !== 0) {
    if (t % NS_PER_S === 0) return `${t / NS_PER_S}s`
    if (t % NS_PER_MS === 0) return `${t / NS_PER_MS}ms`
    if (t % NS_PER_US === 0) return `${t / NS_PER_US}us`
  }
  return `${t}ns`
}

/** A human-readable rendering with decimals (`1.234567ms`), for reports; not for round trips. */
export const show = (t: Ns): string => {
  if (t >= NS_PER_S) return `${trim((t / NS_PER_S).toFixed(9))}s`
  if (t >= NS_PER_MS) return `${trim((t / NS_PER_MS).toFixed(6))}ms`
  if (t >= NS_PER_US) return `${trim((t / NS_PER_US).toFixed(3))}us`
  return `${t}ns`
}
const trim = (x: string): string => x.replace(/\.?0+$/, "")

/**
 * Divides two non-negative integers and rounds half up (to nearest, ties towards +infinity),
 * exactly. This is THE rounding rule of every unit conversion in qvsim.
 */
export const roundHalfUp = (numerator: bigint, denominator: bigint): bigint =>
  (2n * numerator + denominator) / (2n * denominator)

const checkHz = (api: string, hz: number): void => {
  if (!Number.isSafeInteger(hz) || hz <= 0) {
    throw new TimeError(`${api}: clock rate ${hz} Hz must be a positive integer`)
  }
}

/**
 * CPU cycles at `hz` to nanoseconds, rounded half up (see {@link roundHalfUp}).
 * E.g. at 2.13 GHz, 707 cycles → 332 ns; 134,244,605 cycles → 63,025,636 ns.
 */
export const cyclesToNs = (cycles: number, hz: number): Ns => {
  checkHz("cyclesToNs", hz)
  if (!Number.isSafeInteger(cycles) || cycles < 0) {
    throw new TimeError(`cyclesToNs: cycles ${cycles} must be a non-negative integer`)
  }
  return mulDivRoundHalfUp(cycles, NS_PER_S, hz)
}

/**
 * `roundHalfUp(a·b, d)` for non-negative safe integers, exact. When `2ab + d` is a safe integer
 * the double arithmetic is exact and so is floor(num / 2d) (a wrong floor would need a numerator
 * ≥ 2^53); otherwise BigInt does it. NOTE: the fast path keeps cost conversions on hot paths
 * (a copy cost per message, per phase) free of BigInt allocation.
 */
const mulDivRoundHalfUp = (a: number, b: number, d: number): number => {
  const num = 2 * a * b + d
  if (num <= Number.MAX_SAFE_INTEGER) return Math.floor(num / (2 * d))
  return Number(roundHalfUp(BigInt(a) * BigInt(b), BigInt(d)))
}

/** Nanoseconds to CPU cycles at `hz`, rounded half up. */
export const nsToCycles = (t: Ns, hz: number): number => {
  checkHz("nsToCycles", hz)
  if (!isTime(t)) throw new TimeError(`nsToCycles: ${t} is not a valid duration in ns`)
  return mulDivRoundHalfUp(t, hz, NS_PER_S)
}
