/**
 * The pool of long-lived sweep workers (tinypool): `jobs` workers, each loading the models and
 * the sweep once and running many batches. Worker threads by default; child processes with
 * `QVSIM_SWEEP_RUNTIME=child_process` (measured by `npm run bench -- sweep`; see the README).
 *
 * Invariant: the pool only transports: which worker runs a batch never changes its records.
 *
 * `open` makes the same kind of pool for another worker module (the robust studies' `cli/robustWorker.mjs`).
 *
 * @module
 */
import { Tinypool } from "tinypool"
import type { RunRecord } from "./RunOne.ts"
import type { Task } from "./Worker.ts"

export type Runtime = "worker_threads" | "child_process"

export interface Pool<T = Task, R = RunRecord[]> {
  readonly run: (task: T) => Promise<R>
  /** Stops every worker (in-flight batches are dropped). */
  readonly destroy: () => Promise<void>
}

export const runtimeFromEnv = (): Runtime => (process.env["QVSIM_SWEEP_RUNTIME"] === "child_process" ? "child_process" : "worker_threads")

/** A pool of `jobs` long-lived workers running the default export of the module at `filename` (a URL). */
export const open = <T, R>(filename: string, jobs: number, runtime: Runtime = runtimeFromEnv()): Pool<T, R> => {
  const pool = new Tinypool({
    filename,
    runtime,
    minThreads: jobs,
    maxThreads: jobs,
    // Workers live as long as the sweep: never recycled between batches.
    isolateWorkers: false,
    // A second batch waits in each worker while it runs one, so no worker idles while the parent
    // (busy writing results) hands out the next (a task runs to completion: nothing interleaves).
    concurrentTasksPerWorker: 2,
    idleTimeout: 60_000,
  })
  return {
    run: (task) => pool.run(task) as Promise<R>,
    destroy: () => pool.destroy(),
  }
}

/** The sweep workers' pool. */
export const make = (jobs: number, runtime: Runtime = runtimeFromEnv()): Pool => open<Task, RunRecord[]>(new URL("../cli/sweepWorker.mjs", import.meta.url).href, jobs, runtime)
