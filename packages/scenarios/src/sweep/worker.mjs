// The pool's worker entry. Plain JavaScript on purpose (like cli/qvsim.mjs): a worker thread or
// child process is a new Node instance, so it turns on Node's compile cache itself before loading
// any TypeScript (about a third less start-up per worker); the work is in Worker.ts.
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { default: run } = await import("./Worker.ts")
export default run
