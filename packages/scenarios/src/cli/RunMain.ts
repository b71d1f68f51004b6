/**
 * Runs the CLI's Effect as the process's main fiber: Effect's `makeRunMain` (exit code from the
 * failure's `ExitError`, a process kept alive while the fiber runs). Signals:
 *
 * - `run`, `replay`, `check`, ...: NO handler at first (unlike `@effect/platform-node`'s `runMain`):
 *   until a run has loaded its inputs, SIGINT and SIGTERM keep their default action and end the
 *   process at once, even inside a `.ts` file's busy loop; from then on `Signals` handles them
 *   (stop within 100 ms, remove temporaries, exit 130/143, say how far the run got);
 * - `sweep`, `merge`, `sensitivity` and `run --robust`: the first SIGINT or SIGTERM interrupts the
 *   fiber, as Effect's `runMain` does (the study's abort signal: finished runs kept, exit 130).
 *
 * @module
 */
import { Runtime } from "effect"

const INTERRUPTIBLE_COMMANDS = new Set(["sweep", "merge", "sensitivity"])

/** Whether the command line is one of the interruptible commands (a study of many runs). */
export const interruptible = (argv: readonly string[]): boolean =>
  INTERRUPTIBLE_COMMANDS.has(argv[0] ?? "") || (argv[0] === "run" && argv.includes("--robust"))

export const runMain = Runtime.makeRunMain(({ fiber, teardown }) => {
  let received = false
  const onSignal = (): void => {
    received = true
    fiber.interruptUnsafe(fiber.id)
  }
  if (interruptible(process.argv.slice(2))) {
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  }
  fiber.addObserver((exit) => {
    process.removeListener("SIGINT", onSignal)
    process.removeListener("SIGTERM", onSignal)
    teardown(exit, (code) => {
      if (received || code !== 0) process.exit(code)
    })
  })
})
