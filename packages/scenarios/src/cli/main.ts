#!/usr/bin/env node
/**
 * The `qvsim` entry point (run by `qvsim.mjs`, the executable): starts fast, then hands over to the
 * Effect CLI (`Cli.ts`).
 *
 * Start-up is most of the cost of a short run (a sweep's `qvsim run` per point, a script's loop):
 * loading Effect, @effect/platform-node and the models' TypeScript took about 1 s and 190 MiB.
 * So this file
 * - turns on Node's compile cache (`module.enableCompileCache`: V8 code and the type-stripped
 *   TypeScript of every module, kept in `$NODE_COMPILE_CACHE` or the OS temp folder; the first run
 *   fills it), before any other module is imported (`qvsim.mjs` does it before this file, which
 *   would otherwise pay for type stripping itself: about 15 MiB);
 * - answers `qvsim --version` and `qvsim list [--json]` itself, without loading Effect (they print the same
 *   as the Effect CLI's own `--version` and `list`);
 * - imports the Effect CLI only for everything else, after installing the resolve hook that lets
 *   user files anywhere import `@qvsim/*` (`WorkspaceImports.ts`).
 *
 * Measured by `npm run bench -- startup` (never a timed test).
 */
import { enableCompileCache } from "node:module"

enableCompileCache?.()

const args = process.argv.slice(2)
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) {
  const { VERSION } = await import("../Version.ts")
  process.stdout.write(`qvsim ${VERSION}\n`)
} else if (args.length === 1 && args[0] === "list") {
  const List = await import("./List.ts")
  process.stdout.write(`${List.lines().join("\n")}\n`)
} else if (args.length === 2 && args[0] === "list" && args[1] === "--json") {
  const List = await import("./List.ts")
  process.stdout.write(`${JSON.stringify(List.json())}\n`)
} else {
  // Scenario and experiment files outside the checkout import `@qvsim/*` from it.
  const WorkspaceImports = await import("./WorkspaceImports.ts")
  WorkspaceImports.install()
  await import("./Cli.ts")
}
