/**
 * Which tests a campaign runs (the seed and the catch campaigns): a vitest config, the projects
 * kept and left out, file filters and a test-name pattern; and the checks of the flags that give
 * them (`--config`, `--test`), each a {@link UsageError} naming the flag.
 *
 * @module
 */
import { existsSync } from "node:fs"
import { join, resolve } from "node:path"
import { UsageError } from "./cli.ts"

export interface TestSelection {
  /** The repository root (vitest's root; paths in outcomes are relative to it). */
  readonly root: string
  /** vitest config file (default: the root's vitest.config.ts). */
  readonly config: string
  /** vitest project names to keep (all when empty). */
  readonly projects: readonly string[]
  /** vitest project names to leave out. */
  readonly skipProjects: readonly string[]
  /** Substrings of a test file's path (relative to the root); a file is kept if it contains one (all when empty). */
  readonly filters: readonly string[]
  /** A regular expression a test's full name must match (all when null). */
  readonly testPattern: string | null
}

/** `--config` (default the root's vitest.config.ts) resolved and `--test` compiled, or a UsageError naming the flag. */
export const checkConfigAndTest = (root: string, config: string | undefined, test: string | undefined): { config: string; testPattern: string | null } => {
  const path = resolve(config ?? join(root, "vitest.config.ts"))
  if (!existsSync(path)) throw new UsageError(`--config ${JSON.stringify(config)}: no such file`)
  if (test !== undefined) {
    try {
      new RegExp(test)
    } catch {
      throw new UsageError(`--test ${JSON.stringify(test)}: not a regular expression`)
    }
  }
  return { config: path, testPattern: test ?? null }
}
