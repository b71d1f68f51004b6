/**
 * Builds a simulation from a validated scenario and runs it. Plain TypeScript (the run loop is
 * the hot path); the CLI wraps it in Effect for files, errors and timing.
 *
 * @module
 */
import { Simulation, type Trace } from "@qvsim/sim-core"
import type { Scenario } from "./Scenario.ts"
import * as Jobs from "./Jobs.ts"
import * as Timers from "./models/Timers.ts"
import * as Pcpus from "./models/Pcpus.ts"
import * as SystemModel from "./models/System.ts"
import type { System } from "@qvsim/sandbox-kernel"

/** A simulation ready to run, with the metrics collectors of its models. */
export interface Prepared {
  readonly scenario: Scenario
  readonly sim: Simulation.Simulation
  readonly untilNs: number
  readonly metrics: () => Record<string, unknown>
  /** Called once after the run loop returns (models settle their accounting at `sim.now`). */
  readonly finish: () => void
  /** The executed scheduling segments, when `recordSchedule` was asked for. */
  readonly segments: () => Pcpus.NamedSegment[]
  /** Every job released so far, when `recordJobs` was asked for (see `Jobs.ts`). */
  readonly jobs: () => Jobs.JobRow[]
  /** The Quest-V system, for a scenario with a `system` section. */
  readonly system?: System.System
}

/** The summary of a run (the `--json` contract, less `wallMs`, which the caller measures). */
export interface Summary {
  readonly scenario: string
  readonly seed: number
  readonly simTimeNs: number
  readonly events: number
  readonly records: number
  readonly stopReason: Simulation.StopReason | null
  readonly fingerprint: string
  readonly metrics: Record<string, unknown>
}

export interface PrepareOptions {
  readonly seed?: number
  readonly untilNs?: number
  readonly sinks?: ReadonlyArray<Trace.TraceSink>
  /** Record executed scheduling segments (costs memory growing with simulated time). */
  readonly recordSchedule?: boolean
  /** Record one row per job (costs memory growing with simulated time). */
  readonly recordJobs?: boolean
  /** Keep mailbox observations where the system does not say (memory growing with simulated time; experiments' analyses read them). */
  readonly recordObservations?: boolean
  /** Check the scheduling invariants at every decision of every scheduler (`--check-invariants`). */
  readonly checkInvariants?: boolean
}

/** Builds the simulation of `scenario`; sinks are attached before any model emits. */
export const prepare = (scenario: Scenario, options: PrepareOptions = {}): Prepared => {
  if (scenario.system !== undefined) return prepareSystem(scenario, options)
  const sim = new Simulation.Simulation(options.seed ?? scenario.seed)
  for (const sink of options.sinks ?? []) sim.trace.attach(sink)
  const collectors: Array<[string, () => unknown]> = []
  if (scenario.sources.length > 0) collectors.push(["timers", Timers.install(sim, scenario.sources)])
  const pcpus = scenario.pcpus.length > 0
    ? Pcpus.install(sim, scenario.pcpus, scenario.scheduler, { recordSchedule: options.recordSchedule ?? false, recordJobs: options.recordJobs ?? false, checkInvariants: options.checkInvariants ?? false })
    : undefined
  if (pcpus !== undefined) collectors.push(["pcpus", pcpus.metrics])
  return {
    scenario,
    sim,
    untilNs: options.untilNs ?? scenario.duration,
    metrics: () => Object.fromEntries(collectors.map(([name, collect]) => [name, collect()])),
    finish: () => pcpus?.finish(),
    segments: () => pcpus?.segments() ?? [],
    jobs: () => (options.recordJobs === true ? pcpus?.jobs() ?? [] : []),
  }
}

/** A scenario with a `system`: one sandbox-kernel System on the run's seed, sinks on its trace. */
const prepareSystem = (scenario: Scenario, options: PrepareOptions): Prepared => {
  const system = SystemModel.build(scenario, options.seed ?? scenario.seed, {
    recordSchedule: options.recordSchedule ?? false, recordJobs: options.recordJobs ?? false, checkInvariants: options.checkInvariants ?? false,
    recordObservations: options.recordObservations ?? false,
  }, options.sinks ?? [])
  system.start()
  return {
    scenario,
    sim: system.sim,
    untilNs: options.untilNs ?? scenario.duration,
    metrics: () => ({ system: SystemModel.metrics(system) }),
    finish: () => {},
    segments: () => SystemModel.segments(system),
    jobs: () => (system.config.recordJobs ? Jobs.fromSystem(system) : []),
    system,
  }
}

/** Called between slices of a run (every `EVENTS_PER_SLICE` events), e.g. to show progress. */
export type OnSlice = (sim: Simulation.Simulation, untilNs: number) => void

/**
 * Events per slice when an `onSlice` callback or a {@link RunControl} is given (a few ms of wall
 * time even for the slowest models, so a signal is seen well within 100 ms). Slicing never
 * changes the run: `Simulation.run` stops and resumes between two events.
 */
export const EVENTS_PER_SLICE = 4096

/**
 * How an asynchronous run shares its thread (see {@link executeAsync}): after every slice it asks
 * `due()` (cheap) and, when due, awaits `pause()` (e.g. one turn of the event loop, where signal
 * handlers run); then `check` may throw to stop the run (e.g. on a signal).
 */
export interface RunControl {
  readonly due: () => boolean
  readonly pause: () => Promise<void>
  readonly check: (sim: Simulation.Simulation, untilNs: number) => void
}

/** Runs a prepared simulation to its time limit and closes the trace sinks. */
export const execute = (prepared: Prepared, onSlice?: OnSlice): Summary => {
  const { sim, untilNs } = prepared
  try {
    if (onSlice === undefined) {
      sim.run({ untilNs })
    } else {
      while (sim.run({ untilNs, maxEvents: EVENTS_PER_SLICE }) === "maxEvents") onSlice(sim, untilNs)
    }
    prepared.finish()
  } finally {
    sim.trace.close()
  }
  return summarize(prepared)
}

/**
 * As {@link execute}, but yields its thread when `control` says so, and stops when its `check`
 * throws (the trace sinks are closed either way; the caller drops what they wrote).
 */
export const executeAsync = async (prepared: Prepared, control: RunControl, onSlice?: OnSlice): Promise<Summary> => {
  const { sim, untilNs } = prepared
  try {
    control.check(sim, untilNs)
    while (sim.run({ untilNs, maxEvents: EVENTS_PER_SLICE }) === "maxEvents") {
      onSlice?.(sim, untilNs)
      if (control.due()) await control.pause()
      control.check(sim, untilNs)
    }
    prepared.finish()
  } finally {
    sim.trace.close()
  }
  return summarize(prepared)
}

/** The `--schedule` file: executed segments as a JSON array, one segment per line. */
export const segmentsJson = (prepared: Prepared): string =>
  `[\n${prepared.segments().map((s) => JSON.stringify(s)).join(",\n")}\n]\n`

export const summarize = ({ scenario, sim, metrics }: Prepared): Summary => ({
  scenario: scenario.name,
  seed: sim.seed,
  simTimeNs: sim.now,
  events: sim.events,
  records: sim.trace.count,
  stopReason: sim.stopReason,
  fingerprint: sim.trace.fingerprint(),
  metrics: metrics(),
})

/** Prepares and runs in one call. */
export const run = (scenario: Scenario, options: PrepareOptions = {}): Summary => execute(prepare(scenario, options))
