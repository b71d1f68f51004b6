// The robust studies' pool worker entry (robust/Campaign.ts), at the process edge with the CLI.
// Plain JavaScript on purpose (like sweepWorker.mjs): a
// worker thread or child process is a new Node instance, so it turns on Node's compile cache itself
// before loading any TypeScript, and installs the `@qvsim/*` resolve hook itself (hooks are per
// thread: an experiment .ts file outside the checkout loads in the worker as the CLI loads it);
// the work is in Worker.ts. The process edge: it hands Worker.ts the wall clock that times each
// point (simulation-side modules read none).
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const WorkspaceImports = await import("./WorkspaceImports.ts")
WorkspaceImports.install()
const { default: run } = await import("../robust/Worker.ts")
const clock = () => performance.now()
export default (task) => run(task, clock)
