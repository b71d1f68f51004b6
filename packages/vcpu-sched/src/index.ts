/**
 * @qvsim/vcpu-sched — Quest-V real-time scheduling: a registry of Main-VCPU policies (corrected
 * sporadic server, the naive POSIX variant, deferrable server, a user's own), I/O VCPUs (PIBS), the
 * per-PCPU scheduler (rate monotonic or EDF), a single-PCPU harness,
 * schedulability analysis, task-set generators, fast-check arbitraries and the spec's worked
 * examples. One namespace per concept.
 */
import "./BuiltinPolicies.ts"
export * as Options from "./Options.ts"
export * as Vcpu from "./Vcpu.ts"
export * as Policy from "./Policy.ts"
export * as MainVcpu from "./MainVcpu.ts"
export * as PosixSporadicServer from "./PosixSporadicServer.ts"
export * as DeferrableServer from "./DeferrableServer.ts"
export * as IoVcpu from "./IoVcpu.ts"
export * as PcpuScheduler from "./PcpuScheduler.ts"
export * as CoreScheduler from "./CoreScheduler.ts"
export * as FairScheduler from "./FairScheduler.ts"
export * as Invariants from "./Invariants.ts"
export * as Workload from "./Workload.ts"
export * as Schedule from "./Schedule.ts"
export * as Harness from "./Harness.ts"
export * as Analysis from "./Analysis.ts"
export * as Generators from "./Generators.ts"
export * as Arbitraries from "./Arbitraries.ts"
export * as Examples from "./Examples.ts"
export * as Jobs from "./Jobs.ts"
export * as IoQueue from "./IoQueue.ts"
export * as Invocation from "./Invocation.ts"
