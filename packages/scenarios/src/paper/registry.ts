/**
 * The paper's experiments, by name (spec section E), in listing order. One line per experiment;
 * each lives in its own file of this folder.
 */
import type { Experiment } from "./Experiment.ts"
import { forkwait } from "./Forkwait.ts"
import { messagePassing } from "./MessagePassing.ts"
import { sharedDriver } from "./SharedDriver.ts"
import { ssDefects } from "./SsDefects.ts"
import { pibsConformance } from "./PibsConformance.ts"
import { driverRecovery } from "./driver-recovery.ts"
import { isolation } from "./isolation.ts"
import { interrupts } from "./interrupts.ts"
import { questLinux } from "./quest-linux.ts"
import { dmaIsolation } from "./dma-isolation.ts"

export const experiments: ReadonlyArray<Experiment> = [
  // add one line per experiment module, e.g. `driverRecovery,` after importing it above
  forkwait,
  messagePassing,
  sharedDriver,
  ssDefects,
  pibsConformance,
  driverRecovery,
  isolation,
  interrupts,
  questLinux,
  dmaIsolation,
]

/** The experiment named `name`, or undefined. */
export const find = (name: string): Experiment | undefined => experiments.find((e) => e.name === name)
