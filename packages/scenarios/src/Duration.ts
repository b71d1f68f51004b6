/**
 * The zod schema of a duration field: a string with a unit ("10ms", "2.5s") or an integer
 * number of nanoseconds. Refuses anything that is not an exact integer number of ns, with the
 * reason in the message (zod adds the field's path).
 */
import { Time } from "@qvsim/sim-core"
import { z } from "zod"

export const Duration = z
  .union([z.string(), z.number()])
  .transform((value, ctx): number => {
    if (typeof value === "number") {
      if (Number.isSafeInteger(value) && value >= 0) return value
      ctx.issues.push({ code: "custom", input: value, message: `${value} is not a non-negative integer number of ns (write e.g. "10ms")` })
      return z.NEVER
    }
    try {
      return Time.parseDuration(value)
    } catch (e) {
      ctx.issues.push({ code: "custom", input: value, message: (e as Error).message })
      return z.NEVER
    }
  })

/** A positive duration. */
export const PositiveDuration = Duration.refine((t) => t > 0, { message: "must be greater than 0" })
