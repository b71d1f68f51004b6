/**
 * Files at the edge: atomic writes (temporary name, then rename, so no reader ever sees a
 * half-written file and a failed run leaves nothing behind) and synchronous line reading for
 * streaming replay.
 *
 * Invariants:
 * - a temporary file is named `.<name>.qvsim-<pid>.tmp` beside its target, created exclusively
 *   (`O_EXCL | O_NOFOLLOW`: never through a planted link), and listed in {@link liveTemporaries}
 *   until it is renamed or removed, so a hard exit (a second Ctrl-C) can remove it;
 * - the first file written in a directory removes the temporaries there whose writer's process is
 *   gone (a crashed or killed run), never those of a live process;
 * - every write is checked: a short write is completed, an error (ENOSPC, EIO, ...) throws an
 *   {@link OutputError} naming the file and the reason, and the caller aborts the file.
 *
 * @module
 */
import { closeSync, constants, openSync, readdirSync, readSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, basename, join, resolve } from "node:path"
import type { Trace } from "@qvsim/sim-core"

/** An output that cannot be written (refused target, no space, no permission): bad input, exit 2. */
export class OutputError extends Error {
  override readonly name = "OutputError"
  readonly code: string | undefined
  constructor(message: string, code?: string) {
    super(message)
    this.code = code
  }
}

const REASONS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "read-only file system",
  ENOENT: "no such directory",
  EIO: "input/output error",
  EFBIG: "file too large",
  ENOTDIR: "a path component is not a directory",
  EISDIR: "is a directory",
}

/** A one-line reason for a failed system call (`no space left on the device (ENOSPC)`). */
export const reason = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code
  return code === undefined ? String((e as Error)?.message ?? e).split("\n")[0]! : `${REASONS[code] ?? code.toLowerCase()} (${code})`
}

const TEMPORARY = /^\..+\.qvsim-(\d+)\.tmp$/

/** The temporary name of `path` for this process. */
export const temporaryOf = (path: string): string => join(dirname(path), `.${basename(path)}.qvsim-${process.pid}.tmp`)

const live = new Set<string>()

/** The temporary files this process holds open now (absolute paths). */
export const liveTemporaries = (): ReadonlySet<string> => live

/** Removes every temporary file this process holds (a hard exit); never throws. */
export const removeLiveTemporaries = (): void => {
  for (const p of live) {
    try {
      rmSync(p, { force: true })
    } catch {
      // Best effort: the process is exiting.
    }
  }
  live.clear()
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"
  }
}

const swept = new Set<string>()

/** Removes the temporaries in `dir` whose writer's process is gone; returns their names. Once per directory and process. */
export const removeStaleTemporaries = (dir: string): string[] => {
  const key = resolve(dir)
  if (swept.has(key)) return []
  swept.add(key)
  const removed: string[] = []
  let names: string[]
  try {
    names = readdirSync(key)
  } catch {
    return removed
  }
  for (const name of names) {
    const m = TEMPORARY.exec(name)
    if (m === null) continue
    const pid = Number(m[1])
    if (pid === process.pid || alive(pid)) continue
    try {
      rmSync(join(key, name), { force: true })
      removed.push(name)
    } catch {
      // Not ours to remove (permissions): leave it.
    }
  }
  return removed
}

/** A file being written under a temporary name; `close()` renames it into place. */
export class AtomicFile implements Trace.TextWriter {
  readonly path: string
  private readonly tmp: string
  private fd: number | null
  constructor(path: string) {
    this.path = path
    this.tmp = resolve(temporaryOf(path))
    removeStaleTemporaries(dirname(this.tmp))
    try {
      // A temporary of ours left by a process with our pid (a reused pid) is replaced.
      rmSync(this.tmp, { force: true })
      this.fd = openSync(this.tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o666)
    } catch (e) {
      throw new OutputError(`cannot write ${path}: ${reason(e)}`, (e as NodeJS.ErrnoException).code)
    }
    live.add(this.tmp)
  }
  /** Appends text (as UTF-8) or bytes. */
  write(data: string | Uint8Array): void {
    if (this.fd === null) throw new OutputError(`${this.path}: already closed`)
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data
    let done = 0
    try {
      while (done < buf.length) done += writeSync(this.fd, buf, done, buf.length - done)
    } catch (e) {
      throw new OutputError(`cannot write ${this.path}: ${reason(e)}`, (e as NodeJS.ErrnoException).code)
    }
  }
  /** Flushes and renames the file into place. */
  close(): void {
    if (this.fd === null) return
    try {
      closeSync(this.fd)
      this.fd = null
      renameSync(this.tmp, this.path)
    } catch (e) {
      throw new OutputError(`cannot write ${this.path}: ${reason(e)}`, (e as NodeJS.ErrnoException).code)
    }
    live.delete(this.tmp)
  }
  /** Drops the temporary file (after a failure); the target path is left untouched. */
  abort(): void {
    if (this.fd !== null) {
      try {
        closeSync(this.fd)
      } catch {
        // Already unusable: removing it is what matters.
      }
    }
    this.fd = null
    rmSync(this.tmp, { force: true })
    live.delete(this.tmp)
  }
}

/** Writes `text` to `path` atomically. */
export const writeFileAtomic = (path: string, text: string): void => {
  const f = new AtomicFile(path)
  try {
    f.write(text)
    f.close()
  } catch (e) {
    f.abort()
    throw e
  }
}

/**
 * The lines of a file, read lazily in 64 KiB chunks (no trailing empty line). A line longer than
 * `maxLineBytes` throws `tooLong(lineNumber)` (a file with no newline, e.g. binary data, never
 * fills the memory).
 */
export function* readLines(path: string, maxLineBytes = Infinity, tooLong: (line: number) => Error = (n) => new RangeError(`${path}:${n}: line too long`), fd?: number): Generator<string> {
  const own = fd === undefined
  const handle = fd ?? openSync(path, "r")
  try {
    const buf = Buffer.alloc(1 << 16)
    let rest = ""
    let n = 0
    for (;;) {
      const got = readSync(handle, buf, 0, buf.length, null)
      if (got === 0) break
      const chunk = rest + buf.toString("utf8", 0, got)
      const lines = chunk.split("\n")
      rest = lines.pop()!
      for (const line of lines) {
        n++
        if (line.length > maxLineBytes) throw tooLong(n)
        yield line
      }
      if (rest.length > maxLineBytes) throw tooLong(n + 1)
    }
    if (rest !== "") yield rest
  } finally {
    if (own) closeSync(handle)
  }
}
