/**
 * SMP Quest (`kind: "smp"`): the `Smp` namespace of `@qvsim/sandbox-kernel` — the mechanisms
 * (`Smp.ts`), the kernel lock (`KernelLock.ts`), the shared kernel state and its layout
 * (`SharedState.ts`), the options (`SmpOptions.ts`) and the configuration rules (`SmpConfig.ts`).
 *
 * @module
 */
export * from "./Smp.ts"
export * from "./KernelLock.ts"
export * from "./SharedState.ts"
export * from "./SmpOptions.ts"
export * as SmpConfig from "./SmpConfig.ts"
