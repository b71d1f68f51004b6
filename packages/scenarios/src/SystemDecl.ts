/**
 * The `system` section of a scenario: one Quest-V system run on sandbox-kernel's `System`. It is
 * sandbox-kernel's own configuration (`Config.systemSchema`, the source of truth, in the scenario
 * vocabulary: durations with units, references by name, a thread's `program` or declarative
 * `job`), less the `seed`: the system uses the run's seed (the scenario's `seed`, or `--seed`).
 * The scenario-wide `scheduler` applies under the section's own `scheduler`.
 *
 * Cross-field checks (a thread on a VCPU that does not exist, a fault naming an unknown host, a
 * bad machine option) are sandbox-kernel's `Config.check`, run at validation time; its issues are
 * `{path, message}` relative to the section, reported under `system`.
 *
 * @module
 */
import type { Issues } from "@qvsim/hardware"
import { Config, SchedulerDecl } from "@qvsim/sandbox-kernel"
import type { z } from "zod"

/** The `system` section (sandbox-kernel's `systemSchema` less `seed`). */
export const SystemDecl = Config.systemSchema.omit({ seed: true })
export type SystemDecl = z.output<typeof SystemDecl>
export type SystemDeclInput = z.input<typeof SystemDecl>

/** What a run adds to a declared system: outputs it records, checking, the scenario-wide scheduler options. */
export interface SystemExtra {
  readonly recordSchedule?: boolean
  readonly recordJobs?: boolean
  /** Keep mailbox observations when the section does not say (default off: nothing a scenario run prints reads them). */
  readonly recordObservations?: boolean
  /** `kernel.checkInvariants` on (`--check-invariants`). */
  readonly checkInvariants?: boolean
  /** The scenario-wide scheduler section, applied under the system's own `scheduler`. */
  readonly scheduler?: SchedulerDecl.SchedulerOptionsDecl
}

/** A validated `system` section → sandbox-kernel's input, with the run's seed and the run's additions. */
export const toSystemInput = (decl: SystemDecl, seed: number, extra: SystemExtra = {}): Config.SystemInput => ({
  ...decl,
  seed,
  scheduler: SchedulerDecl.merge(extra.scheduler ?? {}, decl.scheduler),
  kernel: { ...decl.kernel, ...(extra.checkInvariants === true ? { checkInvariants: true } : {}) },
  recordSchedule: decl.recordSchedule || (extra.recordSchedule ?? false),
  recordJobs: decl.recordJobs || (extra.recordJobs ?? false),
  recordObservations: decl.recordObservations ?? extra.recordObservations ?? false,
})

/**
 * The cross-field problems sandbox-kernel finds in a declared system, as `{path, message}`
 * relative to the section (empty when it is valid).
 */
export const crossCheck = (decl: SystemDecl): Issues.Issue[] => Config.check(toSystemInput(decl, 1))
