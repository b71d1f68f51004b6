/** Counts trace records by kind (a sink for tests). */
import type { Simulation, Trace } from "@qvsim/sim-core"

export class MemorySinkKinds implements Trace.TraceSink {
  readonly counts = new Map<string, number>()
  readonly records: Trace.TraceRecord[] = []
  private readonly keep: boolean
  constructor(sim: Simulation.Simulation, keep = false) {
    this.keep = keep
    sim.trace.attach(this)
  }
  onRecord(trace: Trace.Trace, kind: Trace.RecordKind, t: number, subject: Trace.Subject, values: Float64Array): void {
    this.counts.set(kind.name, (this.counts.get(kind.name) ?? 0) + 1)
    if (this.keep) this.records.push(trace.toRecord(kind, t, subject, values))
  }
  count(kind: string): number {
    return this.counts.get(kind) ?? 0
  }
}
