/**
 * Interrupts in a sandbox's kernel.
 *
 * @module
 */
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"

/** Interrupt-context work: a top half, or a kernel-context task (a fault). */
export interface IrqHandler {
  /** Starts on `p` for `vector`: ns of work before `next`, or -1 when done. */
  start(k: Kernel, p: Pcpu, vector: number): number
  /** After the previous work (or after a VM exit it raised was handled): ns more, or -1 when done. */
  next(k: Kernel, p: Pcpu): number
}

