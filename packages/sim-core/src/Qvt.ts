/**
 * The binary trace format `.qvt` (see docs/trace-format.md): a versioned header, then chunks of
 * little-endian 32-bit words: definitions (kinds, subjects, symbols) before the records that use
 * them, blocks of records, and an end chunk with the record count and the run's fingerprint.
 *
 * A record is `[kind | flags << 16, subject, time, values…]`: the time is a 32-bit delta from the
 * previous record of the block (absolute, as a double, for the first record of a block or when
 * the delta does not fit: flag bit 15); a value is one signed 32-bit word when it is an int32
 * (-0 is written as 0, as JSON writes it), else a double in two words (flag bit i).
 *
 * Invariants: decoding yields exactly the records written (as `Trace.toRecord` builds them); a
 * block decodes on its own; every length, id and count read is checked, and the records' own
 * fingerprint against the run's in the end chunk when the file holds the whole run (a bad file
 * throws a `QvtError` naming the byte offset, never reads out of bounds or loops).
 *
 * The format's constants and helpers are in `QvtFormat`, the writer (`QvtSink`) in `QvtWriter`, the
 * reader in `QvtReader`; this module is their one public face (`Qvt.*`).
 *
 * NOTE: the writer is on the run's hot path: attached to a trace, it takes the fingerprint batch's
 * packed records at each flush (`onBatch`: no call per record) and encodes them in one loop into
 * a reused word buffer (no per-record allocation), handing out 256 KiB blocks.
 *
 * @module
 */
export { checksum, encodeHeader, MAGIC, MAX_CHUNK_BYTES, QvtError, TAG_END, TAG_KIND, TAG_RECORDS, TAG_SUBJECT, TAG_SYMBOL, VERSION } from "./QvtFormat.ts"
export * from "./QvtWriter.ts"
export * from "./QvtReader.ts"
