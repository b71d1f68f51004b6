/**
 * Files at the edge: atomic writes (temporary name, then rename, so no reader ever sees a
 * half-written file and a failed run leaves nothing behind) and synchronous line reading for
 * streaming replay.
 *
 * @module
 */
import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs"
import { dirname, basename, join } from "node:path"
import type { Trace } from "@qvsim/sim-core"

/** A file being written under a temporary name; `close()` renames it into place. */
export class AtomicFile implements Trace.TextWriter {
  readonly path: string
  private readonly tmp: string
  private fd: number | null
  constructor(path: string) {
    this.path = path
    this.tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
    try {
      this.fd = openSync(this.tmp, "w")
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      throw Object.assign(new Error(`cannot write ${path}: ${code === "ENOENT" ? "no such directory" : code ?? (e as Error).message}`), { code })
    }
  }
  write(text: string): void {
    if (this.fd === null) throw new Error(`${this.path}: already closed`)
    writeSync(this.fd, text)
  }
  /** Flushes and renames the file into place. */
  close(): void {
    if (this.fd === null) return
    closeSync(this.fd)
    this.fd = null
    renameSync(this.tmp, this.path)
  }
  /** Drops the temporary file (after a failure); the target path is left untouched. */
  abort(): void {
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
    rmSync(this.tmp, { force: true })
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

/** The lines of a file, read lazily in 64 KiB chunks (no trailing empty line). */
export function* readLines(path: string): Generator<string> {
  const fd = openSync(path, "r")
  try {
    const buf = Buffer.alloc(1 << 16)
    let rest = ""
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      const chunk = rest + buf.toString("utf8", 0, n)
      const lines = chunk.split("\n")
      rest = lines.pop()!
      for (const line of lines) yield line
    }
    if (rest !== "") yield rest
  } finally {
    closeSync(fd)
  }
}
