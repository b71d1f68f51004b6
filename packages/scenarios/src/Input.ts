/**
 * Reading what a user hands the CLI (scenario files, trace files, a `.ts` module's default
 * export) within limits, so no input can hang the CLI, exhaust its memory or overflow its stack:
 *
 * - only regular files are read (a FIFO, a device such as `/dev/zero`, a directory or a socket is
 *   refused before any byte is read: the file is opened non-blocking and checked with `fstat`);
 * - files above a size limit are refused (scenarios 16 MiB, traces 16 GiB by default; set
 *   `QVSIM_MAX_SCENARIO_BYTES` / `QVSIM_MAX_TRACE_BYTES` to change them); a trace line above
 *   1 MiB is refused while streaming (`QVSIM_MAX_LINE_BYTES`);
 * - a value's nesting is at most 64 levels and it has no cycles ({@link checkShape}, iterative:
 *   hashing and validating recurse, so they only ever see shallow values).
 *
 * Errors are thrown as the caller's error class with a one-line message naming the file.
 *
 * @module
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs"

const MiB = 1024 * 1024

/** A positive integer from the environment variable `name`, else `fallback`. */
const fromEnv = (name: string, fallback: number): number => {
  const text = process.env[name]
  if (text === undefined || text === "") return fallback
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name}=${text}: expected a positive integer number of bytes`)
  return n
}

/** The limits in force (read from the environment each time, so tests may set them). */
export const limits = () => ({
  scenarioBytes: fromEnv("QVSIM_MAX_SCENARIO_BYTES", 16 * MiB),
  traceBytes: fromEnv("QVSIM_MAX_TRACE_BYTES", 16 * 1024 * MiB),
  lineBytes: fromEnv("QVSIM_MAX_LINE_BYTES", MiB),
  depth: 64,
})

type ErrorClass = new (message: string) => Error

const kindOf = (st: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string =>
  st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO (named pipe)" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : "not a regular file"

const human = (bytes: number): string => (bytes >= MiB ? `${(bytes / MiB).toFixed(bytes % MiB === 0 ? 0 : 1)} MiB` : `${bytes} bytes`)

/**
 * Opens `path` for reading if it is a regular file of at most `maxBytes`; returns its descriptor
 * and size. `what` names it in errors (`scenario file x.json`), `envName` the limit's variable.
 */
export const openRegular = (path: string, what: string, maxBytes: number, envName: string, Err: ErrorClass): { fd: number; size: number } => {
  let fd: number
  try {
    // Non-blocking: opening a FIFO with no writer must not wait. Regular files ignore the flag.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new Err(`${what} ${path}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code ?? (e as Error).message}`)
  }
  const st = fstatSync(fd)
  if (!st.isFile()) {
    closeSync(fd)
    throw new Err(`${what} ${path} is ${kindOf(st)}; give a regular file`)
  }
  if (st.size > maxBytes) {
    closeSync(fd)
    throw new Err(`${what} ${path} is ${human(st.size)}, above the limit of ${human(maxBytes)} (set ${envName} to raise it)`)
  }
  return { fd, size: st.size }
}

/** The text of a regular file of at most `maxBytes` (see {@link openRegular}). */
export const readText = (path: string, what: string, maxBytes: number, envName: string, Err: ErrorClass): string => {
  const { fd, size } = openRegular(path, what, maxBytes, envName, Err)
  try {
    // Read at most the limit plus one byte: a file growing while read is still bounded.
    const buf = Buffer.alloc(Math.min(size, maxBytes) + 1)
    let n = 0
    for (;;) {
      const r = readSync(fd, buf, n, buf.length - n, null)
      if (r === 0) break
      n += r
      if (n === buf.length) throw new Err(`${what} ${path} grew above the limit of ${human(maxBytes)} while being read`)
    }
    return buf.toString("utf8", 0, n)
  } finally {
    closeSync(fd)
  }
}

/**
 * Checks that `value` nests at most `maxDepth` levels and has no cycle, iteratively; returns the
 * problem (with the path where it was found) or undefined. Functions are leaves.
 */
export const checkShape = (value: unknown, maxDepth = limits().depth): string | undefined => {
  // Depth-first with an explicit stack; `onPath` holds the objects of the current path (cycles).
  const stack: Array<{ v: unknown; path: string; depth: number; exit?: boolean }> = [{ v: value, path: "(root)", depth: 0 }]
  const onPath = new Set<object>()
  while (stack.length > 0) {
    const top = stack.pop()!
    const v = top.v
    if (v === null || typeof v !== "object") continue
    if (top.exit === true) {
      onPath.delete(v)
      continue
    }
    const where = top.path.length > 60 ? `${top.path.slice(0, 60)}…` : top.path
    if (onPath.has(v)) return `${where}: refers back to itself (a cycle)`
    if (top.depth >= maxDepth) return `${where}: nested more than ${maxDepth} levels deep`
    onPath.add(v)
    stack.push({ v, path: top.path, depth: top.depth, exit: true })
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v)
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, x] = entries[i]!
      if (x !== null && typeof x === "object") {
        stack.push({ v: x, path: typeof k === "number" ? `${top.path === "(root)" ? "" : top.path}[${k}]` : top.path === "(root)" ? k : `${top.path}.${k}`, depth: top.depth + 1 })
      }
    }
  }
  return undefined
}
