/**
 * The phases of a local or remote recovery (spec §D.9, paper Table 1): their configuration
 * (names and cycle counts), the checks a phase list must pass, and what each phase does besides
 * costing its cycles.
 *
 * Phases up to the VM entry run in a monitor; the phases after it in the recovering sandbox's guest.
 *
 * | phase | where | what it does besides costing its cycles |
 * |---|---|---|
 * | `vmExit` | source monitor | (the exit already happened: detection) |
 * | `driverSwitch` | source monitor | re-points the sandbox's EPT entries for the shared driver's pages at its own copy |
 * | `ipiRoundTrip` | source monitor | sends the recovery IPI to the target; the target's monitor takes over when the round trip ends |
 * | `vmEntry` | recovering monitor | enters the guest at the end; the guest phases start |
 * | `driverReinit` | guest | chip reset and driver state re-initialised by the recovering sandbox (it becomes the master); its driver works again at the end; remote: the failed sandbox leaves the sharers and the NIC's I/O APIC entry is re-targeted |
 * | `networkReinit` | guest | the stack is down from the start; at the end it is up (remote: the target answers for the failed sandbox's IP) — the service is restored |
 * | `channelReinit` | guest | the failed sandbox's channels are re-initialised |
 *
 * Invariant: a valid list has exactly one `vmEntry`; the monitor phases come before it and the
 * guest phases after it; a remote list has exactly one `ipiRoundTrip` and no `driverSwitch`, a
 * local one no `ipiRoundTrip`.
 *
 * @module
 */
import type { Kernel, Pcpu } from "./kernel/index.ts"
import type { PhaseInput, PhaseName, RecoveryOptions } from "./Options.ts"
import type { RecoveryEnv, RecoveryRecord } from "./Recovery.ts"
import { RECOVERY_VECTOR, type MessageHandler } from "./RecoveryTasks.ts"

/** A phase as configured: its name and cycles. */
export interface Phase {
  readonly phase: PhaseName | "reboot"
  readonly cycles: number
}

/** One executed phase. */
export interface PhaseRecord {
  readonly phase: PhaseName | "reboot"
  /** Configured cycles (what Table 1 reports). */
  readonly cycles: number
  /** Its duration in this run, ns: the cycles' ns with the phase jitter (`recovery.phaseJitter`, §D.13). */
  readonly ns: number
  /** The sandbox it ran in. */
  readonly sandbox: number
  startNs: number
  endNs: number
}

/** Resolves a configured phase list to names and cycles (the cost table's cycles by default). */
export const resolvePhases = (list: readonly PhaseInput[], cycles: (name: PhaseName) => number): Phase[] =>
  list.map((p) => (typeof p === "string" ? { phase: p, cycles: cycles(p) } : { phase: p.phase, cycles: p.cycles ?? cycles(p.phase) }))

/** Checks a phase list: the problem, at its path in the configuration (`recovery.<mode>[.i]`), or null. */
export const checkPhases = (mode: "local" | "remote", phases: readonly Phase[]): { path: PropertyKey[]; message: string } | null => {
  const at = (message: string, i?: number) => ({ path: i === undefined ? ["recovery", mode] : ["recovery", mode, i], message })
  const count = (n: string) => phases.filter((p) => p.phase === n).length
  if (count("vmEntry") !== 1) return at("needs exactly one vmEntry (the monitor must return to the guest)")
  const entry = phases.findIndex((p) => p.phase === "vmEntry")
  const guest = new Set(["driverReinit", "networkReinit", "channelReinit"])
  for (let i = 0; i < phases.length; i++) {
    const g = guest.has(phases[i]!.phase)
    if (g && i < entry) return at(`${phases[i]!.phase} runs in the guest, after vmEntry`, i)
    if (!g && i > entry) return at(`${phases[i]!.phase} runs in the monitor, before vmEntry`, i)
  }
  if (mode === "remote") {
    if (count("ipiRoundTrip") !== 1) return at("needs exactly one ipiRoundTrip (how the target learns of the fault)")
    if (count("driverSwitch") > 0) return at("driverSwitch is a local-recovery phase (N/A in Table 1)")
  } else if (count("ipiRoundTrip") > 0) {
    return at("ipiRoundTrip is a remote-recovery phase (N/A in Table 1)")
  }
  return null
}

/**
 * What phase `phase` of recovery `rec` does besides costing its cycles, at its `start` or `end`,
 * run by sandbox `k` on `p` (see the module's table).
 */
export const actOnPhase = (env: RecoveryEnv, options: RecoveryOptions, phase: PhaseName | "reboot", rec: RecoveryRecord, at: "start" | "end", k: Kernel, p: Pcpu): void => {
  const d = env.driver
  const s = rec.source, t = rec.target
  switch (phase) {
    case "driverSwitch":
      if (at === "start") k.machine.driverSwitch(p.core.index, s, s)
      return
    case "ipiRoundTrip":
      if (at === "start") {
        const tk = env.kernels[t]!
        ;(tk.interrupts.handlerOf(RECOVERY_VECTOR) as MessageHandler).carry(rec.id)
        p.lapic.sendIpiToCore(tk.pcpus[0]!.core.index, RECOVERY_VECTOR)
      }
      return
    case "driverReinit":
      if (at === "start") {
        // The recovering sandbox re-initialises the shared driver (chip reset, fresh cursors);
        // until it is done its own handler stays out of the way and does not hold recycling back.
        d.setRegistered(s, false)
        d.broken[s] = true
        if (t !== s) d.setRegistered(t, false)
        d.reinitialise(t)
        d.broken[t] = true
      } else {
        d.broken[t] = false
        // The initialisation sequence clears stale interrupt status (so the edge-triggered line can fire again).
        d.nic.ackInterrupt(d.nic.isr)
        if (rec.mode === "remote") {
          // The failed sandbox leaves the sharers; the target (re)joins; the line is re-targeted.
          const sharers = options.remoteReroute === "targetOnly"
            ? [t]
            : [...d.registered.flatMap((on, i) => (on && i !== s ? [i] : [])), t]
          for (let i = 0; i < d.registered.length; i++) d.setRegistered(i, sharers.includes(i))
          env.ioapic.setDestination(d.nic.irqLine, env.nicMask(sharers))
        } else {
          d.setRegistered(s, true)
        }
      }
      return
    case "networkReinit": {
      const stack = env.stacks[t]!
      if (at === "start") {
        if (rec.mode === "local") stack.up = false
        else env.stacks[s]!.up = false
      } else {
        stack.up = true
        if (rec.mode === "remote") for (const ip of env.stacks[s]!.ips) if (!stack.owns(ip)) stack.ips.push(ip)
      }
      return
    }
    case "channelReinit":
      if (at === "end") for (const ch of env.channels.list) {
        const parties = "parties" in ch ? ch.parties : ch.pair
        if (parties.includes(s) && parties.includes(k.sandbox)) ch.reinitialise(k, p)
      }
      return
    default:
  }
}
