/**
 * Trace files (JSONL): a header line, then one record per line. Reading refuses what is not a
 * regular file or is above the trace size limit (see `Input`), validates the header like any
 * input (every field, unknown keys named, the value shown: exit 2) and each record's shape,
 * naming the line of the first bad one; a line above the line limit is refused, so a file without
 * newlines never fills the memory.
 *
 * @module
 */
import { closeSync } from "node:fs"
import { Issues } from "@qvsim/hardware"
import { Time, type Trace } from "@qvsim/sim-core"
import { z } from "zod"
import { readLines } from "./Files.ts"
import * as Input from "./Input.ts"

const hex16 = z.string().regex(/^[0-9a-f]{16}$/, "must be 16 hex digits")

export const TraceHeaderSchema = z.strictObject({
  type: z.literal("header"),
  qvsim: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/, "must be a version such as 0.1.0"),
  scenario: z.strictObject({
    name: z.string().min(1).max(200),
    hash: hex16,
    source: z.string().min(1).max(4096).optional(),
    /** The scenario file's content hash, checked before replay imports it. */
    file: z.strictObject({ sha256: hex16 }).optional(),
  }),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  options: z.strictObject({
    untilNs: z.number().int().min(1).max(Time.MAX_INPUT_NS).optional(),
    scale: z.number().gt(0).max(1).optional(),
    /** `--set` overrides of the run (sweeps). */
    set: z.array(z.string().max(4096)).max(1000).optional(),
  }),
})
export type TraceHeaderInput = z.output<typeof TraceHeaderSchema>

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

const lines = (path: string): Generator<string> => {
  const lim = Input.limits()
  const { fd } = Input.openRegular(path, "trace file", lim.traceBytes, "QVSIM_MAX_TRACE_BYTES", TraceFileError)
  const tooLong = (n: number) => new TraceFileError(`${path}:${n}: a line longer than ${lim.lineBytes} bytes (not a qvsim trace? set QVSIM_MAX_LINE_BYTES to allow it)`)
  return (function* () {
    try {
      yield* readLines(path, lim.lineBytes, tooLong, fd)
    } finally {
      closeSync(fd)
    }
  })()
}

/** Reads and validates the header (first line) of a trace file. */
export const readHeader = (path: string): Trace.TraceHeader & TraceHeaderInput => {
  const it = lines(path)
  try {
    const first = it.next()
    if (first.done === true) throw new TraceFileError(`${path}: empty file, expected a header line`)
    const value = parseLine(path, first.value, 1)
    const shape = Input.checkShape(value, 8)
    if (shape !== undefined) throw new TraceFileError(`${path}:1: not a qvsim trace header (${shape})`)
    const result = TraceHeaderSchema.safeParse(value, Issues.parseOptions)
    if (!result.success) {
      const [i] = Issues.flatten(result.error.issues)
      throw new TraceFileError(`${path}:1: not a valid qvsim trace header: ${Issues.formatPath(i!.path) || "(root)"}: ${i!.message}`)
    }
    return result.data as Trace.TraceHeader & TraceHeaderInput
  } finally {
    it.return(undefined)
  }
}

const isRecord = (x: unknown): x is Trace.TraceRecord => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false
  const r = x as Record<string, unknown>
  if (typeof r["t"] !== "number" || typeof r["kind"] !== "string" || typeof r["subject"] !== "string") return false
  for (const k in r) {
    const v = r[k]
    if (typeof v !== "number" && typeof v !== "string") return false
  }
  return true
}

/** The records of a trace file, lazily (the header is skipped). */
export function* readRecords(path: string): Generator<Trace.TraceRecord> {
  let n = 0
  for (const line of lines(path)) {
    n++
    if (n === 1 || line.trim() === "") continue
    const value = parseLine(path, line, n)
    if (!isRecord(value)) throw new TraceFileError(`${path}:${n}: not a trace record (an object of numbers and strings with t, kind, subject)`)
    yield value
  }
}
