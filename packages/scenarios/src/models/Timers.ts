/**
 * The `timers` model: periodic and Poisson event sources with seeded jitter. The smallest model
 * that exercises the whole path (random streams, queue, trace, fingerprint, replay).
 *
 * Each source draws from its own stream `timers/<name>`, so adding a source never changes the
 * firings of another. Records: `timer.fire {n, interval}` with the source as subject.
 */
import { Simulation } from "@qvsim/sim-core"
import type { Source } from "../Scenario.ts"

export interface SourceMetrics {
  readonly fired: number
  readonly meanIntervalNs: number
  readonly minIntervalNs: number
  readonly maxIntervalNs: number
}

export const install = (sim: Simulation.Simulation, sources: ReadonlyArray<Source>): (() => Record<string, SourceMetrics>) => {
  const fire = sim.trace.kind("timer.fire", ["n", "interval"])
  const n = sources.map(() => 0)
  const last = sources.map(() => -1)
  const sum = sources.map(() => 0)
  const min = sources.map(() => Infinity)
  const max = sources.map(() => 0)
  const rngs = sources.map((s) => sim.rng(`timers/${s.name}`))
  const subjects = sources.map((s) => sim.trace.subject(`timer/${s.name}`))

  const nextTime = (i: number, k: number): number => {
    const src = sources[i]!
    if (src.kind === "periodic") return src.offset + k * src.period + (src.jitter > 0 ? rngs[i]!.int(0, src.jitter) : 0)
    return sim.now + rngs[i]!.exponentialNs(src.mean)
  }

  const handler = sim.register("timer.fire", (i) => {
    const k = n[i]!++
    const interval = last[i]! < 0 ? 0 : sim.now - last[i]!
    if (last[i]! >= 0) {
      sum[i]! += interval
      if (interval < min[i]!) min[i] = interval
      if (interval > max[i]!) max[i] = interval
    }
    last[i] = sim.now
    sim.trace.emit(fire, subjects[i]!, k, interval)
    // A jittered periodic firing may fall before now if jitter > period: never schedule the past.
    sim.at(Math.max(sim.now, nextTime(i, k + 1)), Simulation.EventClass.Timer, handler, i)
  })
  sources.forEach((_, i) => sim.at(nextTime(i, 0), Simulation.EventClass.Timer, handler, i))

  return () =>
    Object.fromEntries(
      sources.map((s, i) => [s.name, {
        fired: n[i]!,
        meanIntervalNs: n[i]! > 1 ? Math.round(sum[i]! / (n[i]! - 1)) : 0,
        minIntervalNs: n[i]! > 1 ? min[i]! : 0,
        maxIntervalNs: max[i]!,
      }]),
    )
}
