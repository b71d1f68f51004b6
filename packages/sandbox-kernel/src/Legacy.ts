/**
 * The old spellings of a system configuration, still accepted (deprecated): {@link upgrade}
 * rewrites them into the vocabulary (`Vocabulary.ts`) before validation, and says where.
 *
 * | old (deprecated)                                   | now                                                      |
 * |----------------------------------------------------|----------------------------------------------------------|
 * | VCPU `budgetNs`, `periodNs`, `deadlineNs` (integer ns) | `budget`, `period`, `deadline` (durations: `"2ms"` or integer ns) |
 * | thread `vcpu: 1` (an index)                         | `vcpu: "main1"` (the VCPU's name)                         |
 * | thread `periodic: {periodNs, offsetNs, deadlineNs}` | `arrivals: {kind: "periodic", period, offset}`, `deadline` |
 * | thread `startNs`                                    | `start`                                                   |
 * | thread `job: {steps, every, offset, deadline, repeat}` | `job: [steps]`, `arrivals`, `deadline`, `repeat`      |
 * | host `target: 0`, channel `between: [0, 1]`, fault `sandbox`/`target`/`into.sandbox`/`into.monitor`, write `sandbox`, `nic.sharers`, `nic.master`, `virtualization.driverDomain` (indices) | sandbox names (`"sandbox0"`, or the sandbox's `name`) |
 * | host `intervalNs`, `floodIntervalNs`, `timeoutNs`, `startNs` | `interval`, `floodInterval`, `timeout`, `start`  |
 * | fault `atNs`, `detectAfterNs`                        | `at`, `detectAfter`                                       |
 * | `recovery.vcpu: 0`, `nic.bottomHalfRequesterVcpu: 2` (an index in every sandbox) | the VCPU's name (`"main0"`), looked up in each sandbox |
 *
 * The last row is kept as written (an index still means the index in each sandbox, whose VCPUs
 * may be named differently): only the warning, which names the VCPU the index stands for.
 *
 * `scheduler.maxTimerIntervalNs: Infinity` (vcpu-sched's own "off", TypeScript only) is read as
 * `"none"`, without a deprecation.
 *
 * Invariants: input in the vocabulary comes back unchanged (the same object); the rewrite never
 * mutates its input; a value is carried over as it is (integer ns are durations), so an invalid
 * old value is refused by the vocabulary's schema, at the path the user wrote (`renames` maps a
 * new path back, {@link original}). An index that names nothing is an issue here.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { Issues } from "@qvsim/hardware"
import { DEFAULT_VCPUS, vcpuName } from "./Vocabulary.ts"

/** An old spelling found at `path`: `key` names its kind, `message` says what to write instead. */
export interface Deprecation {
  readonly path: ReadonlyArray<PropertyKey>
  readonly key: string
  readonly message: string
}

/** A field moved by the rewrite: found at `from` in the result, written at `to` by the user. */
export interface Rename {
  readonly from: ReadonlyArray<PropertyKey>
  readonly to: ReadonlyArray<PropertyKey>
}

export interface Upgraded {
  readonly input: unknown
  readonly deprecations: Deprecation[]
  readonly renames: Rename[]
  readonly issues: Issues.Issue[]
}

type Obj = Record<string, unknown>
const isObj = (x: unknown): x is Obj => x !== null && typeof x === "object" && !Array.isArray(x)
const isIndex = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0
const RECEIVER = "chan-rx"

/** `"20ms"` for 20000000 (when it is a valid duration), else the value as JSON. */
const asDuration = (v: unknown): string => (isIndex(v) ? JSON.stringify(Time.formatDuration(v)) : JSON.stringify(v) ?? String(v))

class Rewrite {
  readonly deprecations: Deprecation[] = []
  readonly renames: Rename[] = []
  readonly issues: Issues.Issue[] = []

  deprecated(path: PropertyKey[], key: string, message: string): void {
    this.deprecations.push({ path, key, message })
  }

  moved(from: PropertyKey[], to: PropertyKey[]): void {
    this.renames.push({ from, to })
  }

  /** `o` with the duration key `old` (integer ns) renamed to `now`; `at` is `o`'s path. */
  rename(o: Obj, old: string, now: string, at: PropertyKey[]): Obj {
    if (!(old in o)) return o
    if (now in o) {
      // Refused here, once: the old key is left out of what is validated (not also "unknown key").
      this.issues.push({ path: [...at, old], message: `give ${now} or ${old} (deprecated), not both` })
      const { [old]: _dropped, ...rest } = o
      return rest
    }
    const { [old]: value, ...rest } = o
    this.deprecated([...at, old], old, `write ${now}: ${asDuration(value)} (a duration with units, or integer ns)`)
    this.moved([...at, now], [...at, old])
    return { ...rest, [now]: value }
  }

  /** A sandbox reference given as an index → the sandbox's name. */
  sandbox(value: unknown, names: (i: number) => string, at: PropertyKey[]): unknown {
    if (!isIndex(value)) return value
    const name = names(value)
    const key = at[at.length - 1]
    this.deprecated(at, "sandbox index", `write ${typeof key === "string" ? `${key}: ` : ""}${JSON.stringify(name)} (the sandbox's name) instead of ${value}`)
    return name
  }
}

/** The sandboxes that are parties of a private channel, as written (indices or names). */
const privateParties = (channels: unknown): unknown[] =>
  Array.isArray(channels) ? channels.flatMap((c) => (isObj(c) && c["kind"] === "private" && Array.isArray(c["between"]) ? c["between"] : [])) : []

/** A thread in the vocabulary (`vcpus`: the names of its sandbox's VCPUs, by index). */
const thread = (t: Obj, vcpus: readonly string[], at: PropertyKey[], r: Rewrite): Obj => {
  let out = r.rename(t, "startNs", "start", at)
  const v = out["vcpu"]
  if (isIndex(v)) {
    const name = vcpus[v]
    if (name === undefined) r.issues.push({ path: [...at, "vcpu"], message: `VCPU ${v} does not exist (the sandbox has ${vcpus.length})` })
    else {
      r.deprecated([...at, "vcpu"], "VCPU index", `write vcpu: ${JSON.stringify(name)} (the VCPU's name) instead of ${v}`)
      out = { ...out, vcpu: name }
    }
  }
  const job = out["job"]
  if (isObj(job)) {
    const { steps, every, offset, deadline, repeat, ...rest } = job
    const unknown = Object.keys(rest)
    if (unknown.length > 0) {
      for (const k of unknown) r.issues.push({ path: [...at, "job"], message: Issues.unknownKey(k, ["steps", "every", "offset", "deadline", "repeat"]) })
      return out
    }
    if (every !== undefined && out["periodic"] !== undefined) {
      r.issues.push({ path: [...at, "job", "every"], message: "give job.every or periodic, not both" })
      return out
    }
    const fields: Obj = { ...(steps !== undefined ? { job: steps } : {}), ...(repeat !== undefined ? { repeat } : {}) }
    r.moved([...at, "job"], [...at, "job", "steps"])
    r.moved([...at, "repeat"], [...at, "job", "repeat"])
    if (every !== undefined) {
      fields["arrivals"] = { kind: "periodic", period: every, ...(offset !== undefined ? { offset } : {}) }
      if (deadline !== undefined) fields["deadline"] = deadline
      r.moved([...at, "arrivals", "period"], [...at, "job", "every"])
      r.moved([...at, "arrivals", "offset"], [...at, "job", "offset"])
      r.moved([...at, "deadline"], [...at, "job", "deadline"])
    }
    const { job: _job, ...others } = out
    out = { ...others, ...fields }
    r.deprecated([...at, "job"], "job object", `write job: [steps]${every !== undefined ? `, arrivals: {kind: "periodic", period: ${asDuration(every)}}` : ""} (the steps as a list, releases in arrivals) instead of job: {steps, every, ...}`)
  }
  const periodic = out["periodic"]
  if (periodic !== undefined) {
    if (out["arrivals"] !== undefined) {
      r.issues.push({ path: [...at, "periodic"], message: "give arrivals or periodic (deprecated), not both" })
      return out
    }
    const { periodic: _p, ...others } = out
    r.moved([...at, "arrivals"], [...at, "periodic"])
    if (!isObj(periodic)) return { ...others, arrivals: periodic }
    const { periodNs, offsetNs, deadlineNs, ...unknown } = periodic
    r.moved([...at, "arrivals", "period"], [...at, "periodic", "periodNs"])
    r.moved([...at, "arrivals", "offset"], [...at, "periodic", "offsetNs"])
    r.moved([...at, "deadline"], [...at, "periodic", "deadlineNs"])
    r.deprecated([...at, "periodic"], "periodic", `write arrivals: {kind: "periodic", period: ${asDuration(periodNs)}}${deadlineNs !== undefined ? `, deadline: ${asDuration(deadlineNs)}` : ""} instead of periodic: {periodNs, ...}`)
    out = {
      ...others,
      arrivals: { kind: "periodic", ...(periodNs !== undefined ? { period: periodNs } : {}), ...(offsetNs !== undefined ? { offset: offsetNs } : {}), ...unknown },
      ...(deadlineNs !== undefined ? { deadline: deadlineNs } : {}),
    }
  }
  return out
}

/** The names of a sandbox's VCPUs by index, as declared (with the channel poller's, if it gets one). */
const vcpuNames = (sb: Obj, poller: boolean): string[] => {
  const given = Array.isArray(sb["vcpus"]) ? (sb["vcpus"] as unknown[]) : DEFAULT_VCPUS
  const names = given.map((v, i) => (isObj(v) ? vcpuName({ name: typeof v["name"] === "string" ? v["name"] : undefined, kind: typeof v["kind"] === "string" ? v["kind"] : undefined }, i) : `main${i}`))
  return poller ? [...names, RECEIVER] : names
}

const sandbox = (sb: Obj, s: number, poller: boolean, r: Rewrite): Obj => {
  const at: PropertyKey[] = ["sandboxes", s]
  let out = sb
  if (Array.isArray(sb["vcpus"])) {
    const vcpus = (sb["vcpus"] as unknown[]).map((v, i) => (isObj(v) ? VCPU_DURATIONS.reduce((o, [old, now]) => r.rename(o, old, now, [...at, "vcpus", i]), v) : v))
    if (vcpus.some((v, i) => v !== (sb["vcpus"] as unknown[])[i])) out = { ...out, vcpus }
  }
  if (Array.isArray(sb["threads"])) {
    const names = vcpuNames(sb, poller)
    const threads = (sb["threads"] as unknown[]).map((t, i) => (isObj(t) ? thread(t, names, [...at, "threads", i], r) : t))
    if (threads.some((t, i) => t !== (sb["threads"] as unknown[])[i])) out = { ...out, threads }
  }
  return out
}

export const VCPU_DURATIONS = [["budgetNs", "budget"], ["periodNs", "period"], ["deadlineNs", "deadline"]] as const
export const HOST_DURATIONS = [["intervalNs", "interval"], ["floodIntervalNs", "floodInterval"], ["timeoutNs", "timeout"], ["startNs", "start"]] as const
export const FAULT_DURATIONS = [["atNs", "at"], ["detectAfterNs", "detectAfter"]] as const

/** Maps `f` over the objects of array field `key` of `o` (the same `o` when nothing changes). */
const eachOf = (o: Obj, key: string, f: (x: Obj, i: number) => Obj): Obj => {
  const list = o[key]
  if (!Array.isArray(list)) return o
  const next = list.map((x, i) => (isObj(x) ? f(x, i) : x))
  return next.some((x, i) => x !== list[i]) ? { ...o, [key]: next } : o
}

/** Rewrites the old spellings of a system configuration into the vocabulary (see the module). */
export const upgrade = (input: unknown): Upgraded => {
  const r = new Rewrite()
  if (!isObj(input)) return { input, deprecations: [], renames: [], issues: [] }
  const given = Array.isArray(input["sandboxes"]) ? (input["sandboxes"] as unknown[]) : []
  const nameOf = (i: number): string => {
    const sb = given[i]
    return isObj(sb) && typeof sb["name"] === "string" ? sb["name"] : `sandbox${i}`
  }
  const parties = new Set(privateParties(input["channels"]).map((x) => (isIndex(x) ? nameOf(x) : x)))
  let out: Obj = eachOf(input, "sandboxes", (sb, s) => sandbox(sb, s, parties.has(nameOf(s)), r))
  // vcpu-sched's own "off" (TypeScript only: JSON has no Infinity) is the section's "none".
  const sched = out["scheduler"]
  if (isObj(sched) && sched["maxTimerIntervalNs"] === Infinity) out = { ...out, scheduler: { ...sched, maxTimerIntervalNs: "none" } }
  // The NIC's sharers and master, the Xen driver domain: sandboxes by name.
  const nic = out["nic"]
  if (isObj(nic)) {
    let o = nic
    if (Array.isArray(o["sharers"]) && o["sharers"].some(isIndex)) o = { ...o, sharers: (o["sharers"] as unknown[]).map((x, j) => r.sandbox(x, nameOf, ["nic", "sharers", j])) }
    if (isIndex(o["master"])) o = { ...o, master: r.sandbox(o["master"], nameOf, ["nic", "master"]) }
    if (o !== nic) out = { ...out, nic: o }
  }
  // A VCPU of every sandbox by index: kept (sandboxes may name it differently), with a warning.
  const vcpuIndex = (value: unknown, key: string, at: PropertyKey[]): void => {
    if (!isIndex(value)) return
    const named = [...new Set((given.length > 0 ? given : [{}]).map((sb) => (isObj(sb) ? vcpuNames(sb, false)[value] : undefined)).filter((x) => x !== undefined))]
    const instead = named.length === 1 ? JSON.stringify(named[0]) : named.length > 1 ? `the VCPU's name (index ${value} is ${named.map((x) => JSON.stringify(x)).join(" or ")})` : "a VCPU's name"
    r.deprecated(at, `VCPU index (${key})`, `write ${key}: ${instead} (the VCPU's name, looked up in each sandbox) instead of ${value}`)
  }
  const nicNow = out["nic"]
  if (isObj(nicNow)) vcpuIndex(nicNow["bottomHalfRequesterVcpu"], "bottomHalfRequesterVcpu", ["nic", "bottomHalfRequesterVcpu"])
  const recovery = out["recovery"]
  if (isObj(recovery)) vcpuIndex(recovery["vcpu"], "vcpu", ["recovery", "vcpu"])
  const virt = out["virtualization"]
  if (isObj(virt) && isIndex(virt["driverDomain"])) out = { ...out, virtualization: { ...virt, driverDomain: r.sandbox(virt["driverDomain"], nameOf, ["virtualization", "driverDomain"]) } }
  out = eachOf(out, "hosts", (h, i) => {
    const at = ["hosts", i]
    let o = HOST_DURATIONS.reduce((acc, [old, now]) => r.rename(acc, old, now, at), h)
    if (isIndex(o["target"])) o = { ...o, target: r.sandbox(o["target"], nameOf, [...at, "target"]) }
    return o
  })
  out = eachOf(out, "channels", (c, i) => {
    const between = c["between"]
    if (!Array.isArray(between) || !between.some(isIndex)) return c
    return { ...c, between: between.map((x, j) => r.sandbox(x, nameOf, ["channels", i, "between", j])) }
  })
  out = eachOf(out, "faults", (f, i) => {
    const at = ["faults", i]
    let o = FAULT_DURATIONS.reduce((acc, [old, now]) => r.rename(acc, old, now, at), f)
    for (const key of ["sandbox", "target"]) if (isIndex(o[key])) o = { ...o, [key]: r.sandbox(o[key], nameOf, [...at, key]) }
    const into = o["into"]
    if (isObj(into)) for (const key of ["sandbox", "monitor"]) if (isIndex(into[key])) o = { ...o, into: { ...into, [key]: r.sandbox(into[key], nameOf, [...at, "into", key]) } }
    return eachOf(o, "writes", (w, j) => (isIndex(w["sandbox"]) ? { ...w, sandbox: r.sandbox(w["sandbox"], nameOf, [...at, "writes", j, "sandbox"]) } : w))
  })
  return { input: out, deprecations: r.deprecations, renames: r.renames, issues: r.issues }
}

const startsWith = (path: ReadonlyArray<PropertyKey>, prefix: ReadonlyArray<PropertyKey>): boolean =>
  prefix.length <= path.length && prefix.every((k, i) => path[i] === k)

/** `path` (in the rewritten input) as the user wrote it: the longest moved prefix replaced. */
export const originalPath = (path: ReadonlyArray<PropertyKey>, renames: ReadonlyArray<Rename>, prefix: ReadonlyArray<PropertyKey> = []): PropertyKey[] => {
  let best: Rename | undefined
  for (const m of renames) {
    const from = [...prefix, ...m.from]
    if (startsWith(path, from) && (best === undefined || m.from.length > best.from.length)) best = m
  }
  if (best === undefined) return [...path]
  return [...prefix, ...best.to, ...path.slice(prefix.length + best.from.length)]
}

/** Issues of the rewritten input, at the paths the user wrote. */
export const original = (issues: ReadonlyArray<Issues.Issue>, renames: ReadonlyArray<Rename>, prefix: ReadonlyArray<PropertyKey> = []): Issues.Issue[] =>
  renames.length === 0 ? [...issues] : issues.map((i) => ({ path: originalPath(i.path, renames, prefix), message: i.message }))

/**
 * The rewrite's issues and the validation's, without the validation's at a path the rewrite
 * already refused (an index that names nothing is one problem, not also "expected a string").
 */
export const combine = (rewrite: ReadonlyArray<Issues.Issue>, validation: ReadonlyArray<Issues.Issue>): Issues.Issue[] => {
  const refused = new Set(rewrite.map((i) => Issues.formatPath(i.path)))
  return [...rewrite, ...validation.filter((i) => !refused.has(Issues.formatPath(i.path)))]
}
