/**
 * Boot (spec §D.2, "VM fork"): the post-boot state every run starts from by default — kernel
 * images in every slice, each sandbox's EPT built by its first core and loaded on its cores, the
 * shared NIC's I/O APIC line programmed edge-triggered to the sharers, the set-up the monitors do
 * once for channels (EPT permissions), then every core enters its guest.
 *
 * The machine is built with `boot.mode: 'none'` (cores in VMX root, empty EPTs) so that the
 * monitors' one-time set-up happens here, in root mode, before the first VM entry: it is boot, not
 * steady state, and takes no VM exit (F17 counts exits after boot).
 *
 * The optional boot phase (`boot.phase: true`) spreads the same steps over time as §D.2 orders them:
 * the bootstrap core initialises the shared components; then each core in turn copies the kernel
 * image into its slice and builds its EPT, and enters its guest; each sandbox then initialises its
 * VCPUs and network stack, registers with the shared NIC (ORs its bit into the I/O APIC
 * destination) and starts its scheduler and threads. The memory and EPT contents are built at
 * t = 0 (they are data); what the phase models is when each core enters its guest, when each
 * sandbox receives NIC interrupts and when its threads start.
 *
 * Invariants: after `postBoot`, every core is in guest mode with its sandbox's EPT loaded (the boot
 * phase: in root mode until its entry time) and no VM exit has been taken; no EPT maps an
 * EPT-structure frame (the hardware's guard).
 *
 * @module
 */
import { z } from "zod"
import { PhysicalMemory, type Ept, type Machine } from "@qvsim/hardware"
import { int } from "./Options.ts"

const PAGE = PhysicalMemory.PAGE_BYTES

/** Monitor work done in root mode during boot (channel permissions), given the machine. */
export type BootSetup = (machine: Machine.Machine) => void

/**
 * The logical mask that delivers the NIC's interrupt to sandboxes `sandboxes` (each one's first
 * core: the driver runs once per sandbox).
 */
export const nicMaskOf = (machine: Machine.Machine, sandboxes: readonly number[]): number =>
  machine.apicBus.maskOf(sandboxes.map((s) => machine.coresOf(s)[0]!))

/**
 * Brings `machine` (built with `boot.mode: 'none'`) to the post-boot state. `epts` replaces the
 * sandboxes' EPT objects (tests inject deliberately broken ones); `nicMask` is the logical
 * destination of the NIC's line (the sharers' first cores; 0 = not programmed); `setup` runs after
 * the EPTs are built, before the VM entries.
 */
export const postBoot = (machine: Machine.Machine, nicMask: number, setup: readonly BootSetup[], epts?: readonly Ept.Ept[], enterGuests = true): void => {
  machine.prepareBoot(epts ?? machine.epts, nicMask)
  for (const f of setup) f(machine)
  if (enterGuests) for (const core of machine.cores) core.vmEntry()
}

/** The boot phase's costs (`[ASSUMED]`: the paper gives no boot figures). */
export const bootSchema = z.strictObject({
  /** Model the boot phase (default false: every run starts from the post-boot state at t = 0). */
  phase: z.boolean().default(false),
  /** `[ASSUMED]` Bootstrap core: shared components (keyboard, PCI, NIC driver, info page), cycles (≈ 50 ms). */
  sharedInitCycles: int(0).default(106_500_000),
  /** `[ASSUMED]` Copying one 4 KiB page of the kernel image into a slice (the VM fork), cycles. */
  pageCopyCycles: int(0).default(1_024),
  /** `[ASSUMED]` Building one sandbox's EPT (4 directory + 2048 table pages) and rebasing its page tables, cycles. */
  eptBuildCycles: int(0).default(4_200_000),
  /** `[ASSUMED]` A sandbox's own initialisation after its VM entry (VCPUs, network stack, shell), cycles (≈ 10 ms). */
  sandboxInitCycles: int(0).default(21_300_000),
})
export type BootInput = z.input<typeof bootSchema>
export type BootOptions = z.output<typeof bootSchema>

/** When each sandbox enters its guest and becomes ready (NIC registration, scheduler start), ns. */
export interface BootRecord {
  readonly sandbox: number
  readonly entryNs: number
  readonly readyNs: number
}

/** The boot timeline of §D.2: shared init, then each core in turn (VM fork + EPT), then each sandbox's own init. */
export const timeline = (machine: Machine.Machine, o: BootOptions): BootRecord[] => {
  const costs = machine.costs
  const pages = machine.layout.kernelImageBytes / PAGE
  const fork = costs.toNs(pages * o.pageCopyCycles + o.eptBuildCycles)
  let t = costs.toNs(o.sharedInitCycles)
  const out: BootRecord[] = []
  for (let s = 0; s < machine.sandboxes; s++) {
    t += fork
    out.push({ sandbox: s, entryNs: t, readyNs: t + costs.toNs(o.sandboxInitCycles) })
  }
  return out
}
