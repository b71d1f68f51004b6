/**
 * The `.qvt` writer's record loop in WebAssembly (`QvtSink.onBatch`): encodes a batch of packed
 * records into the current block's words exactly as the TypeScript loop does (`QvtSink.onRecord`
 * is the reference, Qvt.test compares the bytes), and stops before a record that needs a definition
 * (kind, subject or symbol not yet in the file) or a new block, for the sink to handle in TypeScript.
 *
 * Memory (little-endian, laid out by `QvtSink`): the batch's doubles copied at `IN`, the block's
 * words at `OUT`, the state at `STATE` (`p`, `at`, `inBlock`, records written: i32; `lastT`: f64 at
 * +16), and per kind / per subject byte tables given by offset and length (kinds: field count + 1,
 * 0 until defined; masks: bit i when field i is a symbol; subjects: 1 once defined).
 *
 * `encode(end, symbolsDone, kinds, masks, kindCount, subjects, subjectCount) → 1` when it stopped
 * before the record at `p` (state updated), `0` when the batch is done.
 *
 * NOTE: built for speed (a traced run's every record goes through here): the same loop in
 * TypeScript costs about 25 ns per record (float-to-int checks and typed-array stores).
 *
 * @module
 */
import { BLOCK_WORDS, T_ABS } from "./QvtFormat.ts"
import { f64, functionModule, i32, i64, op, WebAssembly } from "./Wasm.ts"

/** Byte offsets: the batch (doubles), the block's words, the state. */
export const IN = 0
export const IN_DOUBLES = 4096 + 16
export const OUT = IN_DOUBLES * 8
export const OUT_WORDS = BLOCK_WORDS + 32
export const STATE = OUT + OUT_WORDS * 4
/** The first free byte (tables go after it). */
export const TABLES = STATE + 32

// params
const END = 0, SYMBOLS_DONE = 1, KINDS = 2, MASKS = 3, KIND_COUNT = 4, SUBJECTS = 5, SUBJECT_COUNT = 6
// locals: i32
const P = 7, AT = 8, IN_BLOCK = 9, WRITTEN = 10, KID = 11, SID = 12, SLOT = 13, MASK = 14, N = 15, Q = 16, FLAGS = 17, I = 18, A = 19, STATUS = 21 // (20: free)
// f64
const LAST_T = 22, T = 23, DT = 24, V = 25, R = 26
// i64
const K = 27
const LOCALS = [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, f64, f64, f64, f64, f64, i64]

/**
 * The bits of the record head (an integer below 2^51, see `PrintBatch.recordHead`) on the stack:
 * those of `x + 2^52` (whose mantissa is then `x` itself; the exponent's bits are masked off).
 */
const headBits = [...op.f64(2 ** 52), ...op.f64Add, ...op.i64ReinterpretF64]

/** 1.5 · 2^52: in [2^52, 2^53), where doubles are the integers, their bits linear in the value. */
const M = 1.5 * 2 ** 52
const M_BITS = 0x4338_0000_0000_0000n
/**
 * Whether the double in local `x` is an integer k with `k - low` in [0, 2^32) (`low` = -2^31: an
 * int32; 0: a u32), leaving K = k's bits (its low word is k as an i32). `R = x + M` is rounded to an
 * integer; when `R - M == x` (exact: R and M are within a factor 2) and R's bits minus M's are in
 * range, R is in [2^52, 2^53) and those bits are `x` itself; outside that binade they differ from
 * M's by at least 2^51 (NaN: the equality fails; -0: is 0, as JSON writes it).
 * NOTE: built for speed: a saturating truncation and the conversion back cost V8 a longer
 * dependent chain and an out-of-line check (the loop's largest cost in a profile).
 */
const integerIn = (x: number, low: bigint): number[] => [
  ...op.get(x), ...op.f64(M), ...op.f64Add, ...op.tee(R), ...op.f64(M), ...op.f64Sub, ...op.get(x), ...op.f64Eq,
  ...op.get(R), ...op.i64ReinterpretF64, ...op.tee(K), ...op.i64(-M_BITS - low), ...op.i64Add, ...op.i64(1n << 32n), ...op.i64LtU,
  ...op.i32And,
]
/** `A` ← the byte address of double `P + k` of the batch (`k` on the stack). */
const value = (k: number): number[] => [...op.get(P), ...op.i32(k), ...op.i32Add, ...op.i32(3), ...op.i32Shl, ...op.set(A)]
/** Copies the double at byte `A` to words `Q`, `Q + 1` of the block; `Q += 2`. */
const copyDouble = [
  ...op.get(Q), ...op.i32(2), ...op.i32Shl, ...op.get(A), ...op.i64Load(IN), ...op.i64Store(OUT),
  ...op.get(Q), ...op.i32(2), ...op.i32Add, ...op.set(Q),
]
/** Stores the i32 on the stack at word `Q` of the block (after `Q`'s address was pushed); `Q += 1`. */
const qAddress = [...op.get(Q), ...op.i32(2), ...op.i32Shl]
const nextQ = [...op.get(Q), ...op.i32(1), ...op.i32Add, ...op.set(Q)]
const body = [
  ...op.i32(STATE), ...op.i32Load(0), ...op.set(P),
  ...op.i32(STATE), ...op.i32Load(4), ...op.set(AT),
  ...op.i32(STATE), ...op.i32Load(8), ...op.set(IN_BLOCK),
  ...op.i32(STATE), ...op.i32Load(12), ...op.set(WRITTEN),
  ...op.i32(STATE), ...op.f64Load(16), ...op.set(LAST_T),
  ...op.i32(0), ...op.set(STATUS),
  ...op.block, ...op.loop,
  ...op.get(P), ...op.get(END), ...op.i32GeU, ...op.brIf(1),
  ...op.block,
  // kind and subject defined in the file, room in the block? (else stop before this record)
  // the head: kind id (bits 4-23), subject id (bits 24-50)
  ...value(0), ...op.get(A), ...op.f64Load(IN), ...headBits, ...op.tee(K),
  ...op.i32WrapI64, ...op.i32(4), ...op.i32ShrU, ...op.i32(0xf_ffff), ...op.i32And, ...op.set(KID),
  ...op.get(K), ...op.i64(24n), ...op.i64ShrU, ...op.i32WrapI64, ...op.i32(0x7ff_ffff), ...op.i32And, ...op.set(SID),
  ...op.get(KID), ...op.get(KIND_COUNT), ...op.i32GeU, ...op.brIf(0),
  ...op.get(KINDS), ...op.get(KID), ...op.i32Add, ...op.i32Load8U(), ...op.tee(SLOT), ...op.i32Eqz, ...op.brIf(0),
  ...op.get(SID), ...op.get(SUBJECT_COUNT), ...op.i32GeU, ...op.brIf(0),
  ...op.get(SUBJECTS), ...op.get(SID), ...op.i32Add, ...op.i32Load8U(), ...op.i32Eqz, ...op.brIf(0),
  ...op.get(AT), ...op.i32(BLOCK_WORDS), ...op.i32GtU, ...op.brIf(0),
  // a symbol field whose id is not yet defined?
  ...op.get(MASKS), ...op.get(KID), ...op.i32Add, ...op.i32Load8U(), ...op.set(MASK),
  ...op.i32(0), ...op.set(I),
  ...op.block, ...op.loop,
  ...op.get(MASK), ...op.i32Eqz, ...op.brIf(1),
  ...op.get(MASK), ...op.i32(1), ...op.i32And, ...op.if,
  ...value(2), ...op.get(A), ...op.get(I), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...op.f64Load(IN), ...op.get(SYMBOLS_DONE), ...op.f64Ge,
  ...op.if, ...op.br(4), ...op.end,
  ...op.end,
  ...op.get(MASK), ...op.i32(1), ...op.i32ShrU, ...op.set(MASK),
  ...op.get(I), ...op.i32(1), ...op.i32Add, ...op.set(I),
  ...op.br(0),
  ...op.end, ...op.end,
  // the record: head, subject, time (a u32 delta, or the double), fields (an i32, or the double)
  ...op.get(SLOT), ...op.i32(1), ...op.i32Sub, ...op.set(N),
  ...op.get(AT), ...op.i32(2), ...op.i32Add, ...op.set(Q),
  ...op.i32(0), ...op.set(FLAGS),
  ...value(1), ...op.get(A), ...op.f64Load(IN), ...op.tee(T), ...op.get(LAST_T), ...op.f64Sub, ...op.set(DT),
  ...op.get(IN_BLOCK), ...op.i32(0), ...op.i32GtU,
  ...integerIn(DT, 0n), ...op.i32And,
  ...op.if,
  ...qAddress, ...op.get(K), ...op.i32WrapI64, ...op.i32Store(OUT), ...nextQ,
  ...op.else,
  ...op.i32(T_ABS), ...op.set(FLAGS), ...copyDouble,
  ...op.end,
  ...op.get(T), ...op.set(LAST_T),
  ...op.i32(0), ...op.set(I),
  ...op.block, ...op.loop,
  ...op.get(I), ...op.get(N), ...op.i32GeU, ...op.brIf(1),
  ...value(2), ...op.get(A), ...op.get(I), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...op.set(A),
  ...op.get(A), ...op.f64Load(IN), ...op.set(V), ...integerIn(V, -(1n << 31n)),
  ...op.if,
  ...qAddress, ...op.get(K), ...op.i32WrapI64, ...op.i32Store(OUT), ...nextQ,
  ...op.else,
  ...op.get(FLAGS), ...op.i32(1), ...op.get(I), ...op.i32Shl, ...op.i32Or, ...op.set(FLAGS), ...copyDouble,
  ...op.end,
  ...op.get(I), ...op.i32(1), ...op.i32Add, ...op.set(I),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(AT), ...op.i32(2), ...op.i32Shl, ...op.get(KID), ...op.get(FLAGS), ...op.i32(16), ...op.i32Shl, ...op.i32Or, ...op.i32Store(OUT),
  ...op.get(AT), ...op.i32(2), ...op.i32Shl, ...op.get(SID), ...op.i32Store(OUT + 4),
  ...op.get(Q), ...op.set(AT),
  ...op.get(IN_BLOCK), ...op.i32(1), ...op.i32Add, ...op.set(IN_BLOCK),
  ...op.get(WRITTEN), ...op.i32(1), ...op.i32Add, ...op.set(WRITTEN),
  ...op.get(P), ...op.i32(2), ...op.i32Add, ...op.get(N), ...op.i32Add, ...op.set(P),
  ...op.br(1),
  ...op.end,
  // stopped before the record at P
  ...op.i32(1), ...op.set(STATUS), ...op.br(1),
  ...op.end, ...op.end,
  ...op.i32(STATE), ...op.get(P), ...op.i32Store(0),
  ...op.i32(STATE), ...op.get(AT), ...op.i32Store(4),
  ...op.i32(STATE), ...op.get(IN_BLOCK), ...op.i32Store(8),
  ...op.i32(STATE), ...op.get(WRITTEN), ...op.i32Store(12),
  ...op.i32(STATE), ...op.get(LAST_T), ...op.f64Store(16),
  ...op.get(STATUS),
]

/** The compiled module (instantiated per sink, with its own memory). */
export const encodeModule = new WebAssembly.Module(functionModule("encode", [i32, f64, i32, i32, i32, i32, i32], [i32], LOCALS, body))

/** The exported function's signature. */
export type Encode = (end: number, symbolsDone: number, kinds: number, masks: number, kindCount: number, subjects: number, subjectCount: number) => number
