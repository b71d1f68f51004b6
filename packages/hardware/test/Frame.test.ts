import { describe, expect, it } from "vitest"
import fc from "fast-check"
import * as Frame from "../src/Frame.ts"

const buf = () => new Uint8Array(2048)

describe("Frame", () => {
  it("builds a 98-byte echo request (ping's default 56-byte payload) with valid checksums", () => {
    const b = buf()
    const n = Frame.buildEchoRequest(b, 0, 0x02_00_00_00_00_64, 0x00_e0_4c_00_00_01, Frame.parseIp("192.168.2.100"), Frame.parseIp("192.168.2.11"), 0x5156, 7, 56)
    expect(n).toBe(98)
    expect(Frame.checksumsValid(b, 0, n)).toBe(true)
    expect(Frame.etherType(b, 0)).toBe(Frame.EtherType.IPv4)
    expect(Frame.ipProtocol(b, 0)).toBe(Frame.IpProtocol.Icmp)
    expect(Frame.formatIp(Frame.ipDst(b, 0))).toBe("192.168.2.11")
    expect(Frame.formatMac(Frame.dstMac(b, 0))).toBe("00:e0:4c:00:00:01")
    expect(Frame.icmpType(b, 0)).toBe(Frame.IcmpType.EchoRequest)
    expect(Frame.icmpSeq(b, 0)).toBe(7)
    expect(Frame.icmpIdent(b, 0)).toBe(0x5156)
    expect(Frame.ipTotalLength(b, 0)).toBe(84)
  })

  it("turns any echo request into a reply with valid checksums, swapped addresses, same id/seq/payload", () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }),
      fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 1472 }),
      (srcMac, dstMac, srcIp, dstIp, ident, seq, payload) => {
        const b = buf()
        const n = Frame.buildEchoRequest(b, 0, srcMac, dstMac, srcIp, dstIp, ident, seq, payload)
        const before = b.slice(Frame.ICMP_OFFSET + 4, n)
        expect(Frame.isEchoRequestFor(b, 0, n, dstIp)).toBe(true)
        expect(Frame.echoToReply(b, 0, n)).toBe(true)
        expect(Frame.checksumsValid(b, 0, n)).toBe(true)
        expect(Frame.icmpType(b, 0)).toBe(Frame.IcmpType.EchoReply)
        expect([Frame.srcMac(b, 0), Frame.dstMac(b, 0), Frame.ipSrc(b, 0), Frame.ipDst(b, 0)]).toEqual([dstMac, srcMac, dstIp, srcIp])
        expect(b.slice(Frame.ICMP_OFFSET + 4, n)).toEqual(before)
      },
    ))
  })

  it("detects a corrupted byte through the checksums", () => {
    const b = buf()
    const n = Frame.buildEchoRequest(b, 0, 1, 2, 3, 4, 5, 6, 56)
    b[Frame.ICMP_OFFSET + 20] = b[Frame.ICMP_OFFSET + 20]! ^ 0x10
    expect(Frame.checksumsValid(b, 0, n)).toBe(false)
  })

  it("refuses to reply to what is not an echo request, changing nothing", () => {
    const b = buf()
    const n = Frame.buildEchoRequest(b, 0, 1, 2, 3, 4, 5, 6, 8)
    Frame.echoToReply(b, 0, n)
    const copy = b.slice()
    expect(Frame.echoToReply(b, 0, n)).toBe(false)
    expect(b).toEqual(copy)
    expect(Frame.echoToReply(b, 0, 20)).toBe(false)
    expect(Frame.demuxIp(b, 0, 20)).toBe(-1)
  })

  it("parses and formats addresses; sandbox s has 192.168.2.(11+s)", () => {
    expect(Frame.formatIp(Frame.parseIp("10.0.255.1"))).toBe("10.0.255.1")
    expect(() => Frame.parseIp("10.0.256.1")).toThrow(/not a dotted-quad/)
    expect(() => Frame.parseIp("10.0.1")).toThrow(/not a dotted-quad/)
    expect(Frame.formatIp(Frame.sandboxIp(0))).toBe("192.168.2.11")
    expect(Frame.formatIp(Frame.sandboxIp(3))).toBe("192.168.2.14")
    expect(Frame.formatMac(Frame.BROADCAST_MAC)).toBe("ff:ff:ff:ff:ff:ff")
  })

  it("computes the RFC 1071 checksum of the RFC's example", () => {
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7])
    expect(Frame.checksum(b, 0, 8)).toBe(~0xddf2 & 0xffff)
  })
})
