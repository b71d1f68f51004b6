// The sweep pool's worker entry (sweep/Pool.ts), at the process edge with the CLI. Plain JavaScript
// on purpose (like qvsim.mjs): a worker thread or
// child process is a new Node instance, so it turns on Node's compile cache itself before loading
// any TypeScript (about a third less start-up per worker); the work is in Worker.ts. Module hooks
// are per thread, so it also installs the `@qvsim/*` resolve hook itself: a sweep whose base is a
// .ts scenario outside the checkout loads it in the worker as the CLI does.
import { enableCompileCache } from "node:module"

enableCompileCache?.()
const WorkspaceImports = await import("./WorkspaceImports.ts")
WorkspaceImports.install()
const { default: run } = await import("../sweep/Worker.ts")
// The process edge hands the runs the wall clock that times them (simulation-side modules read none).
const clock = () => performance.now()
export default (task) => run(task, clock)
