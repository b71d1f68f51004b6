/**
 * Cross-field checks of a system configuration that zod's per-field schemas cannot express, run
 * by `Config.parse` so that every mistake in an input is refused at load time with the field path
 * and the offending value, never found later inside the run (an "internal error" or an invariant
 * failure at simulated time t):
 *
 * - `scheduler`: vcpu-sched's refusal of a value, at the option's path;
 * - `hosts`: each ping host validated as hardware's `PingHost` would (bad values), names unique,
 *   and no host sending faster than the wire can carry its frames (else frames queue without
 *   bound and exhaust the frame store);
 * - durations of the options (`…Ns`) and cycle counts (`…Cycles`, at the machine's clock) within the time range
 *   (`Time.MAX_INPUT_NS`), so no event can be scheduled beyond `Time.MAX_TIME`;
 * - wild writes inside the 32-bit guest-physical space;
 * - VCPU names unique in their sandbox (metrics and schedules are keyed by them).
 *
 * Each function returns `{path, message}` issues (paths relative to the system configuration).
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Frame, Issues, MachineConfig, MemoryLayout, PingHost, Wire } from "@qvsim/hardware"

/**
 * vcpu-sched's `OptionsError` (`vcpu-sched option quantumNs=0: expected …`) as an issue at
 * `scheduler.<name>`, under the spelling the section used (`quantum` or `quantumNs`).
 */
export const schedulerError = (message: string, given: Readonly<Record<string, unknown>> = {}): Issues.Issue => {
  const m = /^vcpu-sched option ([A-Za-z0-9]+)=(.*?): (.*)$/.exec(message)
  if (m === null) return { path: ["scheduler"], message }
  const name = m[1]!
  const short = name.endsWith("Ns") ? name.slice(0, -2) : name
  return { path: ["scheduler", given[short] !== undefined ? short : name], message: `${m[3]} (got ${m[2]})` }
}

/** Bytes of a ping host's echo request frame. */
const frameBytes = (payloadBytes: number): number => Frame.ETH_HEADER + Frame.IPV4_HEADER + Frame.ICMP_HEADER + payloadBytes

/** The ping hosts: as hardware would parse them, unique names, rates the wire can carry. */
export const hosts = (given: ReadonlyArray<Record<string, unknown>>, machine: MachineConfig.MachineConfig): Issues.Issue[] => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  const names = new Map<string, number>()
  let nicShare = 0
  const nicBps = machine.wire.linkBps
  given.forEach((h, i) => {
    const at = ["hosts", i]
    const { kind: _kind, target: _target, ...rest } = h
    const r = PingHost.schema.safeParse({ name: `pinger${i}`, ...rest }, Issues.parseOptions)
    if (!r.success) {
      issues.push(...Issues.flatten(r.error.issues, at))
      return
    }
    const host = r.data
    const first = names.get(host.name)
    if (first !== undefined) add([...at, "name"], `duplicate host name ${JSON.stringify(host.name)} (hosts.${first} has it)`)
    else names.set(host.name, i)
    // A host cannot send faster than its link (or the NIC's port) carries its frames.
    const bytes = frameBytes(host.payloadBytes)
    const field = host.mode === "flood" ? "floodInterval" : "interval"
    const intervalNs = host.mode === "flood" ? host.floodIntervalNs : host.intervalNs
    const ownNs = Wire.wireTimeNs(bytes, host.linkBps ?? nicBps)
    const nicNs = Wire.wireTimeNs(bytes, nicBps)
    if (intervalNs < Math.max(ownNs, nicNs)) {
      add([...at, field], `${intervalNs} ns is shorter than one ${bytes}-byte frame on the wire (${Math.max(ownNs, nicNs)} ns): frames would queue without bound`)
    }
    nicShare += nicNs / intervalNs
  })
  if (nicShare > 1 && issues.length === 0) {
    add(["hosts"], `together the ping hosts send ${(nicShare * 100).toFixed(0)}% of what the NIC's link carries: frames would queue without bound (lengthen their intervals)`)
  }
  return issues
}

/**
 * Every `…Ns` number (and array of numbers) and every `…Cycles` number of a parsed configuration
 * within the time range. `skip` names subtrees checked elsewhere (the machine: hardware's own).
 */
export const timeRange = (value: unknown, cpuHz: number, prefix: PropertyKey[] = []): Issues.Issue[] => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  const visit = (v: unknown, path: PropertyKey[], key: string): void => {
    if (typeof v === "number") {
      // Infinity is a documented "never" for some options (maxTimerIntervalNs).
      if (key.endsWith("Ns") && v > Time.MAX_INPUT_NS && v !== Infinity) add(path, Time.tooLong(v))
      if (key.endsWith("Cycles") && v > 0 && Number.isFinite(v) && (v / cpuHz) * 1e9 > Time.MAX_INPUT_NS) {
        add(path, `${v} cycles at ${cpuHz} Hz are beyond the time range (at most 2^50 ns ≈ 13 days)`)
      }
      return
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, [...path, i], typeof x === "number" ? key : ""))
      return
    }
    if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) visit(x, [...path, k], k)
    }
  }
  visit(value, prefix, "")
  return issues
}

interface WriteLike { readonly gpa?: number; readonly sandbox?: number; readonly offset?: number; readonly bytes?: number }

/** Wild writes (of `wildWrite` and `corruptDriver` faults) inside the 32-bit guest-physical space. */
export const writes = (faults: ReadonlyArray<object>, machine: MachineConfig.MachineConfig): Issues.Issue[] => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  const n = MachineConfig.sandboxCount(machine)
  const layout = new MemoryLayout.MemoryLayout(machine.layout, n)
  faults.forEach((f, i) => (f as { readonly writes?: ReadonlyArray<unknown> }).writes?.forEach((raw, j) => {
    const w = raw as WriteLike
    const bytes = w.bytes ?? 0
    const at = ["faults", i, "writes", j]
    if (w.gpa !== undefined && w.gpa + bytes > 2 ** 32) {
      add([...at, "bytes"], `${bytes} bytes at gpa ${w.gpa} end past the 32-bit guest-physical space (4 GiB)`)
    }
    if (w.sandbox !== undefined && w.offset !== undefined && w.sandbox >= 0 && w.sandbox < n) {
      const base = layout.slices[w.sandbox]!.base
      if (base + w.offset + bytes > 2 ** 32) {
        add([...at, "offset"], `${bytes} bytes at offset ${w.offset} of sandbox ${w.sandbox}'s slice (base ${base}) end past the 32-bit guest-physical space (4 GiB)`)
      }
    }
  }))
  return issues
}

/** VCPU names unique within each sandbox. */
export const vcpuNames = (sandboxes: ReadonlyArray<{ readonly vcpus?: ReadonlyArray<{ readonly name?: string | undefined }> | undefined }>): Issues.Issue[] => {
  const issues: Issues.Issue[] = []
  const add = (path: PropertyKey[], message: string): void => {
    issues.push({ path, message })
  }
  sandboxes.forEach((sb, s) => {
    const seen = new Map<string, number>()
    sb.vcpus?.forEach((v, i) => {
      if (v.name === undefined) return
      const first = seen.get(v.name)
      if (first !== undefined) add(["sandboxes", s, "vcpus", i, "name"], `duplicate VCPU name ${JSON.stringify(v.name)} (vcpus.${first} has it)`)
      else seen.set(v.name, i)
    })
  })
  return issues
}
