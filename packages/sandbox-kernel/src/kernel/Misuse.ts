/**
 * A program's misuse as the kernel reports it (see `Program.ProgramError`): the error names the
 * sandbox, the thread and the simulated time; these helpers render what a program threw or yielded.
 *
 * Invariant: rendering never throws (a program may throw a non-Error, or yield a cyclic object or
 * a bigint).
 *
 * @module
 */
import * as Program from "../Program.ts"

/** The error for thread `th` of sandbox `sandbox` misusing the kernel at `nowNs`. */
export const misuseError = (sandbox: number, th: { readonly name: string }, message: string, nowNs: number): Program.ProgramError =>
  new Program.ProgramError(`sandbox ${sandbox} thread "${th.name}": ${message} (at t=${nowNs}ns)`)

/** The message of anything a program threw (it may throw a non-Error). */
export const errorText = (e: unknown): string => (e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message.split("\n")[0]}` : String(e))

/** A short JSON rendering of a bad request (it may be cyclic or hold a bigint). */
export const safeJson = (v: unknown): string => {
  try {
    const text = JSON.stringify(v) ?? String(v)
    return text.length > 80 ? `${text.slice(0, 80)}…` : text
  } catch {
    return String(v)
  }
}
