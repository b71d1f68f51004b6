/**
 * Options of the SMP baseline (`kind: "smp"`): Quest "in its basic form", one kernel over every
 * core (paper §1, the Quest web page), the system Quest-V is compared with. Every constant the
 * sources do not give is `[ASSUMED]` with its reason and the range `qvsim sensitivity` may explore.
 *
 * @module
 */
import { z } from "zod"
import { int } from "../Options.ts"

export const smpSchema = z.strictObject({
  /**
   * `[ASSUMED]` Cycles of one uncontended acquire + release of the big kernel lock (a `lock xchg`
   * on a line that is usually in another core's cache, and the releasing store). Range 20–200:
   * a locked read-modify-write costs ~20 cycles on a local line and ~100–200 when the line moves
   * between cores of the E5506.
   */
  lockAcquireCycles: int(0).default(60),
  /**
   * `[ASSUMED]` Cycles an interrupt handler holds the big kernel lock (its critical section: ring
   * walk, queue updates). Quest takes `lock_kernel()` around its handlers' kernel work
   * (`[SRC kernel/interrupt_handler.c]`); the paper gives no figure. Range 500–5,000 (a few cache
   * misses up to a NIC ring walk of several descriptors).
   */
  irqLockHoldCycles: int(0).default(1_000),
  /**
   * The IPI vector of a cross-core wake-up (`[ASSUMED]` 0xF1: free in Quest's table, distinct from
   * the migration IPI 0xF0).
   */
  wakeVector: int(32, 255).default(0xf1),
  /** `[ASSUMED]` Cycles of the wake-up IPI's handler on the target core (entry, queue insert, EOI). Range 200–1,000. */
  wakeIrqCycles: int(0).default(400),
})
export type SmpInput = z.input<typeof smpSchema>
export type SmpOptions = z.output<typeof smpSchema>

/** What the system is: Quest-V sandboxes (default) or one SMP Quest kernel over every core. */
export const SystemKind = z.enum(["questv", "smp"])
export type SystemKind = z.output<typeof SystemKind>
