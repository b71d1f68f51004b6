/**
 * A trace sink that streams records as Chrome trace-event JSON (`{"traceEvents":[...]}`), the
 * format the Perfetto UI (and chrome://tracing) opens. This module is the sink and the export's
 * entry point; its parts are in `perfetto/`: the rule table (`Rules.ts`), the categories
 * (`Categories.ts`), rules compiled per record kind (`Compile.ts`), names and args
 * (`Names.ts`), message flows (`Flows.ts`) and JSON text pieces (`Text.ts`).
 *
 * Layout in the UI: one process per record scope (a PCPU or a sandbox; `global` for scope -1),
 * named from {@link Labels}; in it one track ("thread") per PCPU schedule, with a slice per VCPU
 * run, plus a counter per VCPU budget, a `jobs` track, and one track per subject for everything
 * else (interrupts on `core<i>`, ...). How each record kind becomes events is the {@link RULES}
 * table.
 *
 * Time: `ts` is in µs (the format's unit) written with three decimals, so integer ns survive
 * exactly (Perfetto rounds `ts × 1000` to the nearest ns). `displayTimeUnit` is not written: old
 * Perfetto versions misread it as the unit of `ts`.
 *
 * Categories: every event carries `cat`, the subsystem of its record kind ({@link categoryOf});
 * {@link PerfettoOptions.include} / `exclude` leave whole subsystems out of the file.
 *
 * Flows: a send and each read of it are joined by a flow (`s` bound to the send's slice, `f`
 * to the read's), the send chosen by {@link FlowBinder}; ids never repeat in a file, and every
 * flow end has its start.
 *
 * Invariants:
 * - the output is one valid JSON document once {@link PerfettoSink.close} has run; it is written
 *   incrementally in chunks of at least 64 KiB, never held whole in memory;
 * - every `B` has its `E` on the same track, named like it: slices still open when the trace
 *   closes end at the clock's time (or the last record's);
 * - events are written in record order, each dated by its record, so `ts` never decreases along
 *   the file, except `X` events (VCPU runs and {@link Rule} `complete`), dated by their start,
 *   and the flow start of a send's second or later read, written at the read, dated by the send.
 *
 * NOTE: `onRecord` is on the hot path. Rules are compiled once per record kind (field indexes,
 * pre-escaped name pieces), track ids are cached per subject, labels per value; an event is one
 * string concatenation appended to the pending chunk.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { selectCategories } from "./perfetto/Categories.ts"
import { BEGIN, COMPLETE, COUNTER, DISPATCH, END, FLOW_IN, FLOW_OUT, INSTANT, compileOrFallBack, type Compiled, type KindPlan } from "./perfetto/Compile.ts"
import { FlowBinder, flowKey } from "./perfetto/Flows.ts"
import { Names, plainLabels, type Labels } from "./perfetto/Names.ts"
import { RULES, type Rule } from "./perfetto/Rules.ts"
import { esc, num, us } from "./perfetto/Text.ts"

export { CATEGORIES, CATEGORY_OF_KIND, categoryOf, selectCategories, type Category } from "./perfetto/Categories.ts"
export { plainLabels, type Labels } from "./perfetto/Names.ts"
export { RULES, type Rule } from "./perfetto/Rules.ts"
export { us } from "./perfetto/Text.ts"

export interface PerfettoOptions {
  readonly labels?: Labels
  /** Rules over (and in place of) {@link RULES}, by kind. */
  readonly rules?: Readonly<Record<string, Rule | ReadonlyArray<Rule>>>
  /** The simulation clock: slices still open at close end at its `now` (default: the last record). */
  readonly clock?: { readonly now: number }
  /** Written as the document's `otherData` (scenario, seed, qvsim version...). */
  readonly metadata?: Readonly<Record<string, unknown>>
  /** Categories to write (default all; see {@link CATEGORIES}). */
  readonly include?: ReadonlyArray<string>
  /** Categories to leave out (after `include`). */
  readonly exclude?: ReadonlyArray<string>
}

/** Where the JSON goes: `write` chunks in order, then `close` once. */
export interface TextWriter {
  write(text: string): void
  close(): void
}

const CHUNK = 1 << 16

/** Per schedule track: the slice open on it and the last dispatch. */
class CpuState {
  /** The open run: `"name":…,"args":{…}` (escaped) and its start, written as one `X` when it ends. */
  openText = ""
  openStartNs = 0
  openVcpu = -1
  openThread = -1
  lastVcpu = -1
  lastDispatchNs = 0
  lastBudgetNs = NaN
}

/** Streams trace records as Chrome trace-event JSON; see the module header. */
export class PerfettoSink implements Trace.TraceSink {
  private readonly out: TextWriter
  private readonly names: Names
  private readonly rules: Readonly<Record<string, Rule | ReadonlyArray<Rule>>>
  private readonly clock: { readonly now: number } | undefined
  private buffer: string
  private sep = ""
  private closed = false
  private lastNs = 0
  private readonly plans: Array<KindPlan | undefined> = []
  /** pid per scope + 1 (scope -1 at 0). */
  private readonly pids: number[] = []
  private readonly tids = new Map<string, number>()
  private nextTid = 1
  /** Per tid: `{"pid":P,"tid":T,` */
  private readonly trackPrefix: string[] = []
  /** Per tid: the open B slices (begin/end rules), innermost last, each `<cat prefix>\n<escaped name>` (no escaped text holds a newline). */
  private readonly open: string[][] = []
  /** Per tid: dispatch state of schedule tracks. */
  private readonly cpus: Array<CpuState | undefined> = []
  private readonly scheduleTids: number[] = []
  private readonly categories: ReadonlySet<string>
  private readonly flows = new FlowBinder()
  /** Events written (metadata included). */
  events = 0
  /** Rules that did not fit their record kind (each kind then became plain instants). */
  readonly warnings: string[] = []

  constructor(out: TextWriter, options: PerfettoOptions = {}) {
    this.out = out
    this.names = new Names(options.labels ?? plainLabels)
    this.rules = { ...RULES, ...options.rules }
    this.clock = options.clock
    this.categories = selectCategories(options.include, options.exclude)
    const meta = options.metadata === undefined ? "" : `"otherData":${JSON.stringify(options.metadata)},`
    this.buffer = `{${meta}"traceEvents":[\n`
  }

  onRecord(trace: Trace.Trace, kind: Trace.RecordKind, t: number, subject: Trace.Subject, values: Float64Array): void {
    let plan = this.plans[kind.id]
    if (plan === undefined) plan = this.plans[kind.id] = compileOrFallBack(kind, this.rules[kind.name], this.categories, this.names.labelledFields, this.warnings)
    this.lastNs = t
    const rules = plan.rules
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!
      switch (r.op) {
        case DISPATCH: this.dispatch(trace, plan, r, t, subject, values); break
        case INSTANT: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"i","s":"${r.instantScope}","ts":${us(t)},"name":"${this.names.render(trace, plan, r.name!, subject.scope, values)}"${this.names.args(trace, plan, subject.scope, values)}}`)
          break
        }
        case COUNTER: {
          const pid = this.pidOf(subject.scope)
          this.emit(`{"pid":${pid},${r.cat}"ph":"C","ts":${us(t)},"name":"${this.names.render(trace, plan, r.name!, subject.scope, values)}","args":{"value":${num(values[r.a]! * r.scale)}}}`)
          break
        }
        case BEGIN: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const name = this.names.render(trace, plan, r.name!, subject.scope, values)
          this.open[tid]!.push(`${r.cat}\n${name}`)
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"B","ts":${us(t)},"name":"${name}"${this.names.args(trace, plan, subject.scope, values)}}`)
          break
        }
        case END: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const open = this.open[tid]!.pop()
          if (open !== undefined) this.emit(this.endEvent(tid, open, us(t)))
          break
        }
        case COMPLETE: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const dur = Math.max(0, Math.min(t, r.a >= 0 ? values[r.a]! : t - values[r.b]!))
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"X","ts":${us(t - dur)},"dur":${us(dur)},"name":"${this.names.render(trace, plan, r.name!, subject.scope, values)}"${this.names.args(trace, plan, subject.scope, values)}}`)
          break
        }
        case FLOW_OUT:
        case FLOW_IN: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const key = flowKey(values, r.a, r.b)
          const ts = us(t)
          const start = `${this.trackPrefix[tid]}${r.cat}"ph":"s","ts":${ts},"name":"message","id":"0x`
          const id = r.op === FLOW_OUT ? this.flows.send(key, subject.scope, start) : this.flows.read(key, subject.scope)
          // A later read of a send: its flow's start, dated by the send and on its track.
          if (id >= 0 && this.flows.lateStart !== "") this.emit(`${this.flows.lateStart}${id.toString(16)}"}`)
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"X","ts":${ts},"dur":0.001,"name":"${this.names.render(trace, plan, r.name!, subject.scope, values)}"${this.names.args(trace, plan, subject.scope, values)}}`)
          // The flow's start (a send) or end (a read), bound to the slice just written (same ts,
          // track and cat); none for a read of nothing another scope sent (a corrupted read).
          if (id >= 0) this.emit(r.op === FLOW_OUT ? `${start}${id.toString(16)}"}` : `${this.trackPrefix[tid]}${r.cat}"ph":"f","bp":"e","ts":${ts},"name":"message","id":"0x${id.toString(16)}"}`)
          break
        }
      }
    }
  }

  /** Ends the open slices, closes the JSON document and the writer. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    const end = us(Math.max(this.lastNs, this.clock?.now ?? 0))
    for (const tid of this.scheduleTids) {
      const cpu = this.cpus[tid]!
      if (cpu.openVcpu >= 0) this.emit(this.runEvent(tid, cpu, `"cat":"sched",`, Math.max(this.lastNs, this.clock?.now ?? 0)))
      cpu.openVcpu = -1
    }
    for (let tid = 1; tid < this.open.length; tid++) {
      const names = this.open[tid]!
      for (let open = names.pop(); open !== undefined; open = names.pop()) this.emit(this.endEvent(tid, open, end))
    }
    this.buffer += "\n]}\n"
    this.out.write(this.buffer)
    this.buffer = ""
    this.out.close()
  }

  // ---------------------------------------------------------------- events

  /** The `E` of an open slice (`<cat prefix>\n<name>`) on track `tid`, named like its `B`. */
  private endEvent(tid: number, open: string, ts: string): string {
    const nl = open.indexOf("\n")
    return `${this.trackPrefix[tid]}${open.slice(0, nl)}"ph":"E","ts":${ts},"name":"${open.slice(nl + 1)}"}`
  }

  private emit(event: string): void {
    this.buffer += this.sep + event
    this.sep = ",\n"
    this.events++
    if (this.buffer.length >= CHUNK) {
      this.out.write(this.buffer)
      this.buffer = ""
    }
  }

  private dispatch(trace: Trace.Trace, plan: KindPlan, r: Compiled, t: number, subject: Trace.Subject, values: Float64Array): void {
    const scope = subject.scope
    const pcpu = r.d >= 0 ? values[r.d]! : scope
    const tid = this.scheduleTrack(scope, pcpu)
    const cpu = this.cpus[tid]!
    const vcpu = values[r.a]!
    const thread = values[r.b]!
    const budget = r.c >= 0 ? values[r.c]! : NaN
    const prefix = this.trackPrefix[tid]!
    const ts = us(t)
    // The VCPU leaving the CPU: its budget drops by the time it held the CPU.
    if (cpu.lastVcpu >= 0 && cpu.lastVcpu !== vcpu && Number.isFinite(cpu.lastBudgetNs)) {
      const left = Math.max(0, cpu.lastBudgetNs - (t - cpu.lastDispatchNs))
      this.budgetSample(r, scope, cpu.lastVcpu, ts, left)
    }
    const goesOn = cpu.openVcpu === vcpu && cpu.openThread === thread
    if (cpu.openVcpu >= 0 && !goesOn) this.emit(this.runEvent(tid, cpu, r.cat, t))
    if (vcpu >= 0 && !goesOn) {
      cpu.openText = `"name":"${this.names.label("vcpu", scope, vcpu)}"${this.names.args(trace, plan, scope, values)}`
      cpu.openStartNs = t
    }
    cpu.openVcpu = vcpu >= 0 ? vcpu : -1
    cpu.openThread = vcpu >= 0 ? thread : -1
    cpu.lastVcpu = vcpu >= 0 ? vcpu : -1
    cpu.lastDispatchNs = t
    cpu.lastBudgetNs = budget
    if (vcpu >= 0 && Number.isFinite(budget) && budget >= 0) this.budgetSample(r, scope, vcpu, ts, budget)
  }

  /**
   * The `X` of a VCPU run that ends at `endNs`. A run is written when it ends, as one complete
   * event, not as `B` … `E`: a run ending and the next starting at the same time would give an
   * `E` and a `B` of equal `ts`, which a parser that sorts by time alone may pair wrongly.
   */
  private runEvent(tid: number, cpu: CpuState, cat: string, endNs: number): string {
    return `${this.trackPrefix[tid]}${cat}"ph":"X","ts":${us(cpu.openStartNs)},"dur":${us(endNs - cpu.openStartNs)},${cpu.openText}}`
  }

  private budgetSample(r: Compiled, scope: number, vcpu: number, ts: string, budgetNs: number): void {
    this.emit(`{"pid":${this.pidOf(scope)},${r.cat}"ph":"C","ts":${ts},"name":"${this.names.label("vcpu", scope, vcpu)} budget","args":{"ms":${num(budgetNs / 1e6)}}}`)
  }

  // ---------------------------------------------------------------- processes and tracks

  private pidOf(scope: number): number {
    const pid = this.pids[scope + 1]
    if (pid !== undefined) return pid
    const p = 1000 + scope
    this.pids[scope + 1] = p
    this.emit(`{"ph":"M","cat":"__metadata","pid":${p},"name":"process_name","args":{"name":"${esc(this.names.labels.scope(scope))}"}}`)
    return p
  }

  /** The tid of track `name` (escaped) in `scope`'s process, created (and named) on first use. */
  private track(scope: number, escapedName: string): number {
    const pid = this.pidOf(scope)
    const key = `${pid}/${escapedName}`
    let tid = this.tids.get(key)
    if (tid === undefined) {
      tid = this.nextTid++
      this.tids.set(key, tid)
      this.trackPrefix[tid] = `{"pid":${pid},"tid":${tid},`
      this.open[tid] = []
      this.emit(`{"ph":"M","cat":"__metadata","pid":${pid},"tid":${tid},"name":"thread_name","args":{"name":"${escapedName}"}}`)
    }
    return tid
  }

  private scheduleTrack(scope: number, pcpu: number): number {
    const tid = this.track(scope, `${this.names.label("pcpu", scope, pcpu)} schedule`)
    if (this.cpus[tid] === undefined) {
      this.cpus[tid] = new CpuState()
      this.scheduleTids.push(tid)
    }
    return tid
  }

  private trackOf(trace: Trace.Trace, plan: KindPlan, r: Compiled, subject: Trace.Subject, values: Float64Array): number {
    if (r.track === null || r.track.fields.length === 0) {
      const cached = r.tidBySubject[subject.id]
      if (cached !== undefined) return cached
      const name = r.track === null ? esc(subject.name) : r.track.parts[0]!
      return (r.tidBySubject[subject.id] = this.track(subject.scope, name))
    }
    return this.track(subject.scope, this.names.render(trace, plan, r.track, subject.scope, values))
  }
}
