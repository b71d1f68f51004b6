/**
 * The built-in scenarios, by name. Each is a module whose default export is a scenario.
 */
import type { ScenarioInput } from "./Scenario.ts"
import timers from "./builtins/timers.ts"
import rmPeriodic from "./builtins/rm-periodic.ts"
import ssAmplification from "./builtins/ss-amplification.ts"
import manycore from "./builtins/manycore.ts"

export const builtins: ReadonlyArray<ScenarioInput> = [timers, rmPeriodic, ssAmplification, manycore]

/** The built-in named `name`, or undefined. */
export const find = (name: string): ScenarioInput | undefined => builtins.find((s) => s.name === name)

/** Names of all built-ins, in listing order. */
export const names = (): string[] => builtins.map((s) => s.name)
