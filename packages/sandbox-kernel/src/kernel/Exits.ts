/**
 * VM exits in a sandbox's kernel.
 *
 * @module
 */
import type { Kernel } from "./Kernel.ts"
import type { Pcpu } from "./Pcpu.ts"

/** The monitor as the kernel drives it. */
export interface ExitHandler {
  /** A VM exit on `p`'s core: ns of monitor work before `next`, or -1 when done. */
  start(k: Kernel, p: Pcpu, reason: number, qualification: number): number
  /** ns more, or -1 when done (the kernel then enters the guest unless the handler did). */
  next(k: Kernel, p: Pcpu): number
}

