/**
 * Trace files (JSONL): a header line, then one record per line. Reading checks the header and
 * each record's shape, naming the line of the first bad one.
 *
 * @module
 */
import { Trace } from "@qvsim/sim-core"
import { z } from "zod"
import { AtomicFile, readLines } from "./Files.ts"

export const TraceHeaderSchema = z.object({
  type: z.literal("header"),
  qvsim: z.string(),
  scenario: z.object({ name: z.string(), hash: z.string(), source: z.string().optional() }),
  seed: z.number().int().min(0),
  options: z.record(z.string(), z.unknown()),
})

export class TraceFileError extends Error {
  override readonly name = "TraceFileError"
}

const parseLine = (path: string, line: string, n: number): unknown => {
  try {
    return JSON.parse(line)
  } catch {
    throw new TraceFileError(`${path}:${n}: not a JSON line`)
  }
}

/** Reads and validates the header (first line) of a trace file. */
export const readHeader = (path: string): Trace.TraceHeader => {
  const first = readLines(path).next()
  if (first.done === true) throw new TraceFileError(`${path}: empty file, expected a header line`)
  const result = TraceHeaderSchema.safeParse(parseLine(path, first.value, 1))
  if (!result.success) throw new TraceFileError(`${path}:1: not a qvsim trace header (${result.error.issues[0]?.path.join(".")}: ${result.error.issues[0]?.message})`)
  return result.data as Trace.TraceHeader
}

const isRecord = (x: unknown): x is Trace.TraceRecord =>
  typeof x === "object" && x !== null && typeof (x as { t?: unknown }).t === "number" &&
  typeof (x as { kind?: unknown }).kind === "string" && typeof (x as { subject?: unknown }).subject === "string"

/** The records of a trace file, lazily (the header is skipped). */
export function* readRecords(path: string): Generator<Trace.TraceRecord> {
  let n = 0
  for (const line of readLines(path)) {
    n++
    if (n === 1 || line.trim() === "") continue
    const value = parseLine(path, line, n)
    if (!isRecord(value)) throw new TraceFileError(`${path}:${n}: not a trace record (needs t, kind, subject)`)
    yield value
  }
}

/** A JSONL sink writing to `path` atomically (renamed into place when the trace is closed). */
export const jsonlFileSink = (path: string, header: Trace.TraceHeader): { sink: Trace.JsonlSink; file: AtomicFile } => {
  const file = new AtomicFile(path)
  return { sink: new Trace.JsonlSink(file, header), file }
}
