/**
 * The fingerprint's hot loop in WebAssembly: `flush` hashes a batch of packed records (see
 * `PrintBatch`) into the run's print and the scopes' prints, exactly as `Fingerprint` defines the
 * digest (the general path, in TypeScript, is what the tests compare it with).
 *
 * Memory (little-endian, laid out by `PrintBatch`): the record buffer at 0 (doubles:
 * `[kind id, subject id, t, v0 … v(n-1)]` per record), and four tables given by their byte offsets:
 * - kinds, 16 B each: lane X's start (i64), field count n (i32), symbol mask (i32, bit i: field i);
 * - subjects, 16 B each: lane Y's start (i64), the byte offset of its scope's print in the prints table (i32);
 * - symbols, 8 B each: the text's 64-bit hash;
 * - prints, 16 B each: the print (i64), its record count (f64); the run's first.
 *
 * `flush(end, kinds, subjects, symbols, prints, scoped) → records`: hashes the records in
 * `[0, end)` (doubles), folds them into the run's print and, when `scoped` is not 0, into each
 * record's scope print (adding 1 to its count); returns the number of records (the caller counts
 * the run's).
 *
 * NOTE: built for speed (the fingerprint is always on): WebAssembly, because the same loop in
 * TypeScript is bound by its instruction count (typed-array bounds checks, 32-bit halves of each
 * 64-bit step), not by the digest. Records without symbols take a loop that absorbs two values per
 * turn, one per lane (two independent multiply chains).
 *
 * @module
 */
import { NAN_HI, P1, P2, P3, P4 } from "./Fingerprint.ts"
import { f64, functionModule, i32, i64, op, WebAssembly } from "./Wasm.ts"

// params
const END = 0, KINDS = 1, SUBJECTS = 2, SYMBOLS = 3, PRINTS = 4, SCOPED = 5
// locals: i32
const P = 6, K = 7, S = 8, Q = 9, LAST = 10, M = 11, RECORDS = 12, T = 13, A = 14, E = 15
// i64
const X = 16, Y = 17, V = 18, ACC = 19, R = 20
// f64
const F = 21
const LOCALS = [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i64, i64, i64, i64, i64, f64]

const CANONICAL_NAN = BigInt(NAN_HI) << 32n

/** `V` ← the canonical word of the number at byte `Q`: its bits after `+ 0` (-0 → 0), NaN → the canonical NaN. */
const number = [
  ...op.get(Q), ...op.i64Load(), ...op.tee(V), ...op.i64(1n), ...op.i64Shl, ...op.i64(0xffe0_0000_0000_0000n), ...op.i64GeU,
  ...op.if,
  // exponent all ones: a NaN (any payload) becomes the canonical one (Infinity stays)
  ...op.get(Q), ...op.f64Load(), ...op.tee(F), ...op.get(F), ...op.f64Ne, ...op.if, ...op.i64(CANONICAL_NAN), ...op.set(V), ...op.end,
  ...op.else,
  // -0 is 0
  ...op.get(V), ...op.i64(0x8000_0000_0000_0000n), ...op.i64Eq, ...op.if, ...op.i64(0n), ...op.set(V), ...op.end,
  ...op.end,
]

/** `V` ← the hash of the symbol whose id is at byte `Q`. */
const symbol = [
  ...op.get(SYMBOLS), ...op.get(Q), ...op.f64Load(), ...op.i32TruncSatF64S, ...op.i32(3), ...op.i32Shl, ...op.i32Add,
  ...op.i64Load(), ...op.set(V),
]

/** `lane ← rotl(lane + V·P2, 31)·P1`. */
const round = (lane: number): number[] => [
  ...op.get(lane), ...op.get(V), ...op.i64(P2), ...op.i64Mul, ...op.i64Add, ...op.i64(31n), ...op.i64Rotl, ...op.i64(P1), ...op.i64Mul, ...op.set(lane),
]

/**
 * The id (a small non-negative integer) of the double on the stack: the low word of `x + 2^52`
 * (whose mantissa is then `x` itself). NOTE: cheaper than a float-to-int conversion.
 */
const id = [...op.f64(2 ** 52), ...op.f64Add, ...op.i64ReinterpretF64, ...op.i32WrapI64]

/** `Q += 8`. */
const nextValue = [...op.get(Q), ...op.i32(8), ...op.i32Add, ...op.set(Q)]

/** `print ← rotl(print ⊕ R, 27)·P1 + P4` for the print on the stack's top (as an expression). */
const merge = [...op.get(R), ...op.i64Xor, ...op.i64(27n), ...op.i64Rotl, ...op.i64(P1), ...op.i64Mul, ...op.i64(P4), ...op.i64Add]

const body = [
  ...op.get(PRINTS), ...op.i64Load(), ...op.set(ACC),
  ...op.block, ...op.loop,
  // the record at double P: its kind's and subject's table entries, its lanes' starts
  ...op.get(P), ...op.get(END), ...op.i32GeU, ...op.brIf(1),
  ...op.get(P), ...op.i32(3), ...op.i32Shl, ...op.tee(T),
  ...op.f64Load(), ...id, ...op.i32(4), ...op.i32Shl, ...op.get(KINDS), ...op.i32Add, ...op.set(K),
  ...op.get(T), ...op.f64Load(8), ...id, ...op.i32(4), ...op.i32Shl, ...op.get(SUBJECTS), ...op.i32Add, ...op.set(S),
  ...op.get(K), ...op.i64Load(), ...op.set(X),
  ...op.get(S), ...op.i64Load(), ...op.set(Y),
  // values from byte Q (the time) to LAST (after field n-1)
  ...op.get(T), ...op.i32(16), ...op.i32Add, ...op.set(Q),
  ...op.get(T), ...op.i32(24), ...op.i32Add, ...op.get(K), ...op.i32Load(8), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...op.set(LAST),
  ...op.get(K), ...op.i32Load(12), ...op.tee(M), ...op.i32Eqz,
  ...op.if,
  // no symbol: two values per turn, X then Y (the time always exists)
  ...op.block, ...op.loop,
  ...number, ...round(X), ...nextValue,
  ...op.get(Q), ...op.get(LAST), ...op.i32GeU, ...op.brIf(1),
  ...number, ...round(Y), ...nextValue,
  ...op.get(Q), ...op.get(LAST), ...op.i32LtU, ...op.brIf(0),
  ...op.end, ...op.end,
  ...op.else,
  // symbols: one value per turn; M's bit 0 is the value's (the time is never a symbol), E the lane
  ...op.get(M), ...op.i32(1), ...op.i32Shl, ...op.set(M),
  ...op.i32(0), ...op.set(E),
  ...op.loop,
  ...op.get(M), ...op.i32(1), ...op.i32And, ...op.if, ...symbol, ...op.else, ...number, ...op.end,
  ...op.get(E), ...op.if, ...round(Y), ...op.else, ...round(X), ...op.end,
  ...op.get(E), ...op.i32(1), ...op.i32Xor, ...op.set(E),
  ...op.get(M), ...op.i32(1), ...op.i32ShrU, ...op.set(M),
  ...nextValue,
  ...op.get(Q), ...op.get(LAST), ...op.i32LtU, ...op.brIf(0),
  ...op.end,
  ...op.end,
  // the digest R = X ⊕ Y·P3, merged into the run's print
  ...op.get(X), ...op.get(Y), ...op.i64(P3), ...op.i64Mul, ...op.i64Xor, ...op.set(R),
  ...op.get(ACC), ...merge, ...op.set(ACC),
  // and into its scope's print
  ...op.get(SCOPED), ...op.if,
  ...op.get(PRINTS), ...op.get(S), ...op.i32Load(8), ...op.i32Add, ...op.set(A),
  ...op.get(A), ...op.get(A), ...op.i64Load(), ...merge, ...op.i64Store(),
  ...op.get(A), ...op.get(A), ...op.f64Load(8), ...op.f64(1), ...op.f64Add, ...op.f64Store(8),
  ...op.end,
  ...op.get(RECORDS), ...op.i32(1), ...op.i32Add, ...op.set(RECORDS),
  ...op.get(LAST), ...op.i32(3), ...op.i32ShrU, ...op.set(P),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(PRINTS), ...op.get(ACC), ...op.i64Store(),
  ...op.get(RECORDS),
]

/** The compiled module (compiled once, instantiated per `PrintBatch` with its own memory). */
export const printModule = new WebAssembly.Module(functionModule("flush", [i32, i32, i32, i32, i32, i32], [i32], LOCALS, body))

/** The exported function's signature. */
export type Flush = (end: number, kinds: number, subjects: number, symbols: number, prints: number, scoped: number) => number
