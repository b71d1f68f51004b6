import { describe, expect, it } from "vitest"
import { FrameStore, SLOT_BYTES } from "../src/FrameStore.ts"

describe("FrameStore", () => {
  it("allocates, frees and reuses slots; grows keeping contents", () => {
    const s = new FrameStore(2)
    const a = s.alloc()
    s.bytes[s.offset(a)] = 42
    s.setLength(a, 1)
    const more = [s.alloc(), s.alloc(), s.alloc()]
    expect(s.inUse).toBe(4)
    expect(s.bytes[s.offset(a)]).toBe(42)
    const b = s.clone(a)
    expect([s.length(b), s.bytes[s.offset(b)]]).toEqual([1, 42])
    for (const x of [...more, a, b]) s.free(x)
    expect(s.inUse).toBe(0)
    expect(() => s.free(a)).toThrow(/not in use/)
    expect(() => s.setLength(s.alloc(), SLOT_BYTES + 1)).toThrow(/is not 0\.\.2048/)
  })

  it("refuses to grow past its limit (a leak guard)", () => {
    const s = new FrameStore(2, 4)
    for (let i = 0; i < 4; i++) s.alloc()
    expect(() => s.alloc()).toThrow(/more than 4 frames alive/)
  })
})
