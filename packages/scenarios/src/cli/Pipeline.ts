/**
 * The CLI as one Effect over an argument list: the commands, one-line usage errors (exit 2),
 * defects turned into one line and an exit code, and the Node services. The executable runs it on
 * the process's arguments; the fuzz campaign runs it in-process on generated ones (`Cli.ts` runs it for `main.ts`).
 *
 * @module
 */
// NOTE: the module, not the package's index, which loads HTTP, sockets and clusters too (~0.3 s).
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { VERSION } from "../Version.ts"
import { root } from "./Commands.ts"
import { badInput, fromUnknown } from "./Errors.ts"
import * as Output from "./Output.ts"

export const cli = (args: ReadonlyArray<string>) =>
  Command.runWith(root, { version: VERSION })(args).pipe(
    // Usage errors were already printed (one line) by the presenter: exit 2.
    Effect.catchTag("ShowHelp", (e) => (e.errors.length > 0 ? Effect.fail(badInput("invalid usage")) : Effect.void)),
    // Anything unexpected still ends as one line and an exit code, never a stack trace.
    Effect.catchDefect((defect) => {
      const err = fromUnknown(defect)
      return Effect.sync(() => console.error(`qvsim: ${err.message}`)).pipe(Effect.andThen(Effect.fail(err)))
    }),
    Effect.provide(Layer.mergeAll(NodeServices.layer, Output.layer)),
  )
