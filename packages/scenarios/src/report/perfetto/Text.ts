/**
 * JSON text pieces of the Perfetto export, written by hand (the sink concatenates strings rather
 * than serialising objects): escaped string contents, exact microsecond timestamps, numbers.
 *
 * Invariants: {@link esc} output never holds a newline (the sink keeps open slices as
 * `<cat>\n<name>`); {@link us} of an integer ns is exact (three decimals at most).
 *
 * @module
 */

/** The JSON string contents of `s` (escaped, without quotes). */
export const esc = (s: string): string => JSON.stringify(s).slice(1, -1)

/**
 * Integer ns → µs with three decimals (exact): the format's unit is µs, and Perfetto rounds
 * `ts × 1000` to the nearest ns, so integer ns survive.
 */
export const us = (ns: number): string => {
  const q = Math.floor(ns / 1000)
  const r = ns - q * 1000
  if (r === 0) return String(q)
  if (Number.isInteger(r)) return `${q}.${r < 10 ? "00" : r < 100 ? "0" : ""}${r}`
  return String(ns / 1000)
}

/** A number as JSON (`null` when not finite). */
export const num = (v: number): string => (Number.isFinite(v) ? String(v) : "null")
