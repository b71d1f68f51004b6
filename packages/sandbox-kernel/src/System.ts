/**
 * A Quest-V system: one sim-core {@link Simulation}, one hardware {@link Machine} and its
 * sandboxes (kernel + monitor each), assembled from one validated configuration ({@link Config}).
 * The system is the machine's single core listener and dispatches completions, interrupts and VM
 * exits to the sandbox that owns the core.
 *
 * ```ts
 * const sys = new System({ seed: 7, sandboxes: [{ threads: [{ name: "t", vcpu: 0, program }] }, {}, {}, {}] })
 * sys.run(Time.s(2))
 * sys.metrics().sandboxes[0].threads[0].jobsCompleted
 * sys.sim.trace.scopeFingerprint(0)     // sandbox 0's own fingerprint (F19)
 * ```
 *
 * Invariants:
 * - trace subjects of sandbox `s` (kernel, monitor, stack, and its cores' hardware records) have
 *   scope `s`: the core subjects `core<c>` are declared with scope `sandboxOfCore[c]` before the
 *   machine builds its cores (the trace returns an already declared subject by name);
 * - nothing but the configuration and the seed decides the run (F22).
 *
 * @module
 */
import { Simulation } from "@qvsim/sim-core"
import { Machine, type Core, type Ept } from "@qvsim/hardware"
import type { PcpuScheduler, Schedule } from "@qvsim/vcpu-sched"
import * as Config from "./Config.ts"
import { postBoot, type BootSetup } from "./Boot.ts"
import { Sandbox, type SandboxMetrics } from "./Sandbox.ts"
import { Faults, type FaultRecord } from "./Faults.ts"
import { PhysicalMemory } from "@qvsim/hardware"

/** Test hooks: deliberately broken variants injected by property tests. */
export interface SystemHooks {
  /** Replace sandbox `s`'s EPT (e.g. one that lets a wild write through). */
  readonly makeEpt?: (sandbox: number, machine: Machine.Machine) => Ept.Ept | undefined
  /** Replace the scheduler of core `core`. */
  readonly makeScheduler?: (core: number) => PcpuScheduler.PcpuScheduler | undefined
}

/** Whole-system figures. */
export interface Metrics {
  readonly simTimeNs: number
  readonly events: number
  readonly sandboxes: readonly SandboxMetrics[]
}

export class System implements Core.CoreListener {
  readonly config: Config.SystemConfig
  readonly sim: Simulation.Simulation
  readonly machine: Machine.Machine
  readonly sandboxes: readonly Sandbox[]
  readonly faults: Faults
  /** Sandbox of each core. */
  private readonly sandboxOfCore: readonly number[]
  /** Monitor set-up work done at boot (channels add theirs). */
  private readonly bootSetup: BootSetup[] = []
  private started = false

  constructor(input: Config.SystemInput = {}, hooks: SystemHooks = {}) {
    const config = Config.parse(input)
    this.config = config
    const sim = new Simulation.Simulation(config.seed)
    this.sim = sim
    const sandboxOfCore = config.machine.sandboxOfCore ?? Array.from({ length: config.machine.cores }, (_, i) => i)
    this.sandboxOfCore = sandboxOfCore
    // Scope each core's hardware records by its sandbox (see the module invariants).
    sandboxOfCore.forEach((s, c) => sim.trace.subject(`core${c}`, s))
    const machine = new Machine.Machine(sim, config.machineInput)
    this.machine = machine
    this.sandboxes = config.sandboxes.map((sc) => new Sandbox(sim, machine, config, sc, hooks.makeScheduler))
    const epts = hooks.makeEpt === undefined
      ? undefined
      : machine.epts.map((e, s) => hooks.makeEpt!(s, machine) ?? e)
    // Each sandbox's data area is backed with bytes so programs can read what was written there.
    this.bootSetup.push((m) => {
      for (const sb of this.sandboxes) {
        const first = sb.kernel.dataBase / PhysicalMemory.PAGE_BYTES
        for (let i = 0; i < config.kernel.dataPages; i++) m.memory.backWithBytes(first + i)
      }
    })
    postBoot(machine, config.nicSharers, this.bootSetup, epts)
    machine.setListener(this)
    const kernels = this.sandboxes.map((s) => s.kernel)
    this.faults = new Faults(sim, {
      kernels,
      channelStatusAddress: () => -1,
      corruptDriver: () => sim.fail("corruptDriver faults are refused by the configuration"),
      armRecovery: () => sim.fail("recovery is refused by the configuration"),
      trigger: () => sim.fail("trigger faults are refused by the configuration"),
      sliceBase: (s) => machine.layout.slices[s]!.base,
    }, config.faults)
    for (const sb of this.sandboxes) sb.addConfiguredThreads()
  }

  /** Starts every core's scheduler (done by the first `run`). */
  start(): void {
    if (this.started) return
    this.started = true
    for (const sb of this.sandboxes) sb.kernel.start()
  }

  /** Runs the simulation until `untilNs` (inclusive of events at that time). */
  run(untilNs: number): this {
    this.start()
    this.sim.run({ untilNs })
    return this
  }

  /** Sandbox `s`. */
  sandbox(s: number): Sandbox {
    const sb = this.sandboxes[s]
    if (sb === undefined) throw new RangeError(`System.sandbox(${s}): ${this.sandboxes.length} sandboxes`)
    return sb
  }

  // ------------------------------------------------------------------ CoreListener

  workDone(core: number, tag: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onWorkDone(core, tag)
  }

  interrupt(core: number, vector: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onInterrupt(core, vector)
  }

  vmExit(core: number, reason: number, qualification: number): void {
    this.sandboxes[this.sandboxOfCore[core]!]!.kernel.onVmExit(core, reason, qualification)
  }

  // ------------------------------------------------------------------ results

  /** Figures of every sandbox now. */
  metrics(): Metrics {
    return { simTimeNs: this.sim.now, events: this.sim.events, sandboxes: this.sandboxes.map((s) => s.metrics()) }
  }

  /** What happened to each configured fault. */
  faultRecords(): readonly FaultRecord[] {
    return this.faults.records
  }

  /** Sandbox `s`'s trace fingerprint (its kernel, monitor, stack and cores' records). */
  fingerprintOf(s: number): string {
    return this.sim.trace.scopeFingerprint(s)
  }

  /** The executed segments of every core (`recordSchedule` must be on), ordered by core. */
  schedules(): Schedule.Schedule[] {
    const out: Schedule.Schedule[] = []
    for (const sb of this.sandboxes) for (const p of sb.kernel.pcpus) if (p.schedule !== null) out.push(p.schedule)
    return out.sort((a, b) => a.pcpu - b.pcpu)
  }

  /** The executed segments `{pcpu, start, end, vcpu, thread}` of every core (thread -2 = interrupt handler, -3 = monitor). */
  segments(): Schedule.Segment[] {
    return this.schedules().flatMap((s) => s.segments())
  }
}
