/**
 * What `kind: "smp"` means for a system's configuration (checked by `Config.parse`, each refusal
 * naming its field path): one kernel over every core — the machine's cores all belong to sandbox 0
 * (`machine.sandboxOfCore` is filled in, and refused if it says otherwise), so there is exactly
 * one sandbox entry; no hypervisor (`virtualization.mode` `hypervisor`/`xen` refused; `questv` and
 * `none` both mean "no EPT" here: there is no guest); no inter-sandbox channels (threads share the
 * one address space; they read and write memory directly); no local or remote recovery (there is
 * no monitor to run it: only `reboot` or `none`); the data area must hold the kernel's shared
 * structures (`SharedState.layout`) and a page for programs.
 *
 * Why a system-level `kind` and not a `virtualization.mode`: SMP Quest is a different system
 * image (one kernel, shared state), not another way of virtualising sandboxes; `virtualization.
 * mode: "none"` stays what it is for Quest-V sandboxes (protection without VT-x), and the two do
 * not mix.
 *
 * @module
 */
import type { Issues } from "@qvsim/hardware"
import * as Program from "../Program.ts"
import { layout } from "./SharedState.ts"

const MS = 1_000_000

/** The machine input of an SMP system: every core in sandbox 0 (unless the input says otherwise, which `issues` refuses). */
export const machineInput = (machine: Record<string, unknown>): Record<string, unknown> => {
  if (machine["sandboxOfCore"] !== undefined) return machine
  const cores = typeof machine["cores"] === "number" && Number.isInteger(machine["cores"]) && machine["cores"] > 0 ? machine["cores"] : 4
  return { ...machine, sandboxOfCore: new Array<number>(cores).fill(0) }
}

/** The default VCPUs of an SMP kernel: the `p11` set on every core (core 0's keep their Quest-V names; core c's are suffixed `@c`). */
export const defaultVcpus = (cores: number) =>
  Array.from({ length: cores }, (_, c) => [
    ...[0, 1, 2, 3].map((i) => ({ kind: "main" as const, name: `main${i}${c === 0 ? "" : `@${c}`}`, budgetNs: 20 * MS, periodNs: 100 * MS, classMask: 0, core: c })),
    ...(["usb", "ata", "net"] as const).map((d) => ({ kind: "io" as const, name: `io-${d}${c === 0 ? "" : `@${c}`}`, budgetNs: 1 * MS, periodNs: 10 * MS, classMask: Program.DeviceClass[d], core: c })),
  ]).flat()

/** The parts of a parsed configuration the SMP checks read. */
export interface SmpCheckInput {
  readonly machine: Record<string, unknown>
  readonly virtualization: { readonly mode: string }
  readonly channels: readonly unknown[]
  readonly faults: readonly object[]
  readonly kernel: { readonly dataPages: number }
  readonly sandboxes?: readonly unknown[] | undefined
}

/** Problems of an SMP configuration, each an issue at its field path. */
export const issues = (c: SmpCheckInput, cores: number): Issues.Issue[] => {
  const out: Issues.Issue[] = []
  const soc = c.machine["sandboxOfCore"]
  if (Array.isArray(soc) && soc.some((s) => s !== 0)) out.push({ path: ["machine", "sandboxOfCore"], message: `${JSON.stringify(soc)}: SMP Quest runs one kernel on every core (leave it out, or all 0)` })
  if (c.sandboxes !== undefined && c.sandboxes.length !== 1) out.push({ path: ["sandboxes"], message: `${c.sandboxes.length} entries; SMP Quest has one kernel (one entry, its VCPUs on cores 0..${cores - 1})` })
  if (c.virtualization.mode === "hypervisor" || c.virtualization.mode === "xen") out.push({ path: ["virtualization", "mode"], message: `"${c.virtualization.mode}": SMP Quest runs on bare hardware (no hypervisor); leave it out` })
  if (c.channels.length > 0) out.push({ path: ["channels"], message: "SMP Quest has one address space and no inter-sandbox channels; threads share memory (Program.read/write at ctx.dataBase)" })
  c.faults.forEach((fault, i) => {
    const f = fault as { readonly recovery?: string }
    if (f.recovery === "local" || f.recovery === "remote") out.push({ path: ["faults", i, "recovery"], message: `"${f.recovery}": SMP Quest has no monitor to recover a component; use "reboot" or "none"` })
  })
  const need = layout(cores).pages + 1
  if (c.kernel.dataPages < need) out.push({ path: ["kernel", "dataPages"], message: `${c.kernel.dataPages}: SMP Quest over ${cores} cores keeps ${need - 1} pages of shared kernel state there, and programs need at least one (≥ ${need})` })
  return out
}
