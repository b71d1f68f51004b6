/**
 * @qvsim/vcpu-sched — Quest-V real-time scheduling: Main VCPUs (corrected sporadic server and the
 * naive POSIX variant), I/O VCPUs (PIBS), the per-PCPU scheduler, a single-PCPU harness,
 * schedulability analysis, task-set generators and fast-check arbitraries.
 */
export * as Options from "./Options.ts"
export * as Vcpu from "./Vcpu.ts"
export * as MainVcpu from "./MainVcpu.ts"
export * as PosixSporadicServer from "./PosixSporadicServer.ts"
export * as IoVcpu from "./IoVcpu.ts"
export * as PcpuScheduler from "./PcpuScheduler.ts"
export * as Workload from "./Workload.ts"
export * as Schedule from "./Schedule.ts"
export * as Harness from "./Harness.ts"
