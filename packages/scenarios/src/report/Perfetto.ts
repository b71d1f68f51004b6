/**
 * A trace sink that streams records as Chrome trace-event JSON (`{"traceEvents":[...]}`), the
 * format the Perfetto UI (and chrome://tracing) opens.
 *
 * Layout in the UI: one process per record scope (a PCPU or a sandbox; `global` for scope -1),
 * named from {@link Labels}; in it one track ("thread") per PCPU schedule, with a slice per VCPU
 * run, plus a counter per VCPU budget, a `jobs` track, and one track per subject for everything
 * else (interrupts on `core<i>`, ...). How each record kind becomes events is the {@link RULES}
 * table: a record kind added by a model needs one line there; kinds not in it become instant
 * events named after the kind, on their subject's track, with every field in `args`.
 *
 * Time: `ts` is in µs (the format's unit) written with three decimals, so integer ns survive
 * exactly (Perfetto rounds `ts × 1000` to the nearest ns). `displayTimeUnit` is not written: old
 * Perfetto versions misread it as the unit of `ts`.
 *
 * Categories: every event carries `cat`, the subsystem of its record kind ({@link categoryOf}:
 * `sched`, `irq`, `nic`, `chan`, `monitor`, `fault`, `job`, or `other`; metadata `__metadata`),
 * so the UI can filter by it and {@link PerfettoOptions.include} / `exclude` can leave whole
 * subsystems out of the file (e.g. the timer interrupts that make up most of a system trace).
 *
 * Flows: a `flowOut` record gets a fresh id (a counter of the run), remembered under its key (the
 * record's id fields, e.g. channel and sequence number); a `flowIn` binds to the latest `flowOut`
 * of the same key that no `flowIn` bound yet, so a sequence number that wraps never points an
 * arrow at an older send. A `flowIn` with no such send (a corrupted read) is written as a plain
 * slice without a flow. So every flow end (`f`) has its start (`s`), and ids never repeat in a
 * file. (A second receiver of the same send gets no arrow: one start, one end per id.)
 *
 * Invariants:
 * - the output is one valid JSON document once {@link PerfettoSink.close} has run; it is written
 *   incrementally in chunks of at least 64 KiB, never held whole in memory;
 * - every `B` has its `E` on the same track, named like it: slices still open when the trace
 *   closes end at the clock's time (or the last record's);
 * - events are written in record order, each dated by its record, so `ts` never decreases along
 *   the file, except `X` events (VCPU runs and {@link Rule} `complete`), dated by their start.
 *
 * NOTE: `onRecord` is on the hot path. Rules are compiled once per record kind (field indexes,
 * pre-escaped name pieces), track ids are cached per subject, labels per value; an event is one
 * string concatenation appended to the pending chunk.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"

/** Names for scopes and for the entities numbered in record fields (VCPUs, threads, PCPUs). */
export interface Labels {
  /** The process name of a scope (-1 = global). */
  readonly scope: (scope: number) => string
  /** Fields whose values are entity numbers that {@link Labels.entity} can name. */
  readonly fields: ReadonlyArray<string>
  /** The name of entity `value` of `field` in `scope`, or undefined to show the number. */
  readonly entity: (scope: number, field: string, value: number) => string | undefined
}

/** Numbers and `global` only. */
export const plainLabels: Labels = {
  scope: (scope) => (scope < 0 ? "global" : `scope ${scope}`),
  fields: [],
  entity: () => undefined,
}

/**
 * How one record becomes trace events. Names and track names are templates: `{field}` is
 * replaced by the field's label, symbol text or number. `track` defaults to the subject's name.
 */
export type Rule =
  /**
   * A scheduler decision: ends the slice running on the PCPU's schedule track and opens one
   * named after the VCPU (unless the same VCPU and thread go on; a negative VCPU is idle). A
   * slice is written when it ends, as an `X` dated by its start, with the opening record's args. The
   * VCPU's budget counter (`<vcpu> budget ms`) takes `budget` at dispatch and `budget − time
   * held` when it leaves the CPU (S1 charges wall time). The PCPU is field `pcpu`, or the scope.
   */
  | { readonly as: "dispatch"; readonly vcpu: string; readonly thread: string; readonly budget?: string; readonly pcpu?: string }
  /** An instant event; `scope` "process" or "global" draws it across the process or the trace. */
  | { readonly as: "instant"; readonly name: string; readonly track?: string; readonly scope?: "thread" | "process" | "global" }
  /** A counter sample of field `value` (× `scale`, default 1) on the process's counter `name`. */
  | { readonly as: "counter"; readonly name: string; readonly value: string; readonly scale?: number }
  /** Opens a slice (`B`); the next `end` on the same track closes it (or the end of the trace). */
  | { readonly as: "begin"; readonly name: string; readonly track?: string }
  /** Closes the innermost open slice of the track (`E`); ignored when none is open. */
  | { readonly as: "end"; readonly track?: string }
  /**
   * A slice that ends now (`X`, dated by its start): it began at field `start` (ns), or lasted
   * field `duration` (ns).
   */
  | { readonly as: "complete"; readonly name: string; readonly start?: string; readonly duration?: string; readonly track?: string }
  /**
   * One end of a message: a 1 ns slice and a flow event bound to it (`s` for `flowOut`, `f` with
   * `"bp":"e"` for `flowIn`, the trace-event format's flow events that Perfetto, chrome://tracing
   * and the DevTools trace engine all read), drawn as an arrow from the send to its receipt. The
   * key that pairs them is field `id`, or two fields `[a, b]` (integers, `b < 2^32`) combined as
   * `a · 2^32 + b`; the flow id written is a fresh number per send (see the module header).
   */
  | { readonly as: "flowOut" | "flowIn"; readonly name: string; readonly id: string | readonly [string, string]; readonly track?: string }
  /** Writes nothing. */
  | { readonly as: "ignore" }

/**
 * Record kind → events, one line per kind (a model's new record kind adds its line here). Kinds
 * not listed become instants named after the kind on their subject's track.
 */
export const RULES: Readonly<Record<string, Rule | ReadonlyArray<Rule>>> = {
  // vcpu-sched harness (subject pcpu<i>, scope i)
  "sched.dispatch": { as: "dispatch", vcpu: "vcpu", thread: "thread", budget: "budget" },
  "job.release": { as: "instant", name: "release {thread}", track: "jobs" },
  "job.complete": { as: "instant", name: "complete {thread}", track: "jobs" },
  // sandbox-kernel (subject sandbox<s>, scope s)
  "k.dispatch": { as: "dispatch", pcpu: "pcpu", vcpu: "vcpu", thread: "thread", budget: "budget" },
  "k.job": { as: "instant", name: "job {thread}", track: "jobs" },
  "k.thread": { as: "instant", name: "{event} {thread}", track: "threads" },
  "mon.exit": { as: "instant", name: "monitor {action}" },
  "chan.send": { as: "flowOut", name: "send ch{channel} #{seq}", id: ["channel", "seq"], track: "channels" },
  "chan.seen": { as: "flowIn", name: "seen ch{channel} #{seq}", id: ["channel", "seq"], track: "channels" },
  "recovery.phase": { as: "complete", name: "{phase}", start: "startNs", track: "recovery" },
  "recovery.done": { as: "complete", name: "outage ({mode})", duration: "outageNs", track: "recovery outage" },
  "fault.inject": { as: "instant", name: "fault {what}", scope: "process" },
  "fault.write": { as: "instant", name: "wild write" },
  "mig.request": { as: "instant", name: "migrate {thread} → sandbox {to}" },
  "mig.attach": { as: "instant", name: "attached from sandbox {from}" },
  "drv.lag": { as: "counter", name: "NIC driver lag", value: "behind" },
  "net.echo": { as: "instant", name: "echo {seq}" },
  // hardware (subject core<i>, ept<s>, or global devices)
  "irq.deliver": { as: "instant", name: "irq {vector} {source}" },
  "irq.pending": { as: "instant", name: "irq pending {vector} {source}" },
  "ipi.send": { as: "instant", name: "ipi {vector} → {destMask}" },
  "core.vmexit": { as: "instant", name: "vm exit {reason}" },
  "ept.violation": { as: "instant", name: "EPT violation", scope: "process" },
  "ept.update": { as: "instant", name: "EPT {op}" },
  "nic.rx": { as: "instant", name: "rx" },
  "nic.tx": { as: "instant", name: "tx" },
  "nic.drop": { as: "instant", name: "drop {reason}" },
  "nic.reset": { as: "instant", name: "NIC reset" },
  "nic.up": { as: "instant", name: "NIC up" },
  // scenarios' timers model (subject timer/<name>, global)
  "timer.fire": { as: "instant", name: "fire" },
}

/** The categories (`cat`) events carry, one per subsystem. */
export const CATEGORIES = ["sched", "irq", "nic", "chan", "monitor", "fault", "job", "other"] as const
export type Category = (typeof CATEGORIES)[number]

/**
 * Record kind (exact name, else the part before its first dot) → category. A kind a model adds
 * falls under its prefix, or `other`.
 */
export const CATEGORY_OF_KIND: Readonly<Record<string, Category>> = {
  "k.dispatch": "sched",
  "k.thread": "sched",
  "k.job": "job",
  "core.vmexit": "monitor",
  sched: "sched",
  job: "job",
  irq: "irq",
  ipi: "irq",
  ioapic: "irq",
  // The timers model's event sources are interrupt sources.
  timer: "irq",
  nic: "nic",
  net: "nic",
  drv: "nic",
  host: "nic",
  wire: "nic",
  chan: "chan",
  xen: "chan",
  mon: "monitor",
  ept: "monitor",
  mig: "monitor",
  boot: "monitor",
  fault: "fault",
  recovery: "fault",
}

/** The category of record kind `kind`. */
export const categoryOf = (kind: string): Category => {
  const exact = CATEGORY_OF_KIND[kind]
  if (exact !== undefined) return exact
  const dot = kind.indexOf(".")
  return CATEGORY_OF_KIND[dot < 0 ? kind : kind.slice(0, dot)] ?? "other"
}

/** The categories written under `include` (all when empty or absent) less `exclude`. */
export const selectCategories = (include: ReadonlyArray<string> = [], exclude: ReadonlyArray<string> = []): ReadonlySet<string> =>
  new Set(CATEGORIES.filter((c) => (include.length === 0 || include.includes(c)) && !exclude.includes(c)))

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

/** The JSON string contents of `s` (escaped, without quotes). */
const esc = (s: string): string => JSON.stringify(s).slice(1, -1)

/** Integer ns → µs with three decimals (exact). */
export const us = (ns: number): string => {
  const q = Math.floor(ns / 1000)
  const r = ns - q * 1000
  if (r === 0) return String(q)
  if (Number.isInteger(r)) return `${q}.${r < 10 ? "00" : r < 100 ? "0" : ""}${r}`
  return String(ns / 1000)
}

const num = (v: number): string => (Number.isFinite(v) ? String(v) : "null")

const TWO_32 = 2 ** 32

/** The flow key of a record: field `a`, or `a · 2^32 + b`. */
const flowKey = (values: Float64Array, a: number, b: number): number =>
  b < 0 ? values[a]! : values[a]! * TWO_32 + values[b]!

const FIELD_RE = /\{([A-Za-z0-9_$]+)\}/g

/** A template compiled against a kind: literal pieces (escaped) and field indexes between them. */
interface Template {
  readonly parts: ReadonlyArray<string>
  readonly fields: ReadonlyArray<number>
}

const DISPATCH = 0, INSTANT = 1, COUNTER = 2, BEGIN = 3, END = 4, COMPLETE = 5, FLOW_OUT = 6, FLOW_IN = 7

interface Compiled {
  readonly op: number
  readonly name: Template | null
  /** null = the subject's track. */
  readonly track: Template | null
  /** Field indexes: dispatch (vcpu, thread, budget, pcpu), counter (value), complete (duration, start), flow (id, second id). */
  readonly a: number
  readonly b: number
  readonly c: number
  readonly d: number
  readonly scale: number
  readonly instantScope: string
  /** `"cat":"<category>",` of the kind. */
  readonly cat: string
  /** Cached tid per subject id, when the track does not depend on fields. */
  readonly tidBySubject: number[]
}

/** One compiled kind: its rules, plus the `args` object prefix pieces. */
interface KindPlan {
  readonly rules: ReadonlyArray<Compiled>
  /** `"field":` per field, escaped. */
  readonly argKeys: ReadonlyArray<string>
  /** Whether each field is labelled (an entity). */
  readonly labelled: ReadonlyArray<boolean>
  readonly fieldNames: ReadonlyArray<string>
  readonly isSymbol: ReadonlyArray<boolean>
}

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
  private readonly labels: Labels
  private readonly rules: Readonly<Record<string, Rule | ReadonlyArray<Rule>>>
  private readonly clock: { readonly now: number } | undefined
  private readonly labelledFields: ReadonlySet<string>
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
  /** Escaped labels by field then `(scope + 1) * 2^21 + value`. */
  private readonly labelCache = new Map<string, Map<number, string>>()
  private readonly symbolCache: string[] = []
  private readonly categories: ReadonlySet<string>
  /** Flow key → id of the latest `flowOut` no `flowIn` has bound yet. */
  private readonly flows = new Map<number, number>()
  private nextFlow = 1
  /** Events written (metadata included). */
  events = 0
  /** Rules that did not fit their record kind (each kind then became plain instants). */
  readonly warnings: string[] = []

  constructor(out: TextWriter, options: PerfettoOptions = {}) {
    this.out = out
    this.labels = options.labels ?? plainLabels
    this.rules = { ...RULES, ...options.rules }
    this.clock = options.clock
    this.labelledFields = new Set(this.labels.fields)
    this.categories = selectCategories(options.include, options.exclude)
    const meta = options.metadata === undefined ? "" : `"otherData":${JSON.stringify(options.metadata)},`
    this.buffer = `{${meta}"traceEvents":[\n`
  }

  onRecord(trace: Trace.Trace, kind: Trace.RecordKind, t: number, subject: Trace.Subject, values: Float64Array): void {
    let plan = this.plans[kind.id]
    if (plan === undefined) plan = this.plans[kind.id] = this.compileOrFallBack(kind)
    this.lastNs = t
    const rules = plan.rules
    for (let i = 0; i < rules.length; i++) {
      const r = rules[i]!
      switch (r.op) {
        case DISPATCH: this.dispatch(trace, plan, r, t, subject, values); break
        case INSTANT: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"i","s":"${r.instantScope}","ts":${us(t)},"name":"${this.render(trace, plan, r.name!, subject.scope, values)}"${this.args(trace, plan, subject.scope, values)}}`)
          break
        }
        case COUNTER: {
          const pid = this.pidOf(subject.scope)
          this.emit(`{"pid":${pid},${r.cat}"ph":"C","ts":${us(t)},"name":"${this.render(trace, plan, r.name!, subject.scope, values)}","args":{"value":${num(values[r.a]! * r.scale)}}}`)
          break
        }
        case BEGIN: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const name = this.render(trace, plan, r.name!, subject.scope, values)
          this.open[tid]!.push(`${r.cat}\n${name}`)
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"B","ts":${us(t)},"name":"${name}"${this.args(trace, plan, subject.scope, values)}}`)
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
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"X","ts":${us(t - dur)},"dur":${us(dur)},"name":"${this.render(trace, plan, r.name!, subject.scope, values)}"${this.args(trace, plan, subject.scope, values)}}`)
          break
        }
        case FLOW_OUT:
        case FLOW_IN: {
          const tid = this.trackOf(trace, plan, r, subject, values)
          const key = flowKey(values, r.a, r.b)
          const ts = us(t)
          let id: number | undefined
          if (r.op === FLOW_OUT) {
            id = this.nextFlow++
            this.flows.set(key, id)
          } else {
            id = this.flows.get(key)
            if (id !== undefined) this.flows.delete(key)
          }
          this.emit(`${this.trackPrefix[tid]}${r.cat}"ph":"X","ts":${ts},"dur":0.001,"name":"${this.render(trace, plan, r.name!, subject.scope, values)}"${this.args(trace, plan, subject.scope, values)}}`)
          // The arrow's end bound to the slice just written (same ts, track and cat); none for a
          // flowIn with no send (a corrupted or torn read).
          if (id !== undefined) {
            const phase = r.op === FLOW_OUT ? `"ph":"s"` : `"ph":"f","bp":"e"`
            this.emit(`${this.trackPrefix[tid]}${r.cat}${phase},"ts":${ts},"name":"message","id":"0x${id.toString(16)}"}`)
          }
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
      cpu.openText = `"name":"${this.label("vcpu", scope, vcpu)}"${this.args(trace, plan, scope, values)}`
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
    this.emit(`{"pid":${this.pidOf(scope)},${r.cat}"ph":"C","ts":${ts},"name":"${this.label("vcpu", scope, vcpu)} budget","args":{"ms":${num(budgetNs / 1e6)}}}`)
  }

  /** `,"args":{...}` with every field of the record (labels and symbols as strings). */
  private args(trace: Trace.Trace, plan: KindPlan, scope: number, values: Float64Array): string {
    const keys = plan.argKeys
    if (keys.length === 0) return ""
    let s = `,"args":{`
    for (let i = 0; i < keys.length; i++) {
      s += (i === 0 ? "" : ",") + keys[i]! + this.valueJson(trace, plan, i, scope, values[i]!)
    }
    return s + "}"
  }

  private valueJson(trace: Trace.Trace, plan: KindPlan, field: number, scope: number, v: number): string {
    const sym = this.symbolOf(trace, plan, field, v)
    if (sym !== undefined) return `"${sym}"`
    if (plan.labelled[field]) {
      const name = this.labelOrUndefined(plan.fieldNames[field]!, scope, v)
      if (name !== undefined) return `"${name}"`
    }
    return num(v)
  }

  /** Escaped text of a field value for names: label, symbol or number. */
  private render(trace: Trace.Trace, plan: KindPlan, tpl: Template, scope: number, values: Float64Array): string {
    const parts = tpl.parts
    if (parts.length === 1) return parts[0]!
    let s = parts[0]!
    for (let i = 0; i < tpl.fields.length; i++) {
      const f = tpl.fields[i]!
      const v = values[f]!
      const sym = this.symbolOf(trace, plan, f, v)
      let text: string | undefined = sym
      if (text === undefined && plan.labelled[f]) text = this.labelOrUndefined(plan.fieldNames[f]!, scope, v)
      s += (text ?? num(v)) + parts[i + 1]!
    }
    return s
  }

  private symbolOf(trace: Trace.Trace, plan: KindPlan, field: number, v: number): string | undefined {
    if (!plan.isSymbol[field]) return undefined
    let s = this.symbolCache[v]
    if (s === undefined) s = this.symbolCache[v] = esc(trace.symbolText(v))
    return s
  }

  private label(field: string, scope: number, v: number): string {
    return this.labelOrUndefined(field, scope, v) ?? `${esc(field)} ${num(v)}`
  }

  /** Escaped label of entity `v` of `field` in `scope`, cached. */
  private labelOrUndefined(field: string, scope: number, v: number): string | undefined {
    if (!this.labelledFields.has(field)) return undefined
    let byValue = this.labelCache.get(field)
    if (byValue === undefined) this.labelCache.set(field, byValue = new Map())
    const cacheable = Number.isInteger(v) && v >= 0 && v < 1 << 21 && scope >= -1 && scope < 1 << 20
    const key = (scope + 1) * (1 << 21) + v
    if (cacheable) {
      const hit = byValue.get(key)
      if (hit !== undefined) return hit === "\u0000" ? undefined : hit
    }
    const name = this.labels.entity(scope, field, v)
    const escaped = name === undefined ? undefined : esc(name)
    if (cacheable) byValue.set(key, escaped ?? "\u0000")
    return escaped
  }

  // ---------------------------------------------------------------- processes and tracks

  private pidOf(scope: number): number {
    const pid = this.pids[scope + 1]
    if (pid !== undefined) return pid
    const p = 1000 + scope
    this.pids[scope + 1] = p
    this.emit(`{"ph":"M","cat":"__metadata","pid":${p},"name":"process_name","args":{"name":"${esc(this.labels.scope(scope))}"}}`)
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
    const tid = this.track(scope, `${this.label("pcpu", scope, pcpu)} schedule`)
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
    return this.track(subject.scope, this.render(trace, plan, r.track, subject.scope, values))
  }

  // ---------------------------------------------------------------- compiling rules

  /** A rule that does not fit its kind (a field renamed) falls back to the default instant, with a warning. */
  private compileOrFallBack(kind: Trace.RecordKind): KindPlan {
    try {
      return this.compile(kind, this.rules[kind.name])
    } catch (e) {
      this.warnings.push((e as Error).message)
      return this.compile(kind, undefined)
    }
  }

  private compile(kind: Trace.RecordKind, rule: Rule | ReadonlyArray<Rule> | undefined): KindPlan {
    const given = rule ?? { as: "instant", name: kind.name.replace(/[{}]/g, "") }
    const category = categoryOf(kind.name)
    // A category left out: the kind writes nothing.
    const list: ReadonlyArray<Rule> = !this.categories.has(category) ? [] : Array.isArray(given) ? given : [given as Rule]
    const cat = `"cat":"${category}",`
    const field = (name: string | undefined, what: string): number => {
      if (name === undefined) return -1
      const i = kind.fields.indexOf(name)
      if (i < 0) throw new TypeError(`Perfetto rule for "${kind.name}": ${what} field "${name}" is not a field of the kind (${kind.fields.join(", ") || "none"})`)
      return i
    }
    const template = (text: string): Template => {
      const parts: string[] = []
      const fields: number[] = []
      let last = 0
      for (const m of text.matchAll(FIELD_RE)) {
        parts.push(esc(text.slice(last, m.index)))
        fields.push(field(m[1]!, "template"))
        last = m.index + m[0].length
      }
      parts.push(esc(text.slice(last)))
      return { parts, fields }
    }
    const rules: Compiled[] = []
    for (const r of list) {
      const base = { name: null, track: null, a: -1, b: -1, c: -1, d: -1, scale: 1, instantScope: "t", cat, tidBySubject: [] as number[] }
      switch (r.as) {
        case "ignore": break
        case "dispatch":
          rules.push({ ...base, op: DISPATCH, a: field(r.vcpu, "vcpu"), b: field(r.thread, "thread"), c: field(r.budget, "budget"), d: field(r.pcpu, "pcpu") })
          break
        case "instant":
          rules.push({ ...base, op: INSTANT, name: template(r.name), track: r.track === undefined ? null : template(r.track), instantScope: r.scope === "process" ? "p" : r.scope === "global" ? "g" : "t" })
          break
        case "counter":
          rules.push({ ...base, op: COUNTER, name: template(r.name), a: field(r.value, "value"), scale: r.scale ?? 1 })
          break
        case "begin":
          rules.push({ ...base, op: BEGIN, name: template(r.name), track: r.track === undefined ? null : template(r.track) })
          break
        case "end":
          rules.push({ ...base, op: END, track: r.track === undefined ? null : template(r.track) })
          break
        case "complete":
          if ((r.start === undefined) === (r.duration === undefined)) throw new TypeError(`Perfetto rule for "${kind.name}": give exactly one of start and duration`)
          rules.push({ ...base, op: COMPLETE, name: template(r.name), a: field(r.duration, "duration"), b: field(r.start, "start"), track: r.track === undefined ? null : template(r.track) })
          break
        case "flowOut":
        case "flowIn": {
          const [a, b] = typeof r.id === "string" ? [r.id, undefined] : r.id
          rules.push({ ...base, op: r.as === "flowOut" ? FLOW_OUT : FLOW_IN, name: template(r.name), a: field(a, "id"), b: field(b, "id"), track: r.track === undefined ? null : template(r.track) })
          break
        }
      }
    }
    return {
      rules,
      argKeys: kind.fields.map((f) => `"${esc(f)}":`),
      labelled: kind.fields.map((f) => this.labelledFields.has(f)),
      fieldNames: kind.fields,
      isSymbol: kind.isSymbol,
    }
  }
}
