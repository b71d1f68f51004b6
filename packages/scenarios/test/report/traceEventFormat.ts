/**
 * A validator of the Trace Event Format (the JSON that chrome://tracing, Perfetto and the DevTools
 * trace engine read), written from its specification ("Trace Event Format", Google, the document
 * the Chromium project links from its tracing docs): the rules below cite its sections. It checks
 * the document, not qvsim's conventions, except where noted as a qvsim rule (`[qvsim]`), which
 * the issue asks for on top (a `cat` on every event, `E` named like its `B`).
 *
 * Rules:
 * - JSON Object Format: an object with a `traceEvents` array; `displayTimeUnit`, if present, is
 *   "ms" or "ns"; `otherData`, if present, an object.
 * - every event: `ph` one of the phases of the spec; `name` a string; `cat` a string if present
 *   [qvsim: present on every event]; `pid` and `tid` numbers or strings; `ts` a finite number
 *   ≥ 0 in µs (metadata events may omit it); `args` an object if present.
 * - Duration events (B/E): per (pid, tid), an E closes the innermost open B, and "timestamps
 *   must be in increasing order for a given thread" (E not before its B); every B is closed
 *   [qvsim: the E carries the B's name].
 * - Complete events (X): `dur` a finite number ≥ 0.
 * - Instant events (i, I): `s`, if present, is "g", "p" or "t".
 * - Counter events (C): `args` an object of numbers (each key a series).
 * - Flow events (s, t, f): an `id`; a flow is identified by (cat, name, id); `t` and `f` need an
 *   earlier `s` of the same flow that no `f` has ended; `bp`, if present, is "e" [qvsim: a flow
 *   id never starts twice, so no end can bind to an older start; a start with no end, a message
 *   no one read, draws nothing and is allowed].
 * - Async events (b, n, e): an `id`; `e` needs an open `b` of the same (cat, id).
 * - Metadata events (M): `name` one of process_name, process_labels, process_sort_index,
 *   thread_name, thread_sort_index; `args` an object (`name` a string for *_name).
 * - [qvsim] every pid and (pid, tid) an event uses is named by a metadata event.
 *
 * @module
 */

const PHASES = new Set(["B", "E", "X", "i", "I", "C", "b", "n", "e", "s", "t", "f", "P", "O", "N", "D", "M", "V", "v", "R", "c", "(", ")"])
const METADATA = new Set(["process_name", "process_labels", "process_sort_index", "thread_name", "thread_sort_index"])

export interface ValidateOptions {
  /** Apply the `[qvsim]` rules too (default true). */
  readonly qvsim?: boolean
}

const isId = (v: unknown): boolean => typeof v === "number" || typeof v === "string"

/** Problems of a trace-event document (empty = valid); at most `limit` listed. */
export const validate = (doc: unknown, options: ValidateOptions = {}, limit = 50): string[] => {
  const strict = options.qvsim ?? true
  const out: string[] = []
  const add = (m: string): void => {
    if (out.length < limit) out.push(m)
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return ["document: not a JSON object (JSON Object Format)"]
  const d = doc as Record<string, unknown>
  if (!Array.isArray(d["traceEvents"])) return ["document: no traceEvents array"]
  if (d["displayTimeUnit"] !== undefined && d["displayTimeUnit"] !== "ms" && d["displayTimeUnit"] !== "ns") add(`document: displayTimeUnit ${String(d["displayTimeUnit"])} is not "ms" or "ns"`)
  if (d["otherData"] !== undefined && (typeof d["otherData"] !== "object" || d["otherData"] === null)) add("document: otherData is not an object")
  const open = new Map<string, Array<{ name: string; ts: number }>>()
  const flows = new Map<string, { ended: boolean }>()
  const startedIds = new Set<string>()
  const asyncOpen = new Map<string, number>()
  const namedPids = new Set<string>()
  const namedTids = new Set<string>()
  const usedPids = new Set<string>()
  const usedTids = new Set<string>()
  ;(d["traceEvents"] as unknown[]).forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null) return add(`event ${i}: not an object`)
    const e = raw as Record<string, unknown>
    const ph = e["ph"]
    const at = `event ${i} (${String(ph)} ${String(e["name"] ?? "")})`
    if (typeof ph !== "string" || !PHASES.has(ph)) return add(`${at}: unknown phase`)
    if (typeof e["name"] !== "string") add(`${at}: no name`)
    if (e["cat"] !== undefined && typeof e["cat"] !== "string") add(`${at}: cat is not a string`)
    if (strict && typeof e["cat"] !== "string") add(`${at}: no cat`)
    if (!isId(e["pid"])) add(`${at}: no pid`)
    if (e["tid"] !== undefined && !isId(e["tid"])) add(`${at}: tid is neither a number nor a string`)
    if (e["args"] !== undefined && (typeof e["args"] !== "object" || e["args"] === null || Array.isArray(e["args"]))) add(`${at}: args is not an object`)
    if (ph === "M") {
      if (!METADATA.has(String(e["name"]))) add(`${at}: unknown metadata name`)
      const args = e["args"] as Record<string, unknown> | undefined
      if (String(e["name"]).endsWith("_name") && typeof args?.["name"] !== "string") add(`${at}: metadata without args.name`)
      if (e["name"] === "process_name") namedPids.add(String(e["pid"]))
      if (e["name"] === "thread_name") namedTids.add(`${String(e["pid"])}/${String(e["tid"])}`)
      return
    }
    const ts = e["ts"]
    if (typeof ts !== "number" || !Number.isFinite(ts) || ts < 0) return add(`${at}: ts ${String(ts)} is not a finite number ≥ 0`)
    const pid = String(e["pid"])
    const thread = `${pid}/${String(e["tid"])}`
    usedPids.add(pid)
    const global = (ph === "i" || ph === "I") && (e["s"] === "g" || e["s"] === "p")
    if (ph !== "C" && !global) {
      if (e["tid"] === undefined) add(`${at}: no tid`)
      else usedTids.add(thread)
    }
    switch (ph) {
      case "B": {
        let stack = open.get(thread)
        if (stack === undefined) open.set(thread, stack = [])
        stack.push({ name: String(e["name"]), ts })
        break
      }
      case "E": {
        const b = open.get(thread)?.pop()
        if (b === undefined) add(`${at}: E with no open B on ${thread}`)
        else {
          if (ts < b.ts) add(`${at}: E at ${ts} before its B at ${b.ts}`)
          if (strict && e["name"] !== b.name) add(`${at}: E named ${JSON.stringify(e["name"])} closes B ${JSON.stringify(b.name)}`)
        }
        break
      }
      case "X":
        if (typeof e["dur"] !== "number" || !Number.isFinite(e["dur"]) || e["dur"] < 0) add(`${at}: X without a finite dur ≥ 0`)
        break
      case "i":
      case "I":
        if (e["s"] !== undefined && e["s"] !== "g" && e["s"] !== "p" && e["s"] !== "t") add(`${at}: instant scope ${String(e["s"])} is not g, p or t`)
        break
      case "C": {
        const args = e["args"] as Record<string, unknown> | undefined
        if (args === undefined || Object.keys(args).length === 0) add(`${at}: counter without args`)
        else for (const [k, v] of Object.entries(args)) if (typeof v !== "number" || !Number.isFinite(v)) add(`${at}: counter series ${k} = ${String(v)} is not a number`)
        break
      }
      case "s":
      case "t":
      case "f": {
        if (!isId(e["id"])) { add(`${at}: flow event without id`); break }
        if (e["bp"] !== undefined && e["bp"] !== "e") add(`${at}: bp ${String(e["bp"])} is not "e"`)
        const key = `${String(e["cat"])}\u0000${String(e["name"])}\u0000${String(e["id"])}`
        if (ph === "s") {
          if (strict && startedIds.has(key)) add(`${at}: flow id ${String(e["id"])} starts twice`)
          startedIds.add(key)
          flows.set(key, { ended: false })
        } else {
          const f = flows.get(key)
          if (f === undefined || f.ended) add(`${at}: flow ${String(e["id"])} ${ph === "f" ? "ends" : "steps"} with no open start`)
          else if (ph === "f") f.ended = true
        }
        break
      }
      case "b":
      case "n":
      case "e": {
        if (!isId(e["id"])) { add(`${at}: async event without id`); break }
        const key = `${String(e["cat"])}\u0000${String(e["id"])}`
        if (ph === "b") asyncOpen.set(key, (asyncOpen.get(key) ?? 0) + 1)
        if (ph === "e") {
          const n = asyncOpen.get(key) ?? 0
          if (n === 0) add(`${at}: async end with no open begin`)
          else asyncOpen.set(key, n - 1)
        }
        break
      }
    }
  })
  for (const [thread, stack] of open) if (stack.length > 0) add(`${thread}: ${stack.length} B never closed (first ${JSON.stringify(stack[0]!.name)})`)
  if (strict) {
    for (const pid of usedPids) if (!namedPids.has(pid)) add(`pid ${pid}: no process_name`)
    for (const tid of usedTids) if (!namedTids.has(tid)) add(`thread ${tid}: no thread_name`)
  }
  return out
}
