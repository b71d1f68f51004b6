/**
 * The progress line on stderr for runs longer than a second: simulated time reached, events/s.
 * Wall-clock reads live here, at the edge, never in simulation code. Silent when stderr is not
 * wanted (`--json`).
 */
import { Time, type Simulation } from "@qvsim/sim-core"
import type { OnSlice } from "../Runner.ts"

export interface Progress {
  readonly onSlice: OnSlice
  /** Clears the line, if one was drawn. */
  readonly done: () => void
}

/** `prefix` starts the line (e.g. the variant of an experiment). */
export const make = (enabled: boolean, prefix = ""): Progress => {
  const start = performance.now()
  let drawn = false
  let lastDraw = 0
  const onSlice = (sim: Simulation.Simulation, untilNs: number): void => {
    if (!enabled) return
    const now = performance.now()
    if (now - start < 1000 || now - lastDraw < 250) return
    lastDraw = now
    drawn = true
    const rate = Math.round(sim.events / ((now - start) / 1000))
    const pct = untilNs > 0 ? ((100 * sim.now) / untilNs).toFixed(1) : "?"
    const line = `  ${prefix}${Time.show(sim.now)} of ${Time.show(untilNs)} (${pct}%), ${sim.events.toLocaleString("en-US")} events, ${rate.toLocaleString("en-US")} events/s`
    process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(78)}` : `${line}\n`)
  }
  const done = (): void => {
    if (drawn && process.stderr.isTTY) process.stderr.write(`\r${" ".repeat(78)}\r`)
  }
  return { onSlice, done }
}
