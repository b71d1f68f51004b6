/**
 * Ethernet II / IPv4 / ICMP frames, as far as demultiplexing and echo replies need: build an echo
 * request, turn a request into its reply in place, read the fields a driver or a host looks at,
 * check the checksums. Functions work on `(bytes, offset)` of a {@link FrameStore} slot and
 * allocate nothing; MAC addresses are 48-bit numbers, IPv4 addresses unsigned 32-bit numbers.
 *
 * Layout: Ethernet header 14 B (dst MAC, src MAC, EtherType) · IPv4 header 20 B (no options) ·
 * ICMP header 8 B (type, code, checksum, identifier, sequence) · payload.
 *
 * Invariants: every frame built here has valid IPv4 and ICMP checksums (RFC 1071), and
 * `echoToReply` keeps them valid; readers never read past the given length.
 *
 * @module
 */

export const ETH_HEADER = 14
export const IPV4_HEADER = 20
export const ICMP_HEADER = 8
/** Offset of the IPv4 header / ICMP header in a frame. */
export const IP_OFFSET = ETH_HEADER
export const ICMP_OFFSET = ETH_HEADER + IPV4_HEADER
/** Shortest Ethernet frame without FCS (shorter frames are padded on the wire). */
export const MIN_FRAME = 60
/** Longest Ethernet frame without FCS. */
export const MAX_FRAME = 1514

export const EtherType = { IPv4: 0x0800, Arp: 0x0806 } as const
export const IpProtocol = { Icmp: 1, Tcp: 6, Udp: 17 } as const
export const IcmpType = { EchoReply: 0, EchoRequest: 8 } as const
export const BROADCAST_MAC = 0xffff_ffff_ffff

/** Parses a dotted-quad IPv4 address. */
export const parseIp = (text: string): number => {
  const parts = text.split(".").map((p) => (/^\d{1,3}$/.test(p) ? Number(p) : NaN))
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) throw new RangeError(`parseIp: "${text}" is not a dotted-quad IPv4 address`)
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0
}

/** Formats an IPv4 address. */
export const formatIp = (ip: number): string => `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`

/** Formats a MAC address as `xx:xx:xx:xx:xx:xx`. */
export const formatMac = (mac: number): string => {
  const out: string[] = []
  for (let i = 5; i >= 0; i--) out.push((Math.floor(mac / 2 ** (8 * i)) & 255).toString(16).padStart(2, "0"))
  return out.join(":")
}

/** The static IP of sandbox `s` in the Quest-V code: 192.168.2.(11 + s). */
export const sandboxIp = (s: number): number => parseIp(`192.168.2.${11 + s}`)

const put16 = (b: Uint8Array, o: number, v: number): void => {
  b[o] = (v >>> 8) & 255
  b[o + 1] = v & 255
}
const get16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!
const put32 = (b: Uint8Array, o: number, v: number): void => {
  put16(b, o, v >>> 16)
  put16(b, o + 2, v & 0xffff)
}
const get32 = (b: Uint8Array, o: number): number => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0
const putMac = (b: Uint8Array, o: number, mac: number): void => {
  put16(b, o, Math.floor(mac / 2 ** 32))
  put32(b, o + 2, mac % 2 ** 32)
}
const getMac = (b: Uint8Array, o: number): number => get16(b, o) * 2 ** 32 + get32(b, o + 2)

/** The RFC 1071 internet checksum of `length` bytes at `o`. */
export const checksum = (b: Uint8Array, o: number, length: number): number => {
  let sum = 0
  let i = 0
  for (; i + 1 < length; i += 2) sum += (b[o + i]! << 8) | b[o + i + 1]!
  if (i < length) sum += b[o + i]! << 8
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16)
  return ~sum & 0xffff
}

/** Writes an Ethernet header at `o`. */
export const writeEthernet = (b: Uint8Array, o: number, dstMac: number, srcMac: number, etherType: number): void => {
  putMac(b, o, dstMac)
  putMac(b, o + 6, srcMac)
  put16(b, o + 12, etherType)
}

/** Writes a 20-byte IPv4 header at `o` (no options, don't-fragment, TTL 64) with its checksum. */
export const writeIpv4 = (b: Uint8Array, o: number, totalLength: number, ident: number, protocol: number, srcIp: number, dstIp: number): void => {
  b[o] = 0x45
  b[o + 1] = 0
  put16(b, o + 2, totalLength)
  put16(b, o + 4, ident & 0xffff)
  put16(b, o + 6, 0x4000)
  b[o + 8] = 64
  b[o + 9] = protocol
  put16(b, o + 10, 0)
  put32(b, o + 12, srcIp)
  put32(b, o + 16, dstIp)
  put16(b, o + 10, checksum(b, o, IPV4_HEADER))
}

/**
 * Builds an ICMP echo request at `o` and returns its length in bytes (14 + 20 + 8 + payload).
 * The payload is the byte pattern `(seq + i) & 255`, as deterministic as ping's.
 */
export const buildEchoRequest = (
  b: Uint8Array, o: number,
  srcMac: number, dstMac: number, srcIp: number, dstIp: number,
  ident: number, seq: number, payloadBytes: number,
): number => {
  const icmpLength = ICMP_HEADER + payloadBytes
  writeEthernet(b, o, dstMac, srcMac, EtherType.IPv4)
  writeIpv4(b, o + IP_OFFSET, IPV4_HEADER + icmpLength, seq, IpProtocol.Icmp, srcIp, dstIp)
  const c = o + ICMP_OFFSET
  b[c] = IcmpType.EchoRequest
  b[c + 1] = 0
  put16(b, c + 2, 0)
  put16(b, c + 4, ident & 0xffff)
  put16(b, c + 6, seq & 0xffff)
  for (let i = 0; i < payloadBytes; i++) b[c + ICMP_HEADER + i] = (seq + i) & 255
  put16(b, c + 2, checksum(b, c, icmpLength))
  return ETH_HEADER + IPV4_HEADER + icmpLength
}

/** True if the `length`-byte frame at `o` is IPv4 with a full header. */
export const isIpv4 = (b: Uint8Array, o: number, length: number): boolean =>
  length >= ETH_HEADER + IPV4_HEADER && get16(b, o + 12) === EtherType.IPv4 && b[o + IP_OFFSET] === 0x45

/** True if the frame at `o` is an ICMP message with a full header inside `length`. */
export const isIcmp = (b: Uint8Array, o: number, length: number): boolean =>
  isIpv4(b, o, length) && b[o + IP_OFFSET + 9] === IpProtocol.Icmp && length >= ICMP_OFFSET + ICMP_HEADER

export const dstMac = (b: Uint8Array, o: number): number => getMac(b, o)
export const srcMac = (b: Uint8Array, o: number): number => getMac(b, o + 6)
export const etherType = (b: Uint8Array, o: number): number => get16(b, o + 12)
export const ipTotalLength = (b: Uint8Array, o: number): number => get16(b, o + IP_OFFSET + 2)
export const ipProtocol = (b: Uint8Array, o: number): number => b[o + IP_OFFSET + 9]!
export const ipSrc = (b: Uint8Array, o: number): number => get32(b, o + IP_OFFSET + 12)
export const ipDst = (b: Uint8Array, o: number): number => get32(b, o + IP_OFFSET + 16)
export const icmpType = (b: Uint8Array, o: number): number => b[o + ICMP_OFFSET]!
export const icmpIdent = (b: Uint8Array, o: number): number => get16(b, o + ICMP_OFFSET + 4)
export const icmpSeq = (b: Uint8Array, o: number): number => get16(b, o + ICMP_OFFSET + 6)

/**
 * The early-demultiplexing check: the IPv4 destination of the frame at `o` if it is IPv4, else
 * -1. Reads 4 header bytes, nothing else.
 */
export const demuxIp = (b: Uint8Array, o: number, length: number): number => (isIpv4(b, o, length) ? ipDst(b, o) : -1)

/** True if the IPv4 header checksum and (for ICMP) the ICMP checksum of the frame verify. */
export const checksumsValid = (b: Uint8Array, o: number, length: number): boolean => {
  if (!isIpv4(b, o, length)) return false
  if (checksum(b, o + IP_OFFSET, IPV4_HEADER) !== 0) return false
  const total = ipTotalLength(b, o)
  if (total < IPV4_HEADER || ETH_HEADER + total > length) return false
  if (ipProtocol(b, o) !== IpProtocol.Icmp) return true
  return checksum(b, o + ICMP_OFFSET, total - IPV4_HEADER) === 0
}

/** True if the frame is a well-formed ICMP echo request addressed to `ip`. */
export const isEchoRequestFor = (b: Uint8Array, o: number, length: number, ip: number): boolean =>
  isIcmp(b, o, length) && ipDst(b, o) === ip && icmpType(b, o) === IcmpType.EchoRequest

/**
 * Turns the echo request at `o` into its reply, in place: swaps MACs and IPs, sets type 0 and
 * fixes both checksums. Returns false (and changes nothing) if the frame is not an echo request.
 */
export const echoToReply = (b: Uint8Array, o: number, length: number): boolean => {
  if (!isIcmp(b, o, length) || icmpType(b, o) !== IcmpType.EchoRequest) return false
  const dst = getMac(b, o)
  putMac(b, o, getMac(b, o + 6))
  putMac(b, o + 6, dst)
  const ip = o + IP_OFFSET
  const src = get32(b, ip + 12)
  put32(b, ip + 12, get32(b, ip + 16))
  put32(b, ip + 16, src)
  // Swapping addresses leaves the IPv4 checksum unchanged (a one's-complement sum is order-free).
  const c = o + ICMP_OFFSET
  b[c] = IcmpType.EchoReply
  // RFC 1624 incremental update: the type word drops by 0x0800.
  let sum = (~get16(b, c + 2) & 0xffff) + (~0x0800 & 0xffff)
  sum = (sum & 0xffff) + (sum >>> 16)
  sum = (sum & 0xffff) + (sum >>> 16)
  put16(b, c + 2, ~sum & 0xffff)
  return true
}
