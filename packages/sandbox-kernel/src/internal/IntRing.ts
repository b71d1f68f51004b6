/**
 * A growable FIFO of numbers on a ring buffer (no allocation per push once grown).
 * Invariant: `length` items live at `[head, head + length)` modulo the capacity.
 */
export class IntRing {
  private buf: Float64Array
  private head = 0
  length = 0

  constructor(capacity = 8) {
    this.buf = new Float64Array(capacity)
  }

  push(v: number): void {
    if (this.length === this.buf.length) this.grow()
    let i = this.head + this.length
    if (i >= this.buf.length) i -= this.buf.length
    this.buf[i] = v
    this.length++
  }

  shift(): number {
    if (this.length === 0) throw new RangeError("IntRing.shift: empty")
    const v = this.buf[this.head]!
    this.head = this.head + 1 === this.buf.length ? 0 : this.head + 1
    this.length--
    return v
  }

  peek(): number {
    return this.buf[this.head]!
  }

  clear(): void {
    this.head = 0
    this.length = 0
  }

  private grow(): void {
    const next = new Float64Array(this.buf.length * 2)
    for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) % this.buf.length]!
    this.buf = next
    this.head = 0
  }
}
