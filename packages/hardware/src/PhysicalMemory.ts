/**
 * Machine (host-physical) memory: the 4 GiB physical address space of the 32-bit Quest-V machine
 * as sparse 4 KiB frames that hold real contents, cheaply.
 *
 * Every frame has a 64-bit content hash (two 32-bit lanes). A never-written frame is all zeros
 * and hashes to (0, 0). Each write mixes `(offset, size, value)` — or the written bytes — into
 * the frame's hash, so the hash identifies the frame's content history: equal hashes mean the
 * same writes from the same starting content (copies included: `copyFrame` copies the hash). A
 * frame can also hold real bytes (`backWithBytes`), for the pages channels and mailboxes use;
 * writes then update both the bytes and the hash, so the hash means the same in both cases.
 *
 * An XOR digest over all frames (each frame's contribution mixes its number and hash):
 * `digest()` changes iff some frame's hash changed. It is brought up to date when read: a write
 * to a frame not written since the last `digest()` takes the frame's old contribution out and
 * lists the frame, and `digest()` adds the listed frames' current contributions (O(frames written
 * since), the same value as updating it at every write). `rangeDigest` gives the same over a
 * range (a sandbox's slice) for isolation checks (F11, F19).
 *
 * Invariants:
 * - frames are 4096 bytes; frame numbers are 0 .. frames − 1;
 * - a write that is not performed changes nothing (no hash, no byte, no digest);
 * - reading a frame that holds only a hash of non-zero content is refused (its bytes are unknown);
 * - a write always changes the hash, even when it stores a value already there (conservative:
 *   "unchanged hash" proves "nothing written").
 *
 * @module
 */
import { HardwareError } from "./Errors.ts"
import { contribution1, contribution2, hex64, round1, round2 } from "./internal/hash.ts"

export const PAGE_BYTES = 4096
export const PAGE_SHIFT = 12
/** Frames per hash chunk (allocated on first write). */
const CHUNK_FRAMES = 1024
const CHUNK_SHIFT = 10
/** Absorptions the pending log holds before it is mixed in (two int32 slots each: 16 KiB). */
const PENDING = 2048
/** Copies of up to this many bytes log their hash absorptions (`writeBytes`); longer ones are mixed in at once. */
const LOGGED_COPY = 64
/** Frame flag: it was written since the digest was last read. (Whether a frame has bytes is `bytesAt`'s answer.) */
const STALE = 2

/** Frame number of a physical address. */
export const frameOf = (address: number): number => Math.floor(address / PAGE_BYTES)

export class PhysicalMemory {
  /** Number of 4 KiB frames. */
  readonly frames: number
  /** Writes performed so far. */
  writes = 0
  // NOTE: lo/hi hash lanes interleaved in chunks of 1024 frames, allocated on first write.
  private readonly chunks: (Uint32Array | undefined)[]
  // NOTE: each frame's bytes (or undefined) in chunks of 1024 frames, allocated on first use: two
  // array loads instead of a Map look-up on every access to a frame (issue 15).
  private readonly byteChunks: (Array<Uint8Array | undefined> | undefined)[]
  // NOTE: one byte of flags per frame: `STALE` (written since the digest was last read), read only
  // when pending hash absorptions are mixed in (`settle`). Accesses find a frame's bytes with
  // `bytesAt` (a hash-only frame's chunk or entry is undefined), not through a flag.
  private readonly flags: Uint8Array
  // The digest of every frame as of the last `digest()`, less the contributions of the frames
  // written since (listed in `stale`, flagged `STALE`). NOTE: no digest arithmetic per write,
  // only per frame between two reads of the digest, which runs read only in checks (issue 15).
  private digest1 = 0
  private digest2 = 0
  private stale: number[] = []
  /**
   * The hash absorptions of writes not yet mixed into their frames' hashes: `(frame, value)` pairs
   * in write order (a `write` is two: `offset | size << 12`, then the value; a `writeBytes` its
   * header, then its words and tail bytes), `pendingCount` of them. Every hash reader (`hash1`,
   * `hash2`, the digests, `setHash`) mixes them in first (`settle`), and mixing is per frame in
   * order, so every hash read is the one mixing at each write gives.
   * NOTE: mixing at each write touched the frame's flags and hash chunk per write and cost ~5 % of
   * message-passing (in-process A/B with the mixing skipped); mixed here PENDING at a time, in a
   * tight loop over a few hot lines, or when a hash is read (issue 15).
   */
  private readonly pending = new Int32Array(2 * PENDING)
  private pendingCount = 0

  /** @param bytes size of the physical address space (a multiple of 4 KiB; default 4 GiB) */
  constructor(bytes = 2 ** 32) {
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % PAGE_BYTES !== 0 || bytes > 2 ** 40) {
      throw new HardwareError(`PhysicalMemory: size ${bytes} must be a positive multiple of 4096 up to 2^40`)
    }
    this.frames = bytes / PAGE_BYTES
    this.chunks = new Array<Uint32Array | undefined>(Math.ceil(this.frames / CHUNK_FRAMES)).fill(undefined)
    this.flags = new Uint8Array(this.frames)
    this.byteChunks = new Array<Array<Uint8Array | undefined> | undefined>(Math.ceil(this.frames / CHUNK_FRAMES)).fill(undefined)
  }

  /** The bytes of `frame`, or undefined (no check of `frame`). */
  private bytesAt(frame: number): Uint8Array | undefined {
    const c = this.byteChunks[frame >>> CHUNK_SHIFT]
    return c === undefined ? undefined : c[frame & (CHUNK_FRAMES - 1)]
  }

  /** Sets (or with undefined, drops) the bytes of `frame`. */
  private setBytes(frame: number, b: Uint8Array | undefined): void {
    const ci = frame >>> CHUNK_SHIFT
    let c = this.byteChunks[ci]
    if (c === undefined) {
      if (b === undefined) return
      c = new Array<Uint8Array | undefined>(CHUNK_FRAMES).fill(undefined)
      this.byteChunks[ci] = c
    }
    c[frame & (CHUNK_FRAMES - 1)] = b
  }

  /**
   * Throws unless `frame` is a frame number and `[offset, offset + length)` is inside a frame.
   * NOTE: only the test here, the messages in `refuse`: small enough for V8 to inline into every
   * access (with the template strings inline it was 233 bytecode bytes, and `writeBytes` called it).
   */
  private check(api: string, frame: number, offset = 0, length = 0): void {
    if (!(Number.isInteger(frame) && frame >= 0 && frame < this.frames && Number.isInteger(offset) && offset >= 0 && Number.isInteger(length) && length >= 0 && offset + length <= PAGE_BYTES)) {
      this.refuse(api, frame, offset, length)
    }
  }

  private refuse(api: string, frame: number, offset: number, length: number): never {
    if (!Number.isInteger(frame) || frame < 0 || frame >= this.frames) {
      throw new HardwareError(`PhysicalMemory.${api}: frame ${frame} is not 0..${this.frames - 1}`)
    }
    throw new HardwareError(`PhysicalMemory.${api}: bytes [${offset}, ${offset + length}) are not inside a 4096-byte frame`)
  }

  /** Lane 1 of the hash of `frame` (0 with lane 2 = never written). */
  hash1(frame: number): number {
    if (this.pendingCount !== 0) this.settle()
    const c = this.chunks[frame >>> CHUNK_SHIFT]
    return c === undefined ? 0 : c[(frame & (CHUNK_FRAMES - 1)) * 2]!
  }

  /** Lane 2 of the hash of `frame`. */
  hash2(frame: number): number {
    if (this.pendingCount !== 0) this.settle()
    const c = this.chunks[frame >>> CHUNK_SHIFT]
    return c === undefined ? 0 : c[(frame & (CHUNK_FRAMES - 1)) * 2 + 1]!
  }

  /** The hash of `frame` as 16 hex digits. */
  frameHash(frame: number): string {
    this.check("frameHash", frame)
    return hex64(this.hash1(frame), this.hash2(frame))
  }

  /** True if `frame` was never written (all zeros). */
  isZero(frame: number): boolean {
    return (this.hash1(frame) | this.hash2(frame)) === 0
  }

  private setHash(frame: number, h1: number, h2: number): void {
    if (this.pendingCount !== 0) this.settle()
    const c = this.hashChunk(frame)
    const i = (frame & (CHUNK_FRAMES - 1)) * 2
    this.markStale(frame, c, i)
    c[i] = h1
    c[i + 1] = h2
  }

  /** The hash chunk of `frame` (allocated on first use). */
  private hashChunk(frame: number): Uint32Array {
    const ci = frame >>> CHUNK_SHIFT
    let c = this.chunks[ci]
    if (c === undefined) {
      c = new Uint32Array(CHUNK_FRAMES * 2)
      this.chunks[ci] = c
    }
    return c
  }

  /** Before `frame`'s hash (at `c[i]`, `c[i + 1]`) changes: its first change since the digest was read takes its old contribution out (the new one goes in at the next read). */
  private markStale(frame: number, c: Uint32Array, i: number): void {
    const fl = this.flags[frame]!
    if ((fl & STALE) !== 0) return
    const o1 = c[i]!
    const o2 = c[i + 1]!
    this.digest1 ^= contribution1(frame, o1, o2)
    this.digest2 ^= contribution2(frame, o1, o2)
    this.flags[frame] = fl | STALE
    this.stale.push(frame)
  }

  /**
   * Writes `size` (1, 2 or 4) bytes of `value` (little-endian) at `offset` in `frame`: into the
   * bytes if the frame has them, and into the hash in every case.
   */
  write(frame: number, offset: number, size: 1 | 2 | 4, value: number): void {
    this.check("write", frame, offset, size)
    // NOTE: the bytes looked up directly (a hash-only frame has none), not through `flags`: one
    // small, hot array instead of a line of the megabyte of flags per access (issue 15).
    const b = this.bytesAt(frame)
    if (b !== undefined) {
      for (let i = 0; i < size; i++) b[offset + i] = (value >>> (8 * i)) & 0xff
    }
    const v = size === 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1)
    // The hash absorbs `offset | size << 12`, then the value (mixed in later: `pending`).
    let n = this.pendingCount
    if (n + 2 > PENDING) {
      this.settle()
      n = 0
    }
    const q = this.pending
    q[2 * n] = frame
    q[2 * n + 1] = offset | (size << 12)
    q[2 * n + 2] = frame
    q[2 * n + 3] = v
    this.pendingCount = n + 2
    this.writes++
  }

  /**
   * `write(frame, offset, 4, v0)` then `write(frame, offset + 4, 4, v1)`: two 32-bit words side by
   * side (a mailbox's meta page: its size word, then its sequence word), the same bytes and the
   * same four absorptions in the same order. NOTE: one check, one look-up of the bytes and one
   * update of the log for both (every message-passing send, issue 15).
   */
  writeWords(frame: number, offset: number, v0: number, v1: number): void {
    this.check("writeWords", frame, offset, 8)
    const b = this.bytesAt(frame)
    if (b !== undefined) {
      b[offset] = v0 & 0xff
      b[offset + 1] = (v0 >>> 8) & 0xff
      b[offset + 2] = (v0 >>> 16) & 0xff
      b[offset + 3] = (v0 >>> 24) & 0xff
      b[offset + 4] = v1 & 0xff
      b[offset + 5] = (v1 >>> 8) & 0xff
      b[offset + 6] = (v1 >>> 16) & 0xff
      b[offset + 7] = (v1 >>> 24) & 0xff
    }
    // Settled before the pair when both do not fit: the hashes are the same wherever the log is cut.
    let n = this.pendingCount
    if (n + 4 > PENDING) {
      this.settle()
      n = 0
    }
    const q = this.pending
    const j = 2 * n
    q[j] = frame
    q[j + 1] = offset | (4 << 12)
    q[j + 2] = frame
    q[j + 3] = v0 >>> 0
    q[j + 4] = frame
    q[j + 5] = (offset + 4) | (4 << 12)
    q[j + 6] = frame
    q[j + 7] = v1 >>> 0
    this.pendingCount = n + 4
    this.writes += 2
  }

  /**
   * Mixes the pending absorptions into their frames' hashes, in order (see `pending`): a frame's
   * first change since the digest was last read takes its old contribution out first (`markStale`).
   */
  private settle(): void {
    const q = this.pending
    const n = this.pendingCount
    this.pendingCount = 0
    let frame = -1, c: Uint32Array = q as unknown as Uint32Array, i = 0, h1 = 0, h2 = 0
    for (let k = 0; k < n; k++) {
      const f = q[2 * k]!, x = q[2 * k + 1]!
      if (f !== frame) {
        // NOTE: consecutive absorptions of one frame (a write's two, a copy's words) in locals.
        if (frame >= 0) {
          c[i] = h1
          c[i + 1] = h2
        }
        frame = f
        c = this.hashChunk(f)
        i = (f & (CHUNK_FRAMES - 1)) * 2
        this.markStale(f, c, i)
        h1 = c[i]!
        h2 = c[i + 1]!
      }
      h1 = round1(h1, x)
      h2 = round2(h2, x)
    }
    if (frame >= 0) {
      c[i] = h1
      c[i + 1] = h2
    }
  }

  /** Writes `length` bytes of `src` from `srcOffset` at `offset` in `frame`. */
  writeBytes(frame: number, offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    this.check("writeBytes", frame, offset, length)
    if (srcOffset < 0 || srcOffset + length > src.length) throw new HardwareError(`PhysicalMemory.writeBytes: source range [${srcOffset}, ${srcOffset + length}) outside a ${src.length}-byte array`)
    const b = this.bytesAt(frame) // NOTE: as `write`
    if (b !== undefined) {
      // NOTE: short copies (a mailbox's message) byte by byte, without a `subarray` per write.
      if (length <= 64) for (let i = 0; i < length; i++) b[offset + i] = src[srcOffset + i]!
      else b.set(src.subarray(srcOffset, srcOffset + length), offset)
    }
    // The hash absorbs `offset | length << 12 | 2^31`, then the bytes four at a time
    // (little-endian words), then the tail byte by byte (mixed in later: `pending`).
    // NOTE: words, not bytes: every NIC DMA comes through here, and a round per byte was most of a
    // received frame's cost.
    // NOTE: a long copy (a NIC frame's DMA: hundreds of words) is mixed in now, after what is
    // pending (logging each word costs more than it saves); a short one (a mailbox's message) is logged.
    const absorptions = 1 + (length >>> 2) + (length & 3)
    if (length > LOGGED_COPY || this.pendingCount + absorptions > PENDING) {
      if (this.pendingCount !== 0) this.settle()
      if (length > LOGGED_COPY) {
        this.writeBytesHashNow(frame, offset, src, srcOffset, length)
        return
      }
    }
    const q = this.pending
    let j = 2 * this.pendingCount
    q[j++] = frame
    q[j++] = offset | (length << 12) | 0x8000_0000
    const end = srcOffset + length
    let i = srcOffset
    for (; i + 4 <= end; i += 4) {
      q[j++] = frame
      q[j++] = src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)
    }
    for (; i < end; i++) {
      q[j++] = frame
      q[j++] = src[i]!
    }
    this.pendingCount = j >>> 1
    this.writes++
  }

  /** `writeBytes`'s hash of a long copy, mixed in now (nothing is pending). */
  private writeBytesHashNow(frame: number, offset: number, src: Uint8Array, srcOffset: number, length: number): void {
    const c = this.hashChunk(frame)
    const ci = (frame & (CHUNK_FRAMES - 1)) * 2
    this.markStale(frame, c, ci)
    let h1 = round1(c[ci]!, offset | (length << 12) | 0x8000_0000)
    let h2 = round2(c[ci + 1]!, offset | (length << 12) | 0x8000_0000)
    const end = srcOffset + length
    let i = srcOffset
    for (; i + 4 <= end; i += 4) {
      const w = src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24)
      h1 = round1(h1, w)
      h2 = round2(h2, w)
    }
    for (; i < end; i++) {
      h1 = round1(h1, src[i]!)
      h2 = round2(h2, src[i]!)
    }
    c[ci] = h1
    c[ci + 1] = h2
    this.writes++
  }

  /** Gives `frame` real bytes (zeros; the frame must still be all zeros) and returns them. */
  backWithBytes(frame: number): Uint8Array {
    this.check("backWithBytes", frame)
    let b = this.bytesAt(frame)
    if (b !== undefined) return b
    if (!this.isZero(frame)) throw new HardwareError(`PhysicalMemory.backWithBytes: frame ${frame} was already written; back frames with bytes before their first use`)
    b = new Uint8Array(PAGE_BYTES)
    this.setBytes(frame, b)
    return b
  }

  /** The bytes of `frame` if it has them (read-only use: writes must go through `write`). */
  bytesOf(frame: number): Uint8Array | undefined {
    return frame >= 0 && frame < this.frames ? this.bytesAt(frame) : undefined
  }

  /** Reads `size` bytes at `offset` in `frame` (little-endian, unsigned). */
  read(frame: number, offset: number, size: 1 | 2 | 4): number {
    this.check("read", frame, offset, size)
    const b = this.bytesAt(frame) // NOTE: as `write`
    if (b === undefined) {
      if (this.isZero(frame)) return 0
      throw new HardwareError(`PhysicalMemory.read: frame ${frame} holds only a content hash; back it with bytes (backWithBytes) before its first write to read it`)
    }
    // NOTE: integer ops, no loop (a mailbox's status word is read at every poll): the same unsigned value.
    if (size === 4) return (b[offset]! | (b[offset + 1]! << 8) | (b[offset + 2]! << 16) | (b[offset + 3]! << 24)) >>> 0
    return size === 1 ? b[offset]! : b[offset]! | (b[offset + 1]! << 8)
  }

  /** Copies frame `from` onto frame `to` (hash and bytes): the VM fork, a monitor copy. */
  copyFrame(from: number, to: number): void {
    this.check("copyFrame", from)
    this.check("copyFrame", to)
    const src = this.bytesAt(from)
    this.setBytes(to, src === undefined ? undefined : src.slice())
    this.setHash(to, this.hash1(from), this.hash2(from))
    this.writes++
  }

  /**
   * Sets `frame`'s content identity to `(h1, h2)` without bytes (boot images: every sandbox's
   * kernel copy of page k gets the same identity). `(0, 0)` means zeros.
   */
  setContent(frame: number, h1: number, h2: number): void {
    this.check("setContent", frame)
    this.setBytes(frame, undefined)
    this.setHash(frame, h1 | 0, h2 | 0)
  }

  /** The XOR digest of every frame (16 hex digits); O(1). */
  digest(): string {
    if (this.pendingCount !== 0) this.settle()
    const stale = this.stale
    let d1 = this.digest1
    let d2 = this.digest2
    for (let k = 0; k < stale.length; k++) {
      const f = stale[k]!
      const h1 = this.hash1(f)
      const h2 = this.hash2(f)
      d1 ^= contribution1(f, h1, h2)
      d2 ^= contribution2(f, h1, h2)
      this.flags[f] = this.flags[f]! & ~STALE
    }
    this.stale = []
    this.digest1 = d1
    this.digest2 = d2
    return hex64(d1, d2)
  }

  /** The XOR digest of frames `[first, first + count)` (16 hex digits); skips untouched chunks. */
  rangeDigest(first: number, count: number): string {
    if (this.pendingCount !== 0) this.settle()
    if (count > 0) this.check("rangeDigest", first + count - 1)
    this.check("rangeDigest", first)
    let d1 = 0
    let d2 = 0
    const end = first + count
    let f = first
    while (f < end) {
      const c = this.chunks[f >>> CHUNK_SHIFT]
      const chunkEnd = Math.min(end, ((f >>> CHUNK_SHIFT) + 1) * CHUNK_FRAMES)
      if (c !== undefined) {
        for (; f < chunkEnd; f++) {
          const i = (f & (CHUNK_FRAMES - 1)) * 2
          const h1 = c[i]!
          const h2 = c[i + 1]!
          if ((h1 | h2) === 0) continue
          d1 ^= contribution1(f, h1, h2)
          d2 ^= contribution2(f, h1, h2)
        }
      }
      f = chunkEnd
    }
    return hex64(d1, d2)
  }
}
