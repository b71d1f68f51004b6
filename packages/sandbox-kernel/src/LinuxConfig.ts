/**
 * Resolving a Linux sandbox (`kind: "linux"`, `Linux.ts`) of a declared configuration: its
 * options checked (granularities, its device's core, I/O APIC line and vector), and its "VCPUs",
 * which are the fair scheduler's weight classes — one per (cpu, nice) its threads use, in the
 * order of first use, then the I/O service classes (USB, ATA, NET on its first core) and, for a
 * private-channel party, the polling thread's class. Each thread resolves to its class.
 *
 * Invariants: every refusal is an issue at the path the field has in the declaration (`Resolve`
 * reports them with the rest); the classes' budget and period are placeholders (1 ns) that the
 * fair scheduler never reads — it reads `weight`.
 *
 * @module
 */
import type { Issues, MachineConfig } from "@qvsim/hardware"
import { EVTCHN_VECTOR } from "./Baseline.ts"
import type { Declared, VcpuConfig } from "./Config.ts"
import { linuxOptions, linuxSchema, weightOfNice, type LinuxOptions } from "./Linux.ts"
import { MIGRATION_VECTOR } from "./Migration.ts"
import * as Program from "./Program.ts"
import { RECOVERY_VECTOR } from "./RecoveryTasks.ts"

/** The name of the private-channel polling thread and of its class (`Channels.RECEIVER`). */
const RECEIVER = "chan-rx"

type SandboxDecl = NonNullable<Declared["sandboxes"]>[number]

/** A Linux sandbox being resolved: its options, its classes, a thread's class, the service classes added last. */
export interface LinuxClasses {
  readonly options: LinuxOptions
  /** The sandbox's classes (filled as threads resolve, then by {@link finish}). */
  readonly vcpus: VcpuConfig[]
  /** The class of thread `t` (declared at `at`), made on its first use. */
  readonly classOf: (t: { readonly vcpu?: string | undefined; readonly nice?: number | undefined; readonly cpu?: number | undefined }, at: PropertyKey[]) => number
  /** Adds the I/O service classes and the polling thread's (call after the threads). */
  readonly finish: (vcpus: VcpuConfig[]) => void
}

export const linuxClasses = (
  g: SandboxDecl | undefined,
  at: PropertyKey[],
  cores: readonly number[],
  party: boolean,
  machine: MachineConfig.MachineConfig,
  sandboxes: ReadonlyArray<SandboxDecl | undefined>,
  add: (path: PropertyKey[], message: string) => void,
): LinuxClasses => {
  const options = linuxOptions(g?.linux ?? linuxSchema.parse({}))
  const s = at[1] as number
  if (g?.vcpus !== undefined) add([...at, "vcpus"], `a Linux sandbox has no VCPUs (its threads give nice and cpu)`)
  if (options.minGranularityNs > options.schedLatencyNs) add([...at, "linux", "minGranularity"], `must not exceed schedLatency (${options.schedLatencyNs} ns) (got ${options.minGranularityNs} ns)`)
  const d = options.device
  if (d !== undefined) {
    const dat = [...at, "linux", "device"]
    if (d.cpu >= cores.length) add([...dat, "cpu"], `core ${d.cpu} of a sandbox with ${cores.length} core(s)`)
    if (d.line === machine.nic.irqLine) add([...dat, "line"], `line ${d.line} is the NIC's`)
    else if (d.line >= machine.ioapic.lines) add([...dat, "line"], `line ${d.line} does not exist on an I/O APIC with ${machine.ioapic.lines} lines`)
    const taken: Array<[number, string]> = [[machine.boot.nicVector, "the NIC's"], [machine.lapic.timerVector, "the LAPIC timer's"], [MIGRATION_VECTOR, "the migration IPI's"], [RECOVERY_VECTOR, "the recovery IPI's"], [EVTCHN_VECTOR, "the Xen event channel's"]]
    const clash = taken.find(([v]) => v === d.vector)
    if (clash !== undefined) add([...dat, "vector"], `vector ${d.vector} is ${clash[1]}`)
    sandboxes.forEach((o, j) => {
      const od = o?.linux?.device
      if (j < s && o?.kind === "linux" && od !== undefined && od.line === d.line) add([...dat, "line"], `line ${d.line} is sandbox ${o.name ?? `sandbox${j}`}'s device's`)
    })
  }
  const vcpus: VcpuConfig[] = []
  const classes = new Map<string, number>()
  const classOf: LinuxClasses["classOf"] = (t, tat) => {
    if (t.vcpu !== undefined) add([...tat, "vcpu"], `a Linux thread has no VCPU (give nice and cpu)`)
    const cpu = t.cpu ?? 0, nice = t.nice ?? 0
    if (cpu >= cores.length) add([...tat, "cpu"], `core ${cpu} of a sandbox with ${cores.length} core(s)`)
    const key = `${cpu}/${nice}`
    let v = classes.get(key)
    if (v === undefined) {
      v = vcpus.length
      classes.set(key, v)
      vcpus.push({ kind: "main", name: `cfs${cpu}.nice${nice}`, budgetNs: 1, periodNs: 1, classMask: 0, core: Math.min(cpu, cores.length - 1), weight: weightOfNice(nice) })
    }
    return v
  }
  const finish = (out: VcpuConfig[]): void => {
    const w = weightOfNice(options.serviceNice)
    for (const dev of ["usb", "ata", "net"] as const) out.push({ kind: "io", name: `io-${dev}`, budgetNs: 1, periodNs: 1, classMask: Program.DeviceClass[dev], core: 0, weight: w })
    if (party) out.push({ kind: "main", name: RECEIVER, budgetNs: 1, periodNs: 1, classMask: 0, core: 0, weight: w })
  }
  return { options, vcpus, classOf, finish }
}
