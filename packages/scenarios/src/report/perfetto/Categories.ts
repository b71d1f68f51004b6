/**
 * The categories (`cat`) of the Perfetto export, one per subsystem, and the record kind →
 * category map: the UI filters by them, and `--perfetto-include` / `--perfetto-exclude` leave
 * whole subsystems out of the file (e.g. the timer interrupts that make up most of a system
 * trace).
 *
 * Invariant: every record kind has exactly one category (its exact name, else the part before its
 * first dot, else `other`).
 *
 * @module
 */

/** The categories (`cat`) events carry, one per subsystem. */
export const CATEGORIES = ["sched", "irq", "nic", "chan", "monitor", "fault", "job", "other"] as const
export type Category = (typeof CATEGORIES)[number]

/**
 * Record kind (exact name, else the part before its first dot) → category. A kind a model adds
 * falls under its prefix, or `other`.
 */
export const CATEGORY_OF_KIND: Readonly<Record<string, Category>> = {
  "k.dispatch": "sched",
  "k.thread": "sched",
  "k.job": "job",
  "core.vmexit": "monitor",
  sched: "sched",
  job: "job",
  irq: "irq",
  ipi: "irq",
  ioapic: "irq",
  // The timers model's event sources are interrupt sources.
  timer: "irq",
  nic: "nic",
  net: "nic",
  drv: "nic",
  host: "nic",
  wire: "nic",
  chan: "chan",
  xen: "chan",
  mon: "monitor",
  ept: "monitor",
  // DMA remapping (tables only monitors program, faults to the owner's monitor) and page-table
  // protection without virtualisation: with the EPT's records.
  dmar: "monitor",
  pt: "monitor",
  mig: "monitor",
  boot: "monitor",
  fault: "fault",
  recovery: "fault",
}

/** The category of record kind `kind`. */
export const categoryOf = (kind: string): Category => {
  const exact = CATEGORY_OF_KIND[kind]
  if (exact !== undefined) return exact
  const dot = kind.indexOf(".")
  return CATEGORY_OF_KIND[dot < 0 ? kind : kind.slice(0, dot)] ?? "other"
}

/** The categories written under `include` (all when empty or absent) less `exclude`. */
export const selectCategories = (include: ReadonlyArray<string> = [], exclude: ReadonlyArray<string> = []): ReadonlySet<string> =>
  new Set(CATEGORIES.filter((c) => (include.length === 0 || include.includes(c)) && !exclude.includes(c)))
