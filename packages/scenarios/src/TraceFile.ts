/**
 * Trace files, in either format: JSONL (a header line, then one record per line) or binary `.qvt`
 * (`sim-core/Qvt.ts`, docs/trace-format.md), told apart by their first byte. Reading refuses what
 * is not a regular file or is above the trace size limit (see `Input`), validates the header like
 * any input (every field, unknown keys named, the value shown: exit 2) and each record, naming the
 * line (JSONL) or byte offset (`.qvt`) of the first bad one; a JSONL line above the line limit is
 * refused, so a file without newlines never fills the memory.
 *
 * @module
 */
import { closeSync, readSync } from "node:fs"
import { Issues } from "@qvsim/hardware"
import { Qvt, Time, type Trace } from "@qvsim/sim-core"
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

/** Validates a parsed header; `where` names it in errors (`path:1`, `path: offset 16`). */
const checkHeader = (where: string, value: unknown): Trace.TraceHeader & TraceHeaderInput => {
  const shape = Input.checkShape(value, 8)
  if (shape !== undefined) throw new TraceFileError(`${where}: not a qvsim trace header (${shape})`)
  const result = TraceHeaderSchema.safeParse(value, Issues.parseOptions)
  if (!result.success) {
    const [i] = Issues.flatten(result.error.issues)
    throw new TraceFileError(`${where}: not a valid qvsim trace header: ${Issues.formatPath(i!.path) || "(root)"}: ${i!.message}`)
  }
  return result.data as Trace.TraceHeader & TraceHeaderInput
}

/** True when the file starts with the `.qvt` magic bytes (a JSONL trace starts with `{`). */
export const isBinary = (path: string): boolean => {
  const { fd } = Input.openRegular(path, "trace file", Input.limits().traceBytes, "QVSIM_MAX_TRACE_BYTES", TraceFileError)
  try {
    const head = Buffer.alloc(1)
    return readSync(fd, head, 0, 1, 0) === 1 && head[0] === Qvt.MAGIC[0]
  } finally {
    closeSync(fd)
  }
}

/** Runs `f`, turning a `QvtError` into a one-line `TraceFileError` naming the file and the offset. */
const binaryErrors = <A>(path: string, f: () => A): A => {
  try {
    return f()
  } catch (e) {
    if (e instanceof Qvt.QvtError) throw new TraceFileError(`${path}: offset ${e.offset}: ${e.message}`)
    throw e
  }
}

/** A `.qvt` file opened for reading (its header checked as bytes, not yet as a header); `close` when done. */
export const openBinary = (path: string): { reader: Qvt.QvtReader; close: () => void } => {
  const { fd, size } = Input.openRegular(path, "trace file", Input.limits().traceBytes, "QVSIM_MAX_TRACE_BYTES", TraceFileError)
  try {
    const readAt = (position: number, length: number): Uint8Array => {
      const buf = Buffer.alloc(length)
      let n = 0
      while (n < length) {
        const r = readSync(fd, buf, n, length - n, position + n)
        if (r === 0) break
        n += r
      }
      return n === length ? buf : buf.subarray(0, n)
    }
    return { reader: binaryErrors(path, () => new Qvt.QvtReader(readAt, size)), close: () => closeSync(fd) }
  } catch (e) {
    closeSync(fd)
    throw e
  }
}

/** Reads and validates the header (first line, or the `.qvt` header) of a trace file. */
export const readHeader = (path: string): Trace.TraceHeader & TraceHeaderInput => {
  if (isBinary(path)) {
    const { reader, close } = openBinary(path)
    close()
    return checkHeader(`${path}: offset 16`, reader.header)
  }
  const it = lines(path)
  try {
    const first = it.next()
    if (first.done === true) throw new TraceFileError(`${path}: empty file, expected a header line`)
    return checkHeader(`${path}:1`, parseLine(path, first.value, 1))
  } finally {
    it.return(undefined)
  }
}

/** Where record `index` (0-based) of a trace file is, for messages: `path:line` or `path: record n`. */
export const recordPlace = (path: string, index: number): string =>
  isBinary(path) ? `${path}: record ${index + 1}` : `${path}:${index + 2}`

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
  if (isBinary(path)) {
    // A first pass checks the whole file (lengths, ids, count, the run's fingerprint), so a
    // corrupt file is refused (exit 2) before any of its records is compared.
    const check = openBinary(path)
    try {
      binaryErrors(path, () => { for (const _ of check.reader.records()) { /* checking only */ } })
    } finally {
      check.close()
    }
    const { reader, close } = openBinary(path)
    try {
      const it = reader.objects()
      for (;;) {
        const next = binaryErrors(path, () => it.next())
        if (next.done === true) return
        yield next.value
      }
    } finally {
      close()
    }
  }
  let n = 0
  for (const line of lines(path)) {
    n++
    if (n === 1 || line.trim() === "") continue
    const value = parseLine(path, line, n)
    if (!isRecord(value)) throw new TraceFileError(`${path}:${n}: not a trace record (an object of numbers and strings with t, kind, subject)`)
    yield value
  }
}
