/**
 * A robust-study worker (a worker thread or a child process of the pool): finds the experiment
 * once (a registry name or a `.ts` file), then runs batches of points for as long as the pool
 * lives, one record per point (`RunPoint.execute`, which never throws for a point). The wall clock
 * that times the points is the entry's (`cli/robustWorker.mjs`), not this module's.
 *
 * @module
 */
import type { Experiment } from "../paper/Experiment.ts"
import * as Experiments from "../Experiments.ts"
import type { Point } from "./Design.ts"
import { execute, type PointRecord } from "./RunPoint.ts"

/** What the parent sends: the experiment (as the user named it), the scale, the points. */
export interface Task {
  readonly source: string
  readonly scale: number
  readonly points: ReadonlyArray<Point>
}

const found = new Map<string, Promise<Experiment>>()

const experimentOf = (source: string): Promise<Experiment> => {
  let p = found.get(source)
  if (p === undefined) {
    p = Experiments.find(source).then((f) => {
      if (f === undefined) throw new Error(`${source}: not an experiment`)
      return f.experiment
    })
    found.set(source, p)
  }
  return p
}

/** Runs the task's points in order; `clock` (ms, the entry's wall clock) times each point's `wallMs`. */
export default async function run(task: Task, clock: () => number): Promise<PointRecord[]> {
  const e = await experimentOf(task.source)
  return task.points.map((pt) => execute(e, task.source, pt, task.scale, clock))
}
