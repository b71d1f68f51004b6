/**
 * CLI failures and their exit codes: 2 = bad input (scenario, flag, file), 1 = a comparison
 * found a difference, 3 = an invariant violated inside the simulation. Each prints one line on
 * stderr, never a stack trace.
 */
import { Runtime, Schema } from "effect"
import { CliError } from "effect/cli"

export class ExitError extends Schema.TaggedError<ExitError>()("ExitError", {
  code: Schema.Number,
  message: Schema.String,
}) {
  override readonly [Runtime.errorExitCode] = this.code
  override readonly [Runtime.errorReported] = false
  override readonly [CliError.userMessage] = this.message
}

export const EXIT_BAD_INPUT = 2
export const EXIT_DIFFERENT = 1
export const EXIT_INVARIANT = 3

export const badInput = (message: string): ExitError => new ExitError({ code: EXIT_BAD_INPUT, message })
export const different = (message: string): ExitError => new ExitError({ code: EXIT_DIFFERENT, message })

/** Maps anything thrown below the CLI to an exit error, by its kind. */
export const fromUnknown = (e: unknown): ExitError => {
  if (e instanceof ExitError) return e
  const err = e instanceof Error ? e : new Error(String(e))
  const firstLine = err.message.split("\n")[0] ?? String(e)
  switch (err.name) {
    case "ScenarioError":
    case "TraceFileError":
    case "TimeError":
    case "RngError":
    case "ZodError":
      return badInput(firstLine)
    case "SimulationError":
      return new ExitError({ code: EXIT_INVARIANT, message: `invariant violated: ${firstLine}` })
    default:
      if ((err as NodeJS.ErrnoException).code !== undefined) return badInput(firstLine)
      return new ExitError({ code: EXIT_INVARIANT, message: `internal error: ${err.name}: ${firstLine}` })
  }
}
