/**
 * Nanoseconds per record of the run fingerprint, apart from any model: records of a harness-like
 * mix (kinds of 4, 2 and 3 numeric fields, one subject; 5 values absorbed per record on average
 * with the time) and of a system-like mix (a symbol field, 40 subjects in 5 scopes), emitted with
 * `emitN` into a `Trace` and hashed by `PrintBatch.flush` (the hot path, WebAssembly), beside the
 * general path (`fingerprintRecords` over the same records as objects: replay, diff), and the
 * `.qvt` reader over a file of the system-like mix (decoding and checking the run's fingerprint,
 * which it computes through `RecordPrint`, the hot path). The emit's copy is included in the
 * hot-path rows; the model's own cost is not.
 *
 *   npx node packages/sim-core/bench/fingerprint.bench.ts
 */
import { Bench } from "tinybench"
import { QvtReader, QvtSink } from "../src/Qvt.ts"
import { fingerprintRecords, MemorySink, Trace, type TraceRecord } from "../src/Trace.ts"

const RECORDS = 300_000

/** Emits RECORDS records of the harness-like mix; returns the trace. */
const harnessMix = (sink?: MemorySink): Trace => {
  const clock = { now: 0 }
  const trace = new Trace(clock)
  if (sink !== undefined) trace.attach(sink)
  const dispatch = trace.kind("sched.dispatch", ["vcpu", "thread", "timerAt", "budget"])
  const release = trace.kind("job.release", ["thread", "job"])
  const complete = trace.kind("job.complete", ["thread", "job", "response"])
  const pcpu = trace.subject("pcpu0", 0)
  for (let i = 0; i < RECORDS; i++) {
    clock.now += 1000 + (i % 7) * 250_000
    const k = (i * 7) % 10
    if (k < 5) trace.emit4(dispatch, pcpu, i % 10, i % 10, k === 0 ? -1 : clock.now + 1_000_000, 2_000_000 - (i % 1000))
    else if (k < 8) trace.emit2(release, pcpu, i % 10, i >> 4)
    else trace.emit3(complete, pcpu, i % 10, i >> 4, 123_456 + (i % 999))
  }
  trace.fingerprint()
  return trace
}

/** Emits RECORDS records of the system-like mix; returns the trace. */
const systemMix = (sink?: MemorySink): Trace => {
  const clock = { now: 0 }
  const trace = new Trace(clock)
  if (sink !== undefined) trace.attach(sink)
  emitSystemMix(trace, clock)
  trace.fingerprint()
  return trace
}

/** Emits the system-like mix's records into `trace`, advancing `clock`. */
function emitSystemMix(trace: Trace, clock: { now: number }): void {
  const deliver = trace.kind("irq.deliver", ["vector", "$via", "core"])
  const exit = trace.kind("vm.exit", ["$reason", "rip"])
  const run = trace.kind("thread.run", ["thread", "until"])
  const subjects = Array.from({ length: 40 }, (_, i) => trace.subject(`sandbox${i % 5}/dev${i}`, i % 5))
  const via = [trace.symbol("ioapic"), trace.symbol("ipi"), trace.symbol("msi")]
  for (let i = 0; i < RECORDS; i++) {
    clock.now += 500 + (i % 11) * 1000
    const s = subjects[i % 40]!
    const k = i % 4
    if (k === 0) trace.emit3(deliver, s, 32 + (i % 200), via[i % 3]!, i % 4)
    else if (k === 1) trace.emit2(exit, s, via[(i >> 2) % 3]!, 0x1000 + i)
    else trace.emit2(run, s, i % 17, clock.now + 10_000)
  }
}

const a = new MemorySink()
const b = new MemorySink()
const harnessRecords: readonly TraceRecord[] = a.records
const systemRecords: readonly TraceRecord[] = b.records
{
  const ha = harnessMix(a)
  const sb = systemMix(b)
  // the two paths agree (else the figures compare different things)
  if (fingerprintRecords(harnessRecords) !== ha.fingerprint() || fingerprintRecords(systemRecords) !== sb.fingerprint()) throw new Error("hot and general paths differ")
}

/** The system-like mix as a .qvt file in memory. */
const qvtFile = ((): Uint8Array => {
  const parts: Uint8Array[] = []
  const clock = { now: 0 }
  const trace = new Trace(clock)
  const sink = new QvtSink({ write: (b) => { parts.push(b.slice()) }, close: () => {} }, { type: "header", qvsim: "bench", scenario: { name: "fingerprint.bench", hash: "-" }, seed: 0, options: {} })
  trace.attach(sink)
  emitSystemMix(trace, clock) // the same records as systemMix's (emitted again, into this trace)
  trace.close()
  if (trace.fingerprint() !== fingerprintRecords(systemRecords)) throw new Error("the .qvt file's run differs from the system mix")
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return out
})()
const readQvt = (): void => {
  const reader = new QvtReader((position, length) => qvtFile.subarray(position, Math.min(qvtFile.length, position + length)), qvtFile.length)
  let n = 0
  for (const _ of reader.records()) n++
  // the reader checked the records against the run's fingerprint (it throws otherwise)
  if (n !== RECORDS || reader.end?.runRecords !== RECORDS) throw new Error(`the .qvt reader read ${n} records`)
}

const bench = new Bench({ time: 2000, warmup: true, warmupTime: 500 })
bench
  .add("harness mix: emitN + PrintBatch (hot path)", () => { harnessMix() })
  .add("system mix: emitN + PrintBatch (hot path)", () => { systemMix() })
  .add("harness mix: fingerprintRecords (general path)", () => { fingerprintRecords(harnessRecords) })
  .add("system mix: fingerprintRecords (general path)", () => { fingerprintRecords(systemRecords) })
  .add("system mix: .qvt reader, records + fingerprint check", readQvt)
await bench.run()

const rows = bench.tasks.map((task) => {
  const r = task.result
  if (r.state !== "completed") throw new Error(`${task.name}: ${r.state}`)
  return { run: task.name, records: RECORDS, "ms (mean)": +r.latency.mean.toFixed(2), "ns per record": +((r.latency.mean * 1e6) / RECORDS).toFixed(1) }
})
console.log(`Run fingerprint, ${RECORDS.toLocaleString("en-US")} records per run`)
console.table(rows)
