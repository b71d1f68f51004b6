/**
 * What a fuzz case's outcome means (issue 11's contract for every input):
 *
 * | class        | when                                                                    |
 * |--------------|-------------------------------------------------------------------------|
 * | `refused`    | exit 2 with exactly one `qvsim:` line, no stack trace                   |
 * | `ok`         | exit 0 (or 1 for replay, diff, check and --strict), nothing on stderr but progress and warnings |
 * | `stopped`    | a case past its time limit, stopped as by SIGTERM: exit 143, "interrupted" |
 * | `invariant`  | exit 3 with "invariant violated": a model invariant, listed for review  |
 * | `failure`    | anything else: a crash, a hang, a stack trace, an internal error (exit 70), a multi-line or empty error, an unexpected exit code |
 *
 * @module
 */

export type Class = "refused" | "ok" | "stopped" | "invariant" | "failure"

export interface Verdict {
  readonly cls: Class
  /** For a failure: what kind ("crash", "hang", "stack trace", "internal error", ...). */
  readonly reason?: string
}

export interface Observed {
  readonly code: number | null
  readonly signal?: string | null
  readonly stderr: string
  readonly stdout: string
  /** The case was stopped after its time limit (as by SIGTERM). */
  readonly stopped: boolean
  /** It did not end at all, even after the stop (killed). */
  readonly hung?: boolean
  readonly command?: string
  /** The command line has --strict (exit 1 then reports a failed claim or a missed deadline). */
  readonly strict?: boolean
}

const STACK = /\n\s+at \S+.*(\(|:\d+:\d+)/

/** The lines of stderr that are messages (not progress lines, which start with spaces, nor warnings). */
const errorLines = (stderr: string): string[] => stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith(" ") && !l.startsWith("\r") && !/^qvsim: warning: /.test(l))

export const classify = (o: Observed): Verdict => {
  if (o.hung === true) return { cls: "failure", reason: "hang" }
  // Stopped before its run began (while loading: the signals' default action ends the process).
  if (o.stopped && o.signal === "SIGTERM" && o.code === null) return { cls: "stopped" }
  if (o.signal !== undefined && o.signal !== null) return { cls: "failure", reason: `crash (killed by ${o.signal})` }
  if (STACK.test(`\n${o.stderr}`)) return { cls: "failure", reason: "stack trace" }
  if (/internal error|out of memory|Maximum call stack/i.test(o.stderr)) return { cls: "failure", reason: "internal error" }
  const lines = errorLines(o.stderr)
  switch (o.code) {
    case 0:
      return lines.length === 0 ? { cls: "ok" } : { cls: "failure", reason: `exit 0 with an error line: ${lines[0]}` }
    case 1:
      // A difference (replay, diff), an unschedulable set (check), a failed claim or a missed deadline (--strict).
      return o.command === "replay" || o.command === "diff" || o.command === "check" || o.strict === true ? { cls: "ok" } : { cls: "failure", reason: "exit 1 outside replay, diff, check and --strict" }
    case 2:
      if (lines.length !== 1) return { cls: "failure", reason: `exit 2 with ${lines.length} error lines` }
      return /^qvsim/.test(lines[0]!) ? { cls: "refused" } : { cls: "failure", reason: `exit 2 without a qvsim line: ${lines[0]}` }
    case 3:
      return /invariant violated/.test(o.stderr) ? { cls: "invariant" } : { cls: "failure", reason: "exit 3 without 'invariant violated'" }
    case 143:
    case 130:
      return o.stopped && /interrupted/.test(o.stderr) ? { cls: "stopped" } : { cls: "failure", reason: `exit ${o.code} without a stop` }
    case 70:
      return { cls: "failure", reason: "internal error" }
    default:
      return { cls: "failure", reason: o.code === null ? "crash (no exit code)" : `crash (exit ${o.code})` }
  }
}
