/**
 * The model's `[ASSUMED]` constants (sandbox-kernel's `Assumptions.table`: jitter, EPT walks,
 * RX-lock arbitration, link-up, reboot time) as domain parameters: one source for their ranges,
 * reasons and bases, so an experiment's domain names a constant by its parameter name and gets the
 * table's row, written to the row's path (`system.` + path) in every variant.
 *
 * Which experiment depends on which row is measured, not guessed: `test/robust/AssumedCoverage.test.ts`
 * runs every variant with each row it does not declare at both ends of the row's range and requires
 * the same fingerprint (a row that changes a run must be in the domain).
 *
 * Invariants: a parameter built here has the row's range, default, unit and reason, and the row's
 * basis in the domain's vocabulary ("measurement on similar hardware" is `measurement`); at its
 * default the path holds the configuration's default, so the headline run is unchanged.
 *
 * @module
 */
import { Assumptions } from "@qvsim/sandbox-kernel"
import type { Basis, RangeParam } from "./Domain.ts"

/** Parameter names of the rows (the name an experiment's domain and `--param` use), by row path. */
export const NAMES = {
  deliverySkewNs: "machine.ioapic.deliverySkewNs",
  wireJitterNs: "machine.wire.jitterNs",
  costJitter: "kernel.costJitter",
  phaseJitter: "recovery.phaseJitter",
  tlbMissRate: "kernel.tlbMissRate",
  eptWalkExtra: "machine.costs.eptWalkExtra",
  rxLockCycles: "nic.rxLockCycles",
  remoteLineTransfer: "machine.costs.remoteLineTransfer",
  pollCheck: "machine.costs.pollCheck",
  linkUpNs: "machine.nic.linkUpNs",
  rebootNs: "recovery.rebootNs",
} as const

export type Name = keyof typeof NAMES

const BASIS: Record<Assumptions.Basis, Basis> = {
  datasheet: "datasheet",
  standard: "standard",
  "later paper": "later paper",
  "measurement on similar hardware": "measurement",
  "order of magnitude": "order of magnitude",
}

const DESCRIPTION: Record<Name, string> = {
  deliverySkewNs: "largest skew between the cores' receipt of one broadcast interrupt (the I/O APIC's delivery order)",
  wireJitterNs: "largest extra wire delay of a frame (switch queueing), drawn per frame",
  costJitter: "relative spread of a kernel path's cost (interrupt entry, demultiplexing, stack, copies), drawn per use",
  phaseJitter: "relative spread of each online-recovery phase's duration (Table 1's cycles ± this)",
  tlbMissRate: "probability that a page touched on the network or copy path misses the TLB (then pays the EPT walk)",
  eptWalkExtra: "extra cycles of a TLB miss under EPT (the 2-D page walk)",
  rxLockCycles: "cycles of the RX lock's atomic acquisition (0: a free lock)",
  remoteLineTransfer: "cache-to-cache transfer of one 64-byte line between cores (the lock word's, a channel line's)",
  pollCheck: "one iteration of a spin or poll loop (when a spinner sees a release or a poller a change)",
  linkUpNs: "time the link takes to come up after the NIC's re-initialisation (auto-negotiation)",
  rebootNs: "machine down-time of the full-reboot baseline (firmware + boot of every sandbox)",
}

export interface Options {
  /** Only in these variants (default: every variant). */
  readonly variants?: readonly string[]
  /** Sample in log space (only for a range with min > 0). */
  readonly log?: boolean
}

/** The domain parameter of row `name`. */
export const param = (name: Name, o: Options = {}): RangeParam & { readonly basis: Basis } => {
  const row = Assumptions.find(NAMES[name])
  if (row === undefined) throw new Error(`Assumptions.table has no row ${NAMES[name]}`)
  return {
    kind: "range",
    min: row.range[0],
    max: row.range[1],
    default: row.default,
    ...(row.integer ? { integer: true } : {}),
    ...(o.log === true ? { log: true } : {}),
    unit: row.unit,
    basis: BASIS[row.basis],
    description: DESCRIPTION[name],
    reason: `${row.reason} (sandbox-kernel Assumptions.table; ${row.onByDefault ? `${row.off} turns the mechanism off` : "a cost the model always charges"})`,
    paths: [`system.${row.path}`],
    ...(o.variants !== undefined ? { variants: o.variants } : {}),
  }
}

/** The parameters of `names` (each with its `options`), keyed by name: spread into a domain's `assumed`. */
export const params = <N extends Name>(names: readonly N[], options: Partial<Record<N, Options>> = {}): { readonly [K in N]: RangeParam & { readonly basis: Basis } } =>
  Object.fromEntries(names.map((n) => [n, param(n, options[n])])) as { readonly [K in N]: RangeParam & { readonly basis: Basis } }

/** Every row's parameter name (what the coverage test walks). */
export const ALL: readonly Name[] = Object.keys(NAMES) as Name[]
