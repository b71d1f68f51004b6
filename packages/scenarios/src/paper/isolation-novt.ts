/**
 * The `isolation` experiment's `faulty-no-vt` variant (model §H, protection without
 * virtualisation): the same driver fault as `faulty`, in Quest without hardware virtualisation
 * (`virtualization.mode: 'none'`), where the sandboxes are protected only by page tables their own
 * kernels control. The web page: a multikernel can be built this way, "but this has implications
 * for the extent to which one kernel is isolated from another".
 *
 * What the variant adds to `faulty`'s fault (which stays: the driver's kernel-mode wild writes into
 * sandbox 0's mailbox, its own data and sandboxes 1–3's kernel memory):
 * - no monitor, so no trap and no trigger: nothing recovers the driver;
 * - at the fault, sandbox 0's page-table entry for its data page 1 is corrupted to point at a page
 *   of sandbox 2's memory (2 MiB into its slice);
 * - a user thread of sandbox 0 (`app`, on Main VCPU 1), 2 ms after the fault, makes a user-mode
 *   wild write into sandbox 3's memory (2 MiB into its slice), then writes its own data page 1.
 *
 * What the sources say should happen, and the claim checks: the kernel-mode writes land in
 * sandboxes 1–3 (nothing checks kernel mode), the write through the corrupted page table lands in
 * sandbox 2, the user-mode wild write is refused by sandbox 0's own page table (a page fault for
 * its kernel, no exit) and sandbox 3's page is untouched.
 *
 * @module
 */
import { MemoryLayout, PhysicalMemory } from "@qvsim/hardware"
import { Program, type Config, type System } from "@qvsim/sandbox-kernel"
import type { Claim } from "./Experiment.ts"

const MiB = 1 << 20
const PAGE = PhysicalMemory.PAGE_BYTES
export const NOVT_VARIANT = "faulty-no-vt"
/** Where the user-mode wild write aims (sandbox 3) and where the corrupted entry points (sandbox 2). */
const USER_TARGET = { sandbox: 3, offset: 2 * MiB }
const TABLE_TARGET = { sandbox: 2, offset: 2 * MiB }
/** The user thread acts this long after the fault. */
const APP_DELAY_NS = 2_000_000

/** The experiment's machine: the default layout, four sandboxes. */
const sliceBase = (s: number): number => new MemoryLayout.MemoryLayout({}, 4).slices[s]!.base

/**
 * The `faulty` variant's input made Quest without virtualisation, with the page-table fault and
 * sandbox 0's user thread (after the fault: a user-mode wild write, then a write to its own —
 * corrupted — data page 1).
 */
export const withoutVirtualisation = (faulty: Config.SystemInput, atNs: number): Config.SystemInput => {
  const dataPage1 = sliceBase(0) + 1 * MiB + PAGE
  const userTarget = sliceBase(USER_TARGET.sandbox) + USER_TARGET.offset
  const program: Program.Program = function* () {
    yield Program.sleepUntil(atNs + APP_DELAY_NS)
    yield Program.write(userTarget, 0xdead)
    yield Program.write(dataPage1, 0xbeef)
  }
  const sandboxes = (faulty.sandboxes ?? []).map((sb, s) =>
    s === 0 ? { ...sb, threads: [...(sb.threads ?? []), { name: "app", vcpu: "main1", program, user: true }] } : sb)
  return {
    ...faulty,
    virtualization: { mode: "none" },
    sandboxes,
    faults: [
      ...(faulty.faults ?? []).filter((f) => f.kind === "corruptDriver"),
      { kind: "corruptPageTable", at: atNs, sandbox: "sandbox0", page: dataPage1, into: { sandbox: `sandbox${TABLE_TARGET.sandbox}`, offset: TABLE_TARGET.offset } },
    ],
  }
}

/** What the no-VT figures are: page faults per sandbox, and the content hashes of the two target pages. */
export interface ProtectionFigures {
  readonly pageFaults: readonly number[]
  readonly userTargetHash: string
  readonly tableTargetHash: string
}

export const protectionFigures = (sys: System.System): ProtectionFigures => {
  const m = sys.machine
  const frame = (t: { sandbox: number; offset: number }) => (m.layout.slices[t.sandbox]!.base + t.offset) / PAGE
  return {
    pageFaults: sys.sandboxes.map((_, s) => m.coresOf(s).reduce((a, c) => a + m.cores[c]!.pageFaults, 0)),
    userTargetHash: m.memory.frameHash(frame(USER_TARGET)),
    tableTargetHash: m.memory.frameHash(frame(TABLE_TARGET)),
  }
}

/** The figures of a run this claim reads. */
export interface NoVtRun {
  readonly variant: string
  readonly writes: ReadonlyArray<{ readonly target: string; readonly ok: boolean }>
  readonly sliceDigests: readonly string[]
  readonly vmExits: readonly number[]
  readonly protection?: ProtectionFigures | undefined
}

export const noVtClaim = (clean: NoVtRun, noVt: NoVtRun): Claim => {
  const none: ProtectionFigures = { pageFaults: [], userTargetHash: "", tableTargetHash: "" }
  const pc = clean.protection ?? none, pn = noVt.protection ?? none
  const others = noVt.writes.filter((w) => /^sandbox [123] memory$/.test(w.target))
  const landed = others.filter((w) => w.ok).length
  const changed = [1, 2, 3].filter((s) => clean.sliceDigests[s] !== noVt.sliceDigests[s])
  const exits = noVt.vmExits.reduce((a, b) => a + b, 0)
  const tableLanded = pn.tableTargetHash !== pc.tableTargetHash
  const userContained = pn.userTargetHash === pc.userTargetHash && pn.pageFaults[0] === 1
  return {
    text: "without hardware virtualisation (sandboxes protected only by page tables their kernels control) the faulty driver's kernel-mode writes and a corrupted page table are not contained; a user-mode wild write still is",
    holds: others.length > 0 && landed === others.length && changed.length === 3 && exits === 0 && tableLanded && userContained,
    detail: `variant ${noVt.variant}: ${landed} of ${others.length} kernel-mode writes into sandboxes 1–3 landed, their memory differs from the fault-free run for [${changed.join(", ")}], VM exits ${exits} (no monitor to trap to); sandbox 0's user write through its corrupted page-table entry ${tableLanded ? "landed in" : "did not reach"} sandbox 2's memory; its user-mode wild write into sandbox 3 ${userContained ? "was refused" : "was not refused"} (page faults in sandbox 0: ${pn.pageFaults[0]}, sandbox 3's page ${pn.userTargetHash === pc.userTargetHash ? "unchanged" : "changed"})`,
  }
}
