/**
 * One scenario vocabulary (`Vocabulary.ts`), the old spellings still accepted (`Legacy.ts`):
 *
 * - property: a random system written in the old spellings (`systemArb`'s `toConfig`: `budgetNs`,
 *   VCPU and sandbox indices, `periodic`, `startNs`, `atNs`, `intervalNs`, vcpu-sched's `…Ns`
 *   options) and the same system written in the vocabulary by this test's own translation
 *   (durations with units, names) resolve to the same configuration and run to the same trace
 *   fingerprint; the old one reports deprecations, the new one none. Shown to catch a translation
 *   that gets one thing wrong.
 * - a deprecated field's invalid value is refused at the path the user wrote;
 * - durations refused with their value, names that name nothing refused with what exists.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Errors } from "@qvsim/hardware"
import { Config, Legacy, Program, System } from "../src/index.ts"
import { MS } from "./support.ts"
import { systemArb, toConfig } from "./systemArb.ts"

type Obj = Record<string, unknown>

/** `ns` as a duration string with the largest unit that divides it. */
const dur = (ns: number): string =>
  ns % 1_000_000_000 === 0 && ns > 0 ? `${ns / 1_000_000_000}s` : ns % 1_000_000 === 0 && ns > 0 ? `${ns / 1_000_000}ms` : ns % 1000 === 0 && ns > 0 ? `${ns / 1000}us` : `${ns}ns`

/** The default names of a sandbox's VCPUs (`p11` when it declares none, else `<kind><index>`). */
const vcpuNames = (vcpus: ReadonlyArray<Obj> | undefined): string[] =>
  vcpus === undefined ? ["main0", "main1", "main2", "main3", "io-usb", "io-ata", "io-net"] : vcpus.map((v, i) => `${String(v["kind"] ?? "main")}${i}`)

/**
 * The test's own translation of an old-spelled configuration into the vocabulary (not
 * `Legacy.upgrade`); `broken` gets one thing wrong (a thread's start in µs instead of ns).
 */
const modern = (old: Config.SystemInput, broken = false): Config.SystemInput => {
  const sb = (i: unknown): string => `sandbox${String(i)}`
  const scheduler: Obj = {}
  for (const [k, v] of Object.entries((old.scheduler ?? {}) as Obj)) {
    if (k === "maxTimerIntervalNs") scheduler["maxTimerInterval"] = v === Infinity ? "none" : dur(v as number)
    else if (["enforcementLatencyNs", "schedOverheadNs", "quantumNs", "timerTickNs"].includes(k)) scheduler[k.slice(0, -2)] = dur(v as number)
    else scheduler[k] = v
  }
  const sandboxes = (old.sandboxes ?? []).map((s) => {
    const o = s as Obj
    const vcpus = o["vcpus"] as ReadonlyArray<Obj> | undefined
    const names = vcpuNames(vcpus)
    return {
      ...(vcpus === undefined ? {} : {
        vcpus: vcpus.map(({ budgetNs, periodNs, ...rest }) => ({ ...rest, budget: dur(budgetNs as number), period: dur(periodNs as number) })),
      }),
      threads: ((o["threads"] ?? []) as ReadonlyArray<Obj>).map(({ vcpu, startNs, periodic, ...rest }) => ({
        ...rest,
        vcpu: names[vcpu as number],
        start: broken ? `${startNs as number}us` : dur(startNs as number),
        ...(periodic === undefined ? {} : { arrivals: { kind: "periodic", period: dur((periodic as Obj)["periodNs"] as number) } }),
      })),
    }
  })
  return {
    ...old,
    scheduler,
    sandboxes,
    channels: (old.channels ?? []).map((c) => ({ ...c, between: [sb(c.between[0]), sb(c.between[1])] })),
    hosts: (old.hosts ?? []).map((h) => {
      const { target, intervalNs, ...rest } = h as Obj
      return { ...rest, target: sb(target), interval: dur(intervalNs as number) } as never
    }),
    faults: (old.faults ?? []).map((f) => {
      const { sandbox, atNs, ...rest } = f as Obj
      return { ...rest, sandbox: sb(sandbox), at: dur(atNs as number) } as never
    }),
  } as unknown as Config.SystemInput
}

/** Why the two spellings differ (resolved configuration, deprecations, fingerprints), or null. */
const differ = (old: Config.SystemInput, now: Config.SystemInput): string | null => {
  const a = Config.parse(old), b = Config.parse(now)
  try {
    expect(b).toEqual(a)
  } catch {
    return "the resolved configurations differ"
  }
  if (Legacy.upgrade(now).deprecations.length > 0) return `the vocabulary reports deprecations: ${JSON.stringify(Legacy.upgrade(now).deprecations)}`
  const x = new System.System(old), y = new System.System(now)
  x.run(30 * MS)
  y.run(30 * MS)
  return x.sim.trace.fingerprint() === y.sim.trace.fingerprint() ? null : "the fingerprints differ"
}

describe("one vocabulary, the old spellings still accepted", () => {
  it("property: a system in the old spellings and in the vocabulary resolves and runs the same", () => {
    fc.assert(fc.property(systemArb, (d) => {
      const old = toConfig(d)
      expect(differ(old, modern(old))).toBeNull()
      // Every thread names its VCPU by index in the old spelling: at least that is reported.
      if ((old.sandboxes ?? []).some((s) => (s.threads ?? []).length > 0)) expect(Legacy.upgrade(old).deprecations.length).toBeGreaterThan(0)
    }), { numRuns: 25 })
  })

  it("the property catches a translation that gets one field wrong", () => {
    const r = fc.check(fc.property(systemArb, (d) => {
      const old = toConfig(d)
      return differ(old, modern(old, true)) === null
    }), { numRuns: 200, endOnFailure: true })
    expect(r.failed).toBe(true)
  })

  const issues = (input: Config.SystemInput): string[] => {
    try {
      Config.parse(input)
    } catch (e) {
      if (e instanceof Errors.ConfigError) return e.issues.map((i) => `${i.path.join(".")}: ${i.message}`)
      throw e
    }
    return []
  }
  const program: Program.Program = function* () { yield Program.compute(1) }

  it("an old field's bad value is refused at the path the user wrote, with the value", () => {
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ vcpus: [{ budgetNs: 0, periodNs: 10 }] }] })).toEqual(["sandboxes.0.vcpus.0.budgetNs: must be greater than 0 (got 0)"])
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "t", vcpu: 0, program, periodic: { periodNs: -5 } }] }] }))
      .toEqual(["sandboxes.0.threads.0.periodic.periodNs: -5 is not a non-negative integer number of ns (write e.g. \"10ms\")"])
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "t", vcpu: 9, program }] }] })).toEqual(["sandboxes.0.threads.0.vcpu: VCPU 9 does not exist (the sandbox has 7)"])
    expect(issues({ machine: { cores: 2 }, channels: [{ kind: "mailbox", name: "c", between: [0, 5] }] })).toEqual(['channels.0.between.1: no sandbox named "sandbox5" (sandboxes: sandbox0, sandbox1)'])
  })

  it("the NIC's sharers and master, the Xen driver domain: by name; indices (deprecated) resolve alike", () => {
    const old: Config.SystemInput = { machine: { cores: 3 }, nic: { sharers: [1, 2], master: 2 } }
    const now: Config.SystemInput = { machine: { cores: 3 }, nic: { sharers: ["sandbox1", "sandbox2"], master: "sandbox2" } }
    expect(Config.parse(now)).toEqual(Config.parse(old))
    expect(Config.parse(now).nicSharers).toEqual([1, 2])
    expect(Config.parse(now).nicMaster).toBe(2)
    expect(Legacy.upgrade(old).deprecations.map((d) => d.path.join("."))).toEqual(["nic.sharers.0", "nic.sharers.1", "nic.master"])
    expect(Config.parse({ machine: { cores: 2 }, virtualization: { mode: "xen", driverDomain: "sandbox1" } })).toEqual(Config.parse({ machine: { cores: 2 }, virtualization: { mode: "xen", driverDomain: 1 } }))
    expect(issues({ machine: { cores: 2 }, nic: { sharers: ["sandbox0", "sandbox7"], master: "sandbox1" } })).toEqual([
      'nic.sharers.1: no sandbox named "sandbox7" (sandboxes: sandbox0, sandbox1)',
      "nic.master: sandbox sandbox1 is not a sharer",
    ])
  })

  it("recovery.vcpu and nic.bottomHalfRequesterVcpu: VCPU names; an index (deprecated) still reads as the index, with a warning naming the VCPU", () => {
    const fault = { kind: "corruptDriver" as const, at: "10ms", sandbox: "sandbox0", detection: "eptViolation" as const, recovery: "local" as const, writes: [] }
    const old: Config.SystemInput = { machine: { cores: 2 }, recovery: { vcpu: 1 }, nic: { bottomHalfRequesterVcpu: 3 }, faults: [fault] }
    expect(Legacy.upgrade(old).deprecations.map((d) => `${d.path.join(".")}: ${d.message}`)).toEqual([
      'nic.bottomHalfRequesterVcpu: write bottomHalfRequesterVcpu: "main3" (the VCPU\'s name, looked up in each sandbox) instead of 3',
      'recovery.vcpu: write vcpu: "main1" (the VCPU\'s name, looked up in each sandbox) instead of 1',
    ])
    const now: Config.SystemInput = { machine: { cores: 2 }, recovery: { vcpu: "main1" }, nic: { bottomHalfRequesterVcpu: "main3" }, faults: [fault] }
    expect(Legacy.upgrade(now).deprecations).toEqual([])
    expect(Config.parse(now).recovery.vcpu).toBe("main1")
    // Sandboxes naming the index differently: the warning says so.
    const mixed: Config.SystemInput = { machine: { cores: 2 }, recovery: { vcpu: 0 }, sandboxes: [{ vcpus: [{ name: "a", budget: "1ms", period: "10ms" }] }, { vcpus: [{ name: "b", budget: "1ms", period: "10ms" }] }] }
    expect(Legacy.upgrade(mixed).deprecations[0]!.message).toMatch(/index 0 is "a" or "b"/)
    expect(issues({ ...now, recovery: { vcpu: "mian1" } })).toEqual(['recovery.vcpu: sandbox sandbox0 has no Main VCPU "mian1" to run the guest phases of fault 0'])
    expect(issues({ ...now, recovery: { vcpu: "io-net" } })).toEqual(['recovery.vcpu: sandbox sandbox0 has no Main VCPU "io-net" to run the guest phases of fault 0'])
  })

  it("the vocabulary: durations with units, names; a name that names nothing lists what exists", () => {
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ vcpus: [{ name: "a", budget: "2ms", period: "1ms" }] }] })).toEqual(["sandboxes.0.vcpus.0.budget: budget 2000000ns exceeds the period 1000000ns"])
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "t", vcpu: "mian0", program }] }] }))
      .toEqual(["sandboxes.0.threads.0.vcpu: no VCPU named \"mian0\" in sandbox sandbox0 (VCPUs: main0, main1, main2, main3, io-usb, io-ata, io-net)"])
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ vcpus: [{ budget: "1 ms", period: "10 parsecs" }] }] })[0]).toMatch(/^sandboxes\.0\.vcpus\.0\.period: .*"10 parsecs"/)
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ name: "web", threads: [{ name: "t", vcpu: "main0", arrivals: { kind: "periodic", period: "10ms" }, deadline: "5ms", job: [{ compute: "1ms" }] }] }] })).toEqual([])
    // Both spellings of one field: refused, naming the old one.
    expect(issues({ machine: { cores: 1 }, sandboxes: [{ vcpus: [{ budget: "1ms", budgetNs: 1_000_000, period: "10ms" } as never] }] })).toEqual(["sandboxes.0.vcpus.0.budgetNs: give budget or budgetNs (deprecated), not both"])
  })
})
