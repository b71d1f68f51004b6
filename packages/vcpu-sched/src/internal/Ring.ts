/**
 * A growable FIFO of numbers over a Float64Array ring (no allocation per push/shift once grown).
 * @module
 */
export class Ring {
  private buf: Float64Array
  private head = 0
  length = 0
  constructor(capacity = 4) {
    this.buf = new Float64Array(Math.max(2, capacity))
  }
  push(x: number): void {
    if (this.length === this.buf.length) this.grow()
    let i = this.head + this.length
    if (i >= this.buf.length) i -= this.buf.length
    this.buf[i] = x
    this.length++
  }
  shift(): number {
    const x = this.buf[this.head]!
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1
    this.length--
    return x
  }
  /** The `i`-th element from the head (0 = the next `shift`). */
  at(i: number): number {
    return this.buf[(this.head + i) % this.buf.length]!
  }
  private grow(): void {
    const next = new Float64Array(this.buf.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length]!
    this.buf = next
    this.head = 0
  }
}
