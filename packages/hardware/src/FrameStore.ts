/**
 * Where Ethernet frames live while they exist: one growable slab of fixed 2 KiB slots, named by
 * slot number, with a length per slot. The wire, the NIC's descriptor buffers and the hosts all
 * keep frames here, so a frame travels as a number (an event argument), never as an object.
 *
 * Ownership: whoever holds a slot number frees it exactly once — the wire hands a frame to its
 * receiver, the receiver copies or consumes it and frees it. `inUse` counts live slots, so a
 * test can prove nothing leaked.
 *
 * Invariants:
 * - a slot is either free or in use; `free` of a free slot is refused;
 * - lengths are 0..SLOT_BYTES; `bytes` may be replaced when the slab grows: read `store.bytes`
 *   after every `alloc`, never keep it across one.
 *
 * @module
 */
import { Capacity } from "@qvsim/sim-core"
import { HardwareError } from "./Errors.ts"

/** Bytes per slot: room for a 1518-byte Ethernet frame and headroom. */
export const SLOT_BYTES = 2048
const SLOT_SHIFT = 11

export class FrameStore {
  /** The slab (slot k at `k · SLOT_BYTES`). Replaced on growth. */
  bytes: Uint8Array
  private lengths: Int32Array
  private freeList: Int32Array
  private freeCount: number
  private used: Uint8Array
  private capacity: number
  /** The most slots ever allowed (a leak guard). */
  readonly maxSlots: number

  constructor(initialSlots = 512, maxSlots = 1 << 18) {
    this.capacity = initialSlots
    this.maxSlots = maxSlots
    this.bytes = new Uint8Array(initialSlots * SLOT_BYTES)
    this.lengths = new Int32Array(initialSlots)
    this.used = new Uint8Array(initialSlots)
    this.freeList = new Int32Array(initialSlots)
    for (let i = 0; i < initialSlots; i++) this.freeList[i] = initialSlots - 1 - i
    this.freeCount = initialSlots
  }

  /** Slots in use. */
  get inUse(): number {
    return this.capacity - this.freeCount
  }

  /** Takes a free slot (length 0). */
  alloc(): number {
    if (this.freeCount === 0) this.grow()
    const slot = this.freeList[--this.freeCount]!
    this.used[slot] = 1
    this.lengths[slot] = 0
    return slot
  }

  /** Returns `slot` to the free list. */
  free(slot: number): void {
    if (this.used[slot] !== 1) throw new HardwareError(`FrameStore.free: slot ${slot} is not in use`)
    this.used[slot] = 0
    this.freeList[this.freeCount++] = slot
  }

  /** Byte offset of `slot` in `bytes`. */
  offset(slot: number): number {
    return slot << SLOT_SHIFT
  }

  /** Frame length in `slot`, bytes. */
  length(slot: number): number {
    return this.lengths[slot]!
  }

  /** Sets the frame length in `slot` (0..SLOT_BYTES). */
  setLength(slot: number, length: number): void {
    if (!(length >= 0 && length <= SLOT_BYTES)) throw new HardwareError(`FrameStore.setLength: ${length} is not 0..${SLOT_BYTES}`)
    this.lengths[slot] = length
  }

  /** Copies the frame in `from` (bytes and length) into `to`. */
  copy(from: number, to: number): void {
    const len = this.lengths[from]!
    // NOTE: copyWithin on the one slab: no view object per copy.
    this.bytes.copyWithin(to << SLOT_SHIFT, from << SLOT_SHIFT, (from << SLOT_SHIFT) + len)
    this.lengths[to] = len
  }

  /** A new slot holding a copy of `from`. */
  clone(from: number): number {
    const to = this.alloc()
    this.copy(from, to)
    return to
  }

  private grow(): void {
    const old = this.capacity
    const next = Math.min(old * 2, this.maxSlots)
    if (next <= old) throw new Capacity.CapacityError(`FrameStore: more than ${this.maxSlots} frames alive at once (frames queue faster than the wire and the NIC drain them)`)
    const bytes = new Uint8Array(next * SLOT_BYTES)
    bytes.set(this.bytes)
    this.bytes = bytes
    const lengths = new Int32Array(next)
    lengths.set(this.lengths)
    this.lengths = lengths
    const used = new Uint8Array(next)
    used.set(this.used)
    this.used = used
    const freeList = new Int32Array(next)
    freeList.set(this.freeList.subarray(0, this.freeCount))
    let n = this.freeCount
    for (let i = next - 1; i >= old; i--) freeList[n++] = i
    this.freeList = freeList
    this.freeCount = n
    this.capacity = next
  }
}
