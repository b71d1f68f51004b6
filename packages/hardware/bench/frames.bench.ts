/**
 * Frames per wall second through the whole device path: an external host floods ICMP echo
 * requests → wire → NIC (DMA into the RX ring) → I/O APIC broadcast → local APICs → every core
 * in the mask → a minimal echo on the master core (ack, TX clean, walk the ring, reply) → TX at
 * wire speed → wire → host. Tracing on as in every run (fingerprint always computed, no sink).
 * Compared with a sim-core loop doing nothing but rescheduling itself and emitting one record per
 * event (the floor any model pays per event). The directed path once more through DMA remapping
 * (VT-d: the buffers mapped by core 0's monitor, IOTLB 32 entries, 600 cycles a miss): what
 * translating every DMA costs in wall time (the extra events are the stalled RX completions).
 *
 *   npx node packages/hardware/bench/frames.bench.ts
 */
import { Bench } from "tinybench"
import { Simulation } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { PingHost } from "../src/PingHost.ts"
import { EchoResponder } from "../src/EchoResponder.ts"

const PINGS = 20_000

interface Run {
  readonly sim: Simulation.Simulation
  readonly host: PingHost
  readonly echo: EchoResponder
  readonly machine: Machine
}

const setup = (sharers: number, vtd = false): Run => {
  const sim = new Simulation.Simulation(1)
  const machine = new Machine(sim, { boot: { nicSharers: sharers, mode: vtd ? "none" : "postBoot" }, iommu: { enabled: vtd } })
  if (vtd) {
    machine.mapNicBuffers(0)
    machine.boot()
  }
  const echo = new EchoResponder(machine.nic, machine.cores.length, { vector: machine.config.boot.nicVector })
  machine.setListener(echo)
  const host = new PingHost(sim, machine.wire, { mode: "flood", count: PINGS })
  host.start()
  return { sim, host, echo, machine }
}

const run = (r: Run): void => {
  r.sim.run()
  if (r.host.received !== PINGS) throw new Error(`only ${r.host.received} of ${PINGS} replies`)
}

/** The floor: one self-rescheduling handler emitting one trace record per event. */
const floor = (): Simulation.Simulation => {
  const sim = new Simulation.Simulation(1)
  const kind = sim.trace.kind("tick", ["n"])
  const subject = sim.trace.subject("src")
  let n = 0
  const h = sim.register("tick", () => {
    sim.trace.emit(kind, subject, n++)
    if (n < PINGS * 5) sim.after(1_000, Simulation.EventClass.Device, h)
  })
  sim.at(0, Simulation.EventClass.Device, h)
  return sim
}

// Counts per run, measured once (the simulation is deterministic).
const shape = new Map<string, { events: number; deliveries: number }>()
for (const [key, sharers, vtd] of [["4", 4, false], ["1", 1, false], ["vtd", 1, true]] as const) {
  const r = setup(sharers, vtd)
  run(r)
  shape.set(key, { events: r.sim.events, deliveries: r.machine.apicBus.delivered })
}

export const rows: Array<Record<string, string | number>> = []
const bench = new Bench({ time: 2000, warmup: true })
let current: Run
let floorSim: Simulation.Simulation
bench
  .add("echo, broadcast to 4 cores", () => run(current), { beforeEach: () => { current = setup(4) } })
  .add("echo, directed to 1 core", () => run(current), { beforeEach: () => { current = setup(1) } })
  .add("echo, directed to 1 core, through VT-d", () => run(current), { beforeEach: () => { current = setup(1, true) } })
  .add("floor: sim-core loop + 1 record/event", () => { floorSim.run() }, { beforeEach: () => { floorSim = floor() } })
await bench.run()
for (const task of bench.tasks) {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  const ms = r.latency.mean
  if (task.name.startsWith("floor")) {
    const events = PINGS * 5
    rows.push({ path: task.name, "events/run": events, "ms/run": +ms.toFixed(1), "events/s": Math.round((events / ms) * 1000), "ns/event": +((ms * 1e6) / events).toFixed(0) })
    continue
  }
  const s = shape.get(task.name.includes("4 cores") ? "4" : task.name.includes("VT-d") ? "vtd" : "1")!
  rows.push({
    path: task.name,
    "round trips/run": PINGS,
    "ms/run": +ms.toFixed(1),
    "round trips/s": Math.round((PINGS / ms) * 1000),
    "NIC frames/s (rx+tx)": Math.round(((2 * PINGS) / ms) * 1000),
    "irq deliveries/s": Math.round((s.deliveries / ms) * 1000),
    "events/run": s.events,
    "events/s": Math.round((s.events / ms) * 1000),
    "ns/event": +((ms * 1e6) / s.events).toFixed(0),
  })
}

if (import.meta.main) {
  console.log(`Device path: ${PINGS.toLocaleString("en-US")} ICMP echo round trips per run (flood), trace fingerprint on`)
  console.table(rows)
}
