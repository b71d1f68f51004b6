/**
 * Lets a scenario or experiment file anywhere on disk import the packages of this checkout:
 * `qvsim run /tmp/x/my.ts` where my.ts says `import { defineScenario } from "@qvsim/scenarios"`.
 * Node resolves a bare specifier from the importing file's own directory upwards, where no
 * `node_modules/@qvsim` is; this resolve hook (Node's in-thread module customization hooks)
 * resolves every `@qvsim/*` specifier as if it were imported from here instead, through the
 * checkout's workspace links and the packages' `exports`.
 *
 * Invariants:
 * - Only `@qvsim/*` specifiers are touched; every other specifier resolves as Node would.
 * - They resolve to the same files the CLI itself runs (the workspace packages' real paths), so
 *   a user's file and the CLI share one instance of each module (one `defineScenario`, one
 *   `ScenarioError` class), even where the user's directory has an `@qvsim` package of its own.
 * - Installed once, by `main.ts` before it loads the Effect CLI (`Cli.ts`), so before any user
 *   file is imported.
 *
 * @module
 */
import { registerHooks } from "node:module"

const SCOPE = "@qvsim/"

let installed = false

/** Installs the resolve hook (once per process; later calls do nothing). */
export const install = (): void => {
  if (installed) return
  installed = true
  registerHooks({
    resolve: (specifier, context, nextResolve) =>
      specifier.startsWith(SCOPE) ? nextResolve(specifier, { ...context, parentURL: import.meta.url }) : nextResolve(specifier, context),
  })
}
