/**
 * A harness thread's releases not started yet, in release order (`HarnessThread.releases`): the
 * first in a field of its own, the others (a backlog: the thread still busy with an earlier job) in a
 * ring made at the first backlog. Job numbers are not kept: a thread numbers its releases in order
 * from 0 and starts them in order, so the pending ones are numbered `released − length` to
 * `released − 1` (`HarnessThread.pendingJobNo`).
 *
 * Invariant: `length` releases are pending; the first is `first` when `length > 0`, the others are
 * `more` in order (`more.length === max(0, length − 1)`).
 *
 * NOTE: speed and memory (issue 15, tasks per PCPU 5 → 200): a periodic thread that keeps up has at
 * most one release pending, so it never makes the ring; it was two rings (release times and job
 * numbers), i.e. four typed-array objects per thread built with each harness (~a third of a
 * 200-task harness's construction was allocating and freeing typed-array backing stores) and
 * touched at every release (at 200 tasks a release mostly finds its thread's objects out of cache).
 * Measured with the lazy random streams (`HarnessThread`): in-process A/B of the scale bench's
 * fixed-demand workload, CPU per event, geometric mean of the two load orders' medians of 20–30
 * rounds, three replicates: 200 tasks 0.94–0.98 (log-uniform and harmonic), 5 tasks 0.97–1.02
 * (an unchanged copy reads 0.99–1.01 at 200, up to 1.05 at 5); building a 200-task harness ~0.5–0.75×.
 *
 * @module
 */
import { Ring } from "./internal/Ring.ts"

export class PendingReleases {
  /** Releases pending. */
  length = 0
  private first = 0
  private more: Ring | null = null

  /** A release at `timeNs` (the latest so far). */
  push(timeNs: number): void {
    if (this.length === 0) this.first = timeNs
    else (this.more ??= new Ring()).push(timeNs)
    this.length++
  }

  /** Removes and returns the earliest pending release (call only when `length > 0`). */
  shift(): number {
    const x = this.first
    if (--this.length > 0) this.first = this.more!.shift()
    return x
  }

  /** The `i`-th pending release (0: the next `shift`; `i < length`). */
  at(i: number): number {
    return i === 0 ? this.first : this.more!.at(i - 1)
  }
}
