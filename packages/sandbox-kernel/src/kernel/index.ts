/**
 * The sandbox kernel, one concept per file (the rooms; see `Kernel.ts` for the map): this index is
 * the `Kernel` namespace of `@qvsim/sandbox-kernel`.
 *
 * @module
 */
export * from "./Kernel.ts"
export * from "./Thread.ts"
export * from "./Threads.ts"
export * from "./Pcpu.ts"
export * from "./Dispatch.ts"
export * from "./Requests.ts"
export * from "./SleepQueue.ts"
export * from "./Jobs.ts"
export * from "./IoService.ts"
export * from "./Processes.ts"
export * from "./Interrupts.ts"
export * from "./Exits.ts"
export * from "./KernelTrace.ts"
export * from "./CostNoise.ts"
