/**
 * The zod schema of a duration field: a string with a unit ("10ms", "2.5s") or an integer
 * number of nanoseconds. Refuses anything that is not an exact integer number of ns, with the
 * reason in the message (zod adds the field's path), or that is beyond the time range
 * (`Time.MAX_INPUT_NS`, about 13 days).
 */
import { Time } from "@qvsim/sim-core"
import { z } from "zod"

export const Duration = z
  .union([z.string(), z.number()])
  .transform((value, ctx): number => {
    let ns: number
    if (typeof value === "number") {
      if (!Number.isSafeInteger(value) || value < 0) {
        ctx.issues.push({ code: "custom", input: value, message: `${value} is not a non-negative integer number of ns (write e.g. "10ms")` })
        return z.NEVER
      }
      ns = value
    } else {
      try {
        ns = Time.parseDuration(value)
      } catch (e) {
        ctx.issues.push({ code: "custom", input: value, message: (e as Error).message })
        return z.NEVER
      }
    }
    if (ns > Time.MAX_INPUT_NS) {
      ctx.issues.push({ code: "custom", input: value, message: `${typeof value === "string" ? `"${value}" = ` : ""}${Time.tooLong(ns)}` })
      return z.NEVER
    }
    return ns
  })

/** A positive duration. */
export const PositiveDuration = Duration.refine((t) => t > 0, { message: "must be greater than 0" })
