/**
 * The `.qvt` format's constants and encoding helpers, shared by the writer (`QvtWriter`) and the
 * reader (`QvtReader`): the magic, the version, the chunk tags, the header and definition-chunk
 * encodings, the checksum, and the error a malformed file raises. See docs/trace-format.md.
 *
 * @module
 */
import { LITTLE } from "./Fingerprint.ts"
import { fmix32 } from "./Rng.ts"
import type { TraceHeader } from "./Trace.ts"

/** The file's first 8 bytes (PNG-style: a text-mode transfer or truncation shows). */
export const MAGIC = Uint8Array.of(0x89, 0x51, 0x56, 0x54, 0x0d, 0x0a, 0x1a, 0x0a)
/** The format version written after the magic (readers refuse any other). */
export const VERSION = 1

export const TAG_KIND = 1
export const TAG_SUBJECT = 2
export const TAG_SYMBOL = 3
export const TAG_RECORDS = 4
export const TAG_END = 5

/** Flag bit of an absolute (double) time. */
export const T_ABS = 1 << 15
/** Words in a record block before it is written (256 KiB). */
export const BLOCK_WORDS = 1 << 16
/** The largest chunk a reader accepts (a bigger length is corruption). */
export const MAX_CHUNK_BYTES = 1 << 20

/** A malformed `.qvt` file: `offset` is the byte where the problem was found. */
export class QvtError extends Error {
  override readonly name = "QvtError"
  readonly offset: number
  constructor(message: string, offset: number) {
    super(message)
    this.offset = offset
  }
}

export const encoder = new TextEncoder()
export const decoder = new TextDecoder("utf-8", { fatal: true })

/** Bytes of a word array in file order (little-endian). */
export const fileBytes = (words: Uint32Array, count: number): Uint8Array => {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, count * 4)
  if (LITTLE) return bytes
  const copy = new Uint8Array(bytes)
  for (let i = 0; i < copy.length; i += 4) copy.set([bytes[i + 3]!, bytes[i + 2]!, bytes[i + 1]!, bytes[i]!], i)
  return copy
}

/** The header: magic, version, JSON length, JSON (padded to 4 bytes). */
export const encodeHeader = (header: TraceHeader): Uint8Array => {
  const json = encoder.encode(JSON.stringify(header))
  const out = new Uint8Array(16 + pad4(json.length))
  out.set(MAGIC, 0)
  const view = new DataView(out.buffer)
  view.setUint32(8, VERSION, true)
  view.setUint32(12, json.length, true)
  out.set(json, 16)
  return out
}

export const pad4 = (n: number): number => (n + 3) & ~3

/** The checksum of a definition or end chunk's bytes: FNV-1a, then murmur's finaliser. */
export const checksum = (bytes: Uint8Array): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193)
  return fmix32(h ^ bytes.length)
}

/**
 * A definition or end chunk: words, then strings (each a byte length and UTF-8 bytes padded to
 * 4), then the checksum of all that.
 */
export const encodeChunk = (tag: number, words: readonly number[], strings: readonly string[]): Uint8Array => {
  const encoded = strings.map((s) => encoder.encode(s))
  const payload = 4 * words.length + encoded.reduce((sum, e) => sum + 4 + pad4(e.length), 0) + 4
  const out = new Uint8Array(8 + payload)
  const view = new DataView(out.buffer)
  view.setUint32(0, tag, true)
  view.setUint32(4, payload, true)
  let at = 8
  for (const w of words) { view.setUint32(at, w >>> 0, true); at += 4 }
  for (const e of encoded) {
    view.setUint32(at, e.length, true)
    out.set(e, at + 4)
    at += 4 + pad4(e.length)
  }
  view.setUint32(at, checksum(out.subarray(8, at)), true)
  return out
}
