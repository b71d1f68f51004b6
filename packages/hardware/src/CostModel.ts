/**
 * The cost model: one table of CPU costs in cycles, each with its source, converted once to
 * integer nanoseconds at the machine's clock rate.
 *
 * Sources (spec §D.11): `[PAPER]` = the seed paper's Table 1 or text (Xeon E5506, 2.13 GHz);
 * `[SRC docs/NOTES]` = the Quest developer log; `[SPLIT]` = our split of a measured round trip;
 * `[ASSUMED]` = no published figure: an order-of-magnitude default to be calibrated per
 * experiment (spec §G: an option, never a buried guess).
 *
 * Invariants:
 * - every cost is a non-negative integer number of cycles;
 * - `ns[name] === Time.cyclesToNs(cycles[name], hz)` (sim-core's one rounding rule, half up);
 * - the table is frozen after construction; the hot path reads the precomputed `ns` record.
 *
 * @module
 */
import { z } from "zod"
import { Time } from "@qvsim/sim-core"
import { int, parseConfig } from "./internal/config.ts"

/** One entry of the default table. */
export interface CostDefault {
  /** Cycles on the reference machine (Xeon E5506). */
  readonly cycles: number
  /** Where the figure comes from. */
  readonly source: string
  /** What is being paid for. */
  readonly what: string
}

/** Every cost the simulator charges, with the spec's value and source. */
export const defaults = {
  vmExit: { cycles: 707, source: "[PAPER] Table 1", what: "VM exit (guest → monitor)" },
  vmEntry: { cycles: 823, source: "[PAPER] Table 1", what: "VM entry (monitor → guest)" },
  vmRoundTrip: { cycles: 1_500, source: "[SRC docs/NOTES] 2010-12-09", what: "VM entry + exit round trip (cross-check of the two above)" },
  ipiOneWay: { cycles: 646, source: "[SPLIT] half of the paper's 1,291-cycle round trip, rounded up", what: "IPI delivery latency, ICR write to arrival" },
  ipiRoundTrip: { cycles: 1_291, source: "[PAPER] Table 1", what: "IPI round trip between two monitors" },
  driverSwitch: { cycles: 12_427, source: "[PAPER] Table 1", what: "EPT remap of the shared driver's pages to another copy" },
  driverReinit: { cycles: 134_244_605, source: "[PAPER] Table 1", what: "NIC driver re-initialisation" },
  networkReinit: { cycles: 68_750_060, source: "[PAPER] Table 1", what: "network stack re-initialisation" },
  syscallSysenter: { cycles: 128, source: "[SRC docs/NOTES]", what: "system call entry by SYSENTER" },
  syscallInt: { cycles: 300, source: "[SRC docs/NOTES]", what: "system call entry by INT" },
  ipcCallReturn: { cycles: 364, source: "[SRC docs/NOTES] 342–385 average, midpoint", what: "intra-kernel IPC call and return (2 words)" },
  interruptEntry: { cycles: 500, source: "[ASSUMED]", what: "interrupt entry and return (cIrqEntry)" },
  contextSwitch: { cycles: 1_000, source: "[ASSUMED]", what: "thread context switch" },
  schedOverhead: { cycles: 0, source: "spec §D.12 default 0 (≈ 0.3 % CPU calibrated, RTAS 2011 TR)", what: "one scheduler invocation" },
  eptWalkExtra: { cycles: 150, source: "[ASSUMED]", what: "extra page-walk cost of a TLB miss under EPT (2-D walk)" },
  copyPerLine: { cycles: 16, source: "[ASSUMED]", what: "copying one 64-byte line (cCopyPerByte × 64)" },
  remoteLineTransfer: { cycles: 100, source: "[ASSUMED]", what: "cache-to-cache transfer of one 64-byte line between cores" },
  pollCheck: { cycles: 50, source: "[ASSUMED]", what: "one poll of a shared-memory status word" },
  demuxCheck: { cycles: 100, source: "[ASSUMED]", what: "early-demultiplexing header check in the driver (cDemuxCheck)" },
  stackRx: { cycles: 5_000, source: "[ASSUMED]", what: "network stack receive processing of one frame (cStackRx)" },
  stackTx: { cycles: 3_000, source: "[ASSUMED]", what: "network stack transmit of one frame (ICMP echo reply)" },
  txClean: { cycles: 300, source: "[ASSUMED]", what: "TX completion clean-up by the master (cTxClean)" },
} as const satisfies Record<string, CostDefault>

/** The name of a cost. */
export type CostName = keyof typeof defaults

/** Every cost name, in table order. */
export const names: readonly CostName[] = Object.keys(defaults) as CostName[]

/** Cycles per cost, validated: every field optional, defaulting to the table. */
export const schema = z.strictObject(
  Object.fromEntries(names.map((name) => [name, int(0).default(defaults[name].cycles)])) as {
    [K in CostName]: z.ZodDefault<ReturnType<typeof int>>
  },
)

/** Cost overrides in cycles, as a user writes them. */
export type CostInput = z.input<typeof schema>

/** Bytes per cache line for {@link CostTable.copyNs}. */
export const LINE_BYTES = 64
/** Copies of up to this many lines (a page) have their ns remembered. */
const MEMO_LINES = 64

/** The costs of one machine: cycles as configured, and ns at its clock rate. */
export class CostTable {
  /** Clock rate the ns figures were computed at, Hz. */
  readonly hz: number
  /** Cycles per cost. */
  readonly cycles: Readonly<Record<CostName, number>>
  /** Nanoseconds per cost at `hz` (rounded half up). */
  readonly ns: Readonly<Record<CostName, number>>

  /** `overrides` in cycles; `hz` the machine's clock rate. Refuses bad values naming the field. */
  /** `copyNs` by line count (-1: not yet computed). */
  private readonly copyNsMemo = new Float64Array(MEMO_LINES + 1).fill(-1)

  constructor(hz: number, overrides: CostInput = {}, prefix = "costs") {
    this.hz = hz
    const cycles = parseConfig("CostModel", schema, overrides, prefix) as Record<CostName, number>
    const ns = {} as Record<CostName, number>
    for (const name of names) ns[name] = Time.cyclesToNs(cycles[name], hz)
    this.cycles = Object.freeze(cycles)
    this.ns = Object.freeze(ns)
  }

  /** Cycles to copy `bytes` bytes: whole 64-byte lines (a partial line costs a full one). */
  copyCycles(bytes: number): number {
    return Math.ceil(bytes / LINE_BYTES) * this.cycles.copyPerLine
  }

  /** Nanoseconds to copy `bytes` bytes (see {@link copyCycles}). */
  copyNs(bytes: number): number {
    const lines = Math.ceil(bytes / LINE_BYTES)
    if (bytes > 0 && lines <= MEMO_LINES) {
      // NOTE: a copy of up to a page costs one of 64 values, each converted once (a copy's cost is
      // asked at every message and frame: issue 15).
      const ns = this.copyNsMemo[lines]!
      if (ns >= 0) return ns
      return (this.copyNsMemo[lines] = Time.cyclesToNs(this.copyCycles(bytes), this.hz))
    }
    return Time.cyclesToNs(this.copyCycles(bytes), this.hz)
  }

  /** Nanoseconds of `cycles` cycles at this machine's rate (rounded half up). */
  toNs(cycles: number): number {
    return Time.cyclesToNs(cycles, this.hz)
  }

  /** Sum of the named costs, in cycles (e.g. a recovery phase list). */
  sumCycles(list: readonly CostName[]): number {
    let total = 0
    for (const name of list) total += this.cycles[name]
    return total
  }
}
