/**
 * Simulated seconds per wall second of a whole Quest-V system: four sandboxes, each with the p11
 * VCPU set (4 Main VCPUs (20 ms, 100 ms), 3 I/O VCPUs (1 ms, 10 ms)) running four periodic threads
 * (one per Main VCPU, periods 10/20/50/100 ms, one doing an I/O request per job), sandbox 1
 * broadcasting a 64-byte mailbox message to the three others every 50 ms (receivers polling at 100,
 * 800, 1000 ms), and an external host pinging sandbox 0 every 500 ms. Measured without a trace
 * sink (the run fingerprint is still computed over every record: it is always on), with every
 * record written to a JSONL file (one `onRecord` call per record) or to a binary `.qvt` file
 * (`Qvt.QvtSink`, which takes the fingerprint's batches of packed records), and with the
 * scheduling invariants checked at every decision (`kernel.checkInvariants`). The .qvt row should
 * stay within 1.2x of the untraced row.
 *
 *   npx node packages/sandbox-kernel/bench/system.bench.ts
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Bench } from "tinybench"
import { Qvt, Trace } from "@qvsim/sim-core"
import { Program, System } from "../src/index.ts"
import type { Config } from "../src/index.ts"

const MS = 1_000_000
const SIM_S = 20

const periodic = (computeNs: number, io: boolean): Program.Program =>
  Program.periodic(function* () {
    yield Program.compute(computeNs)
    if (io) yield Program.io({ device: "ata", workNs: 200_000, delayNs: 1 * MS })
  })

const threadsOf = (extra: Config.SystemInput["sandboxes"] extends (infer S)[] | undefined ? S extends { threads?: infer T } ? T : never : never) => [
  { name: "p10", vcpu: 0, program: periodic(1 * MS, false), periodic: { periodNs: 10 * MS } },
  { name: "p20", vcpu: 1, program: periodic(3 * MS, true), periodic: { periodNs: 20 * MS } },
  { name: "p50", vcpu: 2, program: periodic(5 * MS, false), periodic: { periodNs: 50 * MS } },
  { name: "p100", vcpu: 3, program: periodic(10 * MS, false), periodic: { periodNs: 100 * MS } },
  ...(extra ?? []),
]

const broadcast = Program.periodic(function* () {
  yield Program.send("1to0")
  yield Program.send("1to2")
  yield Program.send("1to3")
})
const poller = (name: string) => Program.periodic(function* () {
  yield Program.poll(name)
})

/** The benchmark's configuration (threads on Main VCPUs; the broadcaster and receivers share VCPU 0). */
export const config = (): Config.SystemInput => ({
  seed: 2026,
  channels: [
    { kind: "mailbox", name: "1to0", between: [1, 0] },
    { kind: "mailbox", name: "1to2", between: [1, 2] },
    { kind: "mailbox", name: "1to3", between: [1, 3] },
  ],
  sandboxes: [
    { threads: threadsOf([{ name: "rx", vcpu: 0, program: poller("1to0"), periodic: { periodNs: 100 * MS } }]) },
    { threads: threadsOf([{ name: "tx", vcpu: 0, program: broadcast, periodic: { periodNs: 50 * MS } }]) },
    { threads: threadsOf([{ name: "rx", vcpu: 0, program: poller("1to2"), periodic: { periodNs: 800 * MS } }]) },
    { threads: threadsOf([{ name: "rx", vcpu: 0, program: poller("1to3"), periodic: { periodNs: 1000 * MS } }]) },
  ],
  hosts: [{ kind: "ping", target: 0, intervalNs: 500 * MS }],
})

const dir = mkdtempSync(join(tmpdir(), "qvsim-bench-"))
const stats = { noSink: { events: 0, records: 0 }, jsonl: { events: 0, records: 0, bytes: 0 }, qvt: { events: 0, records: 0, bytes: 0 }, checked: { events: 0, records: 0 } }

const runNoSink = (): void => {
  const sys = new System.System(config()).run(SIM_S * 1e9)
  stats.noSink = { events: sys.sim.events, records: sys.sim.trace.count }
}

const runChecked = (): void => {
  const sys = new System.System({ ...config(), kernel: { checkInvariants: true } }).run(SIM_S * 1e9)
  stats.checked = { events: sys.sim.events, records: sys.sim.trace.count }
}

const runJsonl = (): void => {
  const file = join(dir, "trace.jsonl")
  const fd = openSync(file, "w")
  let bytes = 0
  const sys = new System.System(config())
  const sink = new Trace.JsonlSink({ write: (t) => { bytes += t.length; writeSync(fd, t) }, close: () => closeSync(fd) }, {
    type: "header", qvsim: "bench", scenario: { name: "system.bench", hash: "-" }, seed: 2026, options: {},
  })
  sys.sim.trace.attach(sink)
  sys.run(SIM_S * 1e9)
  sys.sim.trace.close()
  stats.jsonl = { events: sys.sim.events, records: sys.sim.trace.count, bytes }
}

const runQvt = (): void => {
  const file = join(dir, "trace.qvt")
  const fd = openSync(file, "w")
  let bytes = 0
  const sys = new System.System(config())
  const sink = new Qvt.QvtSink({ write: (b) => { bytes += b.length; writeSync(fd, b) }, close: () => closeSync(fd) }, {
    type: "header", qvsim: "bench", scenario: { name: "system.bench", hash: "-" }, seed: 2026, options: {},
  })
  sys.sim.trace.attach(sink)
  sys.run(SIM_S * 1e9)
  sys.sim.trace.close()
  stats.qvt = { events: sys.sim.events, records: sys.sim.trace.count, bytes }
}

const bench = new Bench({ time: 3000, warmup: true, warmupTime: 1000, iterations: 3 })
bench.add("4 sandboxes, no trace sink", runNoSink)
bench.add("4 sandboxes, JSONL trace file", runJsonl)
bench.add("4 sandboxes, binary .qvt trace file", runQvt)
bench.add("4 sandboxes, invariants checked", runChecked)
await bench.run()
rmSync(dir, { recursive: true, force: true })

const rows = bench.tasks.map((task) => {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  const ms = r.latency.mean
  const s = task.name.includes("JSONL") ? stats.jsonl : task.name.includes(".qvt") ? stats.qvt : task.name.includes("checked") ? stats.checked : stats.noSink
  return {
    run: task.name,
    "simulated s": SIM_S,
    "wall ms (mean)": Math.round(ms),
    "simulated s / wall s": Math.round((SIM_S * 1000) / ms),
    "events / wall s": Math.round((s.events * 1000) / ms),
    "trace records": s.records,
    "trace file bytes": "bytes" in s ? s.bytes : "-",
  }
})
console.table(rows)
