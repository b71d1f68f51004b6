/**
 * The sandbox kernel: threads as generator programs on VCPUs under the per-core scheduler wired to
 * the LAPIC timer — worked example 2 of spec §B.5 reproduced inside a sandbox, periodic jobs, I/O
 * through an I/O VCPU, fork/exit/waitpid, the sleep queue, the accounting of interrupt time, and
 * the properties F17 (monitor silence) and F22 (determinism), each shown to catch a broken variant.
 */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { Schedule as ScheduleNs } from "@qvsim/vcpu-sched"
import { Assumptions, Config, Kernel, Program, System } from "../src/index.ts"
import { MS, US, configOf, workloadArb } from "./support.ts"

describe("worked example 2 (§B.5) inside a sandbox", () => {
  for (const sleepWakeup of ["exact", "timerInterrupt"] as const) {
    it(`corrected server: SSS.....HHHHSSSS..S.SSS.....S.S (sleep wake-up ${sleepWakeup})`, () => {
      const S: Program.Program = function* () {
        yield Program.compute(3 * MS)
        yield Program.sleepUntil(8 * MS)
        yield Program.compute(10 * MS)
        yield Program.sleep(1e12)
      }
      const H: Program.Program = function* () {
        yield Program.sleepUntil(8 * MS)
        yield Program.compute(4 * MS)
        yield Program.sleep(1e12)
      }
      const sys = new System.System({
        machine: { cores: 1 },
        kernel: { syscallEntry: "none", sleepWakeup },
        recordSchedule: true,
        sandboxes: [{
          vcpus: [{ budgetNs: 4 * MS, periodNs: 10 * MS, name: "S" }, { budgetNs: 4 * MS, periodNs: 5 * MS, name: "H" }],
          threads: [{ name: "S", vcpu: 0, program: S }, { name: "H", vcpu: 1, program: H }],
        }],
      })
      sys.run(40 * MS)
      const sched = sys.schedules()[0]!
      expect(ScheduleNs.unitString(sched, MS, 31, ["S", "H"])).toBe("SSS.....HHHHSSSS..S.SSS.....S.S")
      expect(sys.metrics().sandboxes[0]!.vmExits).toBe(0)
    })
  }
})

describe("periodic threads", () => {
  it("a periodic job of 2 ms every 10 ms completes every job within its period, response = 2 ms when alone", () => {
    const sys = new System.System({
      machine: { cores: 1 },
      kernel: { sleepWakeup: "exact", syscallEntry: "none" },
      sandboxes: [{ threads: [{ name: "p", vcpu: 0, program: Program.periodicCompute(2 * MS), periodic: { periodNs: 10 * MS } }] }],
    })
    sys.run(1000 * MS)
    const t = sys.metrics().sandboxes[0]!.threads.find((x) => x.name === "p")!
    expect(t.jobsCompleted).toBe(100)
    expect(t.jobsMissed).toBe(0)
    expect(t.maxResponseNs).toBe(2 * MS)
    expect(t.cpuNs).toBe(100 * 2 * MS) // the job released at 1000 ms has not run yet
  })

  it("with the faithful sleep queue, releases wait for the next timer tick; the responses grow by at most 1 ms", () => {
    const sys = new System.System({
      machine: { cores: 1 },
      kernel: { syscallEntry: "none" },
      sandboxes: [{ threads: [{ name: "p", vcpu: 0, program: Program.periodicCompute(2 * MS), periodic: { periodNs: 10_300 * US } }] }],
    })
    sys.run(1000 * MS)
    const t = sys.metrics().sandboxes[0]!.threads.find((x) => x.name === "p")!
    expect(t.jobsCompleted).toBeGreaterThan(90)
    expect(t.maxResponseNs).toBeGreaterThan(2 * MS)
    expect(t.maxResponseNs).toBeLessThanOrEqual(3 * MS)
  })

  it("a VCPU's budget limits its thread: 20 ms of work per 100 ms at most", () => {
    const sys = new System.System({
      machine: { cores: 1 },
      kernel: { syscallEntry: "none" },
      recordSchedule: true,
      sandboxes: [{ threads: [{ name: "hog", vcpu: 0, program: function* () { yield Program.compute(1e12) } }] }],
    })
    sys.run(1000 * MS)
    const hog = sys.metrics().sandboxes[0]!.threads.find((x) => x.name === "hog")!
    expect(hog.cpuNs).toBe(200 * MS)
    expect(ScheduleNs.checkWindowBound(sys.schedules()[0]!.intervalsOf(0), 20 * MS, 100 * MS)).toBeNull()
  })
})

describe("I/O through an I/O VCPU (PIBS)", () => {
  it("the requester blocks for work + device delay; the I/O VCPU's eligibility advances by used/U (P3–P4)", () => {
    const times: number[] = []
    const prog: Program.Program = function* () {
      for (let i = 0; i < 3; i++) {
        times.push((yield Program.now()) as number)
        yield Program.io({ device: "ata", workNs: 300 * US, delayNs: 2 * MS })
      }
      times.push((yield Program.now()) as number)
      yield Program.sleep(1e12)
    }
    const sys = new System.System({
      machine: { cores: 1 },
      kernel: { syscallEntry: "none", sleepWakeup: "exact" },
      recordSchedule: true,
      sandboxes: [{ threads: [{ name: "r", vcpu: 0, program: prog }] }],
    })
    sys.run(100 * MS)
    // U = 1/10: after 300 us of work the next eligibility is 3 ms later, so requests at 2.3 and 5.3 ms wait.
    expect(times).toEqual([0, 2300 * US, 5300 * US, 8300 * US])
    const segs = sys.segments().filter((s) => s.thread >= 0)
    const svc = sys.sandbox(0).kernel.threads.find((t) => t.name === "io:io-ata")!
    expect(segs.filter((s) => s.thread === svc.tid).map((s) => [s.start, s.end])).toEqual([
      [0, 300 * US], [3000 * US, 3300 * US], [6000 * US, 6300 * US],
    ])
    expect(segs.find((s) => s.thread === svc.tid)!.vcpu).toBe(5)
  })
})

describe("fork, exit, waitpid", () => {
  it("forkwait: each iteration costs the syscalls, the copy of the address space and (under EPT) the extra walks", () => {
    const run = (mode: "questv" | "none") => {
      let code = -1
      const child: Program.Program = function* () { yield Program.exit(7) }
      const parent: Program.Program = function* () {
        for (let i = 0; i < 100; i++) {
          const pid = (yield Program.fork(child)) as number
          code = (yield Program.waitpid(pid)) as number
        }
        yield Program.sleep(1e12)
      }
      const sys = new System.System({
        machine: { cores: 1 },
        virtualization: { mode },
        scheduler: { maxTimerIntervalNs: Infinity },
        sandboxes: [{ vcpus: [{ budgetNs: 100 * MS, periodNs: 100 * MS }], threads: [{ name: "fw", vcpu: 0, program: parent }] }],
      })
      sys.run(1000 * MS)
      const threads = sys.sandbox(0).kernel.threads
      const cpu = threads.reduce((a, t) => a + t.cpuNs, 0)
      return { code, cpu, exited: threads.filter((t) => t.status === 5).length }
    }
    const v = run("questv")
    const n = run("none")
    expect(v.code).toBe(7)
    expect(v.exited).toBe(100)
    // Per iteration: fork (syscall + base + 64 pages), exit (syscall + exit), waitpid (syscall + wait), in ns at 2.13 GHz.
    const ns = (c: number) => Math.floor((2 * c * 1e9 + 2.13e9) / (2 * 2.13e9))
    const perIter = (ns(128) + ns(30_000 + 64 * 1_024)) + (ns(128) + ns(8_000)) + (ns(128) + ns(2_000))
    expect(n.cpu).toBe(100 * perIter + ns(128)) // + the final sleep's entry
    expect(v.cpu - n.cpu).toBe(100 * 64 * ns(150))
  })

  it("waitpid of a non-child returns -1; a child that exits first is reaped later", () => {
    const results: number[] = []
    const child: Program.Program = function* () { yield Program.exit(3) }
    const parent: Program.Program = function* () {
      results.push((yield Program.waitpid(99)) as number)
      const pid = (yield Program.fork(child)) as number
      yield Program.sleep(5 * MS)
      results.push((yield Program.waitpid(pid)) as number)
      yield Program.sleep(1e12)
    }
    const sys = new System.System({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "p", vcpu: 0, program: parent }] }] })
    sys.run(50 * MS)
    expect(results).toEqual([-1, 3])
  })

  it("a reaped child's entry in the thread table is a compact record with its final figures (issue 15: fork storms); a child not reaped keeps its full record", () => {
    const child = (code: number): Program.Program => function* () {
      yield Program.compute(MS)
      yield Program.exit(code)
    }
    const parent: Program.Program = function* () {
      for (let i = 0; i < 5; i++) {
        const pid = (yield Program.fork(child(10 + i))) as number
        // Children 0-1: the parent waits first (reaped at their exit); 2-3: they exit first (reaped by waitpid); 4: never reaped.
        if (i >= 2) yield Program.sleep(5 * MS)
        if (i < 4) yield Program.waitpid(pid)
      }
      yield Program.sleep(1e12)
    }
    const sys = new System.System({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "p", vcpu: 0, program: parent }] }] })
    sys.run(100 * MS)
    const k = sys.sandbox(0).kernel
    // tids 0-2: the I/O VCPUs' service threads; 3: the parent; 4-8: its children (pids 5-9).
    expect(k.threads.map((t) => t instanceof Kernel.ReapedThread)).toEqual([false, false, false, false, true, true, true, true, false])
    const full = k.threads[8] as Kernel.Thread
    expect(full.status).toBe(Kernel.ThreadStatus.Exited)
    for (let tid = 4; tid <= 7; tid++) {
      const r = k.threads[tid] as Kernel.ReapedThread
      expect([r.tid, r.name, r.pid, r.exitCode, r.status, r.cpuNs, r.pcpu]).toEqual([tid, `p#${tid + 1}`, tid + 1, 6 + tid, Kernel.ThreadStatus.Exited, full.cpuNs, full.pcpu])
    }
    // The figures a user sees are those of the full records: every child the same (same program, same costs).
    const children = sys.metrics().sandboxes[0]!.threads.slice(4)
    expect(children.map((t) => t.name)).toEqual(["p#5", "p#6", "p#7", "p#8", "p#9"])
    const { name: _n, tid: _t, ...figures } = children[4]!
    expect(figures.cpuNs).toBeGreaterThan(MS)
    for (const t of children) expect({ ...t, name: "", tid: 0 }).toEqual({ ...figures, name: "", tid: 0 })
    // A reaped child looked up by name has exited: killing it (a `killThread` fault) does nothing.
    expect(k.threadNamed("p#5")).toBe(k.threads[4])
  })
})

describe("programs that misbehave fail the run with the thread named", () => {
  it("a program that never uses time", () => {
    const sys = new System.System({ machine: { cores: 1 }, kernel: { maxZeroTimeSteps: 50 }, sandboxes: [{ threads: [{ name: "spin", vcpu: 0, program: function* () { for (;;) yield Program.now() } }] }] })
    expect(() => sys.run(10 * MS)).toThrow(/thread "spin": made 50 requests without using any time/)
  })
  const misuse = (program: unknown): Error => {
    const sys = new System.System({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "odd", vcpu: 0, program: program as Program.Program }] }] })
    try {
      sys.run(10 * MS)
    } catch (e) {
      return e as Error
    }
    throw new Error("the run did not fail")
  }
  it("a program that yields something else, or null, or throws: a ProgramError naming the thread and the time", () => {
    const odd = misuse(function* () { yield { op: 42 } as never })
    expect(odd).toBeInstanceOf(Program.ProgramError)
    expect(odd.message).toMatch(/^sandbox 0 thread "odd": yielded \{"op":42\}, which is not a request .*\(at t=\d+ns\)$/)
    expect(misuse(function* () { yield Program.compute(1000); yield null as never }).message).toMatch(/thread "odd": yielded null, which is not a request/)
    const thrown = misuse(function* () { yield Program.compute(1000); throw new TypeError("oops") })
    expect(thrown).toBeInstanceOf(Program.ProgramError)
    expect(thrown.message).toMatch(/thread "odd": its program threw: TypeError: oops/)
  })
  it("an async program is refused at construction; a forked one when it starts", () => {
    expect(() => new System.System({ machine: { cores: 1 }, sandboxes: [{ threads: [{ name: "a", vcpu: 0, program: (async function* () {}) as never }] }] }))
      .toThrow(/sandboxes\.0\.threads\.0\.program: must be a generator function \(function\*\), not an async one/)
    const forked = misuse(function* () { yield Program.fork((async function* () {}) as never) })
    expect(forked).toBeInstanceOf(Program.ProgramError)
    expect(forked.message).toMatch(/its program must be a generator function \(function\*\), not an async one/)
  })
  it("a bad configuration names the field", () => {
    expect(() => new System.System({ sandboxes: [{ threads: [{ name: "x", vcpu: 9, program: function* () {} }] }, {}, {}, {}] }))
      .toThrow(/sandboxes\.0\.threads\.0\.vcpu: VCPU 9 does not exist/)
    expect(() => new System.System({ machine: { cores: 2 }, sandboxes: [{}] })).toThrow(/sandboxes: 1 entries for the machine's 2 sandboxes/)
    expect(() => new System.System({ kernel: { syscallEntry: "fast" as never } })).toThrow(/kernel\.syscallEntry/)
    expect(() => new System.System({ machine: { nic: { rxRing: 0 } } })).toThrow(/machine\.nic\.rxRing/)
  })
})

describe("F17 monitor silence", () => {
  const exitsOf = (sys: System.System) => sys.metrics().sandboxes.reduce((a, s) => a + s.vmExits, 0)

  it("property: no VM exit in a fault-free run without hypercalls (random sandboxes and workloads)", () => {
    fc.assert(
      fc.property(workloadArb(1, 4), (w) => {
        const sys = new System.System(configOf(w)).run(150 * MS)
        return exitsOf(sys) === 0
      }),
      { numRuns: 25 },
    )
  })

  it("the property catches a monitor that takes every interrupt (hypervisor-mediated, exitOn: all)", () => {
    const broken = (w: Parameters<typeof configOf>[0]) => exitsOf(new System.System(configOf(w, { virtualization: { mode: "hypervisor", exitOn: "all" } })).run(20 * MS))
    const r = fc.check(fc.property(workloadArb(1, 2), (w) => broken(w) === 0), { numRuns: 30, endOnFailure: true })
    expect(r.failed).toBe(true)
    expect(broken(r.counterexample![0])).toBeGreaterThan(0)
  })
})

describe("F22 determinism", () => {
  const fingerprint = (sys: System.System) => sys.sim.trace.fingerprint()

  it("property: the same configuration and seed give the same trace", () => {
    fc.assert(
      fc.property(workloadArb(1, 4), (w) => {
        const a = new System.System(configOf(w)).run(100 * MS)
        const b = new System.System(configOf(w)).run(100 * MS)
        return fingerprint(a) === fingerprint(b) && a.sim.events === b.sim.events
      }),
      { numRuns: 15 },
    )
  })

  it("the property catches a program that draws from outside the run's seeded streams", () => {
    let leaked = 0
    const r = fc.check(
      fc.property(workloadArb(1, 2), (w) => {
        const leaky: Program.Program = function* () {
          for (;;) yield Program.sleep(100 * US + (leaked++ % 7) * MS)
        }
        const withLeak = (): System.System => {
          const c = configOf(w)
          const sbs = [...(c.sandboxes ?? [])]
          sbs[0] = { ...sbs[0], threads: [...(sbs[0]!.threads ?? []), { name: "leaky", vcpu: 0, program: leaky }] }
          return new System.System({ ...c, sandboxes: sbs }).run(30 * MS)
        }
        return fingerprint(withLeak()) === fingerprint(withLeak())
      }),
      { numRuns: 30, endOnFailure: true },
    )
    expect(r.failed).toBe(true)
  })

  it("different seeds give different traces when a program draws random numbers", () => {
    const cfg = (seed: number) => ({
      seed,
      machine: { cores: 1 },
      sandboxes: [{ threads: [{ name: "r", vcpu: 0, program: Program.periodicCompute([100 * US, 900 * US]), periodic: { periodNs: 5 * MS } }] }],
    })
    expect(fingerprint(new System.System(cfg(1)).run(50 * MS))).not.toBe(fingerprint(new System.System(cfg(2)).run(50 * MS)))
  })
})

describe("several cores per sandbox", () => {
  it("VCPUs bound to each core of a sandbox run in parallel; the sandbox's fingerprint covers both cores' records", () => {
    // The seed draws sandbox 1's workload, but also the machine's and every sandbox's jitter: without
    // those (Assumptions.baseline), only sandbox 1's workload changes with it.
    const cfg = (seed: number) => Assumptions.baseline({
      seed,
      machine: { cores: 3, sandboxOfCore: [0, 0, 1] },
      recordSchedule: true,
      sandboxes: [
        {
          vcpus: [{ budgetNs: 50 * MS, periodNs: 100 * MS }, { budgetNs: 50 * MS, periodNs: 100 * MS, core: 1 }],
          threads: [
            { name: "a", vcpu: 0, program: Program.periodicCompute(30 * MS), periodic: { periodNs: 100 * MS } },
            { name: "b", vcpu: 1, program: Program.periodicCompute(30 * MS), periodic: { periodNs: 100 * MS } },
          ],
        },
        { threads: [{ name: "c", vcpu: 0, program: Program.periodicCompute([1 * MS, 9 * MS]), periodic: { periodNs: 50 * MS } }] },
      ],
      hosts: [{ kind: "ping" as const, target: 0, intervalNs: 10 * MS, count: 20 }],
    })
    const sys = new System.System(cfg(1)).run(500 * MS)
    const segs = sys.segments().filter((s) => s.thread >= 0)
    const on = (pcpu: number) => segs.filter((s) => s.pcpu === pcpu).reduce((a, s) => a + s.end - s.start, 0)
    expect(on(0)).toBeGreaterThanOrEqual(150 * MS)
    expect(on(1)).toBeGreaterThanOrEqual(150 * MS)
    expect(sys.metrics().hosts[0]!.received).toBe(20)
    // The NIC interrupts the sandbox once (its first core), not once per core.
    expect(sys.metrics().net[0]!.irqs).toBe(sys.machine.ioapic.messages)
    // Sandbox 1's random workload changes with the seed; sandbox 0's fingerprint (both of its cores) does not.
    const other = new System.System(cfg(2)).run(500 * MS)
    expect(other.fingerprintOf(0)).toBe(sys.fingerprintOf(0))
    expect(other.fingerprintOf(1)).not.toBe(sys.fingerprintOf(1))
  })
})

describe("configuration schema", () => {
  it("exports a JSON schema for editors (programs are functions: 'any')", () => {
    const schema = Config.jsonSchema() as { properties: Record<string, unknown> }
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(["machine", "sandboxes", "channels", "faults", "recovery", "hosts", "virtualization", "migration", "boot"]))
  })
})
