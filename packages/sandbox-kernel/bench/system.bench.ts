/**
 * Simulated seconds per wall second of a whole Quest-V system: four sandboxes, each with the p11
 * VCPU set (4 Main VCPUs (20 ms, 100 ms), 3 I/O VCPUs (1 ms, 10 ms)) running four periodic threads
 * (one per Main VCPU, periods 10/20/50/100 ms, one doing an I/O request per job), sandbox 1
 * broadcasting a 64-byte mailbox message to the three others every 50 ms (receivers polling at 100,
 * 800, 1000 ms), and an external host pinging sandbox 0 every 500 ms; 20 simulated seconds per run.
 * Measured without a trace sink (the run fingerprint is still computed over every record: it is
 * always on), with every record written to a JSONL file (one `onRecord` call per record) or to a
 * binary `.qvt` file (`Qvt.QvtSink`, which takes the fingerprint's batches of packed records), and
 * with the scheduling invariants checked at every decision (`kernel.checkInvariants`).
 *
 * The .qvt row should stay within 1.2x of the untraced row. One run is 50–80 ms, and the ratio of
 * two single runs moves by ±0.1 with the machine's load, so each traced variant is measured in
 * pairs with the untraced one, run back to back (u, q, u, q, …: both see the same load), after a
 * warm-up of every variant; a pair's ratio is traced / untraced, in CPU time (`process.cpuUsage`,
 * user + system of this process) and in wall time, and the ratio reported is the median over the
 * pairs, with the interquartile range of the pairs' ratios beside it. On a 2-core machine shared
 * with other work (load 2–4.5), eight runs of this bench (40–100 pairs) gave .qvt CPU ratios of
 * 1.08–1.14 (±2.5 %), where single pairs range 0.8–1.4; wall-time ratios, which also take other
 * processes' time slices, spread more (1.06–1.19).
 *
 *   npx node packages/sandbox-kernel/bench/system.bench.ts [pairs of the .qvt row, default 60]
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
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
/**
 * Each traced run writes a new file (opened with "wx": it must not exist), and the previous run's
 * file is removed between runs, outside the timed run. NOTE: reopening the same name with "w"
 * instead charged the truncation of the previous run's file to the traced run: on ext4 that is
 * 3–5 ms (its replace-by-truncate rule allocates the old file's blocks first), 5–8 % of a run,
 * a cost of deleting the last trace, not of writing this one.
 */
const removeTraces = (): void => {
  rmSync(join(dir, "trace.jsonl"), { force: true })
  rmSync(join(dir, "trace.qvt"), { force: true })
}

/** What one run leaves: events, records, file bytes (counts do not depend on the load). */
interface Counts { events: number; records: number; bytes: number }

const runNoSink = (): Counts => {
  const sys = new System.System(config()).run(SIM_S * 1e9)
  return { events: sys.sim.events, records: sys.sim.trace.count, bytes: 0 }
}

const runChecked = (): Counts => {
  const sys = new System.System({ ...config(), kernel: { checkInvariants: true } }).run(SIM_S * 1e9)
  return { events: sys.sim.events, records: sys.sim.trace.count, bytes: 0 }
}

const header = { type: "header", qvsim: "bench", scenario: { name: "system.bench", hash: "-" }, seed: 2026, options: {} } as const

const runJsonl = (): Counts => {
  const fd = openSync(join(dir, "trace.jsonl"), "wx")
  let bytes = 0
  const sys = new System.System(config())
  sys.sim.trace.attach(new Trace.JsonlSink({ write: (t) => { bytes += t.length; writeSync(fd, t) }, close: () => closeSync(fd) }, header))
  sys.run(SIM_S * 1e9)
  sys.sim.trace.close()
  return { events: sys.sim.events, records: sys.sim.trace.count, bytes }
}

const runQvt = (): Counts => {
  const fd = openSync(join(dir, "trace.qvt"), "wx")
  let bytes = 0
  const sys = new System.System(config())
  sys.sim.trace.attach(new Qvt.QvtSink({ write: (b) => { bytes += b.length; writeSync(fd, b) }, close: () => closeSync(fd) }, header))
  sys.run(SIM_S * 1e9)
  sys.sim.trace.close()
  return { events: sys.sim.events, records: sys.sim.trace.count, bytes }
}

/** One timed run: wall and CPU milliseconds. */
const timed = (run: () => Counts): { wallMs: number; cpuMs: number; counts: Counts } => {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const counts = run()
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, counts }
}

/** The q-quantile of `xs` (nearest rank). */
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))]!
}

const PAIRS = Number(process.argv[2] ?? 60)
if (!Number.isInteger(PAIRS) || PAIRS < 1) {
  console.error(`system.bench: the number of pairs must be a positive integer, not ${process.argv[2]}`)
  process.exit(2)
}

const variants = { "no trace sink": runNoSink, "binary .qvt trace file": runQvt, "JSONL trace file": runJsonl, "invariants checked": runChecked }
type Name = keyof typeof variants
/** Pairs per traced variant: the .qvt row's ratio is the one with a target; the others are 3–4x longer runs. */
const pairsOf: Record<Exclude<Name, "no trace sink">, number> = {
  "binary .qvt trace file": PAIRS,
  "JSONL trace file": Math.max(3, Math.ceil(PAIRS / 6)),
  "invariants checked": Math.max(3, Math.ceil(PAIRS / 6)),
}

// warm-up: every variant until its code is optimised (about 1.5 s in all)
for (const run of Object.values(variants)) for (let i = 0; i < 5; i++) { run(); removeTraces() }

interface Row { wall: number[]; cpu: number[]; wallRatio: number[]; cpuRatio: number[]; counts: Counts }
const newRow = (): Row => ({ wall: [], cpu: [], wallRatio: [], cpuRatio: [], counts: { events: 0, records: 0, bytes: 0 } })
const rows = new Map<Name, Row>([["no trace sink", newRow()]])
for (const [name, pairs] of Object.entries(pairsOf) as [Exclude<Name, "no trace sink">, number][]) {
  const row = newRow()
  rows.set(name, row)
  const base = rows.get("no trace sink")!
  for (let i = 0; i < pairs; i++) {
    const u = timed(runNoSink)
    const t = timed(variants[name])
    removeTraces()
    base.wall.push(u.wallMs); base.cpu.push(u.cpuMs); base.counts = u.counts
    row.wall.push(t.wallMs); row.cpu.push(t.cpuMs); row.counts = t.counts
    row.wallRatio.push(t.wallMs / u.wallMs)
    row.cpuRatio.push(t.cpuMs / u.cpuMs)
  }
}
rmSync(dir, { recursive: true, force: true })

const ratio = (xs: readonly number[]): string =>
  xs.length === 0 ? "1" : `${quantile(xs, 0.5).toFixed(3)} (${quantile(xs, 0.25).toFixed(3)}–${quantile(xs, 0.75).toFixed(3)})`
const table = [...rows].map(([name, v]) => {
  const wallMs = quantile(v.wall, 0.5)
  return {
    run: `4 sandboxes, ${name}`,
    runs: v.wall.length,
    "wall ms (median)": +wallMs.toFixed(1),
    "CPU ms (median)": +quantile(v.cpu, 0.5).toFixed(1),
    "simulated s / wall s": Math.round((SIM_S * 1000) / wallMs),
    "CPU ratio (IQR)": ratio(v.cpuRatio),
    "wall ratio (IQR)": ratio(v.wallRatio),
    "events / wall s": Math.round((v.counts.events * 1000) / wallMs),
    "trace records": v.counts.records,
    "trace file bytes": v.counts.bytes > 0 ? v.counts.bytes : "-",
  }
})
console.log(`${SIM_S} simulated s per run; each traced run paired with an untraced run just before it; ratios: median over the pairs (interquartile range)`)
console.table(table)
