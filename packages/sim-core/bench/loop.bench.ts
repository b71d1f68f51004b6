/**
 * Events per second of the full Simulation loop: a no-op handler over a pre-filled queue, a
 * self-rescheduling handler (one push per event, 1,000 pending), and the same emitting one trace
 * record per event with no sink (fingerprint only) and with the memory sink.
 *
 *   npx node packages/sim-core/bench/loop.bench.ts
 */
import { Bench } from "tinybench"
import { EventClass, Simulation } from "../src/Simulation.ts"
import { MemorySink } from "../src/Trace.ts"

const EVENTS = 200_000

const prefilled = (): Simulation => {
  const sim = new Simulation(1)
  const noop = sim.register("noop", () => {})
  for (let i = 0; i < EVENTS; i++) sim.at(i * 7 + (i % 13), EventClass.Workload, noop, i)
  return sim
}

const hold = (record: "none" | "fingerprint" | "memory"): Simulation => {
  const sim = new Simulation(1)
  const rng = sim.rng("bench")
  const kind = sim.trace.kind("tick", ["n"])
  const subject = sim.trace.subject("src")
  if (record === "memory") sim.trace.attach(new MemorySink())
  let n = 0
  const h = sim.register("hold", (a0) => {
    if (record !== "none") sim.trace.emit(kind, subject, n++)
    sim.after(1 + (rng.nextU32() & 0xfffff), EventClass.Timer, h, a0)
  })
  for (let i = 0; i < 1000; i++) sim.at(i, EventClass.Timer, h, i)
  return sim
}

export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 1500, warmup: true })
let sim: Simulation
bench
  .add("no-op handler, pre-filled queue", () => { sim.run() }, { beforeEach: () => { sim = prefilled() } })
  .add("self-rescheduling handler, no trace", () => { sim.run({ maxEvents: EVENTS }) }, { beforeEach: () => { sim = hold("none") } })
  .add("... + 1 record/event, no sink (fingerprint)", () => { sim.run({ maxEvents: EVENTS }) }, { beforeEach: () => { sim = hold("fingerprint") } })
  .add("... + 1 record/event, memory sink", () => { sim.run({ maxEvents: EVENTS }) }, { beforeEach: () => { sim = hold("memory") } })
await bench.run()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  rows.push({ loop: task.name, "M events/s": +((EVENTS / r.latency.mean) * 1000 / 1e6).toFixed(2), "ns/event": +((r.latency.mean * 1e6) / EVENTS).toFixed(1) })
}

if (import.meta.main) {
  console.log(`Simulation loop: events per second (${EVENTS.toLocaleString("en-US")} events per sample)`)
  console.table(rows)
}
