/**
 * When a scheduler driver invokes the PCPU scheduler: the one deliberate difference between the
 * two drivers of {@link PcpuScheduler} — the single-PCPU `Harness` and the sandbox kernel
 * (`sandbox-kernel/src/kernel/Dispatch.ts`). Everything else they share (job statistics and
 * segments: `Jobs.ts`; the I/O service queue: `IoQueue.ts`; the scheduler protocol: wakeup →
 * invoke → apply the decision). Each driver names its timing with {@link InvokeTiming}; this is
 * the place that says what each means and why they differ (docs/architecture.md, "Order", links here).
 *
 * - {@link InvokeTiming.EndOfInstant} (the harness): every event of an instant is applied first —
 *   releases, sleep ends, I/O completions, the end of the running computation — and the scheduler
 *   runs once after them, from an event at {@link INVOKE_PRIORITY} (after the computation's end at
 *   {@link COMPUTE_END_PRIORITY}, after every workload event and Probe). A release and a timer
 *   expiry at the same instant give one invocation, not two, and the order of an instant's wakeups
 *   (which breaks R ties) never depends on when an event was posted. This is the idealised
 *   scheduler of the analysis (zero-cost, instantaneous decisions), and what the reference
 *   simulator of the differential tests reproduces.
 * - {@link InvokeTiming.Inline} (the kernel): the scheduler runs where Quest's kernel runs it —
 *   in the timer handler (W2), right after the current thread blocks, and at the end of the
 *   interrupt handler whose wakeup asked for preemption (W1) — so an invocation costs what the
 *   machine model charges (scheduler overhead, interrupt time) and two causes at one instant may
 *   give two invocations, as on the hardware.
 *
 * The two agree wherever zero kernel costs make an instant's events commute (the harness-vs-System
 * differential test, `sandbox-kernel/test/HarnessVsSystem.test.ts`, checks it on random task sets).
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"

/** The two invocation disciplines (see the module header). */
export const InvokeTiming = {
  /** Once per instant, after every other event of it (the harness). */
  EndOfInstant: "endOfInstant",
  /** Inline where Quest invokes: timer handler, after a block, at the end of a preempting interrupt (the kernel). */
  Inline: "inline",
} as const
export type InvokeTiming = (typeof InvokeTiming)[keyof typeof InvokeTiming]

/** sim-core priority of the end of the running thread's computation (EndOfInstant): after every workload event and Probe (4). */
export const COMPUTE_END_PRIORITY = Simulation.EventClass.Probe + 1
/** sim-core priority of the scheduler invocation event (EndOfInstant): after the end of a computation, i.e. last in an instant. */
export const INVOKE_PRIORITY = Simulation.EventClass.Probe + 2
