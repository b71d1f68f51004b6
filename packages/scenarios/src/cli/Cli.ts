/**
 * The `qvsim` command line (Effect CLI), imported by `main.ts` for every command it does not
 * answer itself. Exit codes: 0 ok, 1 a difference found (replay, diff), 2 bad input,
 * 3 an invariant violated inside the simulation.
 */
// NOTE: the two modules, not the package's index, which loads HTTP, sockets and clusters too (~0.3 s).
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as NodeServices from "@effect/platform-node/NodeServices"
import { Effect, Layer } from "effect"
import { Command } from "effect/cli"
import { VERSION } from "../Version.ts"
import { root } from "./Commands.ts"
import { badInput, fromUnknown } from "./Errors.ts"
import * as Output from "./Output.ts"

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

NodeRuntime.runMain(main)
