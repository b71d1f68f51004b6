/**
 * The assumed constants of the mechanisms that make the paper's claims emerge from the model
 * rather than from equal constants (issue 13): variance, the cost of virtualisation on the network
 * and channel paths, the arbitration of simultaneous requests, online recovery's disruption of the
 * link, and the reboot baseline. One row per constant: where it is set (a path in a system
 * configuration; a scenario's is `system.` + it, reachable by `--set`), its default, a plausible
 * range with the reason for it and what kind of evidence that reason is, and the value that turns
 * the mechanism off. The `claims` work builds its robustness domains from this table.
 *
 * Invariants (checked by `test/Assumptions.test.ts`): every `default` is what the configuration's
 * schema fills in; `range[0] ≤ default ≤ range[1]`; every path is accepted by `Config.parse`
 * (at both ends of its range and at `off`); {@link baseline} with every row `off` gives the model
 * as it was before these mechanisms (no jitter, no skew, no TLB walks, a free lock).
 *
 * @module
 */
import type { SystemInput } from "./Config.ts"

/** What kind of evidence a range rests on (issue 13's list). */
export type Basis = "datasheet" | "standard" | "later paper" | "measurement on similar hardware" | "order of magnitude"

/** The mechanism a constant belongs to. */
export type Mechanism = "variance" | "virtualization" | "arbitration" | "recovery" | "reboot"

/** One assumed constant. */
export interface Assumption {
  readonly mechanism: Mechanism
  /** Path in a `SystemInput` (dots; a scenario's path is `system.` + this). */
  readonly path: string
  /** The schema's default. */
  readonly default: number
  /** A plausible range, inclusive. */
  readonly range: readonly [number, number]
  /** Unit of the value (`ns`, `cycles`, `fraction`, `probability`). */
  readonly unit: string
  /** Whether it is an integer (durations and cycles) or a real (fractions, probabilities). */
  readonly integer: boolean
  readonly basis: Basis
  /** Why this range. */
  readonly reason: string
  /**
   * The value that turns the mechanism off (the model before issue 13). For a constant a
   * mechanism only uses (a cost such as `eptWalkExtra`, which the model had before), `off` is its
   * default: it has no off of its own, only a range.
   */
  readonly off: number
  /** The row switches a mechanism on by default (`default !== off`). */
  readonly onByDefault: boolean
}

const row = (a: Omit<Assumption, "onByDefault">): Assumption => ({ ...a, onByDefault: a.default !== a.off })

/** Every assumed constant of the mechanisms, by mechanism. */
export const table: readonly Assumption[] = [
  row({
    mechanism: "variance", path: "machine.ioapic.deliverySkewNs", default: 200, range: [0, 1_000], unit: "ns", integer: true, off: 0,
    basis: "order of magnitude",
    reason: "an I/O APIC message reaches each local APIC through the Nehalem uncore, tens to hundreds of ns per hop; the architecture defines no order among a broadcast's destinations",
  }),
  row({
    mechanism: "variance", path: "machine.wire.jitterNs", default: 1_000, range: [0, 5_000], unit: "ns", integer: true, off: 0,
    basis: "measurement on similar hardware",
    reason: "store-and-forward latency of commodity gigabit switches varies by a few hundred ns to a few µs with queue state and internal arbitration",
  }),
  row({
    mechanism: "variance", path: "kernel.costJitter", default: 0.2, range: [0, 0.5], unit: "fraction", integer: false, off: 0,
    basis: "order of magnitude",
    reason: "the same few-thousand-cycle kernel path (interrupt entry, demultiplexing, stack, copies) varies by tens of per cent with cache and branch-predictor state",
  }),
  row({
    mechanism: "variance", path: "recovery.phaseJitter", default: 0.05, range: [0, 0.2], unit: "fraction", integer: false, off: 0,
    basis: "order of magnitude",
    reason: "the re-initialisations busy-wait on the device (udelay loops in r8169.c) and set up the stack; repeated runs of such phases vary by a few per cent; Table 1 gives one number per phase",
  }),
  row({
    mechanism: "virtualization", path: "kernel.tlbMissRate", default: 0.1, range: [0, 0.5], unit: "probability", integer: false, off: 0,
    basis: "order of magnitude",
    reason: "the 8169's 256 RX buffers span 128 pages plus the descriptor page, against Nehalem's 64-entry DTLB and 512-entry STLB: an idle machine keeps most of them, a loaded one evicts them; no measurement on Quest-V",
  }),
  row({
    mechanism: "virtualization", path: "machine.costs.eptWalkExtra", default: 150, range: [50, 600], unit: "cycles", integer: true, off: 150,
    basis: "later paper",
    reason: "a 2-D (nested) page walk takes up to 24 memory references instead of 4; with paging-structure caches the measured extra is about a hundred to a few hundred cycles (Bhargava et al., ASPLOS 2008)",
  }),
  row({
    mechanism: "arbitration", path: "nic.rxLockCycles", default: 40, range: [20, 100], unit: "cycles", integer: true, off: 0,
    basis: "order of magnitude",
    reason: "a locked read-modify-write on Nehalem-class cores takes 20–40 cycles uncontended in published instruction tables; more with a busy memory system",
  }),
  row({
    mechanism: "arbitration", path: "machine.costs.remoteLineTransfer", default: 100, range: [60, 300], unit: "cycles", integer: true, off: 100,
    basis: "measurement on similar hardware",
    reason: "a cache-to-cache transfer of a modified line between cores of one Nehalem socket is measured at roughly 60–120 cycles, across sockets 2–3× that",
  }),
  row({
    mechanism: "arbitration", path: "machine.costs.pollCheck", default: 50, range: [10, 150], unit: "cycles", integer: true, off: 50,
    basis: "order of magnitude",
    reason: "one iteration of a spin loop (a load of the lock word and a pause) is tens of cycles; it sets the phase at which each spinner sees a release",
  }),
  row({
    mechanism: "recovery", path: "machine.nic.linkUpNs", default: 0, range: [0, 3_000_000_000], unit: "ns", integer: true, off: 0,
    basis: "standard",
    reason: "Quest's r8169 initialisation restarts auto-negotiation (BMCR_ANRESTART); 1000BASE-T negotiation with its 750–1,000 ms link-fail-inhibit timer and training is commonly measured at 2–3 s. Off by default: the paper's Figure 6 shows online recovery inside the 500 ms ping interval",
  }),
  row({
    mechanism: "reboot", path: "recovery.rebootNs", default: 10_000_000_000, range: [3_000_000_000, 60_000_000_000], unit: "ns", integer: true, off: 10_000_000_000,
    basis: "order of magnitude",
    reason: "a 2010-era Xeon server's firmware POST takes seconds to a minute, a Quest-V boot well under a second; the paper gives no figure",
  }),
]

/** The row of `path`, or undefined. */
export const find = (path: string): Assumption | undefined => table.find((a) => a.path === path)

/** `input` with `value` at the dotted `path` (objects along the path copied, nothing mutated). */
export const setPath = (input: SystemInput, path: string, value: unknown): SystemInput => {
  const keys = path.split(".")
  const put = (obj: Record<string, unknown> | undefined, i: number): Record<string, unknown> => {
    const o = { ...(obj ?? {}) }
    o[keys[i]!] = i === keys.length - 1 ? value : put(o[keys[i]!] as Record<string, unknown> | undefined, i + 1)
    return o
  }
  return put(input as Record<string, unknown>, 0) as SystemInput
}

/**
 * `input` with every mechanism of {@link table} off (each row's `off` value where the input does
 * not set the path itself): the model before issue 13 — every cost its constant, a broadcast
 * reaching the cores at once in core order, no wire jitter, no TLB walks, a free RX lock. For tests
 * that pin exact times, and to show what a claim owes to the mechanisms.
 */
export const baseline = (input: SystemInput = {}): SystemInput => {
  let out = input
  for (const a of table) {
    if (!a.onByDefault || valueAt(input, a.path) !== undefined) continue
    out = setPath(out, a.path, a.off)
  }
  return out
}

/** The value at a dotted `path` of a (parsed or input) configuration, or undefined. */
export const valueAt = (config: unknown, path: string): unknown => {
  let v: unknown = config
  for (const k of path.split(".")) {
    if (v === null || typeof v !== "object") return undefined
    v = (v as Record<string, unknown>)[k]
  }
  return v
}
