/** Shared test doubles: a recording core listener and small builders. */
import { Simulation } from "@qvsim/sim-core"
import type { CoreListener } from "../src/Core.ts"
import { Machine } from "../src/Machine.ts"
import type { MachineInput } from "../src/MachineConfig.ts"

export interface Delivery {
  readonly t: number
  readonly core: number
  readonly vector: number
}

/** Records every callback with its simulated time. */
export class Recorder implements CoreListener {
  readonly interrupts: Delivery[] = []
  readonly completions: { t: number; core: number; tag: number }[] = []
  readonly exits: { t: number; core: number; reason: number; qualification: number }[] = []
  /** Every callback in order: `done c tag @t`, `irq c vector @t`, `exit c reason @t`. */
  readonly log: string[] = []
  private readonly sim: Simulation.Simulation
  constructor(sim: Simulation.Simulation) {
    this.sim = sim
  }
  workDone(core: number, tag: number): void {
    this.completions.push({ t: this.sim.now, core, tag })
    this.log.push(`done ${core} ${tag} @${this.sim.now}`)
  }
  interrupt(core: number, vector: number): void {
    this.interrupts.push({ t: this.sim.now, core, vector })
    this.log.push(`irq ${core} ${vector} @${this.sim.now}`)
  }
  vmExit(core: number, reason: number, qualification: number): void {
    this.exits.push({ t: this.sim.now, core, reason, qualification })
    this.log.push(`exit ${core} ${reason} @${this.sim.now}`)
  }
}

/** A simulation and a machine (post-boot unless told), with a Recorder listening. */
export const machineWith = (input: MachineInput = {}, seed = 1) => {
  const sim = new Simulation.Simulation(seed)
  const machine = new Machine(sim, input)
  const recorder = new Recorder(sim)
  machine.setListener(recorder)
  return { sim, machine, recorder }
}
