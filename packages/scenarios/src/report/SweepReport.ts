/** Placeholder replaced in the report commit. */
import type { Plan } from "../sweep/Plan.ts"
import type { RunRecord } from "../sweep/RunOne.ts"
import type { Row } from "../sweep/Summary.ts"
import type { LoadedSweep } from "../sweep/SweepFile.ts"

export interface Input {
  readonly loaded: LoadedSweep
  readonly plan: Plan
  readonly runs: ReadonlyArray<RunRecord>
  readonly rows: ReadonlyArray<Row>
  readonly provenance: Readonly<Record<string, unknown>>
}

export const build = async (input: Input): Promise<string> => `<!doctype html><title>${input.loaded.sweep.name}</title>`
