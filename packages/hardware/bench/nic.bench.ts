/**
 * `npm run bench -- nic`: the device models' hot path end to end, without a kernel — four ping
 * hosts flooding the machine (host → wire → NIC RX ring → I/O APIC broadcast → local APICs →
 * cores → the test responder → NIC TX ring → wire → host), 20,000 requests each. Events per wall
 * second and per CPU second (the machine is shared: the load average is printed beside them).
 *
 *   npx node packages/hardware/bench/nic.bench.ts
 */
import { loadavg } from "node:os"
import { Bench } from "tinybench"
import { Simulation } from "@qvsim/sim-core"
import { Machine } from "../src/Machine.ts"
import { PingHost } from "../src/PingHost.ts"
import { EchoResponder } from "../src/EchoResponder.ts"
import * as Frame from "../src/Frame.ts"

const REQUESTS = 20_000
const HOSTS = 4

const flood = (): number => {
  const sim = new Simulation.Simulation(11)
  const machine = new Machine(sim, {})
  const ips = Array.from({ length: HOSTS }, (_, s) => Frame.sandboxIp(s))
  machine.setListener(new EchoResponder(machine.nic, machine.cores.length, { vector: machine.config.boot.nicVector, ips }))
  for (let h = 0; h < HOSTS; h++) {
    new PingHost(sim, machine.wire, { name: `p${h}`, mac: 0x0200_0000_0100 + h, ip: `192.168.2.${100 + h}`, targetIp: `192.168.2.${11 + h}`, mode: "flood", count: REQUESTS }).start()
  }
  sim.run()
  return sim.events
}

let events = 0
let cpuUs = 0
let runs = 0
const bench = new Bench({ time: Number(process.env["BENCH_MS"] ?? 3_000), warmupTime: 500 })
bench.add(`${HOSTS} flood pingers × ${REQUESTS.toLocaleString("en-US")} requests, echo responder`, () => {
  const c = process.cpuUsage()
  events = flood()
  const d = process.cpuUsage(c)
  cpuUs += d.user + d.system
  runs++
})
console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
await bench.run()
console.table(bench.tasks.map((t) => {
  const r = t.result
  if (r.state !== "completed") throw new Error(`${t.name}: ${r.state}`)
  const n = r.latency.samplesCount
  return { task: t.name, events, "wall ms (mean)": r.latency.mean.toFixed(1), "wall ms (min)": r.latency.min.toFixed(1), "events / wall s": Math.round(events / (r.latency.mean / 1000)), "events / CPU s": Math.round((events * runs) / (cpuUs / 1e6)), samples: n }
}))
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`)
