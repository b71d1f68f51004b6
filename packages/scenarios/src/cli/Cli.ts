/**
 * The `qvsim` command line (Effect CLI), imported by `main.ts` for every command it does not
 * answer itself. Exit codes (see `Errors`): 0 ok, 1 a difference or a verdict (replay, diff, check,
 * --strict), 2 bad input, 3 a model invariant violated, 70 an internal error, 130/143 interrupted.
 */
// NOTE: the two modules, not the package's index, which loads HTTP, sockets and clusters too (~0.3 s).
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { VERSION } from "../Version.ts"
import { root } from "./Commands.ts"
import { badInput, fromUnknown } from "./Errors.ts"
import * as Output from "./Output.ts"
import { runMain } from "./RunMain.ts"

const main = Command.run(root, { version: VERSION }).pipe(
  // Usage errors were already printed (one line) by the presenter: exit 2.
  Effect.catchTag("ShowHelp", (e) => (e.errors.length > 0 ? Effect.fail(badInput("invalid usage")) : Effect.void)),
  // Anything unexpected still ends as one line and an exit code, never a stack trace.
  Effect.catchDefect((defect) => {
    const err = fromUnknown(defect)
    return Effect.sync(() => console.error(`qvsim: ${err.message}`)).pipe(Effect.andThen(Effect.fail(err)))
  }),
  Effect.provide(Layer.mergeAll(NodeServices.layer, Output.layer)),
)

runMain(main, { disableErrorReporting: true })
