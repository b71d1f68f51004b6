/**
 * `qvsim export t.qvt --to jsonl|perfetto [--out FILE]`: turns a binary trace into JSONL (byte for
 * byte what `run --trace t.jsonl` writes) or a Perfetto trace-event file.
 *
 * The stored records are emitted again, in order, through a fresh `Trace` (kinds, subjects and
 * symbols as the file defines them) with the chosen sink attached, so both outputs come from the
 * same writers a run uses. The reader checks the records against the run's fingerprint the file
 * ends with (when it holds every record of its run): a mismatch is a corrupt file (exit 2). Perfetto output names entities by number (the run's `--perfetto` names VCPUs and
 * threads from the system it ran).
 *
 * @module
 */
import { basename, dirname, join } from "node:path"
import { Trace } from "@qvsim/sim-core"
import { Console, Effect, Option } from "effect"
import { Argument, Command, Flag } from "effect/cli"
import { PendingFile } from "../report/Outputs.ts"
import { PerfettoSink, plainLabels } from "../report/Perfetto.ts"
import { isBinary, openBinary, readHeader, TraceFileError } from "../TraceFile.ts"
import { badInput, fromUnknown } from "./Errors.ts"

const FORMATS = ["jsonl", "perfetto"] as const
type Format = (typeof FORMATS)[number]

/** The default output next to the input: `t.qvt` → `t.jsonl` / `t.perfetto.json`. */
export const defaultOut = (input: string, to: Format): string => {
  const stem = basename(input).replace(/\.qvt$/i, "")
  return join(dirname(input), `${stem}${to === "jsonl" ? ".jsonl" : ".perfetto.json"}`)
}

/** Exports `input` (a `.qvt` file) to `out`; returns the number of records. Throws `TraceFileError` for a bad file. */
export const exportFile = (input: string, to: Format, out: PendingFile): number => {
  const header = readHeader(input)
  const { reader, close } = openBinary(input)
  try {
    const clock = { now: 0 }
    const trace = new Trace.Trace(clock)
    trace.attach(to === "jsonl"
      ? new Trace.JsonlSink(out, header)
      : new PerfettoSink(out, { labels: plainLabels, metadata: { qvsim: header.qvsim, scenario: header.scenario, seed: header.seed, options: header.options } }))
    const kinds: Trace.RecordKind[] = []
    const subjects: Trace.Subject[] = []
    let symbols = 0
    const v = [0, 0, 0, 0, 0, 0, 0, 0]
    const records = reader.records()
    for (;;) {
      let next: IteratorResult<ReturnType<typeof reader.records> extends Generator<infer R> ? R : never>
      try {
        next = records.next()
      } catch (e) {
        if (e instanceof Error && e.name === "QvtError") throw new TraceFileError(`${input}: offset ${(e as Error & { offset: number }).offset}: ${e.message}`)
        throw e
      }
      if (next.done === true) break
      const r = next.value
      const kind = kinds[r.kind.id] ??= trace.kind(r.kind.name, r.kind.fields.map((f, i) => (r.kind.isSymbol[i] ? `$${f}` : f)))
      const subject = subjects[r.subject.id] ??= trace.subject(r.subject.name, r.subject.scope)
      // Intern symbols in the file's order, so ids (and every sink's view of them) match the run's.
      for (; symbols < reader.symbols.length; symbols++) trace.symbol(reader.symbols[symbols]!)
      for (let i = 0; i < r.kind.fields.length; i++) v[i] = r.values[i]!
      clock.now = r.t
      trace.emit(kind, subject, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7])
    }
    const end = reader.end!
    trace.close()
    return end.records
  } finally {
    close()
  }
}

export const exportTrace = Command.make(
  "export",
  {
    trace: Argument.String("trace.qvt").pipe(Argument.withDescription("a binary trace written by `qvsim run --trace t.qvt`")),
    to: Flag.Literals("to", FORMATS).pipe(Flag.withDescription("jsonl: the JSONL trace `run --trace t.jsonl` writes; perfetto: a Chrome/Perfetto trace-event JSON file")),
    out: Flag.String("out").pipe(Flag.withDescription("the file to write (default: next to the trace, t.jsonl or t.perfetto.json)"), Flag.withMetavar("FILE"), Flag.optional),
    force: Flag.Boolean("force").pipe(Flag.withDescription("overwrite FILE if it is a link (written through)"), Flag.withDefault(false)),
  },
  Effect.fn("export")(function* ({ trace, to, out, force }) {
    const isQvt = yield* Effect.try({ try: () => isBinary(trace), catch: fromUnknown })
    if (!isQvt) return yield* badInput(`${trace}: not a .qvt trace (a JSONL trace is already exportable as it is; give a file written by run --trace t.qvt)`)
    const target = Option.getOrElse(out, () => defaultOut(trace, to))
    const file = yield* Effect.try({ try: () => new PendingFile(target, "--out", { inputs: [trace], force }), catch: fromUnknown })
    const records = yield* Effect.try({
      try: () => {
        const n = exportFile(trace, to, file)
        file.commit()
        return n
      },
      catch: (e) => {
        file.abort()
        return fromUnknown(e)
      },
    })
    yield* Console.log(`${to === "jsonl" ? "jsonl   " : "perfetto"}     ${target} (${records.toLocaleString("en-US")} records${to === "perfetto" ? "; open it at ui.perfetto.dev" : ""})`)
  }),
).pipe(Command.withDescription("convert a binary .qvt trace to JSONL or a Perfetto trace-event file"))
