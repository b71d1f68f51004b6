/**
 * The sandbox kernel, one concept per file (the rooms): {@link Kernel} builds a sandbox's kernel
 * and is its public face; threads, PCPU invocation and stepping, the request table, the sleep
 * queue, periodic jobs, I/O service threads, processes, interrupts and VM exits each live in their
 * own module. This index is the `Kernel` namespace of `@qvsim/sandbox-kernel`.
 *
 * @module
 */
export * from "./Kernel.ts"
export * from "./Thread.ts"
export * from "./Pcpu.ts"
export * from "./Jobs.ts"
export * from "./KernelTrace.ts"
export * from "./Interrupts.ts"
export * from "./Exits.ts"
