/**
 * Shared helpers of the report tests: runs a scenario into sinks, and a checker of Chrome
 * trace-event documents (the structural rules the Perfetto UI's JSON importer relies on).
 */
import fc from "fast-check"
import * as Builtins from "../../src/Builtins.ts"
import * as Runner from "../../src/Runner.ts"
import { parseScenario, type Scenario, type ScenarioInput } from "../../src/Scenario.ts"
import * as Labels from "../../src/report/Labels.ts"
import { PerfettoSink, type PerfettoOptions } from "../../src/report/Perfetto.ts"

export interface TraceEvent {
  readonly ph: string
  readonly pid?: number
  readonly tid?: number
  readonly ts?: number
  readonly dur?: number
  readonly name?: string
  readonly cat?: string
  readonly s?: string
  readonly id?: string
  readonly bp?: string
  readonly bind_id?: string
  readonly flow_in?: boolean
  readonly flow_out?: boolean
  readonly args?: Record<string, unknown>
}

export interface TraceDocument {
  readonly traceEvents: TraceEvent[]
  readonly otherData?: Record<string, unknown>
}

export const builtin = (name: string): Scenario => parseScenario(Builtins.find(name)!, name)

/** A writer keeping the chunks it was given. */
export class ChunkWriter {
  readonly chunks: string[] = []
  closed = 0
  write(text: string): void {
    this.chunks.push(text)
  }
  close(): void {
    this.closed++
  }
  get text(): string {
    return this.chunks.join("")
  }
}

/** Runs `scenario` until `untilNs` with a Perfetto sink labelled from it; returns the writer. */
export const perfettoOf = (scenario: Scenario, untilNs: number, options: PerfettoOptions = {}): { writer: ChunkWriter; sink: PerfettoSink; summary: Runner.Summary } => {
  const writer = new ChunkWriter()
  let prepared: Runner.Prepared | undefined
  const sink = new PerfettoSink(writer, {
    labels: Labels.fromScenario(scenario),
    clock: { get now() { return prepared?.sim.now ?? 0 } },
    ...options,
  })
  prepared = Runner.prepare(scenario, { untilNs, sinks: [sink] })
  const summary = Runner.execute(prepared)
  return { writer, sink, summary }
}

/**
 * Structural problems of a trace-event document (empty = none): every `B` has its `E` on its
 * track and no `E` comes without one; `ts` never decreases along a track (`X` events aside,
 * which are dated by their start), nor along a counter; each pid and tid used is named by a
 * metadata event; every flow end has a start; times and durations are finite and ≥ 0. A flow
 * start (`s`) is dated by the slice it binds to (a send), so it is exempt from the order check
 * too: the start of a send's second read is written at that read.
 */
export const problems = (doc: TraceDocument): string[] => {
  const out: string[] = []
  const open = new Map<string, number>()
  const last = new Map<string, number>()
  const namedPids = new Set<number>()
  const namedTids = new Set<string>()
  const usedPids = new Set<number>()
  const usedTids = new Set<string>()
  const flowsOut = new Set<string>()
  doc.traceEvents.forEach((e, i) => {
    if (e.ph === "M") {
      if (e.name === "process_name") namedPids.add(e.pid!)
      if (e.name === "thread_name") namedTids.add(`${e.pid}/${e.tid}`)
      return
    }
    if (typeof e.ts !== "number" || !Number.isFinite(e.ts) || e.ts < 0) out.push(`event ${i}: bad ts ${e.ts}`)
    if (typeof e.pid !== "number") out.push(`event ${i}: no pid`)
    usedPids.add(e.pid!)
    const track = e.ph === "C" ? `C ${e.pid}/${e.name}` : `${e.pid}/${e.tid}`
    if (e.ph !== "C") {
      if (e.s !== "g" && e.s !== "p" && typeof e.tid !== "number") out.push(`event ${i}: no tid`)
      else usedTids.add(track)
    }
    if (e.ph !== "X" && e.ph !== "s") {
      const prev = last.get(track) ?? -Infinity
      if (e.ts! < prev) out.push(`event ${i} (${e.ph} ${e.name ?? ""}): ts ${e.ts} before ${prev} on track ${track}`)
      last.set(track, e.ts!)
    }
    if (e.ph === "X" && !(typeof e.dur === "number" && e.dur >= 0)) {
      out.push(`event ${i}: X without a duration ≥ 0`)
    }
    if (e.ph === "B") open.set(track, (open.get(track) ?? 0) + 1)
    if (e.ph === "E") {
      const n = open.get(track) ?? 0
      if (n === 0) out.push(`event ${i}: E without B on track ${track}`)
      else open.set(track, n - 1)
    }
    if (e.flow_out === true) flowsOut.add(e.bind_id!)
    if (e.flow_in === true && !flowsOut.has(e.bind_id!)) out.push(`event ${i}: flow end ${e.bind_id} without a start`)
  })
  for (const [track, n] of open) if (n > 0) out.push(`track ${track}: ${n} B without E`)
  for (const pid of usedPids) if (!namedPids.has(pid)) out.push(`pid ${pid} has no process_name`)
  for (const tid of usedTids) if (!namedTids.has(tid)) out.push(`track ${tid} has no thread_name`)
  return out
}

const ms = (n: number): string => `${n}ms`

/** Scenario inputs with 1–2 PCPUs of 1–3 Main VCPUs (and maybe an I/O VCPU), a thread per Main VCPU. */
export const pcpuScenario: fc.Arbitrary<ScenarioInput> = fc.record({
  pcpus: fc.array(
    fc.record({
      mains: fc.array(fc.record({ c: fc.integer({ min: 1, max: 4 }), k: fc.integer({ min: 2, max: 8 }), sleep: fc.integer({ min: 0, max: 3 }), io: fc.boolean() }), { minLength: 1, maxLength: 3 }),
      withIo: fc.boolean(),
      policy: fc.constantFrom("quest" as const, "posixNaive" as const),
    }),
    { minLength: 1, maxLength: 2 },
  ),
  seed: fc.integer({ min: 0, max: 1000 }),
}).map(({ pcpus, seed }) => ({
  name: "generated",
  seed,
  duration: "150ms",
  pcpus: pcpus.map((p, i) => ({
    name: `p${i}`,
    options: { ssPolicy: p.policy },
    vcpus: [
      ...p.mains.map((m, j) => ({ name: `v${j}`, budget: ms(m.c), period: ms(m.c * m.k) })),
      ...(p.withIo ? [{ name: "io", kind: "io" as const, budget: "1ms", period: "10ms" }] : []),
    ],
    threads: p.mains.map((m, j) => ({
      name: `th${j}`,
      vcpu: `v${j}`,
      arrivals: { kind: "sporadic" as const, minInterArrival: ms(m.c * m.k), maxExtra: "3ms" },
      job: [
        { compute: [ms(1), ms(m.c)] as [string, string] },
        ...(m.sleep > 0 ? [{ sleep: ms(m.sleep) }] : []),
        ...(p.withIo && m.io ? [{ io: { vcpu: "io", work: "200us", delay: "300us" } }] : []),
        { compute: "500us" },
      ],
    })),
  })),
}))
