/**
 * Cancelling a run: SIGINT (Ctrl-C) and SIGTERM stop it within 100 ms of wall time, remove every
 * temporary file, leave earlier outputs untouched and exit 130 (SIGINT) or 143 (SIGTERM) with one
 * line saying how far it got ("interrupted (SIGINT) at 4.2s simulated of 98.9s; nothing written").
 *
 * How: {@link install} (called once the inputs are loaded, before any output is opened; until then
 * the signals keep their default action and end the process at once, even in a `.ts` file's busy
 * loop) records the first signal; the run loop ({@link control}) yields to the event loop every
 * 20 ms of wall time so the handler runs, and checks the flag after every slice of events: it
 * throws {@link Interrupted}, the CLI's clean-up removes the temporaries, and the exit code is the
 * signal's. A second signal exits at once, removing the temporaries synchronously.
 *
 * Started by npm (`npm run`, `npm start`, `npx`: `npm_command` is set), qvsim runs under a
 * `sh -c` that npm signals but that does not pass the signal on; so the run also stops, as on
 * SIGTERM, when that parent has gone (checked at every yield): killing npm never leaves an
 * orphaned run behind.
 *
 * The run itself is never changed by this: slices and yields do not alter the event order.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { removeLiveTemporaries } from "../Files.ts"
import type { RunControl } from "../Runner.ts"

/** A run stopped by a signal; `code` is the exit code (130 SIGINT, 143 SIGTERM). */
export class Interrupted extends Error {
  override readonly name = "Interrupted"
  readonly signal: NodeJS.Signals
  readonly code: number
  constructor(signal: NodeJS.Signals, where: string, why = signal as string) {
    super(`interrupted (${why})${where === "" ? "" : ` ${where}`}; nothing written`)
    this.signal = signal
    this.code = codeOf(signal)
  }
}

const codeOf = (signal: NodeJS.Signals): number => (signal === "SIGTERM" ? 143 : 130)

let received: NodeJS.Signals | null = null
let why = ""
let installed = false

/** The parent process when npm started qvsim (see the module comment), else undefined. */
const launcher = process.env["npm_command"] !== undefined ? process.ppid : undefined

/** True (and the run marked as interrupted) once the process npm started qvsim under has gone. */
const orphaned = (): boolean => {
  if (launcher === undefined || received !== null || process.ppid === launcher) return false
  received = "SIGTERM"
  why = "SIGTERM: the npm process that started qvsim has ended"
  return true
}

/** The first signal received since {@link install}, or null. */
export const signal = (): NodeJS.Signals | null => received

const onSignal = (sig: NodeJS.Signals): void => {
  if (received === null) {
    received = sig
    return
  }
  // A second signal: no more waiting for the run loop.
  removeLiveTemporaries()
  process.stderr.write(`qvsim: interrupted (${received}, then ${sig}); stopped at once, nothing written\n`)
  process.exit(codeOf(received))
}

/** Handles SIGINT and SIGTERM from now on (idempotent). */
export const install = (): void => {
  if (installed) return
  installed = true
  process.on("SIGINT", onSignal)
  process.on("SIGTERM", onSignal)
}

/**
 * Runs `f`, one synchronous computation with no file open, with the signals' default action (they
 * end the process at once: a busy computation cannot take a handler's flag), then checks.
 */
export const withDefaultAction = async <A>(f: () => A): Promise<A> => {
  check()
  if (installed) {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
  }
  try {
    return f()
  } finally {
    if (installed) {
      process.on("SIGINT", onSignal)
      process.on("SIGTERM", onSignal)
    }
  }
}

/** Throws {@link Interrupted} if a signal was received; `where` says how far the work got. */
export const check = (where: () => string = () => ""): void => {
  if (received !== null) throw new Interrupted(received, where(), why === "" ? received : why)
}

/**
 * Forgets a received signal, for in-process runs of the CLI one after another (the fuzz
 * campaign stops a slow case as SIGTERM would, then goes on with the next).
 */
export const reset = (): void => {
  received = null
  why = ""
}

/** `at 4.2s simulated of 98.9s` */
export const progress = (nowNs: number, untilNs: number): string => `at ${Time.show(nowNs)} simulated of ${Time.show(untilNs)}`

/** Wall time between yields to the event loop, ms (signals are handled there). */
export const YIELD_MS = 20

/**
 * The run control of the CLI: yield every {@link YIELD_MS} ms of wall time, stop on a signal.
 * `label` prefixes where the run was (e.g. the variant of an experiment).
 */
export const control = (label = ""): RunControl => {
  let last = performance.now()
  return {
    due: () => performance.now() - last >= YIELD_MS,
    pause: () => new Promise<void>((resolve) => setImmediate(() => {
      last = performance.now()
      orphaned()
      resolve()
    })),
    check: (sim, untilNs) => check(() => `${label}${progress(sim.now, untilNs)}`),
  }
}
