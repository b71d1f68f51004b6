/**
 * Feeding a worker pool: the loop a sweep (`Local.ts`) and a robust or sensitivity study
 * (`robust/Campaign.ts`) share. Two lanes per worker take the next batch of the work list, send it
 * as one task, and hand the records back as they arrive (so no worker waits for the parent while it
 * writes); a batch whose worker fails becomes failed records; the pool is destroyed at the end.
 *
 * Invariants:
 * - every item of `todo` is in exactly one batch, handed out in order; which worker runs a batch
 *   never changes its records (the pool only transports);
 * - once `stopped()` is true no batch is handed out and no late result is accepted;
 * - an error `fatal` claims stops the loop (the caller records why and makes `stopped()` true);
 *   any other error fails its batch's items, not the loop.
 *
 * Also here: the progress line both draw (done/total, rate, ETA), timed by the caller's clock; no
 * wall clock is read in this module.
 *
 * @module
 */
import type { Pool } from "./Pool.ts"

export interface Feed<S, T, R> {
  readonly pool: Pool<T, R[]>
  /** The work, in the order it is handed out. */
  readonly todo: ReadonlyArray<S>
  /** Workers of the pool (two lanes each). */
  readonly jobs: number
  /** Items per task. */
  readonly batchSize: number
  /** The task of a batch. */
  readonly task: (batch: ReadonlyArray<S>) => T
  /** The records of a batch whose worker failed, with the error's first line. */
  readonly failed: (batch: ReadonlyArray<S>, error: string) => R[]
  /** A batch's records, as they arrive. */
  readonly accept: (records: ReadonlyArray<R>) => void
  /** True once the caller stops (a cancel, a fatal error). */
  readonly stopped: () => boolean
  /** Whether an error is fatal for the whole loop (the caller records it and stops); default none is. */
  readonly fatal?: (error: unknown) => boolean
}

/** Runs every batch of `f.todo` on `f.pool` until done or stopped, then destroys the pool. */
export const feed = async <S, T, R>(f: Feed<S, T, R>): Promise<void> => {
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < f.todo.length && !f.stopped()) {
      const batch = f.todo.slice(next, next + f.batchSize)
      next += batch.length
      let records: R[]
      try {
        records = await f.pool.run(f.task(batch))
      } catch (e) {
        if (f.stopped() || f.fatal?.(e) === true) return
        records = f.failed(batch, `worker failed: ${(e instanceof Error ? e.message : String(e)).split("\n")[0]}`)
      }
      if (f.stopped()) return
      f.accept(records)
    }
  }
  try {
    await Promise.all(Array.from({ length: f.jobs * 2 }, lane))
  } finally {
    await f.pool.destroy()
  }
}

const eta = (s: number): string => (!Number.isFinite(s) ? "?" : s < 90 ? `${Math.ceil(s)} s` : s < 5400 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`)

/** What a progress line shows. */
export interface Progress {
  /** Items done (earlier ones included) and in all. */
  readonly done: number
  readonly total: number
  readonly failed: number
  /** Items run now, and still to run: the rate and the ETA. */
  readonly ran: number
  readonly remaining: number
}

/**
 * A progress drawer on stderr: `  done/total <unit> (f failed), r <unit>/s, ETA t`, redrawn at most
 * every 250 ms on a terminal (one line per 5 s otherwise); `final` always draws and ends the line.
 * Draws nothing when not `enabled`. `clock` is the caller's wall clock (ms); the rate counts from now.
 */
export const progressLine = (enabled: boolean, clock: () => number, unit: string, rateDigits: number): ((p: Progress, final: boolean) => void) => {
  const start = clock()
  const tty = process.stderr.isTTY === true
  let lastDraw = 0
  return (p, final) => {
    if (!enabled) return
    const now = clock()
    if (!final && now - lastDraw < (tty ? 250 : 5000)) return
    lastDraw = now
    const rate = p.ran / ((now - start) / 1000)
    const line = `  ${p.done}/${p.total} ${unit}${p.failed > 0 ? ` (${p.failed} failed)` : ""}, ${rate.toFixed(rateDigits)} ${unit}/s, ETA ${eta(p.remaining / rate)}`
    process.stderr.write(tty ? `\r${line.padEnd(70)}${final ? "\n" : ""}` : `${line}\n`)
  }
}
