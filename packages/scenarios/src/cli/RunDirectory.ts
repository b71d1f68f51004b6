/**
 * The folder of an experiment's results: `out/<experiment>/<tag>/` by default, the tag naming the
 * scale and the seed (`scale1-seed42`, `scale0.1-seed42`), so a quick look at a small scale never
 * overwrites the paper-size results; or the folder given with `--out`.
 *
 * A folder holds the files of ONE run, listed in its manifest `qvsim-run.json` (experiment, seed,
 * scale, files). Invariants:
 * - a folder whose manifest names another run (experiment, seed or scale) is refused without
 *   `--force`, and so is a folder with files but no manifest (not ours);
 * - the new files replace the old set as a whole: after they are in place, the files of the old
 *   manifest that the new run did not write are removed, so two runs' files never mix;
 * - only names the manifest lists are ever removed, and only plain names inside the folder.
 *
 * @module
 */
import { lstatSync, readdirSync, rmSync } from "node:fs"
import { basename, dirname, join, resolve } from "node:path"
import { OutputError } from "../Files.ts"
import * as Input from "../Input.ts"
import { ensureDirectory } from "../SafeOutput.ts"
import { VERSION } from "../Version.ts"
import { canonical, hashOf } from "../Hash.ts"

export const MANIFEST = "qvsim-run.json"

/** What identifies a run's results. */
export interface RunIdentity {
  readonly experiment: string
  readonly seed: number
  readonly scale: number
  /** Domain parameters (`--param`), absent at the headline point. */
  readonly params?: Readonly<Record<string, unknown>>
}

/** `scale1-seed42`, and `-p<hash>` of the parameters when not the headline point. */
export const tag = (id: Pick<RunIdentity, "seed" | "scale" | "params">): string =>
  `scale${id.scale}-seed${id.seed}${id.params === undefined ? "" : `-p${hashOf(id.params).slice(0, 8)}`}`

/** The default folder of a run: `out/<experiment>/<tag>`. */
export const defaultFolder = (id: RunIdentity): string => join("out", id.experiment, tag(id))

interface Manifest extends RunIdentity {
  readonly files: readonly string[]
}

const readManifest = (dir: string): Manifest | "unreadable" | undefined => {
  const path = join(dir, MANIFEST)
  if (lstatSync(path, { throwIfNoEntry: false }) === undefined) return undefined
  try {
    const m = JSON.parse(Input.readText(path, "manifest", 1024 * 1024, "QVSIM_MAX_SCENARIO_BYTES", OutputError)) as Partial<Manifest>
    if (typeof m.experiment !== "string" || typeof m.seed !== "number" || typeof m.scale !== "number" || !Array.isArray(m.files)) return "unreadable"
    return { experiment: m.experiment, seed: m.seed, scale: m.scale, ...(m.params !== undefined ? { params: m.params } : {}), files: m.files.filter((f): f is string => typeof f === "string") }
  } catch {
    return "unreadable"
  }
}

const describe = (m: RunIdentity): string => `${m.experiment} at scale ${m.scale}, seed ${m.seed}${m.params === undefined ? "" : `, parameters ${canonical(m.params)}`}`

/**
 * Makes `dir` ready for the run `id`: creates it, refuses it (an {@link OutputError}) when it
 * holds another run's results or foreign files unless `force`; returns the old set's file names.
 */
export const prepare = (dir: string, id: RunIdentity, force: boolean): readonly string[] => {
  ensureDirectory(dir, "--out")
  const manifest = readManifest(dir)
  if (manifest === undefined || manifest === "unreadable") {
    const entries = readdirSync(dir).filter((n) => !n.startsWith("."))
    if (entries.length > 0 && !force) {
      throw new OutputError(`--out: ${dir} is not empty and holds no qvsim results (${manifest === undefined ? `no ${MANIFEST}` : `an unreadable ${MANIFEST}`}); choose a new or empty folder, or pass --force`)
    }
    return []
  }
  const same = manifest.experiment === id.experiment && manifest.seed === id.seed && manifest.scale === id.scale && canonical(manifest.params ?? null) === canonical(id.params ?? null)
  if (!same && !force) {
    throw new OutputError(`--out: ${dir} holds the results of ${describe(manifest)}, not ${describe(id)}; pass --force to replace them, or choose another --out`)
  }
  return manifest.files
}

/** The manifest's text for the run `id` and its files (names inside the folder). */
export const manifestText = (id: RunIdentity & { readonly source: string }, files: readonly string[]): string =>
  `${JSON.stringify({ qvsim: VERSION, experiment: id.experiment, source: id.source, seed: id.seed, scale: id.scale, ...(id.params !== undefined ? { params: id.params } : {}), files: [...files].sort() }, null, 2)}\n`

/** The name of `path` inside `dir`, or undefined when it is elsewhere. */
export const nameIn = (dir: string, path: string): string | undefined =>
  resolve(dirname(path)) === resolve(dir) ? basename(path) : undefined

/** After the new set is in place: removes the old set's files the new one did not write. */
export const removeLeftovers = (dir: string, previous: readonly string[], current: readonly string[]): void => {
  const keep = new Set([...current, MANIFEST])
  for (const name of previous) {
    if (keep.has(name) || name !== basename(name) || name.startsWith(".")) continue
    const path = join(dir, name)
    if (lstatSync(path, { throwIfNoEntry: false })?.isFile() === true) rmSync(path, { force: true })
  }
}
