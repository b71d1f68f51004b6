/**
 * The `qvsim` command line (Effect CLI), imported by `main.ts` for every command it does not
 * answer itself: the pipeline (`Pipeline.ts`) on the process's arguments, run as the main fiber
 * (`RunMain.ts`: signals per command). Exit codes (see `Errors`): 0 ok, 1 a difference or a
 * verdict (replay, diff, check, --strict), 2 bad input, 3 a model invariant violated, 70 an
 * internal error, 130/143 interrupted.
 */
import { cli } from "./Pipeline.ts"
import { runMain } from "./RunMain.ts"

runMain(cli(process.argv.slice(2)), { disableErrorReporting: true })
