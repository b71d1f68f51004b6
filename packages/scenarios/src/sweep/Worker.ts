/**
 * A sweep worker (a worker thread or a child process of the pool): loads the sweep file once,
 * builds its plan once, then runs batches of runs by plan index for as long as the pool lives.
 *
 * Invariant: a worker runs only the sweep the parent planned: each task carries the sweep's hash,
 * and a worker whose file hashes differently (the file changed during the sweep) refuses the task.
 *
 * @module
 */
import * as Plan from "./Plan.ts"
import * as RunOne from "./RunOne.ts"
import * as SweepFile from "./SweepFile.ts"

/** What the parent sends: the sweep and the plan indices of the runs to do. */
export interface Task {
  readonly file: string
  readonly fileArg: string
  readonly hash: string
  readonly indices: ReadonlyArray<number>
}

/** The start of the error a worker throws when the sweep file changed under it (the parent stops the sweep). */
export const CHANGED = "the sweep file changed during the sweep"

let loading: Promise<RunOne.Context> | undefined

const contextOf = (task: Task): Promise<RunOne.Context> => {
  loading ??= SweepFile.load(task.file).then((loaded) => RunOne.context(loaded, Plan.make(loaded, { validate: false }), task.fileArg))
  return loading
}

/** Runs the task's runs in order; never throws for a run (a failed run is a record). `clock` (ms): the entry's wall clock, for `wallMs`. */
export default async function run(task: Task, clock: () => number): Promise<RunOne.RunRecord[]> {
  const ctx = await contextOf(task)
  if (ctx.loaded.hash !== task.hash) throw new Error(`${CHANGED}: ${task.fileArg} now hashes ${ctx.loaded.hash}, planned ${task.hash}`)
  return task.indices.map((i) => RunOne.execute(ctx, ctx.plan.runs[i]!, clock))
}
