/**
 * Where the CLI may write: every output path is checked before the run starts, so a run never
 * destroys an input or replaces something that is not a file of ours.
 *
 * An output path must be a new name in an existing directory, or an existing regular file that is
 * not one of the run's inputs (the scenario, the experiment's file, a trace being read); a
 * directory, a FIFO, a device or a socket is refused. A symbolic link at the path is refused
 * unless `--force`, which writes to the file it points to (and says so). Directories are created
 * one component at a time (Node's recursive `mkdir` never returns on some paths, e.g. under
 * `/proc`). Refusals are {@link OutputError}s naming the flag, the path and the reason (exit 2).
 *
 * @module
 */
import { lstatSync, mkdirSync, readlinkSync, statSync, type Stats } from "node:fs"
import { dirname, isAbsolute, join, parse, resolve, sep } from "node:path"
import { OutputError, reason } from "./Files.ts"

/** A checked output: the path to write (a link resolved under `--force`) and what to tell the user. */
export interface Target {
  readonly path: string
  readonly notice?: string
}

export interface TargetOptions {
  /** Files the run reads (never overwritten). */
  readonly inputs?: ReadonlyArray<string>
  /** Write through a symbolic link at the path. */
  readonly force?: boolean
}

const lstat = (path: string): Stats | undefined => {
  try {
    return lstatSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw e
  }
}

const what = (st: Stats): string =>
  st.isFile() ? "a regular file" : st.isDirectory() ? "a directory" : st.isFIFO() ? "a FIFO (named pipe)" : st.isCharacterDevice() || st.isBlockDevice() ? "a device" : st.isSocket() ? "a socket" : "not a regular file"

/** True when `st` is the same file as one of `inputs` (device and inode: links and hard links too). */
const isInput = (st: Stats, inputs: ReadonlyArray<string>): string | undefined =>
  inputs.find((p) => {
    try {
      const i = statSync(p)
      return i.dev === st.dev && i.ino === st.ino
    } catch {
      return false
    }
  })

/** Checks an output path given with `flag`; throws an {@link OutputError} or returns where to write. */
export const checkTarget = (given: string, flag: string, options: TargetOptions = {}): Target => {
  const inputs = options.inputs ?? []
  let path = resolve(given)
  let notice: string | undefined
  try {
    for (let hops = 0; ; hops++) {
      const st = lstat(path)
      if (st === undefined) {
        const dir = statSync(dirname(path), { throwIfNoEntry: false })
        if (dir === undefined) throw new OutputError(`${flag}: cannot write ${given}: no such directory ${dirname(path)}`)
        if (!dir.isDirectory()) throw new OutputError(`${flag}: cannot write ${given}: ${dirname(path)} is not a directory`)
        break
      }
      if (st.isSymbolicLink()) {
        const to = readlinkSync(path)
        if (options.force !== true) throw new OutputError(`${flag}: ${given} is a symbolic link (to ${to}); qvsim writes through no link unless given --force`)
        if (hops >= 40) throw new OutputError(`${flag}: ${given}: too many levels of symbolic links`)
        path = resolve(dirname(path), to)
        notice = `${flag}: ${given} is a symbolic link; writing to ${path}`
        continue
      }
      if (!st.isFile()) throw new OutputError(`${flag}: ${given} is ${what(st)}; give a regular file or a new name`)
      const input = isInput(st, inputs)
      if (input !== undefined) throw new OutputError(`${flag}: ${given} is ${input === given ? "an input of this run" : `the input ${input}`}; it would be overwritten`)
      break
    }
  } catch (e) {
    if (e instanceof OutputError) throw e
    throw new OutputError(`${flag}: cannot write ${given}: ${reason(e)}`, (e as NodeJS.ErrnoException).code)
  }
  return notice === undefined ? { path } : { path, notice }
}

/**
 * Makes sure `dir` is a directory, creating missing components one by one; throws an
 * {@link OutputError} naming `flag` when a component is not a directory or cannot be made.
 */
export const ensureDirectory = (dir: string, flag: string): void => {
  const full = resolve(dir)
  const { root } = parse(full)
  let at = root
  for (const part of full.slice(root.length).split(sep).filter((p) => p !== "")) {
    at = isAbsolute(at) ? join(at, part) : part
    let st: Stats | undefined
    try {
      st = statSync(at, { throwIfNoEntry: false })
      if (st === undefined) {
        mkdirSync(at)
        continue
      }
    } catch (e) {
      throw new OutputError(`${flag}: cannot create the directory ${dir}: ${reason(e)} at ${at}`, (e as NodeJS.ErrnoException).code)
    }
    if (!st.isDirectory()) throw new OutputError(`${flag}: cannot use ${dir} as a directory: ${at} is ${what(st)}`)
  }
}
