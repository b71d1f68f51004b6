/**
 * Resolving a validated system configuration (`Config.Declared`, in the vocabulary) into what the
 * system builds from (`Config.SystemConfig`): the machine and the scheduler options resolved by
 * hardware and vcpu-sched; sandbox names → indices (channels, hosts, faults, job steps), VCPU
 * names → indices (threads), durations → `…Ns` fields, declarative jobs → programs; and every
 * cross-field rule checked, each refusal an issue at the path the field has in the declaration.
 *
 * Invariants: `resolve` is pure (it reads the declaration, builds new records) and reports every
 * problem it finds, not only the first; a configuration it accepts builds without a config error.
 *
 * @module
 */
import { Objects } from "@qvsim/sim-core"
import { Errors, Issues, MachineConfig, MemoryLayout } from "@qvsim/hardware"
import { Options as SchedOptions } from "@qvsim/vcpu-sched"
import type { ChannelConfig } from "./Channels.ts"
import { MAX_PAYLOAD } from "./PrivateChannel.ts"
import type { Declared, HostConfig, SandboxConfig, SystemConfig, ThreadConfig, VcpuConfig } from "./Config.ts"
import type { Fault } from "./Faults.ts"
import * as Job from "./Job.ts"
import * as Options from "./Options.ts"
import type { PhaseName } from "./Options.ts"
import * as Program from "./Program.ts"
import { checkPhases, resolvePhases } from "./Recovery.ts"
import { toOptions } from "./SchedulerDecl.ts"
import * as Validate from "./Validate.ts"
import * as SmpConfig from "./smp/SmpConfig.ts"
import { DEFAULT_VCPUS, SandboxVcpu, vcpuName, type SandboxVcpu as SandboxVcpuDecl } from "./Vocabulary.ts"
import { linuxClasses } from "./LinuxConfig.ts"

/** The name of the private-channel polling thread and of its VCPU in a party sandbox (`Channels.RECEIVER`). */
const RECEIVER = "chan-rx"

/** The cycles of a recovery phase when the configuration does not give them: the machine's cost table (Table 1). */
export const defaultPhaseCycles = (name: PhaseName, channelReinitCycles: number, machine: MachineConfig.MachineConfig): number =>
  name === "channelReinit" ? channelReinitCycles : (machine.costs as Record<string, number>)[name]!

const defaultVcpus: readonly SandboxVcpuDecl[] = DEFAULT_VCPUS.map((v) => SandboxVcpu.parse(v))

const list = (names: Iterable<string>): string => [...names].join(", ")

/**
 * `decl` resolved (`machineInput`: the `machine` section as written, which the machine is built
 * from), or every issue found.
 */
export const resolve = (decl: Declared, machineInput: MachineConfig.KernelMachineInput): { config: SystemConfig } | { issues: Issues.Issue[] } => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  // The machine: the kernel does the boot (its own post-boot state or boot phase). SMP Quest: every core in sandbox 0.
  const smp = decl.kind === "smp"
  const machineIn = (smp ? SmpConfig.machineInput(machineInput as Record<string, unknown>) : machineInput) as MachineConfig.KernelMachineInput
  // Without virtualisation Quest-V's sandboxes are protected only by page tables their kernels
  // control (model §H). SMP Quest has no guests either way: its one kernel keeps the machine as it is.
  const protection = decl.virtualization.mode === "none" && !smp ? "pageTables" : "ept"
  const machineAsGiven: MachineConfig.MachineInput = { ...machineIn, protection, boot: { ...machineIn.boot, mode: "none" } }
  let machine: MachineConfig.MachineConfig | null = null
  try {
    machine = MachineConfig.parse(machineAsGiven)
  } catch (e) {
    if (!(e instanceof Errors.ConfigError)) throw e
    issues.push(...Issues.under(["machine"], e.issues))
  }
  let scheduler: SchedOptions.SchedulerOptions | null = null
  try {
    scheduler = SchedOptions.resolveOptions(toOptions(decl.scheduler))
  } catch (e) {
    issues.push(Validate.schedulerError((e as Error).message, decl.scheduler))
  }
  if (machine === null || scheduler === null) return { issues }
  const m = machine
  if (smp) {
    const problems = SmpConfig.issues({ ...decl, machine: machineInput as Record<string, unknown> }, m.cores)
    if (problems.length > 0) return { issues: [...issues, ...problems] }
  }

  // Sandboxes and their names.
  const n = MachineConfig.sandboxCount(m)
  const sandboxOfCore = m.sandboxOfCore ?? Array.from({ length: m.cores }, (_, i) => i)
  const given = decl.sandboxes ?? Array.from({ length: n }, () => undefined)
  if (given.length !== n) add(["sandboxes"], `${given.length} entries for the machine's ${n} sandboxes`)
  const names = given.slice(0, n).map((sb, s) => sb?.name ?? `sandbox${s}`)
  const indexOfName = new Map<string, number>()
  names.forEach((name, s) => {
    const first = indexOfName.get(name)
    if (first !== undefined) add(["sandboxes", s, "name"], `duplicate sandbox name ${JSON.stringify(name)} (sandboxes.${first} has it)`)
    else indexOfName.set(name, s)
  })
  /** The index of the sandbox `name` (at `path`), or -1 with an issue. */
  const sandboxAt = (name: string, path: PropertyKey[]): number => {
    const s = indexOfName.get(name)
    if (s !== undefined) return s
    add(path, `no sandbox named ${JSON.stringify(name)} (sandboxes: ${list(names)})`)
    return -1
  }

  // Channels (the sandboxes they join decide which sandbox gets a polling VCPU).
  const channels: ChannelConfig[] = decl.channels.map((ch, i) => ({ ...ch, between: [sandboxAt(ch.between[0], ["channels", i, "between", 0]), sandboxAt(ch.between[1], ["channels", i, "between", 1])] }))
  const chNames = new Map<string, number>()
  channels.forEach((ch, i) => {
    if (chNames.has(ch.name)) add(["channels", i, "name"], `duplicate channel name "${ch.name}"`)
    else chNames.set(ch.name, i)
    if (ch.kind === "private" && channels.some((o, j) => j < i && o.kind === "private" && o.between.includes(ch.between[0]) && o.between.includes(ch.between[1]))) {
      add(["channels", i, "between"], `the pair already has a private channel (one page per pair)`)
    }
  })

  const sandboxes: SandboxConfig[] = []
  for (let s = 0; s < Math.min(n, given.length); s++) {
    const g = given[s]
    const at: PropertyKey[] = ["sandboxes", s]
    const cores = sandboxOfCore.flatMap((sb, core) => (sb === s ? [core] : []))
    const party = channels.some((ch) => ch.kind === "private" && ch.between.includes(s))
    const linux = g?.kind === "linux"
    if (linux && smp) add([...at, "kind"], `"linux": an SMP system is one Quest kernel; a Linux sandbox runs beside Quest-V sandboxes (kind "questv")`)
    if (!linux && g?.linux !== undefined) add([...at, "linux"], `only a sandbox of kind "linux" has linux options`)
    const lx = linux ? linuxClasses(g, at, cores, party, m, given, add) : null
    const vcpus: VcpuConfig[] = lx !== null ? lx.vcpus : g?.vcpus === undefined && smp ? SmpConfig.defaultVcpus(cores.length) : (g?.vcpus ?? defaultVcpus).map((v, i) => {
      const devices = v.device === undefined ? [] : Array.isArray(v.device) ? v.device : [v.device]
      if (v.kind === "main" && devices.length > 0) add([...at, "vcpus", i, "device"], `only I/O VCPUs serve devices`)
      if (v.core >= cores.length) add([...at, "vcpus", i, "core"], `core ${v.core} of a sandbox with ${cores.length} core(s)`)
      const mask = devices.reduce((acc, d) => acc | Program.DeviceClass[d], 0)
      return {
        kind: v.kind, name: vcpuName(v, i), budgetNs: v.budget, periodNs: v.period, classMask: mask, core: v.core,
        ...(v.deadline !== undefined ? { deadlineNs: v.deadline } : {}), ...(v.policy !== undefined ? { policy: v.policy } : {}),
      }
    })
    // A party of a private channel gets the polling thread's own Main VCPU (spec §D.8).
    if (party && lx === null) {
      vcpus.push({ kind: "main", name: RECEIVER, budgetNs: decl.channelOptions.receiverBudgetNs, periodNs: decl.channelOptions.receiverPeriodNs, classMask: 0, core: 0 })
    }
    const vcpuIndex = new Map<string, number>()
    vcpus.forEach((v, i) => { if (!vcpuIndex.has(v.name)) vcpuIndex.set(v.name, i) })
    const threadNames = new Set<string>()
    const threads: ThreadConfig[] = (g?.threads ?? []).map((t, i) => {
      const tat = [...at, "threads", i]
      if (t.name === RECEIVER) add([...tat, "name"], `"${RECEIVER}" is the channel-polling thread's name`)
      if (threadNames.has(t.name)) add([...tat, "name"], `duplicate thread name "${t.name}"`)
      threadNames.add(t.name)
      let v: number | undefined
      if (lx !== null) {
        v = lx.classOf(t, tat)
      } else {
        for (const f of ["nice", "cpu"] as const) if (t[f] !== undefined) add([...tat, f], `only threads of a Linux sandbox (kind "linux") have ${f}; a Quest thread runs on its VCPU`)
        v = t.vcpu === undefined ? undefined : vcpuIndex.get(t.vcpu)
      }
      if (lx !== null) { /* a Linux thread's class is a Main VCPU by construction */ }
      else if (t.vcpu === undefined) add([...tat, "vcpu"], `required (the name of the Main VCPU the thread runs on; VCPUs: ${list(vcpuIndex.keys())})`)
      else if (v === undefined) add([...tat, "vcpu"], `no VCPU named ${JSON.stringify(t.vcpu)} in sandbox ${names[s]} (VCPUs: ${list(vcpuIndex.keys())})`)
      else if (vcpus[v]!.kind !== "main") add([...tat, "vcpu"], `${JSON.stringify(t.vcpu)} is an I/O VCPU; threads run on Main VCPUs (and reach I/O VCPUs with io steps)`)
      t.job?.forEach((step, k) => {
        const use = "send" in step ? { op: "send", ...step.send } : "poll" in step ? { op: "poll", ...step.poll, bytes: 0 } : undefined
        if (use === undefined) return
        const sat = [...tat, "job", k, use.op]
        const ci = chNames.get(use.channel)
        const ch = ci === undefined ? undefined : decl.channels[ci]
        if (ch === undefined) {
          add([...sat, "channel"], `no channel named ${JSON.stringify(use.channel)} (${chNames.size === 0 ? "the system has no channels" : `channels: ${list(chNames.keys())}`})`)
        } else if (!ch.between.includes(names[s]!)) {
          add([...sat, "channel"], `channel ${JSON.stringify(use.channel)} is between sandboxes ${JSON.stringify(ch.between[0])} and ${JSON.stringify(ch.between[1])}, not ${JSON.stringify(names[s])}`)
        } else {
          const limit = ch.kind === "mailbox" ? ch.bytes : MAX_PAYLOAD
          if (use.bytes > limit) add([...sat, "bytes"], `${use.bytes} bytes do not fit ${ch.kind === "mailbox" ? `mailbox ${JSON.stringify(ch.name)} (${limit} bytes)` : `a half of private channel ${JSON.stringify(ch.name)} (${limit} bytes)`}`)
        }
      })
      const a = t.arrivals
      const periodic = a === undefined ? undefined : { periodNs: a.period, offsetNs: a.offset, ...(t.deadline !== undefined ? { deadlineNs: t.deadline } : {}) }
      return {
        name: t.name,
        vcpu: v ?? -1,
        program: t.program ?? Job.compile(t.job ?? [], periodic !== undefined, t.repeat),
        ...(periodic !== undefined ? { periodic } : {}),
        startNs: t.start,
        ...(t.pages !== undefined ? { pages: t.pages } : {}),
        user: t.user,
      }
    })
    if (lx !== null) lx.finish(vcpus)
    sandboxes.push({ index: s, name: names[s]!, kind: linux ? "linux" : "quest", linux: lx?.options ?? null, cores, vcpus, threads, transmitEnabled: g?.transmitEnabled ?? true, monitor: { ...decl.monitor, ...Objects.stripUndefined(g?.monitor ?? {}) } })
  }

  // The NIC's sharers and master, the Xen driver domain (by name; the kernel's options by index).
  const xen = decl.virtualization.mode === "xen"
  const domName = decl.virtualization.driverDomain
  const dom = domName === undefined ? 0 : sandboxAt(domName, ["virtualization", "driverDomain"])
  const givenSharers = decl.nic.sharers?.map((name, i) => sandboxAt(name, ["nic", "sharers", i]))
  if (xen && givenSharers !== undefined && dom >= 0 && (givenSharers.length !== 1 || givenSharers[0] !== dom)) {
    add(["nic", "sharers"], `in the Xen baseline only the driver domain (${names[dom]}) runs the NIC driver`)
  }
  const sharers = givenSharers ?? (xen ? [dom] : Array.from({ length: n }, (_, i) => i))
  sharers.forEach((s, i) => {
    if (s >= 0 && sharers.indexOf(s) !== i) add(["nic", "sharers", i], `sandbox ${names[s]} listed twice`)
  })
  const master = decl.nic.master === undefined ? sharers[0] ?? 0 : sandboxAt(decl.nic.master, ["nic", "master"])
  if (master >= 0 && sharers.length > 0 && !sharers.includes(master)) add(["nic", "master"], `sandbox ${names[master]} is not a sharer`)
  // The bottom halves' requester VCPU by name: a sharer without it falls back to its first Main VCPU, but some sharer must have it.
  const bh = decl.nic.bottomHalfRequesterVcpu
  if (typeof bh === "string" && !sharers.some((s) => sandboxes[s]?.vcpus.some((v) => v.name === bh && v.kind === "main"))) {
    add(["nic", "bottomHalfRequesterVcpu"], `no sandbox sharing the NIC has a Main VCPU named "${bh}"`)
  }
  const { sharers: _sharers, master: _master, ...nicRest } = decl.nic
  const nic = { ...nicRest, ...(givenSharers !== undefined ? { sharers: givenSharers } : {}), ...(decl.nic.master !== undefined ? { master } : {}) }
  const virtualization = { ...decl.virtualization, driverDomain: dom }

  // Hosts.
  const hosts: HostConfig[] = decl.hosts.map((h, i) => {
    const { target, interval, floodInterval, timeout, start, ...rest } = h
    if (target !== undefined && h.targetIp !== undefined) add(["hosts", i], `give target or targetIp, not both`)
    const t = target !== undefined ? sandboxAt(target, ["hosts", i, "target"]) : -1
    // Never a silent drop: a Quest-V sandbox that does not share the NIC never sees the host's frames.
    if (t >= 0 && !xen && !smp && sandboxes[t]?.kind === "quest" && !sharers.includes(t)) {
      add(["hosts", i, "target"], `${names[t]} does not share the NIC (nic.sharers: [${sharers.map((x) => names[x]).join(", ")}]), so it would receive none of this host's frames`)
    }
    return {
      ...rest,
      ...(target !== undefined ? { target: t } : {}),
      ...(interval !== undefined ? { intervalNs: interval } : {}),
      ...(floodInterval !== undefined ? { floodIntervalNs: floodInterval } : {}),
      ...(timeout !== undefined ? { timeoutNs: timeout } : {}),
      ...(start !== undefined ? { startNs: start } : {}),
    }
  })
  const hostNames = decl.hosts.map((h, j) => h.name ?? `pinger${j}`)

  // Faults.
  const faults: Fault[] = decl.faults.map((f, i) => {
    const at = ["faults", i]
    const sandbox = sandboxAt(f.sandbox, [...at, "sandbox"])
    if ((f.at === undefined) === (f.afterReplies === undefined)) add(at, `give exactly one of at and afterReplies`)
    if (f.afterReplies !== undefined && !hostNames.includes(f.afterReplies.host)) add([...at, "afterReplies", "host"], `no ping host named "${f.afterReplies.host}"`)
    const target = "target" in f && f.target !== undefined ? sandboxAt(f.target, [...at, "target"]) : undefined
    if (target !== undefined && target >= 0) {
      if (target === sandbox) add([...at, "target"], `the target of a remote recovery must be another sandbox`)
      if (!("recovery" in f) || f.recovery !== "remote") add([...at, "target"], `only a remote recovery has a target`)
    }
    if ("recovery" in f && (f.recovery === "local" || f.recovery === "remote") && sandbox >= 0) {
      const rv = decl.recovery.vcpu
      // A rogue DMA's recovery is the device owner's (the NIC master's monitor gets the remapping fault).
      const local = f.kind === "rogueDma" ? master : sandbox
      const recovering = f.recovery === "local" ? [local] : target !== undefined ? [target] : sandboxes.map((sb) => sb.index).filter((x) => x !== sandbox)
      for (const r of recovering) {
        const sb = sandboxes[r]
        if (sb === undefined) continue
        const v = rv === undefined ? sb.vcpus.find((x) => x.kind === "main") : sb.vcpus[Options.vcpuIndexOf(rv, sb.vcpus)]
        if (v === undefined || v.kind !== "main") add(["recovery", "vcpu"], `sandbox ${sb.name} has no Main VCPU ${typeof rv === "string" ? JSON.stringify(rv) : rv ?? ""} to run the guest phases of fault ${i}`)
      }
    }
    let into: Record<string, unknown> | undefined
    if (f.kind === "rogueDma" || f.kind === "corruptPageTable") {
      const t = f.into
      into = "sandbox" in t ? { ...t, sandbox: sandboxAt(t.sandbox, [...at, "into", "sandbox"]) }
        : "monitor" in t ? { ...t, monitor: sandboxAt(t.monitor, [...at, "into", "monitor"]) }
        : t
    }
    if (f.kind === "corruptPageTable" && sandbox >= 0) {
      const layout = new MemoryLayout.MemoryLayout(m.layout, n)
      const sl = layout.slices[sandbox]!
      const end = sl.base + sl.bytes - layout.eptAreaBytes
      const first = Math.floor(f.page / 4096) * 4096
      if (first < sl.base || first + f.pages * 4096 > end) add([...at, "page"], `pages [${first}, ${first + f.pages * 4096}) are not all in sandbox ${f.sandbox}'s own memory [${sl.base}, ${end})`)
      const t = f.into
      if ("gpa" in t && Math.floor(t.gpa / 4096) + f.pages > 2 ** 20) add([...at, "into", "gpa"], `${f.pages} pages from ${t.gpa} end past the 32-bit space (4 GiB)`)
    }
    if (f.kind === "rogueDma") {
      if (f.recovery === "remote") add([...at, "recovery"], `a rogue DMA is recovered by the device owner's monitor: 'none', 'local' or 'reboot'`)
      if (sharers.length === 0) add([...at, "sandbox"], `no sandbox runs the NIC driver (nic.sharers is empty)`)
      else if (sandbox >= 0 && !sharers.includes(sandbox)) add([...at, "sandbox"], `sandbox ${f.sandbox} does not run the NIC driver (sharers: ${list(sharers.filter((x) => x >= 0).map((x) => names[x]!))})`)
    }
    if (f.kind === "killThread" && sandbox >= 0 && sandboxes[sandbox] !== undefined && !sandboxes[sandbox].threads.some((t) => t.name === f.thread)) {
      add([...at, "thread"], `sandbox ${f.sandbox} has no thread "${f.thread}"`)
    }
    // The kernel's record: `…Ns` durations, sandbox indices.
    const { at: atNs, sandbox: _s, ...rest } = f
    const out: Record<string, unknown> = { ...rest, sandbox, ...(atNs !== undefined ? { atNs } : {}) }
    if (target !== undefined) out["target"] = target
    if (into !== undefined) out["into"] = into
    if ("detectAfter" in out) {
      out["detectAfterNs"] = out["detectAfter"]
      delete out["detectAfter"]
    }
    if (f.kind === "wildWrite" || f.kind === "corruptDriver") {
      out["writes"] = f.writes.map((w, j) => {
        if ("channel" in w && !chNames.has(w.channel)) add([...at, "writes", j, "channel"], `no channel named "${w.channel}"`)
        return "sandbox" in w ? { ...w, sandbox: sandboxAt(w.sandbox, [...at, "writes", j, "sandbox"]) } : w
      })
    }
    return out as Fault
  })

  for (const mode of ["local", "remote"] as const) {
    const phases = resolvePhases(decl.recovery[mode], (name) => defaultPhaseCycles(name, decl.recovery.channelReinitCycles, m))
    const problem = checkPhases(mode, phases)
    if (problem !== null) issues.push(problem)
  }
  issues.push(
    ...Validate.hosts(hosts, m),
    ...Validate.timeRange({ ...decl, machine: undefined }, m.cpuHz),
    ...Validate.writes(faults, m),
    ...Validate.vcpuNames(sandboxes),
  )
  if (issues.length > 0) return { issues }
  const { sandboxes: _s, machine: _m, scheduler: _sc, hosts: _h, channels: _c, faults: _f, nic: _n, virtualization: _v, ...rest } = decl
  return { config: { ...rest, machine: m, machineInput: machineAsGiven, scheduler, sandboxes, hosts, channels, faults, nic, virtualization, nicSharers: sharers, nicMaster: master } }
}
