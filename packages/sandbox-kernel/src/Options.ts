/**
 * Every cost and quirk of the sandbox kernel, monitor, shared NIC driver, channels and recovery
 * that is not a device cost: named options with the spec's default and a source tag (spec §D.12,
 * DESIGN.md "Configuration"). Device and platform costs (VM exit/entry, IPI, driver switch and
 * re-initialisation, interrupt entry, copy, demux, stack, TX clean, EPT walk) live in the hardware
 * cost table (`machine.costs`, cycles) and are read from there.
 *
 * Sources: `[PAPER]` the seed paper; `[SRC …]` the Quest code as the spec reports it; `[SPEC]` a
 * rule of `spec/quest-v-model.md`; `[ASSUMED]` no published figure — an order-of-magnitude default
 * to calibrate per experiment.
 *
 * Invariants: the zod schemas refuse unknown keys and bad values with the field path; every
 * duration is an integer number of ns and every cost an integer number of cycles.
 *
 * @module
 */
import { z } from "zod"
import { MemoryLayout } from "@qvsim/hardware"
import { Name } from "./Vocabulary.ts"

/** An integer field ≥ `min` (and ≤ `max`). */
export const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number("must be a number").int("must be an integer").min(min, `must be ≥ ${min}`).max(max, `must be ≤ ${max}`)

/** A sandbox index field: 0 .. the machine model's largest (63). */
export const sandboxIndex = () => int(0, MemoryLayout.MAX_SANDBOXES - 1)
/**
 * A VCPU of each sandbox: its name (looked up in every sandbox the option applies to), or —
 * deprecated — its index in the sandbox's `vcpus` (`Legacy.upgrade` warns).
 */
export const vcpuRef = z.union([Name, int(0).meta({ deprecated: true }).describe("deprecated: the VCPU's index in each sandbox; write its name")])
export type VcpuRef = z.output<typeof vcpuRef>

/** The index of the VCPU `ref` names among `vcpus` (a name: the first with it; an index: itself, if it exists), or -1. */
export const vcpuIndexOf = (ref: VcpuRef, vcpus: ReadonlyArray<{ readonly name: string }>): number =>
  typeof ref === "number" ? (ref < vcpus.length ? ref : -1) : vcpus.findIndex((v) => v.name === ref)

/** Kernel costs and quirks. */
export const kernelSchema = z.strictObject({
  /**
   * When sleeping threads wake: `'timerInterrupt'` (default, `[SPEC §C.1 W2]`: the sleep queue is
   * processed by the LAPIC timer handler, so a wake-up waits for the next scheduler tick ≤ 1 ms)
   * or `'exact'` (idealised: a timer event at the wake time).
   */
  sleepWakeup: z.enum(["timerInterrupt", "exact"]).default("timerInterrupt"),
  /** `[ASSUMED]` Cycles of the LAPIC timer handler before the scheduler runs (0: folded into `schedOverheadNs`). */
  timerIrqCycles: int(0).default(0),
  /** System-call entry of user threads: SYSENTER 128 or INT 300 cycles `[SRC docs/NOTES]`, or none. */
  syscallEntry: z.enum(["sysenter", "int", "none"]).default("sysenter"),
  /** `[ASSUMED]` Cycles of one `read`/`write` request (an instruction and its cache access). */
  memAccessCycles: int(0).default(10),
  /** `[ASSUMED]` Fixed cycles of `fork` (process record, page tables) besides copying pages. */
  forkBaseCycles: int(0).default(30_000),
  /** `[ASSUMED]` Cycles to copy one 4 KiB page of the address space (64 lines × 16 cycles). */
  forkPageCycles: int(0).default(1_024),
  /** `[ASSUMED]` TLB misses per copied page; each costs `eptWalkExtra` more under EPT (spec §E1). */
  forkTlbMissesPerPage: int(0).default(1),
  /**
   * `[ASSUMED]` Fraction by which a handler or copy cost varies either way, uniformly, around its
   * configured value (the NIC handler's entry, demultiplexing, stack and TX-clean costs, channel
   * copies; stream `sandbox<s>/cost-jitter`). Default 0.2, range 0–0.5 (order of magnitude: the
   * same few-thousand-cycle kernel path varies by tens of per cent with cache and branch-predictor
   * state on measured x86 interrupt paths). 0: every cost exactly its constant.
   */
  costJitter: z.number("must be a number").min(0, "must be ≥ 0").max(1, "must be ≤ 1").default(0.2),
  /**
   * `[ASSUMED]` Probability that one page a network or channel path touches misses the TLB; under
   * EPT each miss costs `costs.eptWalkExtra` more (stream `sandbox<s>/tlb`). Default 0.1, range
   * 0–0.5 (order of magnitude: the 8169's 256 RX buffers span 128 pages plus the descriptor page,
   * against Nehalem's 64-entry DTLB and 512-entry STLB: an idle machine keeps most of them, a
   * loaded one evicts them; no measurement on Quest-V). 0: the paths pay no walk.
   */
  tlbMissRate: z.number("must be a number").min(0, "must be ≥ 0").max(1, "must be ≤ 1").default(0.1),
  /** `[ASSUMED]` Cycles of `exit` (tearing the address space down). */
  exitCycles: int(0).default(8_000),
  /** `[ASSUMED]` Cycles of `waitpid` (reaping the child). */
  waitpidCycles: int(0).default(2_000),
  /** `[ASSUMED]` Pages of a process's address space (what `fork` copies by default). */
  processPages: int(1).default(64),
  /** Pages of each sandbox's data area (backed with bytes, so programs can read what they write), after its kernel image. */
  dataPages: int(0, 1024).default(16),
  /** Guard: consecutive zero-time requests of one thread before the run fails (a program that never computes). */
  maxZeroTimeSteps: int(1).default(100_000),
  /**
   * Simulation shortcut, not a model choice: merge a thread's consecutive CPU pieces into one event
   * where no event can come between them (a poll's copy and the next compute; a busy-poll's first
   * check and its spin). Every record keeps its time; false runs each piece as its own event (to
   * check exactly that).
   */
  mergePieces: z.boolean().default(true),
  /**
   * Check every core's scheduler at every decision (vcpu-sched `Invariants`: F1–F3, F7, F9, F10,
   * W1 and the runnable-list structure); a violation stops the run with a `SimulationError` naming
   * the time, sandbox, core, VCPU and seed (the CLI's exit 3). Default false: no cost.
   */
  checkInvariants: z.boolean().default(false),
})
export type KernelInput = z.input<typeof kernelSchema>
export type KernelOptions = z.output<typeof kernelSchema>

/** What a monitor does after an EPT violation it did not expect (no fault recovery pending). */
export const EptViolationPolicy = z.enum(["skip", "killThread", "recover"])
export type EptViolationPolicy = z.output<typeof EptViolationPolicy>

/** Monitor costs and policies (spec §D.4). */
export const monitorSchema = z.strictObject({
  /** `[ASSUMED]` Cycles the monitor spends on an EPT-violation exit besides exit and entry. */
  eptViolationCycles: int(0).default(2_000),
  /** `[ASSUMED]` Cycles the monitor spends on a hypercall besides exit and entry. */
  hypercallCycles: int(0).default(1_000),
  /**
   * After an EPT violation by a thread: `'skip'` (default: the access is dropped, the thread sees
   * `false`/-1 and goes on), `'killThread'`, or `'recover'` (the sandbox's configured recovery).
   */
  onEptViolation: EptViolationPolicy.default("skip"),
  /**
   * I/O partitioning (2013+, spec §D.4; 2015 layout, where the I/O APIC page is read-only): the
   * monitor performs a trapped I/O APIC write unless the selected register is in `ioapicDeny`.
   * Default false (the 2011 monitors have no I/O partitioning: such a write is just refused).
   */
  ioPartitioning: z.boolean().default(false),
  /** I/O APIC registers (IOREGSEL indices) this sandbox may not write (I/O partitioning). */
  ioapicDeny: z.array(int(0, 255)).default([]),
  /** `[ASSUMED]` Cycles to grant the page, single-step the write and restore read-only (I/O partitioning). */
  singleStepCycles: int(0).default(3_000),
  /** `[ASSUMED]` Cycles the monitor spends on a DMA remapping fault (read and clear the fault record, log it), besides exit and entry; as `eptViolationCycles`. */
  remappingFaultCycles: int(0).default(2_000),
})
export type MonitorInput = z.input<typeof monitorSchema>
export type MonitorOptions = z.output<typeof monitorSchema>

/** Shared NIC driver options (spec §D.7). */
export const nicSchema = z.strictObject({
  /**
   * `'faithful'` (default): the driver as coded — the recycle flag initialised once per handler
   * invocation, cursor fast-forward to the sharers' furthest cursor when a walk ends; `'ideal'`:
   * per-descriptor recycling decision, no fast-forward (every sharer gets every frame exactly once).
   */
  mode: z.enum(["faithful", "ideal"]).default("faithful"),
  /** `'late'` (default, the code: every sharer's IP layer drops others' frames) or `'early'` (paper: driver checks the header). */
  demux: z.enum(["late", "early"]).default("late"),
  /** RX protocol processing on a NET-class I/O VCPU (true) or in the interrupt handler (false, default). */
  rxInBottomHalf: z.boolean().default(false),
  /**
   * Sandboxes sharing the NIC (default: every sandbox). Any number: Quest's `MAX_NUM_SHARE` = 4
   * (`drivers/net/r8169.c`) is the size of the driver's per-sharer arrays (RX cursors, ethdevs,
   * bottom-half stacks), a compile-time constant of the software — the RTL8169 has one RX ring and
   * does not know how many sandboxes walk it — so the model does not carry it as a limit.
   */
  sharers: z.array(sandboxIndex()).optional(),
  /** The master sandbox (initialised the NIC; handles TX completions and acknowledges interrupts). Default the first sharer. */
  master: sandboxIndex().optional(),
  /**
   * Bottom halves inherit the period of this Main VCPU of each sharing sandbox, by name (default:
   * the sandbox's VCPU #2, `[SRC]`: the drivers hard-wire "VCPU #2"); a sandbox without such a
   * Main VCPU uses its first Main VCPU. An index is the old spelling (deprecated).
   */
  bottomHalfRequesterVcpu: vcpuRef.default(2),
  /**
   * `[ASSUMED]` Cycles of the RX lock's atomic acquisition (a `lock cmpxchg` on the lock word);
   * when another core held the lock last, its cache line moves too (`costs.remoteLineTransfer`).
   * Default 40, range 20–100 (order of magnitude: locked read-modify-write latency on Nehalem-class
   * cores in published instruction tables, 20–40 cycles uncontended). 0: a free lock, no line
   * transfer either.
   */
  rxLockCycles: int(0).default(40),
  /** Lag between sharers' cursors (descriptors) at which the driver warns (`[SRC r8169.c]` 200). */
  lagWarning: int(1).default(200),
})
export type NicInput = z.input<typeof nicSchema>
export type NicOptions = z.output<typeof nicSchema>

/** Channel options (spec §D.8). */
export const channelOptionsSchema = z.strictObject({
  /** Private channels: write the type word before the payload (true, faithful: a torn read is possible). */
  typeBeforePayload: z.boolean().default(true),
  /** Private channels: sender's sleep before retrying an occupied half, ns (`[SRC vm/shm.c]` 50 ms). */
  sendRetryNs: int(1).default(50_000_000),
  /** Private channels: sender's attempts (`[SRC vm/shm.c]` 20). */
  sendAttempts: int(1).default(20),
  /** Private channels: the polling thread's period, ns (`[SRC vm/shm.c]` 50 ms). */
  receiverPollNs: int(1).default(50_000_000),
  /** Private channels: the polling thread's Main VCPU `(C, T)` in ns (`[SRC vm/shm.c]` (10 ms, 1000 ms)). */
  receiverBudgetNs: int(1).default(10_000_000),
  receiverPeriodNs: int(1).default(1_000_000_000),
  /** Private channels: messages kept per channel for `recv` before the oldest is dropped. */
  inboxLimit: int(1).default(1024),
})
export type ChannelOptionsInput = z.input<typeof channelOptionsSchema>
export type ChannelOptions = z.output<typeof channelOptionsSchema>

/** The recovery phases (spec §D.9, the paper's Table 1). */
export const PhaseName = z.enum(["vmExit", "driverSwitch", "ipiRoundTrip", "vmEntry", "driverReinit", "networkReinit", "channelReinit"])
export type PhaseName = z.output<typeof PhaseName>

/** One phase of a recovery: its name and (optionally) its cycles, else the cost table's. */
export const phaseSchema = z.union([
  PhaseName,
  z.strictObject({ phase: PhaseName, cycles: int(0).optional() }),
])
export type PhaseInput = z.input<typeof phaseSchema>

/** Local recovery phases of Table 1 (driver switch, no IPI). */
export const LOCAL_PHASES: readonly PhaseName[] = ["vmExit", "driverSwitch", "vmEntry", "driverReinit", "networkReinit"]
/** Remote recovery phases of Table 1 (IPI round trip, no driver switch). */
export const REMOTE_PHASES: readonly PhaseName[] = ["vmExit", "ipiRoundTrip", "vmEntry", "driverReinit", "networkReinit"]

/** Recovery options (spec §D.9). */
export const recoverySchema = z.strictObject({
  /** Phases of a local recovery, in order (default Table 1's local column). */
  local: z.array(phaseSchema).default([...LOCAL_PHASES]),
  /** Phases of a remote recovery, in order (default Table 1's remote column). */
  remote: z.array(phaseSchema).default([...REMOTE_PHASES]),
  /**
   * `[ASSUMED]` Machine down-time of the full-reboot baseline, ns (BIOS + boot of every sandbox; the
   * paper gives no figure): every configured thread is killed at its start and restarts from its
   * beginning at its end. Default 10 s, range 3–60 s (order of magnitude: a 2010-era Xeon server's
   * firmware POST takes seconds to a minute, a Quest-V boot well under a second).
   */
  rebootNs: int(1).default(10_000_000_000),
  /**
   * `[ASSUMED]` Fraction by which each recovery phase's duration varies either way, uniformly,
   * around its configured cycles (stream `recovery/phases`; the records keep the configured cycles
   * and the drawn duration). Default 0.05, range 0–0.2 (order of magnitude: the re-initialisations
   * busy-wait on the device, `udelay` loops in r8169.c, and set up the stack; repeated runs of such
   * phases vary by a few per cent; Table 1 gives one number per phase). 0: Table 1's cycles exactly.
   */
  phaseJitter: z.number("must be a number").min(0, "must be ≥ 0").max(1, "must be ≤ 1").default(0.05),
  /** `[ASSUMED]` Cycles of the `channelReinit` phase when a phase list names it without cycles. */
  channelReinitCycles: int(0).default(100_000),
  /** The Main VCPU, by name in each recovering sandbox, of the kernel thread running the guest phases (default the first Main VCPU; an index is the old spelling, deprecated). */
  vcpu: vcpuRef.optional(),
  /**
   * Remote recovery re-targets the NIC's I/O APIC entry: `'replaceSource'` (default: the failed
   * sandbox leaves the destination mask, the target joins it) or `'targetOnly'`.
   */
  remoteReroute: z.enum(["replaceSource", "targetOnly"]).default("replaceSource"),
})
export type RecoveryInput = z.input<typeof recoverySchema>
export type RecoveryOptions = z.output<typeof recoverySchema>

/**
 * Virtualisation baseline (spec §E6): `'questv'` (default: interrupts go straight to the sandbox
 * kernels, EPT on), `'none'` (Quest without virtualisation, model §H: no EPT walk cost, monitors
 * never entered, and the sandboxes protected only by page tables their kernels control — the
 * machine's `protection: 'pageTables'`: a kernel-mode wild write or a corrupted page table is not
 * contained, a user-mode wild write is, as a page fault for its own kernel), `'hypervisor'` (every device interrupt exits to the monitor, which injects it),
 * `'xen'` (as `'hypervisor'`, and network I/O goes through a driver-domain sandbox).
 */
export const virtualizationSchema = z.strictObject({
  mode: z.enum(["questv", "none", "hypervisor", "xen"]).default("questv"),
  /** Hypervisor modes: which interrupts exit (`'device'` default, or `'all'` incl. the LAPIC timer). */
  exitOn: z.enum(["device", "all"]).default("device"),
  /** `[ASSUMED]` Cycles of the monitor's interrupt injection (besides exit and entry). */
  injectCycles: int(0).default(1_500),
  /** Xen mode: the driver-domain sandbox (it alone handles the NIC). */
  driverDomain: sandboxIndex().default(0),
  /** `[ASSUMED]` Xen mode: cycles of netback work per frame in the driver domain (bridge, grant copy set-up). */
  netbackCycles: int(0).default(6_000),
  /** `[ASSUMED]` Xen mode: cycles of netfront work per frame in the guest. */
  netfrontCycles: int(0).default(2_000),
})
export type VirtualizationInput = z.input<typeof virtualizationSchema>
export type VirtualizationOptions = z.output<typeof virtualizationSchema>
