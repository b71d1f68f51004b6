// The robust studies' pool worker entry. Plain JavaScript on purpose (like sweep/worker.mjs): a
// worker thread or child process is a new Node instance, so it turns on Node's compile cache itself
// before loading any TypeScript; the work is in Worker.ts.
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const { default: run } = await import("./Worker.ts")
export default run
