/**
 * The fingerprint's hot loop in WebAssembly: `flush` hashes a batch of packed records (see
 * `PrintBatch`) into the run's print and the scopes' prints, exactly as `Fingerprint` defines the
 * digest (the general path, in TypeScript, is what the tests compare it with).
 *
 * Memory (little-endian, laid out by `PrintBatch`): the record buffer at 0 (doubles:
 * `[head, t, v0 … v(n-1)]` per record; the head packs the length 2 + n in bits 0–3, the kind id in
 * bits 4–23, the subject id in bits 24–50, see `recordHead`), and four tables given by their byte
 * offsets:
 * - kinds, 16 B each: lane X's start (i64), field count n (i32), symbol mask (i32, bit i: field i);
 * - subjects, 16 B each: lane Y's start (i64), the byte offset of its scope's print in the prints table (i32);
 * - symbols, 8 B each: the text's 64-bit hash;
 * - prints, 16 B each: the print (i64), its record count (f64); the run's first.
 *
 * `flush(end, kinds, subjects, symbols, prints, scoped) → records`: hashes the records in
 * `[0, end)` (doubles), folds them into the run's print and, in `printModuleScoped`'s (the batch
 * uses it once there are two scopes), into each record's scope print (adding 1 to its count);
 * returns the number of records (the caller counts the run's). `scoped` is 0 for `printModule`'s,
 * 1 for `printModuleScoped`'s (which module decides; it is passed for the signature's sake). A
 * record length that no record has traps (a broken batch never loops or reads past).
 *
 * NOTE: built for speed (the fingerprint is always on): WebAssembly, because the same loop in
 * TypeScript is bound by its instruction count (typed-array bounds checks, 32-bit halves of each
 * 64-bit step), not by the digest. Measured (`bench -- fingerprint`, a flush-only loop): the step
 * from one record to the next was a chain of dependent loads and conversions (kind id → kind entry
 * → field count → next record, about 20 cycles) that bounded the loop as much as the hashing did;
 * the length in each record's head cuts it to one load, shared with the kind and subject ids
 * (their table offsets are two masks of the head's bits: kind id · 16, subject id · 16). Records without symbols
 * take one straight run of code per field count (no counter, each value at a constant offset; the
 * lanes X and Y are two independent multiply chains); numbers are made canonical with an IEEE add
 * of 0 and one well-predicted NaN test.
 *
 * NOTE: records of 2 to 4 fields (the harness's `job.release`, `job.complete`, `sched.dispatch`)
 * take one path with no branch on their length: 3 values, then 2 more
 * whose rounds are kept or dropped by `select` (their values read past a shorter record are
 * hashed and thrown away). The `br_table` jump on the length mispredicted where lengths mix (a
 * harness run writes release/complete records among dispatch ones): the flush-only loop over a
 * real harness batch (10 tasks, set 0, 100 s, 125,699 records) went from 10.8 / 13.4 / 11.1 to
 * 8.8 / 10.8 / 8.0 ns per record (3 alternating pairs against the previous loop, separate
 * processes, load 2.1–2.3), the same prints. Scope prints in a module of their own
 * (`printModuleScoped`) and the next record's offset taken as soon as its length is known: fewer
 * values live across the loop (frame slot accesses in V8's code: 50 -> 42).
 *
 * @module
 */
import { NAN_HI, P1, P2, P3, P4 } from "./Fingerprint.ts"
import { f64, functionModule, i32, i64, op, WebAssembly } from "./Wasm.ts"

// params (the fifth, `scoped`, is not read: see `printModuleScoped`)
const END = 0, KINDS = 1, SUBJECTS = 2, SYMBOLS = 3, PRINTS = 4
// locals: i32 (T, the record's byte offset, is the loop's only position; N the next record's)
const K = 6, S = 7, Q = 8, LAST = 9, M = 10, RECORDS = 11, T = 12, A = 13, E = 14, L = 15, N = 16
// i64
const X = 17, Y = 18, V = 19, ACC = 20, R = 21
// f64
const F = 22
const LOCALS = [i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i32, i64, i64, i64, i64, i64, f64]

/** The most fields a record has. */
const MAX_FIELDS = 8

const CANONICAL_NAN = BigInt(NAN_HI) << 32n

/** `unreachable` (not in `Wasm.ts`): traps. */
const unreachable = [0x00]

/** `br_table` (not in `Wasm.ts`): to `labels[i]` for the i32 `i` on the stack, else to `fallback` (labels < 128: one byte each). */
const brTable = (labels: readonly number[], fallback: number): number[] => {
  if (labels.length > 127 || [...labels, fallback].some((l) => l > 127)) throw new RangeError("brTable: one-byte immediates only")
  return [0x0e, labels.length, ...labels, fallback]
}

/**
 * `V` ← the canonical word of the number at byte `base + offset`: the bits of `x + 0` (-0 → 0; an
 * IEEE add, never folded away), a NaN (any payload) → the canonical one.
 */
const number = (base: number, offset: number): number[] => [
  ...op.get(base), ...op.f64Load(offset), ...op.f64(0), ...op.f64Add, ...op.tee(F), ...op.get(F), ...op.f64Ne,
  ...op.if, ...op.i64(CANONICAL_NAN), ...op.set(V), ...op.else, ...op.get(F), ...op.i64ReinterpretF64, ...op.set(V), ...op.end,
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
 * The bits of the head (an integer below 2^51) on the stack: those of `x + 2^52` (whose mantissa
 * is then `x` itself; the exponent's bits, from bit 52, are masked off by each use). NOTE: cheaper
 * than a float-to-int conversion.
 */
const headBits = [...op.f64(2 ** 52), ...op.f64Add, ...op.i64ReinterpretF64]

/** `print ← rotl(print ⊕ R, 27)·P1 + P4` for the print on the stack's top (as an expression). */
const merge = [...op.get(R), ...op.i64Xor, ...op.i64(27n), ...op.i64Rotl, ...op.i64(P1), ...op.i64Mul, ...op.i64(P4), ...op.i64Add]

/** The values of a record of `n` numeric fields at byte `T` (the time, then each field), into X, Y, X, … in turn. */
const numbers = (n: number): number[] =>
  Array.from({ length: n + 1 }, (_, i) => [...number(T, 8 + 8 * i), ...round(i % 2 === 0 ? X : Y)]).flat()

/** `rotl(lane + V·P2, 31)·P1` on the stack (the lane is not set). */
const roundValue = (lane: number): number[] => [
  ...op.get(lane), ...op.get(V), ...op.i64(P2), ...op.i64Mul, ...op.i64Add, ...op.i64(31n), ...op.i64Rotl, ...op.i64(P1), ...op.i64Mul,
]

/** Value i (0: the time) of the record at byte T into its lane when i < L - 1 (else the lane is kept): no branch. */
const maskedValue = (i: number): number[] => {
  const lane = i % 2 === 0 ? X : Y
  return [...number(T, 8 + 8 * i), ...roundValue(lane), ...op.get(lane), ...op.get(L), ...op.i32(i + 1), ...op.i32GtU, ...op.select, ...op.set(lane)]
}

/** Records of 2 to 4 fields (L 4 to 6): 3 values, then 2 more masked, no branch on L; others go on (`br_if 0`). */
const SHORT_MIN = 4, SHORT_MAX = 6
const shortRecord = [
  ...op.get(L), ...op.i32(SHORT_MIN), ...op.i32Sub, ...op.i32(SHORT_MAX - SHORT_MIN), ...op.i32GtU, ...op.brIf(0),
  ...numbers(SHORT_MIN - 2),
  ...Array.from({ length: SHORT_MAX - SHORT_MIN }, (_, k) => maskedValue(SHORT_MIN - 1 + k)).flat(),
]

/**
 * A record without symbols: one straight run of code per field count (`br_table` on `L - 2`), each
 * value read at a constant offset from the record. Case n, after the `end` of its block, branches
 * past the cases after it (their blocks, then the outer one).
 */
const byFieldCount = [
  ...op.block,
  ...Array.from({ length: MAX_FIELDS + 1 }, () => op.block).flat(),
  ...op.get(L), ...op.i32(2), ...op.i32Sub, ...brTable(Array.from({ length: MAX_FIELDS + 1 }, (_, n) => n), MAX_FIELDS),
  ...Array.from({ length: MAX_FIELDS + 1 }, (_, n) => [...op.end, ...numbers(n), ...(n < MAX_FIELDS ? op.br(MAX_FIELDS - n) : [])]).flat(),
  ...op.end,
]

const bodyOf = (scoped: boolean): number[] => [
  ...op.get(PRINTS), ...op.i64Load(), ...op.set(ACC),
  // END in bytes: the loop steps T (the record's byte offset) alone
  ...op.get(END), ...op.i32(3), ...op.i32Shl, ...op.set(END),
  ...op.block, ...op.loop,
  // the record at byte T, of L doubles (its head's bits 0-3): its kind's and subject's
  // table entries (the head's kind id · 16 and subject id · 16), its lanes' starts
  ...op.get(T), ...op.get(END), ...op.i32GeU, ...op.brIf(1),
  ...op.get(T),
  ...op.f64Load(), ...headBits, ...op.tee(V), ...op.i32WrapI64, ...op.tee(L),
  ...op.i32(0xff_fff0), ...op.i32And, ...op.get(KINDS), ...op.i32Add, ...op.set(K),
  ...op.get(L), ...op.i32(15), ...op.i32And, ...op.set(L),
  // a length that is no record's (2 + 0 … 8 fields) traps (`unreachable`) rather than loop or read past it
  ...op.get(L), ...op.i32(2), ...op.i32Sub, ...op.i32(MAX_FIELDS), ...op.i32GtU, ...op.if, ...unreachable, ...op.end,
  ...op.get(T), ...op.get(L), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...op.set(N),
  ...op.get(V), ...op.i64(20n), ...op.i64ShrU, ...op.i32WrapI64, ...op.i32(-16), ...op.i32And, ...op.get(SUBJECTS), ...op.i32Add, ...op.set(S),
  ...op.get(K), ...op.i64Load(), ...op.set(X),
  ...op.get(S), ...op.i64Load(), ...op.set(Y),
  ...op.get(K), ...op.i32Load(12), ...op.tee(M), ...op.i32Eqz,
  ...op.if,
  ...op.block, ...op.block, ...shortRecord, ...op.br(1), ...op.end,
  ...byFieldCount,
  ...op.end,
  ...op.else,
  // symbols: one value per turn from byte Q (the time) to LAST (after the record); M's bit 0 is the value's (the time is never a symbol), E the lane
  ...op.get(T), ...op.i32(8), ...op.i32Add, ...op.set(Q),
  ...op.get(T), ...op.get(L), ...op.i32(3), ...op.i32Shl, ...op.i32Add, ...op.set(LAST),
  ...op.get(M), ...op.i32(1), ...op.i32Shl, ...op.set(M),
  ...op.i32(0), ...op.set(E),
  ...op.loop,
  ...op.get(M), ...op.i32(1), ...op.i32And, ...op.if, ...symbol, ...op.else, ...number(Q, 0), ...op.end,
  ...op.get(E), ...op.if, ...round(Y), ...op.else, ...round(X), ...op.end,
  ...op.get(E), ...op.i32(1), ...op.i32Xor, ...op.set(E),
  ...op.get(M), ...op.i32(1), ...op.i32ShrU, ...op.set(M),
  ...op.get(Q), ...op.i32(8), ...op.i32Add, ...op.tee(Q),
  ...op.get(LAST), ...op.i32LtU, ...op.brIf(0),
  ...op.end,
  ...op.end,
  // the digest R = X ⊕ Y·P3, merged into the run's print
  ...op.get(X), ...op.get(Y), ...op.i64(P3), ...op.i64Mul, ...op.i64Xor, ...op.set(R),
  ...op.get(ACC), ...merge, ...op.set(ACC),
  // and into its scope's print
  ...(scoped ? [
  ...op.get(PRINTS), ...op.get(S), ...op.i32Load(8), ...op.i32Add, ...op.set(A),
  ...op.get(A), ...op.get(A), ...op.i64Load(), ...merge, ...op.i64Store(),
  ...op.get(A), ...op.get(A), ...op.f64Load(8), ...op.f64(1), ...op.f64Add, ...op.f64Store(8),
  ] : []),
  ...op.get(RECORDS), ...op.i32(1), ...op.i32Add, ...op.set(RECORDS),
  ...op.get(N), ...op.set(T),
  ...op.br(0),
  ...op.end, ...op.end,
  ...op.get(PRINTS), ...op.get(ACC), ...op.i64Store(),
  ...op.get(RECORDS),
]

/** The compiled module (compiled once, instantiated per `PrintBatch` with its own memory): the run's print only. */
export const printModule = new WebAssembly.Module(functionModule("flush", [i32, i32, i32, i32, i32, i32], [i32], LOCALS, bodyOf(false)))
/** The same with scope prints: each record also folded into its scope's (instantiated once a batch has two scopes). */
export const printModuleScoped = new WebAssembly.Module(functionModule("flush", [i32, i32, i32, i32, i32, i32], [i32], LOCALS, bodyOf(true)))

/** The exported function's signature. */
export type Flush = (end: number, kinds: number, subjects: number, symbols: number, prints: number, scoped: number) => number
