/**
 * @qvsim/scenarios — the scenario DSL, built-in scenarios, the runner and the `qvsim` CLI.
 */
export * as Scenario from "./Scenario.ts"
export * as Duration from "./Duration.ts"
export * as Builtins from "./Builtins.ts"
export * as Runner from "./Runner.ts"
export * as Load from "./Load.ts"
export * as TraceFile from "./TraceFile.ts"
export * as Files from "./Files.ts"
export * as Check from "./Check.ts"
export * as Perfetto from "./report/Perfetto.ts"
export * as Report from "./report/Report.ts"
export { defineScenario } from "./Scenario.ts"
export * as SystemDecl from "./SystemDecl.ts"
export * as Experiments from "./Experiments.ts"
export * as Experiment from "./paper/Experiment.ts"
export { defineExperiment } from "./paper/Experiment.ts"
