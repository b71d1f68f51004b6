/**
 * How a trace names its scenario, and how `replay` finds it again safely.
 *
 * Writing: the header's `scenario.source` is a built-in or experiment name as is, and a file's path
 * RELATIVE to the trace's folder (POSIX separators; `<file>/<variant>` for a variant of a `.ts`
 * experiment), with the file's content hash in `scenario.file.sha256`; so a folder holding a trace
 * and its scenario replays after being moved or copied elsewhere.
 *
 * Replaying checks everything it can BEFORE importing anything (a `.ts` file runs code when
 * imported): the qvsim version (replay needs the version that wrote the trace), that the file
 * exists, that its content hash is the header's (else the scenario changed: a difference, exit 1),
 * and that a `.ts` file lies inside the trace's folder or this qvsim checkout, unless the user
 * passes `--trust`. A header without a content hash (an older trace) names a `.ts` only with
 * `--trust`.
 *
 * @module
 */
import { createHash } from "node:crypto"
import { closeSync, existsSync, readSync } from "node:fs"
import { dirname, isAbsolute, relative, resolve, sep } from "node:path"
import * as Experiments from "./Experiments.ts"
import * as Input from "./Input.ts"
import { TraceFileError } from "./TraceFile.ts"
import { VERSION } from "./Version.ts"

/** The checkout this CLI runs from (the folder holding `packages/`). */
export const CHECKOUT = resolve(import.meta.dirname, "..", "..", "..")

/** SHA-256 of a file's bytes (16 hex digits), reading it in chunks (the scenario size limit applies). */
export const fileHash = (path: string): string => {
  const { fd } = Input.openRegular(path, "scenario file", Input.limits().scenarioBytes, "QVSIM_MAX_SCENARIO_BYTES", TraceFileError)
  try {
    const hash = createHash("sha256")
    const buf = Buffer.alloc(1 << 16)
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null)
      if (n === 0) break
      hash.update(buf.subarray(0, n))
    }
    return hash.digest("hex").slice(0, 16)
  } finally {
    closeSync(fd)
  }
}

/** A loaded scenario's `source` split into its file (absolute) and variant, or undefined for a name. */
const fileOf = (source: string): { file: string; variant?: string } | undefined => {
  if (!isAbsolute(source)) return undefined
  const v = Experiments.splitVariant(source)
  return v !== undefined ? { file: v.experiment, variant: v.variant } : { file: source }
}

const posix = (p: string): string => p.split(sep).join("/")

/** The header's `scenario` identity for a trace written to `tracePath`. */
export const headerScenario = (name: string, hash: string, source: string, tracePath: string): { name: string; hash: string; source: string; file?: { sha256: string } } => {
  const f = fileOf(source)
  if (f === undefined) return { name, hash, source }
  const rel = posix(relative(dirname(resolve(tracePath)), f.file))
  return { name, hash, source: f.variant === undefined ? rel : `${rel}/${f.variant}`, file: { sha256: fileHash(f.file) } }
}

/** Where a trace's scenario is, checked (see the module comment); `spec` is what `load` takes. */
export interface ReplaySource {
  readonly spec: string
}

const within = (path: string, folder: string): boolean => {
  const r = relative(folder, path)
  return r === "" || (!r.startsWith("..") && !isAbsolute(r))
}

/**
 * Checks a trace header before anything is imported; throws a {@link TraceFileError} (exit 2) or
 * returns the spec to load and, for a file, whether its content changed (a difference, exit 1).
 */
export const resolveForReplay = (
  tracePath: string,
  header: { readonly qvsim: string; readonly scenario: { readonly source?: string | undefined; readonly file?: { readonly sha256: string } | undefined } },
  trust: boolean,
): { spec: string; changed?: string } => {
  if (header.qvsim !== VERSION) {
    throw new TraceFileError(`${tracePath}: written by qvsim ${header.qvsim}; this is qvsim ${VERSION} (a trace replays only on the version that wrote it)`)
  }
  const source = header.scenario.source
  if (source === undefined) throw new TraceFileError(`${tracePath}: the header names no scenario source to replay`)
  const isFile = source.endsWith(".json") || source.endsWith(".ts") || /\.ts\/[a-z0-9][a-z0-9-]*$/.test(source) || isAbsolute(source) || source.startsWith(".")
  if (!isFile) return { spec: source }
  const traceDir = dirname(resolve(tracePath))
  const variant = /^(.*\.ts)\/([a-z0-9][a-z0-9-]*)$/.exec(source)
  const fileText = variant === null ? source : variant[1]!
  const file = resolve(traceDir, fileText)
  const spec = variant === null ? file : `${file}/${variant[2]}`
  if (!existsSync(file)) throw new TraceFileError(`${tracePath}: its scenario file ${fileText} (${isAbsolute(fileText) ? "" : "relative to the trace, "}${file}) does not exist`)
  const isTs = file.endsWith(".ts")
  if (isTs && !trust && !within(file, traceDir) && !within(file, CHECKOUT)) {
    throw new TraceFileError(`${tracePath}: its scenario ${file} is outside the trace's folder and the qvsim checkout; replaying imports (runs) it: pass --trust if you trust it`)
  }
  const expected = header.scenario.file?.sha256
  if (expected === undefined) {
    if (isTs && !trust) throw new TraceFileError(`${tracePath}: the header gives no content hash for ${fileText}, so it cannot be checked before it is imported (run); pass --trust if you trust it`)
    return { spec }
  }
  const actual = fileHash(file)
  if (actual !== expected) return { spec, changed: `${tracePath}: scenario file ${file} changed since the trace was written (content hash ${actual}, trace says ${expected})` }
  return { spec }
}
