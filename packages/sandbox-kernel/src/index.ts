/**
 * @qvsim/sandbox-kernel — Quest-V sandboxes on the simulated machine: kernels (threads as
 * generator programs on VCPUs), monitors, the shared NIC driver and network stacks, channels,
 * faults and recovery, migration, and the hypervisor-mediated baselines.
 */
export * as Vocabulary from "./Vocabulary.ts"
export * as SchedulerDecl from "./SchedulerDecl.ts"
export * as Job from "./Job.ts"
export * as Legacy from "./Legacy.ts"
export * as Options from "./Options.ts"
export * as Program from "./Program.ts"
export * as Config from "./Config.ts"
export * as Assumptions from "./Assumptions.ts"
export * as Kernel from "./kernel/index.ts"
export * as Monitor from "./Monitor.ts"
export * as Boot from "./Boot.ts"
export * as Sandbox from "./Sandbox.ts"
export * as NetStack from "./NetStack.ts"
export * as SharedNicDriver from "./SharedNicDriver.ts"
export * as Mailbox from "./Mailbox.ts"
export * as PrivateChannel from "./PrivateChannel.ts"
export * as Channels from "./Channels.ts"
export * as Faults from "./Faults.ts"
export * as Recovery from "./Recovery.ts"
export * as Migration from "./Migration.ts"
export * as Baseline from "./Baseline.ts"
export * as System from "./System.ts"
export * as Smp from "./smp/index.ts"
export * as Linux from "./Linux.ts"
