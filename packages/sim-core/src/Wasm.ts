/**
 * A small WebAssembly assembler: instructions as byte lists, and a module of one function that
 * imports its memory (`env.memory`). Enough for `PrintWasm`, the fingerprint's hot loop; no
 * toolchain, the code is written out as instructions in TypeScript.
 *
 * Invariants: every helper returns the instruction's exact encoding (opcode, LEB128 immediates);
 * `functionModule` builds a module that validates (`new WebAssembly.Module` checks it).
 *
 * @module
 */

/** A WebAssembly memory (the part used here; the project's TypeScript libs declare no `WebAssembly`). */
export interface Memory {
  readonly buffer: ArrayBuffer
  // No `grow`: it detaches the old buffer (see `moveMemory`).
}

/** The runtime's `WebAssembly` (Node has it), typed for what is used here. */
export const WebAssembly = (globalThis as unknown as {
  readonly WebAssembly: {
    readonly Memory: new (limits: { readonly initial: number }) => Memory
    readonly Module: new (bytes: Uint8Array) => object
    readonly Instance: new (module: object, imports: object) => { readonly exports: Readonly<Record<string, unknown>> }
  }
}).WebAssembly

/** WebAssembly's page size, in bytes. */
export const PAGE = 65536

/**
 * A memory of at least `bytes` bytes holding `old`'s bytes at the same offsets: a new memory
 * (at least twice `old`'s pages), never `old.grow`. Instances that import `old` must be made
 * anew on the returned memory; `old` stays intact (views of it still read its bytes).
 *
 * NOTE: growing a memory detaches its old `ArrayBuffer`, and the first detach in a process
 * invalidates V8's ArrayBufferDetaching protector for good: from then on every optimized
 * typed-array load and store in the process (the simulator's, not only the fingerprint's)
 * checks its buffer for detachment. Measured on the jobs workload (10 tasks, 100 s, CPU,
 * 10 alternating separate-process pairs, load 3.7-4.5): 6.6 % slower untraced and traced with
 * the protector invalidated (see `PrintBatch`).
 */
export const moveMemory = (old: Memory, bytes: number): Memory => {
  const have = old.buffer.byteLength
  const pages = Math.max(Math.ceil(bytes / PAGE), 2 * (have / PAGE))
  const memory = new WebAssembly.Memory({ initial: pages })
  new Uint8Array(memory.buffer).set(new Uint8Array(old.buffer))
  return memory
}

/** Value types. */
export const i32 = 0x7f
export const i64 = 0x7e
export const f64 = 0x7c

/** Unsigned LEB128. */
const uleb = (v: number): number[] => {
  const out: number[] = []
  do {
    let b = v & 0x7f
    v >>>= 7
    if (v !== 0) b |= 0x80
    out.push(b)
  } while (v !== 0)
  return out
}

/** Signed LEB128 of a BigInt. */
const sleb = (v: bigint): number[] => {
  const out: number[] = []
  for (;;) {
    const b = Number(v & 0x7fn)
    v >>= 7n
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

/** Instructions (each an array of bytes; spread them into a function body). */
export const op = {
  get: (local: number): number[] => [0x20, ...uleb(local)],
  set: (local: number): number[] => [0x21, ...uleb(local)],
  tee: (local: number): number[] => [0x22, ...uleb(local)],
  i32: (v: number): number[] => [0x41, ...sleb(BigInt(v | 0))],
  i64: (v: bigint): number[] => [0x42, ...sleb(BigInt.asIntN(64, v))],
  f64: (v: number): number[] => { const b = new Uint8Array(new Float64Array([v]).buffer); return [0x44, ...b] },
  // memory access: alignment (log2 bytes), then the constant offset
  i32Load: (offset = 0): number[] => [0x28, 2, ...uleb(offset)],
  i64Load: (offset = 0): number[] => [0x29, 3, ...uleb(offset)],
  f64Load: (offset = 0): number[] => [0x2b, 3, ...uleb(offset)],
  i64Store: (offset = 0): number[] => [0x37, 3, ...uleb(offset)],
  f64Store: (offset = 0): number[] => [0x39, 3, ...uleb(offset)],
  i32Load8U: (offset = 0): number[] => [0x2d, 0, ...uleb(offset)],
  i32Store: (offset = 0): number[] => [0x36, 2, ...uleb(offset)],
  i32Add: [0x6a], i32Sub: [0x6b], i32GtU: [0x4b], i32Shl: [0x74], i32ShrU: [0x76], i32And: [0x71], i32Eqz: [0x45], i32LtU: [0x49], i32GeU: [0x4f], i32Xor: [0x73],
  i64Add: [0x7c], i64Sub: [0x7d], i64Mul: [0x7e], i64LtU: [0x54], i64Xor: [0x85], i64Rotl: [0x89], i64Shl: [0x86], i64ShrU: [0x88], i64Eq: [0x51], i64GeU: [0x5a], i32Or: [0x72],
  f64Add: [0xa0], f64Sub: [0xa1], f64Eq: [0x61], f64Ne: [0x62], f64Ge: [0x66],
  f64ConvertI32S: [0xb7], f64ConvertI32U: [0xb8],
  i64ReinterpretF64: [0xbd], i32WrapI64: [0xa7],
  /** Saturating (never traps): ids are small non-negative integers. */
  i32TruncSatF64S: [0xfc, 0x02], i32TruncSatF64U: [0xfc, 0x03],
  block: [0x02, 0x40], loop: [0x03, 0x40], if: [0x04, 0x40], else: [0x05], end: [0x0b],
  br: (depth: number): number[] => [0x0c, ...uleb(depth)],
  /** `select`: the first of two values when the i32 on top is not 0, else the second. */
  select: [0x1b],
  brIf: (depth: number): number[] => [0x0d, ...uleb(depth)],
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]
const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))]

/**
 * A module that imports `env.memory` (at least `minPages` pages of 64 KiB) and exports one
 * function `exportName(params…) → results…` whose locals (after the params) have the given types.
 */
export const functionModule = (
  exportName: string,
  params: readonly number[],
  results: readonly number[],
  locals: readonly number[],
  body: readonly number[],
  minPages = 1,
): Uint8Array => {
  const type = [0x60, ...vector(params.map((t) => [t])), ...vector(results.map((t) => [t]))]
  const code = [...vector(locals.map((t) => [1, t])), ...body, 0x0b]
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vector([type])),
    ...section(2, vector([[...name("env"), ...name("memory"), 0x02, 0x00, ...uleb(minPages)]])),
    ...section(3, vector([[0]])),
    ...section(7, vector([[...name(exportName), 0x00, 0]])),
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ])
}
