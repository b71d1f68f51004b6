/**
 * `runs.jsonl`: a sweep's results as JSON lines, a header first (qvsim version, the sweep's name,
 * file and hash, the command line, the grid's size, the seeds, the shard), then one line per run.
 *
 * Invariants:
 * - streaming: each run is appended as one whole line with one `write` as it arrives, and the
 *   file is fsync'ed per batch (every `FSYNC_MS`, in the background; on Ctrl-C and at the end
 *   waiting for it), so a crash, `kill -9` or Ctrl-C loses
 *   at most the runs in flight and never leaves a torn line; a torn last line (power loss) is cut
 *   off when the file is read back or resumed;
 * - resuming checks the header's sweep hash and refuses a file of another sweep; the runs already
 *   there are kept, never rewritten;
 * - `finish` rewrites the file sorted in plan order, atomically (temporary name, fsync, rename),
 *   so a finished `runs.jsonl` does not depend on the number of workers (less `wallMs`).
 *
 * @module
 */
import { closeSync, existsSync, fsync, fsyncSync, ftruncateSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs"
import { basename, dirname, join } from "node:path"
import { ScenarioError } from "../Scenario.ts"
import type { RunRecord } from "./RunOne.ts"

/** The first line of `runs.jsonl`. */
export interface Header {
  readonly type: "header"
  readonly qvsim: string
  readonly sweep: { readonly name: string; readonly file: string; readonly hash: string }
  readonly command: string
  readonly gridPoints: number
  readonly runs: number
  readonly seeds: ReadonlyArray<number>
  readonly sets: number
  /** This file's shard, or null for a whole sweep. */
  readonly shard: { readonly index: number; readonly count: number } | null
  /** Written by `qvsim merge` from this many shards. */
  readonly merged?: number
}

/** fsync at most this often while runs stream in. */
export const FSYNC_MS = 200

export interface Contents {
  readonly header: Header
  readonly runs: RunRecord[]
  /** Byte length of the whole lines (a torn last line is not counted). */
  readonly validBytes: number
}

/** Reads a `runs.jsonl` (a torn last line is ignored; a malformed whole line is an error naming it). */
export const read = (path: string): Contents => {
  if (!existsSync(path)) throw new ScenarioError(`${path} does not exist`)
  const text = readFileSync(path, "utf8")
  const end = text.lastIndexOf("\n") + 1
  const lines = text.slice(0, end).split("\n").slice(0, -1)
  if (lines.length === 0) throw new ScenarioError(`${path}: empty (no header line)`)
  let header: Header
  const runs: RunRecord[] = []
  try {
    header = JSON.parse(lines[0]!) as Header
  } catch {
    throw new ScenarioError(`${path}:1: not a runs.jsonl header (malformed JSON)`)
  }
  if (header.type !== "header" || typeof header.sweep?.hash !== "string") throw new ScenarioError(`${path}:1: not a runs.jsonl header`)
  for (let i = 1; i < lines.length; i++) {
    let r: RunRecord
    try {
      r = JSON.parse(lines[i]!) as RunRecord
    } catch {
      throw new ScenarioError(`${path}:${i + 1}: malformed JSON line`)
    }
    if (r.type !== "run" || typeof r.key !== "string") throw new ScenarioError(`${path}:${i + 1}: not a run record`)
    runs.push(r)
  }
  return { header, runs, validBytes: Buffer.byteLength(text.slice(0, end)) }
}

/** An open `runs.jsonl`, appending. */
export class Writer {
  readonly path: string
  private fd: number | null
  private dirty = false
  private syncing = false
  private lastSync = 0
  constructor(path: string, fd: number) {
    this.path = path
    this.fd = fd
  }

  /**
   * Opens `path` for a sweep: a new file with `header`, or (`resume`) the existing one after
   * checking its hash (its torn last line cut off). Refuses to overwrite runs without `resume`.
   */
  static open(path: string, header: Header, resume: boolean): { writer: Writer; done: RunRecord[] } {
    if (existsSync(path)) {
      if (!resume) throw new ScenarioError(`${path} already holds runs: continue it with --resume, or choose another --out`)
      const contents = read(path)
      if (contents.header.sweep.hash !== header.sweep.hash) {
        throw new ScenarioError(`--resume: ${path} holds runs of another sweep (hash ${contents.header.sweep.hash}; ${header.sweep.file} is now ${header.sweep.hash}): use another --out`)
      }
      const same = (a: Header["shard"], b: Header["shard"]) => (a === null ? b === null : b !== null && a.index === b.index && a.count === b.count)
      if (!same(contents.header.shard, header.shard)) throw new ScenarioError(`--resume: ${path} holds shard ${JSON.stringify(contents.header.shard)}, not ${JSON.stringify(header.shard)}`)
      const fd = openSync(path, "r+")
      ftruncateSync(fd, contents.validBytes)
      closeSync(fd)
      return { writer: new Writer(path, openSync(path, "a")), done: contents.runs }
    }
    const fd = openSync(path, "a")
    writeSync(fd, `${JSON.stringify(header)}\n`)
    fsyncSync(fd)
    return { writer: new Writer(path, fd), done: [] }
  }

  /** Appends one run as one line (one write); fsyncs when the last fsync is older than FSYNC_MS. */
  append(record: RunRecord, nowMs: number): void {
    if (this.fd === null) throw new Error(`${this.path}: closed`)
    writeSync(this.fd, `${JSON.stringify(record)}\n`)
    this.dirty = true
    if (nowMs - this.lastSync >= FSYNC_MS) this.syncInBackground(nowMs)
  }

  /** fsyncs now, waiting for it (before closing, or when the process may exit next). */
  sync(nowMs = 0): void {
    // A background fsync in flight may not have completed: fsync again, waiting.
    if (this.fd === null || (!this.dirty && !this.syncing)) return
    fsyncSync(this.fd)
    this.dirty = false
    this.lastSync = nowMs
  }

  /**
   * The per-batch fsync, off the main thread (libuv's pool) so the parent keeps handing out work
   * meanwhile; the lines written before it are durable once it completes. At most one in flight.
   */
  private syncInBackground(nowMs: number): void {
    if (this.fd === null || !this.dirty || this.syncing) return
    this.dirty = false
    this.lastSync = nowMs
    this.syncing = true
    fsync(this.fd, () => {
      this.syncing = false
    })
  }

  close(): void {
    if (this.fd === null) return
    this.sync()
    closeSync(this.fd)
    this.fd = null
  }
}

/** Writes `text` to `path` atomically and durably (temporary name, fsync, rename). */
export const writeDurably = (path: string, text: string): void => {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`)
  try {
    const fd = openSync(tmp, "w")
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
  } catch (e) {
    rmSync(tmp, { force: true })
    throw e
  }
}

/** The text of a `runs.jsonl` with `runs` in the order given. */
export const format = (header: Header, runs: ReadonlyArray<RunRecord>): string =>
  `${JSON.stringify(header)}\n${runs.map((r) => `${JSON.stringify(r)}\n`).join("")}`
