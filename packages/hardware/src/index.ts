/**
 * @qvsim/hardware — the machine Quest-V runs on: cores and clocks, physical memory and EPT,
 * local APICs, IPIs and the I/O APIC, the shared NIC, the wire and the hosts on it, and the cost
 * table. Device models only: the kernel, its drivers and monitors live in sandbox-kernel.
 */
export * as Errors from "./Errors.ts"
export * as Issues from "./Issues.ts"
export * as MachineConfig from "./MachineConfig.ts"
export * as CostModel from "./CostModel.ts"
export * as Tsc from "./Tsc.ts"
export * as Core from "./Core.ts"
export * as PhysicalMemory from "./PhysicalMemory.ts"
export * as MemoryLayout from "./MemoryLayout.ts"
export * as Ept from "./Ept.ts"
export * as LocalApic from "./LocalApic.ts"
export * as IoApic from "./IoApic.ts"
export * as FrameStore from "./FrameStore.ts"
export * as Frame from "./Frame.ts"
export * as Wire from "./Wire.ts"
export * as Nic from "./Nic.ts"
export * as DmaRemapping from "./DmaRemapping.ts"
export * as PingHost from "./PingHost.ts"
export * as EchoHost from "./EchoHost.ts"
export * as EchoResponder from "./EchoResponder.ts"
export * as Machine from "./Machine.ts"
