import { describe, expect, it } from "vitest"
import fc from "fast-check"
import { PhysicalMemory } from "../src/PhysicalMemory.ts"
import { round1, round2 } from "../src/internal/hash.ts"

describe("PhysicalMemory", () => {
  it("starts all zeros: hash 0, reads 0, digest of nothing", () => {
    const m = new PhysicalMemory()
    expect(m.frames).toBe(1 << 20)
    expect(m.isZero(12345)).toBe(true)
    expect(m.read(12345, 100, 4)).toBe(0)
    expect(m.digest()).toBe("0000000000000000")
  })

  it("changes a frame's hash and the digest on every write, including rewriting the same value", () => {
    const m = new PhysicalMemory()
    m.write(7, 0, 4, 0xdeadbeef)
    const h1 = m.frameHash(7)
    const d1 = m.digest()
    m.write(7, 0, 4, 0xdeadbeef)
    expect(m.frameHash(7)).not.toBe(h1)
    expect(m.digest()).not.toBe(d1)
    expect(m.writes).toBe(2)
  })

  it("keeps the digest (brought up to date when read) equal to the digest recomputed over all frames, whenever it is read", () => {
    // Frames from a few (repeated writes to a frame between reads) or from all; the digest read after some writes.
    const frame = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: (1 << 20) - 1 }))
    fc.assert(fc.property(
      fc.array(fc.record({ frame, offset: fc.integer({ min: 0, max: 4092 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }), copyTo: fc.option(frame), read: fc.boolean() }), { maxLength: 30 }),
      (writes) => {
        const m = new PhysicalMemory()
        for (const w of writes) {
          m.write(w.frame, w.offset, 4, w.value)
          if (w.copyTo !== null) m.copyFrame(w.frame, w.copyTo)
          if (w.read) expect(m.digest()).toBe(m.rangeDigest(0, m.frames))
        }
        expect(m.rangeDigest(0, m.frames)).toBe(m.digest())
      },
    ), { numRuns: 50 })
  })

  it("mixes pending hash absorptions exactly as mixing at each write would (model: eager rounds per frame, in order)", () => {
    // Writes of every size, short (logged) and long (mixed at once) copies, copies of frames and
    // hash reads interleaved; a model mixes each write into its frame's lanes at once.
    const frame = fc.integer({ min: 0, max: 5 }).map((f) => f * 700) // two chunks, frames shared by many ops
    const op = fc.oneof(
      fc.record({ kind: fc.constant("write" as const), frame, offset: fc.integer({ min: 0, max: 4092 }), size: fc.constantFrom(1 as const, 2 as const, 4 as const), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ kind: fc.constant("bytes" as const), frame, offset: fc.integer({ min: 0, max: 3000 }), bytes: fc.uint8Array({ minLength: 1, maxLength: 90, size: "max" }) }),
      fc.record({ kind: fc.constant("words" as const), frame, offset: fc.integer({ min: 0, max: 4088 }), value: fc.integer({ min: 0, max: 2 ** 32 - 1 }), value2: fc.integer({ min: 0, max: 2 ** 32 - 1 }) }),
      fc.record({ kind: fc.constant("copy" as const), frame, to: frame }),
      fc.record({ kind: fc.constant("read" as const), frame }),
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 60, size: "max" }), (ops) => {
      const m = new PhysicalMemory()
      const model = new Map<number, [number, number]>()
      const lanes = (f: number): [number, number] => model.get(f) ?? [0, 0]
      const absorb = (f: number, xs: number[]): void => {
        let [h1, h2] = lanes(f)
        for (const x of xs) {
          h1 = round1(h1, x)
          h2 = round2(h2, x)
        }
        model.set(f, [h1 >>> 0, h2 >>> 0])
      }
      for (const o of ops) {
        if (o.kind === "write") {
          m.write(o.frame, o.offset, o.size, o.value)
          absorb(o.frame, [o.offset | (o.size << 12), o.size === 4 ? o.value >>> 0 : o.value & ((1 << (8 * o.size)) - 1)])
        } else if (o.kind === "bytes") {
          const b = o.bytes
          m.writeBytes(o.frame, o.offset, b, 0, b.length)
          const xs = [o.offset | (b.length << 12) | 0x8000_0000]
          let i = 0
          for (; i + 4 <= b.length; i += 4) xs.push(b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
          for (; i < b.length; i++) xs.push(b[i]!)
          absorb(o.frame, xs)
        } else if (o.kind === "words") {
          m.writeWords(o.frame, o.offset, o.value, o.value2)
          absorb(o.frame, [o.offset | (4 << 12), o.value >>> 0, (o.offset + 4) | (4 << 12), o.value2 >>> 0])
        } else if (o.kind === "copy") {
          m.copyFrame(o.frame, o.to)
          model.set(o.to, lanes(o.frame))
        } else {
          expect([m.hash1(o.frame), m.hash2(o.frame)]).toEqual(lanes(o.frame))
        }
      }
      for (let f = 0; f <= 3500; f += 700) expect([m.hash1(f), m.hash2(f)]).toEqual(lanes(f))
      expect(m.digest()).toBe(m.rangeDigest(0, m.frames))
    }), { numRuns: 100 })
  })

  it("writes two words side by side (writeWords) as two 4-byte writes: bytes, hashes and digest, wherever the log is full", () => {
    // The log holds 2,048 absorptions; the pair needs four: filled to 2,040..2,048 before it.
    for (let fill = 2040; fill <= 2048; fill++) {
      const pair = new PhysicalMemory(), single = new PhysicalMemory()
      for (const m of [pair, single]) {
        m.backWithBytes(3)
        for (let i = 0; i + 2 <= fill - (fill & 1 ? 3 : 0); i += 2) m.write(i & 2 ? 9 : 3, (i * 4) & 4095, 4, i * 2654435761)
        if (fill & 1) m.writeBytes(9, 10, Uint8Array.of(1, 2, 3, 4, 5), 0, 5) // three absorptions
      }
      pair.writeWords(3, 4084, 0xdead_beef, 7)
      single.write(3, 4084, 4, 0xdead_beef)
      single.write(3, 4088, 4, 7)
      for (const f of [3, 9]) expect([pair.hash1(f), pair.hash2(f)]).toEqual([single.hash1(f), single.hash2(f)])
      expect([pair.read(3, 4084, 4), pair.read(3, 4088, 4)]).toEqual([0xdead_beef, 7])
      expect(pair.digest()).toBe(single.digest())
      expect(pair.writes).toBe(single.writes)
    }
  })

  it("gives a range digest that changes only when a frame inside the range changes", () => {
    const m = new PhysicalMemory()
    m.write(2000, 0, 1, 1)
    const inside = m.rangeDigest(1024, 2048)
    m.write(5000, 0, 1, 1)
    m.write(1000, 0, 1, 1)
    expect(m.rangeDigest(1024, 2048)).toBe(inside)
    m.write(3071, 4095, 1, 1)
    expect(m.rangeDigest(1024, 2048)).not.toBe(inside)
  })

  it("holds real bytes for backed frames: little-endian reads of what was written", () => {
    const m = new PhysicalMemory()
    m.backWithBytes(9)
    m.write(9, 60, 4, 0x0403_0201)
    m.write(9, 63, 1, 0xff) // a mailbox's sequence byte
    expect(m.read(9, 60, 4)).toBe(0xff03_0201)
    expect(m.read(9, 62, 2)).toBe(0xff03)
    m.writeBytes(9, 100, Uint8Array.from([1, 2, 3, 4, 5]), 1, 3)
    expect([...m.bytesOf(9)!.subarray(100, 104)]).toEqual([2, 3, 4, 0])
  })

  it("copies hash and bytes: a copy hashes like its source", () => {
    const m = new PhysicalMemory()
    m.backWithBytes(1)
    m.write(1, 0, 2, 0xabcd)
    m.copyFrame(1, 2)
    expect(m.frameHash(2)).toBe(m.frameHash(1))
    expect(m.read(2, 0, 2)).toBe(0xabcd)
    m.write(1, 0, 2, 0)
    expect(m.read(2, 0, 2)).toBe(0xabcd)
  })

  it("refuses to read what it only knows by hash, to back a written frame, and out-of-range frames", () => {
    const m = new PhysicalMemory()
    m.write(3, 0, 4, 5)
    expect(() => m.read(3, 0, 4)).toThrow(/holds only a content hash/)
    expect(() => m.backWithBytes(3)).toThrow(/already written/)
    expect(() => m.write(1 << 20, 0, 1, 0)).toThrow(/frame 1048576 is not 0\.\.1048575/)
    expect(() => m.write(0, 4094, 4, 0)).toThrow(/not inside a 4096-byte frame/)
  })
})
