/**
 * zod helpers shared by the device configurations: number fields with messages that read well
 * after a field path (`nic.rxRing: must be ≥ 1`), and `parseConfig`, which turns zod issues into
 * one {@link ConfigError}.
 */
import { Time } from "@qvsim/sim-core"
import { z } from "zod"
import { ConfigError } from "../Errors.ts"
import { flatten, parseOptions, pathOf } from "../Issues.ts"

/** An integer field ≥ `min` (and ≤ `max` if given). */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number("must be a number")
    .int("must be an integer")
    .min(min, `must be ≥ ${min}`)
    .max(max, `must be ≤ ${max}`)

/** A duration in integer nanoseconds (≥ 0, within the time range `Time.MAX_INPUT_NS`). */
export const durationNs = () => int(0).refine((v) => v <= Time.MAX_INPUT_NS, { error: (iss) => Time.tooLong(iss.input as number) })

/** A page-aligned byte count or address (multiple of 4096). */
export const pageAligned = (min = 0) =>
  int(min).refine((v) => v % 4096 === 0, "must be a multiple of 4096 (4 KiB pages)")

/** True for an interrupt vector a device may use: 16..255 (0..15 are reserved by the architecture). */
export const isVector = (v: number): boolean => Number.isInteger(v) && v >= 16 && v <= 255

/** A schema field holding an interrupt vector (see {@link isVector}). */
export const vector = () => int(16, 255)

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/
/** A dotted-quad IPv4 address, parsed to an unsigned 32-bit number. */
export const ipv4 = () =>
  z.string("must be a dotted-quad IPv4 address").transform((text, ctx) => {
    const m = IPV4.exec(text)
    const parts = m === null ? [] : m.slice(1).map(Number)
    if (parts.length !== 4 || parts.some((p) => p > 255)) {
      ctx.addIssue({ code: "custom", message: `"${text}" is not a dotted-quad IPv4 address` })
      return z.NEVER
    }
    return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
  })

/** A 48-bit MAC address given as a number (`0x00e04c000001`). */
export const mac = () => int(0, 0xffff_ffff_ffff)

/**
 * Validates `input` against `schema`; throws one {@link ConfigError} listing every issue, each
 * under `prefix` (the dotted path of the section in the caller's configuration, e.g. `hosts.0`).
 */
export const parseConfig = <S extends z.ZodType>(what: string, schema: S, input: unknown, prefix = ""): z.output<S> => {
  const result = schema.safeParse(input, parseOptions)
  if (result.success) return result.data
  throw new ConfigError(what, flatten(result.error.issues, pathOf(prefix)))
}
