/**
 * CLI failures and their exit codes, each printed as ONE line on stderr, never a stack trace:
 *
 * | code | meaning                                                                     |
 * |------|-----------------------------------------------------------------------------|
 * | 1    | a comparison found a difference (replay, diff)                              |
 * | 2    | bad input: a flag, a file, a scenario field, a program's misuse, a limit    |
 * | 3    | a model invariant violated inside the simulation (a bug in the model)       |
 * | 70   | an internal error (a bug in qvsim outside the model)                        |
 * | 130  | interrupted by SIGINT (143: by SIGTERM); nothing written                    |
 *
 * Invariant: exit 3 is reserved for sim-core's `SimulationError` (an invariant the model asserts);
 * input problems found while a run goes on (a program's misuse, a capacity exceeded) are exit 2.
 */
import { Runtime, Schema } from "effect"
import { CliError } from "effect/cli"
import { Issues } from "@qvsim/hardware"

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
export const EXIT_INTERNAL = 70
export const EXIT_SIGINT = 130
export const EXIT_SIGTERM = 143

export const badInput = (message: string): ExitError => new ExitError({ code: EXIT_BAD_INPUT, message })
export const different = (message: string): ExitError => new ExitError({ code: EXIT_DIFFERENT, message })

/** Errors whose message names the bad input (a field path, a flag, a file, a thread). */
const BAD_INPUT = new Set([
  "ScenarioError", "TraceFileError", "OutputError", "TimeError", "RngError", "ZodError", "ProgramError",
  "WorkloadError", "OptionsError", "CapacityError", "ConfigError",
])

const oneLine = (text: string): string => text.split("\n")[0]!.trim()

/** Maps anything thrown below the CLI to an exit error, by its kind. */
export const fromUnknown = (e: unknown): ExitError => {
  if (e instanceof ExitError) return e
  const err = e instanceof Error ? e : new Error(String(e))
  // A configuration error lists its issues by path: the first three, on one line.
  const raw = (err as { issues?: unknown }).issues
  const issues = err.name === "ConfigError" && Array.isArray(raw) ? Issues.lines(raw as Issues.Issue[]) : []
  const message = issues.length > 0
    ? `invalid configuration: ${issues.slice(0, 3).join("; ")}${issues.length > 3 ? ` (and ${issues.length - 3} more)` : ""}`
    : oneLine(err.message)
  if (BAD_INPUT.has(err.name)) return badInput(message)
  if (err.name === "Interrupted") return new ExitError({ code: (err as { code?: number }).code ?? EXIT_SIGINT, message })
  if (err.name === "SimulationError") {
    // "invariant violated" says it: a model invariant, not the input (the line carries the time, the event and the seed).
    return new ExitError({ code: EXIT_INVARIANT, message: `invariant violated: ${message}` })
  }
  // A system call's refusal (ENOENT, EACCES, ENOSPC, EISDIR, ...): a file the user named.
  if (/^E[A-Z0-9]+$/.test(String((err as NodeJS.ErrnoException).code ?? ""))) return badInput(message)
  return new ExitError({ code: EXIT_INTERNAL, message: `internal error (a bug in qvsim; please report it with the command line): ${err.name}: ${message}` })
}
