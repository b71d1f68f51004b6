/**
 * The big kernel lock of SMP Quest (`kernel_lock`, `lock_kernel()`/`unlock_kernel()`,
 * `[SRC kernel/kernel.c]`): one spinlock every core takes around its kernel work — system calls
 * (fork holds it for the whole call, `[SRC kernel/interrupt_handler.c _fork]`) and interrupt
 * handlers.
 *
 * Model: the lock is a timeline. An acquisition at global time `now` that holds the lock for
 * `holdNs` spins until the lock is free (`freeAtNs`), then holds it; the next acquisition queues
 * behind it. Waiters are served in the order they arrive (FIFO, like a ticket lock); Quest's
 * `xchg` lock serves them in no defined order — with at most four cores and hold times of a few
 * µs, the order changes who waits, not how much is waited in all. The spin and the hold are CPU
 * time of the acquiring core (kernel code is not preempted while it holds the lock).
 *
 * The lock word lives in the shared kernel memory (`SharedState`): a wild write that leaves it
 * non-zero makes it look held forever — every later acquisition spins for ever
 * (`acquire` returns `Infinity`).
 *
 * Invariants: `freeAtNs` never decreases; an acquisition never starts its hold before the
 * previous one's end; per-core statistics sum to the totals.
 *
 * @module
 */

export class KernelLock {
  /** Global time the last granted hold ends, ns. */
  freeAtNs = 0
  /** Acquisitions, and those that had to wait, per core. */
  readonly acquisitions: number[]
  readonly contended: number[]
  /** ns spun waiting, per core. */
  readonly spinNs: number[]
  /** ns held, per core. */
  readonly heldNs: number[]

  constructor(cores: number) {
    this.acquisitions = new Array<number>(cores).fill(0)
    this.contended = new Array<number>(cores).fill(0)
    this.spinNs = new Array<number>(cores).fill(0)
    this.heldNs = new Array<number>(cores).fill(0)
  }

  /**
   * Core `core` takes the lock at `nowNs` for `holdNs`: returns the ns it spins first (0 when
   * free). `corrupted`: the lock word is garbage, the core spins for ever (`Infinity`).
   */
  acquire(core: number, nowNs: number, holdNs: number, corrupted: boolean): number {
    if (corrupted) return Infinity
    const waitNs = this.freeAtNs > nowNs ? this.freeAtNs - nowNs : 0
    this.freeAtNs = nowNs + waitNs + holdNs
    this.acquisitions[core]!++
    if (waitNs > 0) this.contended[core]!++
    this.spinNs[core]! += waitNs
    this.heldNs[core]! += holdNs
    return waitNs
  }
}
