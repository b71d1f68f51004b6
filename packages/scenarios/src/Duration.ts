/**
 * The zod schema of a duration field: a string with a unit ("10ms", "2.5s") or an integer
 * number of nanoseconds (the scenario vocabulary's, `@qvsim/sandbox-kernel`'s `Vocabulary`).
 * Refuses anything that is not an exact integer number of ns, with the reason in the message (zod
 * adds the field's path), or that is beyond the time range (`Time.MAX_INPUT_NS`, about 13 days).
 */
import { Vocabulary } from "@qvsim/sandbox-kernel"

export const Duration = Vocabulary.Duration

/** A positive duration. */
export const PositiveDuration = Vocabulary.PositiveDuration
