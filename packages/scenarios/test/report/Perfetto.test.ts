/**
 * The Perfetto sink: valid trace-event JSON with the expected processes, tracks and phases for a
 * real run; exact timestamps; the rule table (instants, counters, B/E, X, flows) on synthetic
 * records; escaping; streaming in chunks; and, as a property over generated scenarios, the
 * structure the Perfetto importer relies on (every B has its E, ts never decreasing per track).
 */
import { Trace } from "@qvsim/sim-core"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseScenario } from "../../src/Scenario.ts"
import { PerfettoSink, RULES, us, type Labels } from "../../src/report/Perfetto.ts"
import { builtin, ChunkWriter, pcpuScenario, perfettoOf, problems, type TraceDocument, type TraceEvent } from "./support.ts"
import { validate } from "./traceEventFormat.ts"
import { FLOW_MEMORY, FlowBinder } from "../../src/report/perfetto/Flows.ts"

const parse = (w: ChunkWriter): TraceDocument => JSON.parse(w.text) as TraceDocument
const named = (doc: TraceDocument, what: "process_name" | "thread_name"): Map<string, string> =>
  new Map(doc.traceEvents.filter((e) => e.ph === "M" && e.name === what).map((e) => [what === "process_name" ? `${e.pid}` : `${e.pid}/${e.tid}`, String(e.args!["name"])]))

describe("PerfettoSink on a run", () => {
  it("rm-periodic: one process per PCPU, a schedule track of VCPU slices, budget counters, job instants", () => {
    const { writer, summary } = perfettoOf(builtin("rm-periodic"), 100_000_000)
    const doc = parse(writer)
    expect(problems(doc)).toEqual([])
    expect(doc.otherData).toBeUndefined()
    const procs = named(doc, "process_name")
    expect([...procs.values()]).toEqual(["pcpu0"])
    const threads = named(doc, "thread_name")
    const schedule = [...threads].find(([, n]) => n === "pcpu0 schedule")![0]
    const jobs = [...threads].find(([, n]) => n === "jobs")![0]
    const on = (track: string) => doc.traceEvents.filter((e) => e.ph !== "M" && `${e.pid}/${e.tid}` === track)
    // VCPU runs are X slices, written when they end (so in end order), dated by their start.
    const slices = on(schedule).filter((e) => e.ph === "X").sort((a, b) => a.ts! - b.ts!)
    expect(on(schedule).every((e) => e.ph === "X" && e.cat === "sched")).toBe(true)
    // The first hyperperiod's opening: RM order t1, t2, t3, then t1 again at 10 ms.
    expect(slices.slice(0, 4).map((e) => [e.name, e.ts, e.dur])).toEqual([["t1", 0, 1000], ["t2", 1000, 4000], ["t3", 5000, 5000], ["t1", 10000, 1000]])
    expect(slices[0]!.args).toEqual({ vcpu: "t1", thread: "task1", timerAt: 1_000_000, budget: 1_000_000 })
    // Every job release and completion is an instant on the jobs track.
    const instants = on(jobs)
    expect(instants.every((e) => e.ph === "i")).toBe(true)
    expect(instants.filter((e) => e.name === "release task1")).toHaveLength(11) // 0, 10, ..., 100 ms
    expect(instants.find((e) => e.name === "complete task5")?.args).toEqual({ thread: "task5", job: 0, response: 89_000_000 })
    // Budget counters: t2 starts with 4 ms at 1 ms and has 0 left when it leaves the CPU at 5 ms.
    const t2 = doc.traceEvents.filter((e) => e.ph === "C" && e.name === "t2 budget").map((e) => [e.ts, e.args!["ms"]])
    expect(t2.slice(0, 5)).toEqual([[1000, 4], [2000, 3], [3000, 2], [4000, 1], [5000, 0]])
    // The slice open at the end closes at the clock's time (100 ms), not at the last record's.
    const last = on(schedule).at(-1)!
    expect(last.ts! + last.dur!).toBe(summary.simTimeNs / 1000)
  })

  it("ss-amplification: two PCPU processes named after the scenario's PCPUs", () => {
    const doc = parse(perfettoOf(builtin("ss-amplification"), 50_000_000).writer)
    expect(problems(doc)).toEqual([])
    expect([...named(doc, "process_name").values()].sort()).toEqual(["posix-naive", "quest"])
    expect([...named(doc, "thread_name").values()]).toContain("quest schedule")
  })

  it("timers: unknown-to-PCPU records go to their subject's track in the global process", () => {
    const doc = parse(perfettoOf(builtin("timers"), 5_000_000).writer)
    expect(problems(doc)).toEqual([])
    expect([...named(doc, "process_name").values()]).toEqual(["global"])
    expect([...named(doc, "thread_name").values()]).toContain("timer/tick-1ms")
    const fires = doc.traceEvents.filter((e) => e.name === "fire")
    expect(fires.length).toBeGreaterThan(5)
    expect(fires.every((e) => e.ph === "i")).toBe(true)
  })

  it("writes in chunks of at least 64 KiB (never the whole trace at once), closes the array once", () => {
    const { writer, sink } = perfettoOf(builtin("rm-periodic"), 2_000_000_000)
    expect(writer.chunks.length).toBeGreaterThan(3)
    for (const c of writer.chunks.slice(0, -1)) {
      expect(c.length).toBeGreaterThanOrEqual(1 << 16)
      expect(c.length).toBeLessThan((1 << 16) + 4096)
    }
    expect(writer.text.endsWith("\n]}\n")).toBe(true)
    expect(writer.closed).toBe(1)
    sink.close() // idempotent
    expect(writer.closed).toBe(1)
    expect(parse(writer).traceEvents).toHaveLength(sink.events)
  })

  it("property: every B has its E and ts never decreases per track, for generated scenarios", () => {
    fc.assert(
      fc.property(pcpuScenario, (input) => {
        const doc = parse(perfettoOf(parseScenario(input, "generated"), 150_000_000).writer)
        expect(problems(doc)).toEqual([])
        expect(validate(doc)).toEqual([])
        expect(doc.traceEvents.some((e) => e.ph === "X" && e.cat === "sched")).toBe(true)
      }),
      { numRuns: 25 },
    )
  })

  it("the structural check catches a broken document (an E dropped, two events swapped)", () => {
    const doc = parse(perfettoOf(builtin("rm-periodic"), 50_000_000).writer)
    // B/E slices of a rule (the schedule is X slices): a begin and an end per job release.
    const events = doc.traceEvents.flatMap((e) => (e.name?.startsWith("release ") === true ? [{ ...e, ph: "B" }, { ...e, ph: "E" }] : [e]))
    const lastE = events.findLastIndex((e) => e.ph === "E")
    expect(problems({ traceEvents: events.filter((_, i) => i !== lastE) })).toEqual([expect.stringMatching(/1 B without E/)])
    const [b1, b2] = events.flatMap((e, i) => (e.ph === "i" ? [i] : [])).slice(1, 3) as [number, number]
    expect(events[b1]!.ts).toBeLessThan(events[b2]!.ts!)
    const swapped = [...events]
    ;[swapped[b1], swapped[b2]] = [swapped[b2]!, swapped[b1]!]
    expect(problems({ traceEvents: swapped })).toEqual(expect.arrayContaining([expect.stringMatching(/ts \d+ before \d+ on track/)]))
  })
})

describe("PerfettoSink rules", () => {
  /** A trace with a settable clock and a sink with `rules` and `labels`. */
  const setup = (rules: ConstructorParameters<typeof PerfettoSink>[1] = {}) => {
    const clock = { now: 0 }
    const trace = new Trace.Trace(clock)
    const writer = new ChunkWriter()
    const sink = new PerfettoSink(writer, { clock, ...rules })
    trace.attach(sink)
    return { clock, trace, writer, sink }
  }

  it("us(): integer ns become µs with three exact decimals", () => {
    expect([0, 1, 999, 1000, 1001, 1_234_567, 10_000_000_000, 9_007_199_254_740_991].map(us))
      .toEqual(["0", "0.001", "0.999", "1", "1.001", "1234.567", "10000000", "9007199254740.991"])
    // Perfetto reads ts as a double × 1000, rounded: every value comes back exact.
    for (const ns of [1, 7, 123_456_789, 3_600_000_000_123]) expect(Math.round(Number(us(ns)) * 1000)).toBe(ns)
  })

  it("begin/end, complete, counter, flows and unknown kinds, with symbols and templates", () => {
    const { clock, trace, writer, sink } = setup({
      rules: {
        "x.begin": { as: "begin", name: "phase {phase}", track: "recovery" },
        "x.end": { as: "end", track: "recovery" },
        "x.span": { as: "complete", name: "{phase}", start: "startNs", track: "phases" },
        "x.count": { as: "counter", name: "queue", value: "n", scale: 0.5 },
        "x.send": { as: "flowOut", name: "send ch{channel}", id: ["channel", "seq"], track: "channels" },
        "x.recv": { as: "flowIn", name: "recv ch{channel}", id: ["channel", "seq"], track: "channels" },
        "x.quiet": { as: "ignore" },
      },
    })
    const kBegin = trace.kind("x.begin", ["$phase"])
    const kEnd = trace.kind("x.end", [])
    const kSpan = trace.kind("x.span", ["$phase", "startNs"])
    const kCount = trace.kind("x.count", ["n"])
    const kSend = trace.kind("x.send", ["channel", "seq"])
    const kRecv = trace.kind("x.recv", ["channel", "seq"])
    const kQuiet = trace.kind("x.quiet", [])
    const kOther = trace.kind("some.thing", ["a", "$b"])
    const s0 = trace.subject("sandbox0/recovery", 0)
    const s1 = trace.subject("sandbox1/channels", 1)
    trace.emit(kEnd, s0) // no open slice: ignored
    trace.emit(kBegin, s0, trace.symbol("reinit"))
    clock.now = 2_500
    trace.emit(kSend, s1, 3, 7)
    trace.emit(kCount, s0, 10)
    clock.now = 4_000
    trace.emit(kRecv, s0, 3, 7)
    trace.emit(kSpan, s0, trace.symbol("copy"), 3_000)
    trace.emit(kQuiet, s0)
    trace.emit(kOther, s1, 42, trace.symbol("why \"not\""))
    trace.emit(kBegin, s0, trace.symbol("nested"))
    clock.now = 9_000
    sink.close()
    const doc = parse(writer)
    expect(problems(doc)).toEqual([])
    const ev = doc.traceEvents.filter((e) => e.ph !== "M")
    const pick = ({ ph, ts, dur, name, s, id, bp, args }: TraceEvent) =>
      Object.fromEntries(Object.entries({ ph, ts, dur, name, s, id, bp, args }).filter(([, v]) => v !== undefined))
    expect(ev.map(pick)).toEqual([
      { ph: "B", ts: 0, name: "phase reinit", args: { phase: "reinit" } },
      { ph: "X", ts: 2.5, dur: 0.001, name: "send ch3", args: { channel: 3, seq: 7 } },
      { ph: "s", ts: 2.5, name: "message", id: "0x1" },
      { ph: "C", ts: 2.5, name: "queue", args: { value: 5 } },
      { ph: "X", ts: 4, dur: 0.001, name: "recv ch3", args: { channel: 3, seq: 7 } },
      { ph: "f", ts: 4, name: "message", id: "0x1", bp: "e" },
      { ph: "X", ts: 3, dur: 1, name: "copy", args: { phase: "copy", startNs: 3000 } },
      { ph: "i", ts: 4, name: "some.thing", s: "t", args: { a: 42, b: "why \"not\"" } },
      { ph: "B", ts: 4, name: "phase nested", args: { phase: "nested" } },
      // Both open slices end at the clock's time, innermost first, named like their B.
      { ph: "E", ts: 9, name: "phase nested" },
      { ph: "E", ts: 9, name: "phase reinit" },
    ])
    // Every event has its category (by the kind's prefix; unknown prefixes are "other").
    expect(ev.map((e) => e.cat)).toEqual(["other", "other", "other", "other", "other", "other", "other", "other", "other", "other", "other"])
    const threads = [...named(doc, "thread_name").values()]
    expect(threads.sort()).toEqual(["channels", "channels", "phases", "recovery", "sandbox1/channels"])
  })

  it("flows: a read binds to the latest send of its key from another scope (never to an older, wrapped one, nor to its own sandbox's); every read of a send gets an arrow; a read nobody sent has none", () => {
    const { clock, trace, writer, sink } = setup()
    const kSend = trace.kind("chan.send", ["channel", "seq", "bytes"])
    const kSeen = trace.kind("chan.seen", ["channel", "seq", "corrupted"])
    const s = trace.subject("sandbox1/channels", 1)
    const r = trace.subject("sandbox2/channels", 2)
    const q = trace.subject("sandbox3/channels", 3)
    trace.emit(kSend, s, 0, 7, 64) // flow 1, never read
    clock.now = 1_000
    trace.emit(kSend, s, 0, 7, 64) // flow 2: the counter wrapped back to 7
    clock.now = 2_000
    trace.emit(kSeen, r, 0, 7, 0) // reads flow 2
    clock.now = 3_000
    trace.emit(kSeen, r, 0, 7, 0) // a re-read of the same send: flow 3, started at the send
    trace.emit(kSeen, q, 0, 7, 0) // a second reader of it: flow 4
    clock.now = 4_000
    trace.emit(kSend, r, 0, 7, 64) // flow 5: the other direction of channel 0, its own #7
    clock.now = 5_000
    trace.emit(kSeen, s, 0, 7, 0) // sandbox 1 reads sandbox 2's #7 (flow 5), not its own
    trace.emit(kSeen, r, 0, 255, 1) // corrupted: nothing was sent
    sink.close()
    const doc = parse(writer)
    expect(validate(doc)).toEqual([])
    expect(problems(doc)).toEqual([])
    const flows = doc.traceEvents.filter((e) => e.ph === "s" || e.ph === "f").map((e) => [e.ph, e.ts, e.id, e.pid, e.cat])
    expect(flows).toEqual([
      ["s", 0, "0x1", 1001, "chan"],
      ["s", 1, "0x2", 1001, "chan"],
      ["f", 2, "0x2", 1002, "chan"],
      // Later reads: a start dated by the send, on its track, then the end at the read.
      ["s", 1, "0x3", 1001, "chan"],
      ["f", 3, "0x3", 1002, "chan"],
      ["s", 1, "0x4", 1001, "chan"],
      ["f", 3, "0x4", 1003, "chan"],
      ["s", 4, "0x5", 1002, "chan"],
      ["f", 5, "0x5", 1001, "chan"],
    ])
  })

  it("flows: the sends of the least recently sent keys are forgotten beyond FLOW_MEMORY keys", () => {
    const binder = new FlowBinder()
    for (let k = 0; k <= FLOW_MEMORY; k++) binder.send(k, 1, "")
    expect(binder.read(0, 2)).toBe(-1)
    expect(binder.read(1, 2)).toBe(2)
    expect(binder.read(FLOW_MEMORY, 2)).toBe(FLOW_MEMORY + 1)
  })

  it("labels name processes, tracks and slices; any text is escaped into valid JSON", () => {
    const evil = "q\"u\\o</script>\n\u2028é"
    const labels: Labels = {
      scope: (s) => `${evil} ${s}`,
      fields: ["vcpu", "thread"],
      entity: (_s, field, v) => (field === "vcpu" ? `${evil}v${v}` : undefined),
    }
    const { clock, trace, writer, sink } = setup({ labels })
    const k = trace.kind("sched.dispatch", ["vcpu", "thread", "timerAt", "budget"])
    const s = trace.subject("pcpu0", 0)
    trace.emit(k, s, 0, 5, 100, 50)
    clock.now = 100
    trace.emit(k, s, -1, -1, -1, 0)
    sink.close()
    const doc = parse(writer)
    expect(problems(doc)).toEqual([])
    expect([...named(doc, "process_name").values()]).toEqual([`${evil} 0`])
    expect([...named(doc, "thread_name").values()]).toEqual(["pcpu 0 schedule"])
    const b = doc.traceEvents.find((e) => e.ph === "X")!
    expect(b.name).toBe(`${evil}v0`)
    expect(b.args).toEqual({ vcpu: `${evil}v0`, thread: 5, timerAt: 100, budget: 50 })
    // The idle dispatch (vcpu -1) ends the slice and opens none.
    expect(doc.traceEvents.filter((e) => e.ph === "X").map((e) => [e.ts, e.dur])).toEqual([[0, 0.1]])
    expect(doc.traceEvents.filter((e) => e.ph === "C").map((e) => [e.name, e.ts, e.args])).toEqual([
      [`${evil}v0 budget`, 0, { ms: 0.00005 }],
      [`${evil}v0 budget`, 0.1, { ms: 0 }],
    ])
  })

  it("a rule that does not fit its kind falls back to plain instants with a warning", () => {
    const { trace, writer, sink } = setup({ rules: { "x.bad": { as: "counter", name: "n", value: "missing" } } })
    const k = trace.kind("x.bad", ["present"])
    trace.emit(k, trace.subject("thing"), 1)
    sink.close()
    expect(sink.warnings).toEqual([expect.stringMatching(/"x\.bad": value field "missing" is not a field/)])
    expect(parse(writer).traceEvents.filter((e) => e.ph === "i").map((e) => e.name)).toEqual(["x.bad"])
  })

  it("metadata goes to otherData; the default table covers the harness, kernel, hardware and timers records", () => {
    const writer = new ChunkWriter()
    new PerfettoSink(writer, { metadata: { seed: 3, scenario: { name: "a</script>" } } }).close()
    expect(parse(writer)).toEqual({ otherData: { seed: 3, scenario: { name: "a</script>" } }, traceEvents: [] })
    for (const kind of ["sched.dispatch", "job.release", "job.complete", "k.dispatch", "irq.deliver", "ipi.send", "chan.send", "chan.seen", "recovery.phase", "fault.inject", "timer.fire"]) {
      expect(RULES).toHaveProperty([kind])
    }
  })
})
