/**
 * The machine's configuration: every constant of spec §D as a named option with the spec's
 * default, validated by zod at construction. The defaults describe the paper's machine: an Intel
 * Xeon E5506 (4 cores, 2.13 GHz) with the 2011 memory layout, one sandbox per core, a Realtek
 * 8169 NIC shared by all four sandboxes.
 *
 * Every refusal names its field path (`nic.rxRing: must be ≥ 1`, `cpuHz: must be a positive
 * integer number of Hz`, `layout.slices.1: slice 1 … overlaps slice 0 …`), all issues at once,
 * in one {@link ConfigError}. Unknown keys are refused (a typo never silently means a default).
 *
 * @module
 */
import { z } from "zod"
import { ConfigError } from "./Errors.ts"
import * as CostModel from "./CostModel.ts"
import * as LocalApic from "./LocalApic.ts"
import * as IoApic from "./IoApic.ts"
import * as Nic from "./Nic.ts"
import * as DmaRemapping from "./DmaRemapping.ts"
import * as Wire from "./Wire.ts"
import * as MemoryLayout from "./MemoryLayout.ts"
import { durationNs, int, parseConfig, vector } from "./internal/config.ts"

/** The reference clock rate: Xeon E5506, 2.13 GHz `[PAPER]`. */
export const E5506_HZ = 2_130_000_000

/** Boot state options. */
export const bootSchema = z.strictObject({
  /**
   * `postBoot` (default): the machine starts as after Quest-V's boot — kernel images in every
   * slice, each sandbox's EPT built and loaded, the NIC's I/O APIC line programmed for its
   * sharers, every core in guest mode. `none`: cores in VMX root with empty EPTs; call `boot()`
   * or build the state by hand (a boot-phase model, a broken EPT in a test).
   */
  mode: z.enum(["postBoot", "none"]).default("postBoot"),
  /**
   * Sandboxes 0..n−1 sharing the NIC; default every sandbox. Quest's `MAX_NUM_SHARE` = 4 sizes the
   * driver's per-sharer arrays (software, `drivers/net/r8169.c`), not the device: no limit here.
   */
  nicSharers: int(0, MemoryLayout.MAX_SANDBOXES).optional(),
  /** `[ASSUMED]` Vector the NIC's I/O APIC entry delivers. */
  nicVector: vector().default(0x50),
})

/** The fields of the machine (spec §D, §D.12). */
const shape = {
  /** Cycles per second of every core (spec `cpuHz`). */
  cpuHz: z.number("must be a number")
    .int("must be a positive integer number of Hz")
    .min(1, "must be a positive integer number of Hz")
    .max(1e12, "must be ≤ 1e12 Hz")
    .default(E5506_HZ),
  /**
   * Physical cores: at most 8 under Quest's flat logical APIC model, up to 64 under x2APIC cluster
   * addressing (the default scheme above 8 cores; see LocalApic).
   */
  cores: int(1, LocalApic.MAX_CORES).default(4),
  /** Sandbox of each core (default: core i runs sandbox i). Sandbox ids must be 0..n−1, each used. */
  sandboxOfCore: z.array(int(0, MemoryLayout.MAX_SANDBOXES - 1)).optional(),
  /** TSC offset of each core, ns (spec `clockOffset[s]`); missing entries are 0. */
  clockOffsetNs: z.array(durationNs()).default([]),
  /** TSC drift of each core, ppm (spec `clockDriftPpm[s]`); missing entries are 0. */
  clockDriftPpm: z.array(
    z.number("must be a number").min(-1000, "must be ≥ -1000 ppm").max(1000, "must be ≤ 1000 ppm")
      .refine((v) => Math.abs(v * 1000 - Math.round(v * 1000)) < 1e-6, "must be a multiple of 0.001 ppm"),
  ).default([]),
  layout: MemoryLayout.schema.prefault({}),
  lapic: LocalApic.schema.prefault({}),
  ioapic: IoApic.schema.prefault({}),
  nic: Nic.schema.prefault({}),
  /**
   * How sandboxes' memory is protected (model §H): `'ept'` (default, Quest-V: every access goes
   * through the sandbox's EPT, which only its monitor changes; a refused access is a VM exit) or
   * `'pageTables'` (no hardware virtualisation: each sandbox's table is its kernel's own page
   * table — user-mode accesses are checked against it and a refused one is a page fault handled by
   * that kernel, no exit; a kernel-mode access the table refuses still reaches its physical address
   * — the kernel maps what it needs — and the kernel may change its table).
   */
  protection: z.enum(["ept", "pageTables"]).default("ept"),
  /** DMA remapping (VT-d) between the NIC and memory; absent by default (model §H). */
  iommu: DmaRemapping.schema.prefault({}),
  wire: Wire.schema.prefault({}),
  costs: CostModel.schema.prefault({}),
  boot: bootSchema.prefault({}),
}

/** The machine's cross-field rules. */
const refine = (c: Omit<z.output<z.ZodObject<typeof shape>>, "boot" | "protection"> & { readonly boot: { readonly nicSharers?: number | undefined } }, ctx: z.RefinementCtx): void => {
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: "custom", path, message })
  }
  if (c.clockOffsetNs.length > c.cores) issue(["clockOffsetNs"], `${c.clockOffsetNs.length} entries for ${c.cores} cores`)
  if (c.clockDriftPpm.length > c.cores) issue(["clockDriftPpm"], `${c.clockDriftPpm.length} entries for ${c.cores} cores`)
  if (c.sandboxOfCore !== undefined) {
    if (c.sandboxOfCore.length !== c.cores) issue(["sandboxOfCore"], `${c.sandboxOfCore.length} entries for ${c.cores} cores`)
    // Coverage only when every entry is a sandbox id (zod still runs this refinement when an entry
    // is out of range, already reported: ids up to 2^31 made this loop exhaust the heap).
    const ids = c.sandboxOfCore
    if (ids.every((s) => Number.isSafeInteger(s) && s >= 0 && s < MemoryLayout.MAX_SANDBOXES)) {
      const n = Math.max(-1, ...ids) + 1
      for (let s = 0; s < n; s++) if (!ids.includes(s)) issue(["sandboxOfCore"], `sandbox ${s} has no core (sandbox ids must be 0..${n - 1})`)
    }
  }
  if (c.cores > LocalApic.MAX_FLAT_CORES && c.lapic.logicalIds !== undefined && c.lapic.logicalIds !== "x2apic") {
    issue(["lapic", "logicalIds"], `the flat logical model ('${c.lapic.logicalIds}') addresses ${LocalApic.MAX_FLAT_CORES} cores, not ${c.cores}: use 'x2apic' (the default above ${LocalApic.MAX_FLAT_CORES} cores)`)
  }
  if (c.nic.irqLine >= c.ioapic.lines) issue(["nic", "irqLine"], `line ${c.nic.irqLine} does not exist on an I/O APIC with ${c.ioapic.lines} lines`)
  const sandboxes = sandboxCount(c)
  if (c.boot.nicSharers !== undefined && c.boot.nicSharers > sandboxes) issue(["boot", "nicSharers"], `${c.boot.nicSharers} sharers but only ${sandboxes} sandboxes`)
}

/** The whole machine (spec §D, §D.12). */
export const schema = z.strictObject(shape).superRefine(refine)

/**
 * The machine as an operating system's configuration gives it (sandbox-kernel's `machine`): the
 * same, less `boot.mode`, which the kernel sets (it does the boot itself), and less `protection`,
 * which follows the kernel's virtualisation mode (model §H).
 */
const { protection: _protection, ...kernelShape } = shape
export const kernelSchema = z.strictObject({ ...kernelShape, boot: bootSchema.omit({ mode: true }).prefault({}) }).superRefine(refine)
export type KernelMachineInput = z.input<typeof kernelSchema>

export type MachineInput = z.input<typeof schema>
export type MachineConfig = z.output<typeof schema>

/** Sandboxes configured (one per core unless `sandboxOfCore` says otherwise). */
export const sandboxCount = (c: Pick<MachineConfig, "cores" | "sandboxOfCore">): number =>
  c.sandboxOfCore === undefined ? c.cores : Math.max(0, ...c.sandboxOfCore) + 1

/** Logical-ID scheme in effect: the LAPIC option, else x2APIC above 8 cores, else the layout's year. */
export const logicalIdScheme = (c: MachineConfig): LocalApic.LogicalIdScheme =>
  c.lapic.logicalIds ?? (c.cores > LocalApic.MAX_FLAT_CORES ? "x2apic" : c.layout.kind)

/**
 * Validates a machine configuration and fills in every default. Throws one {@link ConfigError}
 * listing every problem, each with its field path (including the memory layout's cross-checks).
 */
export const parse = (input: MachineInput = {}): MachineConfig => {
  const config = parseConfig("MachineConfig", schema, input)
  try {
    new MemoryLayout.MemoryLayout(config.layout, sandboxCount(config))
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError("MachineConfig", e.issues)
    throw e
  }
  return config
}

/** The JSON schema of the machine configuration (for editors and docs). */
export const jsonSchema = (): unknown => z.toJSONSchema(schema, { io: "input", unrepresentable: "any" })
