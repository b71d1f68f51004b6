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
 * Invariants: after `postBoot`, every core is in guest mode with its sandbox's EPT loaded and no
 * VM exit has been taken; no EPT maps an EPT-structure frame (the hardware's guard).
 *
 * @module
 */
import { IoApic, PhysicalMemory, type Ept, type Machine } from "@qvsim/hardware"

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
export const postBoot = (machine: Machine.Machine, nicMask: number, setup: readonly BootSetup[], epts?: readonly Ept.Ept[]): void => {
  if (epts !== undefined) {
    if (epts.length !== machine.sandboxes) throw new RangeError(`Boot.postBoot: ${epts.length} EPTs for ${machine.sandboxes} sandboxes`)
    machine.epts = epts
  }
  const layout = machine.layout
  layout.loadImages(machine.memory)
  machine.memory.backWithBytes(layout.infoPage / PAGE)
  for (let a = layout.channelsBase; a < layout.screensBase; a += PAGE) machine.memory.backWithBytes(a / PAGE)
  for (let s = 0; s < machine.sandboxes; s++) layout.buildEpt(machine.epts[s]!, s, machine.cores[machine.coresOf(s)[0]!]!)
  machine.cores.forEach((core, c) => core.loadEpt(machine.epts[machine.sandboxOfCore[c]!]!))
  if (nicMask !== 0) {
    machine.ioapic.program(machine.nic.irqLine, {
      vector: machine.config.boot.nicVector,
      trigger: IoApic.Trigger.Edge,
      destination: nicMask,
    })
  }
  for (const f of setup) f(machine)
  for (const core of machine.cores) core.vmEntry()
}
