/**
 * Every built-in's Perfetto trace (the three scenarios and every variant of every experiment, at
 * a small scale) is a valid trace-event document by the validator written from the format's
 * specification (`./traceEventFormat.ts`), and loads in an independent parser, the DevTools
 * trace engine (`@paulirish/trace_engine`, the Performance panel's model), without error. In
 * `isolation/faulty` at full scale every flow the engine finds joins a receipt to the send it
 * read (the latest send of its channel and sequence number, which wraps at 255), and
 * `--perfetto-exclude` leaves a category out. The validator is shown to catch broken documents.
 */
import { Trace } from "@qvsim/sim-core"
import { describe, expect, it } from "vitest"
import * as Experiments from "../../src/Experiments.ts"
import * as Registry from "../../src/paper/registry.ts"
import * as Labels from "../../src/report/Labels.ts"
import { CATEGORIES, PerfettoSink, type PerfettoOptions } from "../../src/report/Perfetto.ts"
import * as Runner from "../../src/Runner.ts"
import type { Scenario } from "../../src/Scenario.ts"
import { builtin, ChunkWriter } from "./support.ts"
import { validate } from "./traceEventFormat.ts"

type Event = Record<string, unknown> & { ph: string; ts?: number; name?: string; cat?: string; args?: Record<string, unknown> }
interface Doc { traceEvents: Event[] }

/** A run's Perfetto document, labelled as `qvsim run --perfetto` labels it. */
const traceOf = (scenario: Scenario, untilNs: number, seed = scenario.seed, options: PerfettoOptions = {}): Doc => {
  const writer = new ChunkWriter()
  let prepared: Runner.Prepared | undefined
  const sink = new PerfettoSink(writer, {
    labels: scenario.system !== undefined ? Labels.fromSystem(() => prepared?.system) : Labels.fromScenario(scenario),
    clock: { get now() { return prepared?.sim.now ?? 0 } },
    ...options,
  })
  prepared = Runner.prepare(scenario, { seed, untilNs, sinks: [sink] })
  Runner.execute(prepared)
  sink.close()
  return JSON.parse(writer.text) as Doc
}

interface Engine { analyzeEvents: (events: unknown[]) => Promise<{ parsedTrace: { data?: { Flows: { flows: Event[][] } }; Flows?: { flows: Event[][] } } }> }
let engine: Engine | undefined
/** The DevTools trace engine's parse (its module polyfills what it needs of the DOM). */
const parseWithEngine = async (doc: Doc): Promise<Event[][]> => {
  // A computed specifier: the package ships JavaScript without declarations.
  const spec = ["@paulirish/trace_engine", "analyze-trace.mjs"].join("/")
  engine ??= (await import(spec)) as Engine
  const { parsedTrace } = await engine.analyzeEvents(doc.traceEvents)
  return (parsedTrace.data ?? (parsedTrace as { Flows: { flows: Event[][] } })).Flows.flows
}

/**
 * Problems of the flows the engine found (empty = none): each joins a send to a read of the same
 * channel and sequence number in another process (a channel joins two sandboxes), the send being
 * the latest of that key from another process before the read (in file order: sends and reads are
 * written as they happen); and every read of something sent has its flow.
 */
const flowProblems = (doc: Doc, flows: Event[][]): string[] => {
  const out: string[] = []
  const key = (e: Event) => `${String(e.args!["channel"])}/${String(e.args!["seq"])}`
  const sendsByKey = new Map<string, Event[]>()
  const at = new Map(doc.traceEvents.map((e, i) => [e, i]))
  for (const e of doc.traceEvents) if (e.ph === "X" && String(e.name).startsWith("send ")) (sendsByKey.get(key(e)) ?? sendsByKey.set(key(e), []).get(key(e))!).push(e)
  /** The send a read should bind to: the latest of its key from another process before it. */
  const expected = (read: Event): Event | undefined => {
    let best: Event | undefined
    for (const s of sendsByKey.get(key(read)) ?? []) if (s["pid"] !== read["pid"] && at.get(s)! < at.get(read)!) best = s
    return best
  }
  const bound = new Set<Event>()
  for (const flow of flows) {
    if (flow.length !== 2) { out.push(`a flow of ${flow.length} events`); continue }
    const [send, read] = flow as [Event, Event]
    if (!/^send /.test(String(send.name)) || !/^seen /.test(String(read.name))) { out.push(`flow ${send.name} → ${read.name}`); continue }
    if (expected(read) !== send) out.push(`${read.name} at ${read.ts} (pid ${String(read["pid"])}) bound to the send at ${send.ts} (pid ${String(send["pid"])}), not ${expected(read)?.ts}`)
    bound.add(read)
  }
  const reads = doc.traceEvents.filter((e) => e.ph === "X" && String(e.name).startsWith("seen ") && expected(e) !== undefined)
  const unbound = reads.filter((e) => !bound.has(e))
  if (unbound.length > 0) out.push(`${unbound.length} reads of a sent message without a flow (first: ${unbound[0]!.name} at ${unbound[0]!.ts})`)
  return out.slice(0, 10)
}

const SCALE = 0.05
/** Simulated time each variant runs at most in this test. */
const CAP_NS = 1_000_000_000

describe("Perfetto traces of every built-in", { timeout: 240_000 }, () => {
  const runs: Array<{ name: string; make: () => Doc }> = [
    ...["timers", "rm-periodic", "ss-amplification"].map((n) => ({ name: n, make: () => traceOf(builtin(n), 1_000_000_000) })),
    ...Registry.experiments.flatMap((e) => e.variants.map((v) => ({
      name: `${e.name}/${v.name}`,
      make: () => {
        const { scenario } = Experiments.parseVariant(e, v, e.seed, SCALE)
        return traceOf(scenario, Math.min(v.untilNs(SCALE), CAP_NS), e.seed)
      },
    }))),
  ]

  it.each(runs)("$name: valid by the format's specification and loads in the DevTools trace engine", async ({ make }) => {
    const doc = make()
    expect(validate(doc)).toEqual([])
    const cats = new Set(doc.traceEvents.filter((e) => e.ph !== "M").map((e) => e.cat))
    for (const c of cats) expect([...CATEGORIES]).toContain(c)
    const flows = await parseWithEngine(doc)
    // Every flow end the file has is a flow the engine binds (two slices: the send and the receipt),
    // from the send the read read.
    expect(flows.length).toBe(doc.traceEvents.filter((e) => e.ph === "f").length)
    expect(flowProblems(doc, flows)).toEqual([])
  })
})

describe("isolation/faulty at full scale", { timeout: 240_000 }, () => {
  const e = Registry.find("isolation")!
  const v = e.variants.find((x) => x.name === "faulty")!
  const { scenario } = Experiments.parseVariant(e, v, e.seed, 1)

  it("every flow joins a receipt to the send it read; track names match the cores; irq left out on request", async () => {
    const doc = traceOf(scenario, v.untilNs(1), e.seed, { exclude: ["irq"] })
    expect(validate(doc)).toEqual([])
    expect(doc.traceEvents.some((x) => x.cat === "irq")).toBe(false)
    const flows = await parseWithEngine(doc)
    const seen = doc.traceEvents.filter((x) => x.ph === "X" && String(x.name).startsWith("seen "))
    const corrupted = seen.filter((x) => x.args!["corrupted"] === 1)
    // Every receipt that read a sent value is bound; the corrupted reads (status 255, never sent) are not.
    expect(flows.length).toBeGreaterThan(100)
    expect(flows.length).toBe(seen.length - corrupted.length)
    expect(flowProblems(doc, flows)).toEqual([])
    // Sandbox s runs on core s: its schedule track says so, like its interrupt track would.
    const names = doc.traceEvents.filter((x) => x.ph === "M" && x.name === "thread_name").map((x) => [x["pid"], (x.args as { name: string }).name] as const)
    const processes = new Map(doc.traceEvents.filter((x) => x.ph === "M" && x.name === "process_name").map((x) => [x["pid"], (x.args as { name: string }).name]))
    const schedules = names.filter(([, n]) => n.endsWith(" schedule")).map(([pid, n]) => `${processes.get(pid)}: ${n}`).sort()
    expect(schedules).toEqual(["sandbox0: core0 schedule", "sandbox1: core1 schedule", "sandbox2: core2 schedule", "sandbox3: core3 schedule"])
  })

  it("--perfetto-include keeps only the categories named", () => {
    const doc = traceOf(scenario, 1_000_000_000, e.seed, { include: ["chan", "fault"] })
    expect(validate(doc)).toEqual([])
    const cats = new Set(doc.traceEvents.filter((x) => x.ph !== "M").map((x) => x.cat))
    expect([...cats].sort()).toEqual(["chan"])
  })
})

describe("every read of a send gets its arrow", () => {
  it("a re-read and a second reader of one send: the engine binds each read to the send; the check catches a read bound elsewhere", async () => {
    const clock = { now: 0 }
    const trace = new Trace.Trace(clock)
    const writer = new ChunkWriter()
    const sink = new PerfettoSink(writer, { clock })
    trace.attach(sink)
    const kSend = trace.kind("chan.send", ["channel", "seq", "bytes"])
    const kSeen = trace.kind("chan.seen", ["channel", "seq", "corrupted"])
    const [a, b, c] = [1, 2, 3].map((s) => trace.subject(`sandbox${s}/channels`, s)) as [Trace.Subject, Trace.Subject, Trace.Subject]
    trace.emit(kSend, a, 4, 9, 64)
    clock.now = 1_000
    trace.emit(kSeen, b, 4, 9, 0)
    clock.now = 2_000
    trace.emit(kSeen, b, 4, 9, 0) // a re-read
    clock.now = 3_000
    trace.emit(kSeen, c, 4, 9, 0) // a second reader
    trace.emit(kSend, b, 4, 9, 64) // the other direction's own #9
    clock.now = 4_000
    trace.emit(kSeen, a, 4, 9, 0) // reads b's, not its own
    trace.emit(kSeen, c, 4, 10, 0) // nothing sent: no arrow
    sink.close()
    const doc = JSON.parse(writer.text) as Doc
    expect(validate(doc)).toEqual([])
    const flows = await parseWithEngine(doc)
    expect(flows.map((f) => f.map((e) => [e["pid"], e.ts]))).toEqual([
      [[1001, 0], [1002, 1]],
      [[1001, 0], [1002, 2]],
      [[1001, 0], [1003, 3]],
      [[1002, 3], [1001, 4]],
    ])
    expect(flowProblems(doc, flows)).toEqual([])
    // The check is not vacuous: a read left without its arrow, or bound to the wrong send, is caught.
    expect(flowProblems(doc, flows.slice(1))).toEqual([expect.stringMatching(/^1 reads of a sent message without a flow/)])
    expect(flowProblems(doc, [[flows[3]![1]!, flows[3]![1]!], ...flows.slice(0, 3)]).length).toBeGreaterThan(0)
    expect(flowProblems(doc, [[flows[0]![0]!, flows[3]![1]!], ...flows.slice(0, 3)])).toEqual([expect.stringMatching(/^seen ch4 #9 at 4 \(pid 1001\) bound to the send at 0 \(pid 1001\), not 3/)])
  })
})

describe("the validator catches broken documents", () => {
  const meta = [
    { ph: "M", cat: "__metadata", name: "process_name", pid: 1, args: { name: "p" } },
    { ph: "M", cat: "__metadata", name: "thread_name", pid: 1, tid: 1, args: { name: "t" } },
  ]
  const doc = (...events: object[]) => ({ traceEvents: [...meta, ...events] })
  const base = { pid: 1, tid: 1, cat: "sched" }

  it("a valid document passes", () => {
    expect(validate(doc(
      { ...base, ph: "B", ts: 0, name: "v" }, { ...base, ph: "E", ts: 1, name: "v" },
      { ...base, ph: "X", ts: 1, dur: 0.001, name: "send" }, { ...base, ph: "s", ts: 1, name: "m", id: "0x1" },
      { ...base, ph: "X", ts: 2, dur: 0.001, name: "seen" }, { ...base, ph: "f", bp: "e", ts: 2, name: "m", id: "0x1" },
    ))).toEqual([])
  })

  it.each([
    ["an E without a name", [{ ...base, ph: "B", ts: 0, name: "v" }, { ...base, ph: "E", ts: 1 }], /E named undefined closes B "v"/],
    ["an event without cat", [{ pid: 1, tid: 1, ph: "i", ts: 0, name: "x" }], /no cat/],
    ["a flow end without its start", [{ ...base, ph: "f", bp: "e", ts: 1, name: "m", id: 7 }], /ends with no open start/],
    ["a flow id started twice", [{ ...base, ph: "s", ts: 1, name: "m", id: 7 }, { ...base, ph: "s", ts: 2, name: "m", id: 7 }], /starts twice/],
    ["an unclosed B", [{ ...base, ph: "B", ts: 0, name: "v" }], /never closed/],
    ["a track never named", [{ ...base, tid: 2, ph: "i", ts: 0, name: "x" }], /no thread_name/],
    ["a negative ts", [{ ...base, ph: "i", ts: -1, name: "x" }], /not a finite number/],
    ["a counter of text", [{ pid: 1, cat: "sched", ph: "C", ts: 0, name: "c", args: { v: "3" } }], /not a number/],
  ])("%s", (_what, events, message) => {
    const problems = validate(doc(...events))
    expect(problems.join("\n")).toMatch(message)
  })
})
