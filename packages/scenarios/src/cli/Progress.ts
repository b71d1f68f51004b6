/**
 * The progress line on stderr for runs longer than a second: simulated time reached against the
 * run's end (`12.3 s of 51 s simulated, 24%`), events/s and an ETA, each rounded to what a reader
 * can use (three significant digits; whole percent; an ETA in s, min or h). Wall-clock reads live
 * here, at the edge, never in simulation code.
 *
 * When it draws (`--progress`): `never`; `auto` (default) on a terminal only, redrawn in place at
 * most every 250 ms; `always` also off a terminal (a log, CI), then one line at most every 5 s.
 * `--json` silences `auto`, not `always` (the line goes to stderr, the JSON to stdout).
 *
 * Cost: the Runner calls `onSlice` once per slice of events (thousands of events), never per
 * event; with the line off it returns at once, and it reads the wall clock once per call.
 *
 * @module
 */
import type { Simulation } from "@qvsim/sim-core"
import type { OnSlice } from "../Runner.ts"

export type Mode = "never" | "auto" | "always"
export const MODES: ReadonlyArray<Mode> = ["never", "auto", "always"]

export interface Progress {
  readonly onSlice: OnSlice
  /** Clears the line on a terminal, if one was drawn. */
  readonly done: () => void
}

export interface ProgressOptions {
  readonly mode: Mode
  /** `--json`: `auto` draws nothing. */
  readonly json?: boolean
  /** Starts the line (e.g. `faulty (2 of 3): `). */
  readonly prefix?: string
  /** Whether stderr is a terminal (default: `process.stderr.isTTY`). */
  readonly tty?: boolean
  /** Where lines go (default: stderr). */
  readonly write?: (text: string) => void
  /** The wall clock in ms (default: `performance.now`). */
  readonly now?: () => number
}

/** Redraws on a terminal at most this often, ms. */
export const TTY_INTERVAL_MS = 250
/** Lines off a terminal at most this often, ms. */
export const LOG_INTERVAL_MS = 5000
/** No line before the run has taken this long, ms. */
export const QUIET_START_MS = 1000

/** `x` with three significant digits, no trailing zeros (`12.3`, `0.0456`, `1230`). */
export const sig3 = (x: number): string => {
  if (!Number.isFinite(x)) return String(x)
  if (x === 0) return "0"
  const digits = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))))
  return Number(x.toFixed(Math.min(digits, 9))).toString()
}

/** Simulated time, three significant digits: `840 ns`, `12.3 µs`, `4.5 ms`, `51 s`. */
export const simTime = (ns: number): string =>
  ns >= 1e9 ? `${sig3(ns / 1e9)} s` : ns >= 1e6 ? `${sig3(ns / 1e6)} ms` : ns >= 1e3 ? `${sig3(ns / 1e3)} µs` : `${Math.round(ns)} ns`

/** A rate with an SI prefix and three significant digits: `845 events/s`, `1.23 M events/s`. */
export const rate = (perS: number): string =>
  `${perS >= 1e9 ? `${sig3(perS / 1e9)} G` : perS >= 1e6 ? `${sig3(perS / 1e6)} M` : perS >= 1e3 ? `${sig3(perS / 1e3)} k` : `${Math.round(perS)}`} events/s`

/** Remaining wall time: `8 s`, `3 min`, `1.5 h`. */
export const eta = (ms: number): string => {
  const s = ms / 1000
  if (!Number.isFinite(s)) return "?"
  if (s < 90) return `${Math.max(1, Math.round(s))} s`
  if (s < 90 * 60) return `${Math.round(s / 60)} min`
  return `${sig3(s / 3600)} h`
}

/** The line's text (without the prefix) at a point of the run. */
export const lineText = (simNowNs: number, endNs: number, events: number, elapsedMs: number): string => {
  const parts = [endNs > 0 && Number.isFinite(endNs) ? `${simTime(simNowNs)} of ${simTime(endNs)} simulated (${Math.floor((100 * simNowNs) / endNs)}%)` : `${simTime(simNowNs)} simulated`]
  const perS = events / (elapsedMs / 1000)
  parts.push(rate(perS))
  if (endNs > 0 && Number.isFinite(endNs) && simNowNs > 0) parts.push(`ETA ${eta(((endNs - simNowNs) / simNowNs) * elapsedMs)}`)
  return parts.join(", ")
}

/** A progress line as `options` say; see the module header. */
export const make = (options: ProgressOptions): Progress => {
  const tty = options.tty ?? process.stderr.isTTY === true
  const enabled = options.mode === "always" || (options.mode === "auto" && tty && options.json !== true)
  const write = options.write ?? ((text: string) => void process.stderr.write(text))
  const clock = options.now ?? (() => performance.now())
  const prefix = options.prefix ?? ""
  const interval = tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS
  const start = clock()
  let drawn = false
  let lastDraw = -Infinity
  const onSlice = (sim: Simulation.Simulation, untilNs: number): void => {
    if (!enabled) return
    const now = clock()
    if (now - start < QUIET_START_MS || now - lastDraw < interval) return
    lastDraw = now
    drawn = true
    const line = `  ${prefix}${lineText(sim.now, untilNs, sim.events, now - start)}`
    write(tty ? `\r${line.padEnd(78)}` : `${line}\n`)
  }
  const done = (): void => {
    if (drawn && tty) write(`\r${" ".repeat(78)}\r`)
  }
  return { onSlice, done }
}
