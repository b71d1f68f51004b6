/**
 * A PCPU scheduler's bookkeeping for one VCPU (not its budget policy): the FIFO of its queued
 * threads, whether it is in the runnable list `R`, and the round-robin state of S3 (the thread it
 * dispatched last and what is left of that thread's quantum).
 *
 * Invariants: `qLen ≤ threads ≤ queue.length` (the ring is grown as threads are added, so a push
 * never overflows); queued ids live at `[qHead, qHead + qLen)` modulo the capacity.
 *
 * NOTE: hot path: an Int32Array ring per VCPU, no allocation per queue operation.
 *
 * @module
 */
import { VcpuError, type Vcpu } from "./Vcpu.ts"

export class VcpuSlot {
  readonly vcpu: Vcpu
  inR = false
  /** Ring buffer of queued thread ids. */
  queue: Int32Array = new Int32Array(4)
  qHead = 0
  qLen = 0
  /** The thread the VCPU dispatched last (round-robin), or -1. */
  lastThread = -1
  /** What is left of `lastThread`'s quantum, ns of this VCPU's execution. */
  quantumLeftNs = 0
  /** Threads bound to the VCPU. */
  threads = 0

  constructor(vcpu: Vcpu) {
    this.vcpu = vcpu
  }

  /** One more thread is bound to the VCPU: room for it in the ring. */
  addThread(): void {
    this.threads++
    if (this.threads > this.queue.length) {
      const grown = new Int32Array(this.queue.length * 2)
      for (let i = 0; i < this.qLen; i++) grown[i] = this.queue[(this.qHead + i) % this.queue.length]!
      this.queue = grown
      this.qHead = 0
    }
  }

  /** Appends `thread` at the tail. */
  push(thread: number): void {
    const q = this.queue
    let i = this.qHead + this.qLen
    if (i >= q.length) i -= q.length
    q[i] = thread
    this.qLen++
  }

  /** Takes the head (the queue must not be empty). */
  shift(): number {
    const q = this.queue
    const th = q[this.qHead]!
    this.qHead = this.qHead + 1 === q.length ? 0 : this.qHead + 1
    this.qLen--
    return th
  }

  /** Removes a queued thread; it is at the tail in the common case (just re-queued by W2). */
  remove(thread: number): void {
    const q = this.queue, n = q.length
    let pos = this.qLen - 1
    while (pos >= 0 && q[(this.qHead + pos) % n] !== thread) pos--
    if (pos < 0) throw new VcpuError(`PcpuScheduler: thread ${thread} is not queued`)
    for (let j = pos; j < this.qLen - 1; j++) q[(this.qHead + j) % n] = q[(this.qHead + j + 1) % n]!
    this.qLen--
  }

  /** Queued threads, head first (allocates). */
  queued(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.qLen; i++) out.push(this.queue[(this.qHead + i) % this.queue.length]!)
    return out
  }
}
