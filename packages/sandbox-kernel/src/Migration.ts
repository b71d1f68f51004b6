/**
 * Thread migration between sandboxes (spec §D.10; the 2012–2013 code, RTSS 2014):
 *
 * 1. the thread asks (`Program.migrate(dest)`); at its sandbox's next scheduler pass it is detached
 *    from its VCPU, whose replenishment list, budget and usage are saved with it;
 * 2. the request goes into `migration_queue[dest]` (one slot per destination: occupied → refused),
 *    the sender stores its TSC in `remote_tsc[dest]` and sends IPI 240;
 * 3. the destination computes the clock offset on the IPI's arrival (the IPI latency is NOT
 *    compensated, as in the code, unless `compensateIpiLatency`) and wakes its migration thread,
 *    on its highest-priority Main VCPU;
 * 4. the migration thread traps to its monitor (hypercall 1), which copies the thread's address
 *    space — preemptibly: at most `budget − reserve` per period, resuming in the next one;
 * 5. attach: a destination VCPU with the same `(C, T)` and policy takes the saved replenishment list
 *    with every time shifted by the offset, the budget and usage; the thread runs on from its
 *    `migrate` request. Which policies migrate, and how their state is saved and installed, is the
 *    policy's (vcpu-sched `VcpuPolicy.migration`; the naive POSIX server does not migrate).
 *
 * The admission check of the code (`E_s ≥ ⌊Δ/C_m⌋·T_m + (Δ mod C_m)`) is computed and recorded,
 * not enforced (as in the code).
 *
 * Invariants (F18): each scheduler reads only its own clock; the migrated replenishment list keeps
 * F1 (amounts sum to C, sorted, positive) and its order, and every chunk becomes eligible at the
 * same global time as before the migration, or later by at most the uncompensated IPI latency.
 *
 * @module
 */
import { z } from "zod"
import { Simulation, type Trace } from "@qvsim/sim-core"
import { CoreScheduler, Policy, type Vcpu } from "@qvsim/vcpu-sched"
import { Kernel as KernelClass, Outcome, beginSyscallEntry, type IrqHandler, type Kernel, type Pcpu, type Thread } from "./kernel/index.ts"
import { Hypercall, type Monitor, type MonitorTask } from "./Monitor.ts"
import * as Program from "./Program.ts"
import { int } from "./Options.ts"

/** IPI vectors of the migration code (`[SRC vm/migration.c]`): request and clean-up. */
export const MIGRATION_VECTOR = 240

/** Migration options. */
export const migrationSchema = z.strictObject({
  /** `[ASSUMED]` Monitor cycles to copy the thread record and set up the clone. */
  baseCycles: int(0).default(20_000),
  /** `[ASSUMED]` Monitor cycles per 4 KiB page of the address space copied. */
  pageCycles: int(0).default(1_024),
  /** Reserve before the end of the migration thread's budget at which the copy pauses (`[SRC include/vm/migration.h]` 1,500,000 cycles). */
  reserveCycles: int(0).default(1_500_000),
  /** Idealisation: subtract the IPI latency from the computed clock offset (the code does not: a TODO). */
  compensateIpiLatency: z.boolean().default(false),
  /** The Main VCPU (index in the destination) of the migration thread; default its highest-priority Main VCPU. */
  vcpu: int(0).optional(),
})
export type MigrationInput = z.input<typeof migrationSchema>
export type MigrationOptions = z.output<typeof migrationSchema>

/** One migration. */
export interface MigrationRecord {
  readonly id: number
  readonly thread: string
  readonly from: number
  readonly to: number
  /** Destination VCPU index. */
  readonly destVcpu: number
  readonly requestNs: number
  /** Offset the destination computed (its local − the sender's TSC), ns. */
  offsetNs: number
  /** The true offset between the two clocks at the IPI's arrival, ns. */
  trueOffsetNs: number
  /** Source replenishment list at detach, `[t, b]` in the source's local ns; usage. */
  sourceQueue: Array<[number, number]>
  sourceUsedNs: number
  /** Destination list after attach, in the destination's local ns. */
  destQueue: Array<[number, number]>
  /** Address-space copy, ns of monitor work, and pieces it took. */
  copyNs: number
  copyPieces: number
  /** The code's admission check (recorded, not enforced). */
  admissible: boolean
  /** Attach time, ns (−1 while in progress). */
  attachNs: number
}

interface Pending {
  readonly rec: MigrationRecord
  readonly th: Thread
  readonly srcV: Vcpu.Vcpu
  readonly migration: Policy.PolicyMigration
  remainingNs: number
}

export class Migration {
  readonly options: MigrationOptions
  readonly records: MigrationRecord[] = []
  /** Refused requests (no matching VCPU, slot occupied, a policy that does not migrate). */
  refused = 0
  private readonly kernels: readonly Kernel[]
  private readonly slots: (Pending | null)[]
  private readonly remoteTsc: number[]
  private readonly threads: (Thread | null)[]
  private readonly sim: Simulation.Simulation
  private readonly hSnapshot: number
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kRequest: Trace.RecordKind
  private readonly kAttach: Trace.RecordKind

  constructor(kernels: readonly Kernel[], monitors: readonly Monitor[], options: MigrationOptions) {
    this.kernels = kernels
    this.options = options
    const n = kernels.length
    this.slots = new Array<Pending | null>(n).fill(null)
    this.remoteTsc = new Array<number>(n).fill(0)
    this.threads = new Array<Thread | null>(n).fill(null)
    this.sim = kernels[0]!.sim
    this.trace = this.sim.trace
    this.subjects = kernels.map((k) => this.trace.subject(`sandbox${k.sandbox}/migration`, k.sandbox))
    this.kRequest = this.trace.kind("mig.request", ["thread", "to"])
    this.kAttach = this.trace.kind("mig.attach", ["from", "offsetNs", "copyNs"])
    this.hSnapshot = this.sim.register("migration.snapshot", (to) => this.snapshot(to))
    for (const k of kernels) {
      // Bound once per kernel (not per request).
      k.requests.register(Program.Op.Migrate, "migration", beginSyscallEntry, (k: Kernel, p: Pcpu, th: Thread, req: Program.Migrate) => this.onRequest(k, p, th, req.sandbox))
      k.interrupts.register(MIGRATION_VECTOR, new ArrivalHandler(this))
    }
    monitors.forEach((m, s) => m.hypercallHandlers.set(Hypercall.Migrate, (k, p) => this.copyTask(k, p, s)))
  }

  /** The `migrate` request's effect: `true` at once for the thread's own sandbox; `false` when refused; else the thread is detached until attached in `to`. */
  onRequest(k: Kernel, p: Pcpu, th: Thread, to: number): Outcome {
    if (to === k.sandbox) {
      th.result = true
      return Outcome.Done
    }
    if (!this.request(k, p, th, to)) {
      th.result = false
      return Outcome.Done
    }
    return Outcome.Blocked
  }

  /** Step 1–2: `th` (running on `p` in `k`) asks to move to `to`. */
  request(k: Kernel, p: Pcpu, th: Thread, to: number): boolean {
    const dest = this.kernels[to]
    // A Linux sandbox's weight classes are no VCPUs: nothing to migrate from or to (refused).
    const srcV = CoreScheduler.asVcpu(p.sched.vcpus[k.schedIndexOf[th.vcpu]!])
    const spec = k.vcpus[th.vcpu]!
    // A destination VCPU with the same (C, T), not the one the migration thread runs on.
    const mv = dest === undefined ? -1 : this.migrationVcpu(dest).index
    const migration = srcV === undefined ? null : Policy.of(srcV)?.migration ?? null
    const destVcpu = dest === undefined || srcV === undefined ? -1 : dest.vcpus.findIndex((v, i) =>
      i !== mv && v.kind === "main" && v.budgetNs === spec.budgetNs && v.periodNs === spec.periodNs && schedVcpu(dest, i)?.policy === srcV.policy)
    if (dest === undefined || srcV === undefined || migration === null || destVcpu < 0 || this.slots[to] !== null) {
      this.refused++
      return false
    }
    const id = this.records.length
    const rec: MigrationRecord = {
      id, thread: th.name, from: k.sandbox, to, destVcpu, requestNs: this.sim.now, offsetNs: 0, trueOffsetNs: 0,
      sourceQueue: [], sourceUsedNs: 0, destQueue: [], copyNs: 0, copyPieces: 0, admissible: false, attachNs: -1,
    }
    this.records.push(rec)
    const costs = k.machine.costs
    this.slots[to] = { rec, th, srcV, migration, remainingNs: costs.toNs(this.options.baseCycles + th.pages * this.options.pageCycles) }
    k.detachThread(th)
    this.trace.emit(this.kRequest, this.subjects[k.sandbox]!, th.tid, to)
    // The VCPU state is saved after the scheduler pass that retires the thread (same instant).
    this.sim.at(this.sim.now, Simulation.EventClass.Workload, this.hSnapshot, to)
    return true
  }

  private snapshot(to: number): void {
    const pend = this.slots[to]!
    const rec = pend.rec
    const src = this.kernels[rec.from]!
    const p = pend.th.pcpu
    const saved = pend.migration.save(pend.srcV)
    rec.sourceQueue = saved.queue.map(([t, b]) => [t, b])
    rec.sourceUsedNs = saved.usedNs
    this.remoteTsc[to] = src.localNow(p)
    // Admission check (monitor-only in the code, not enforced).
    const local = src.localNow(p)
    let next = Infinity
    for (const [t] of rec.sourceQueue) if (t > local) { next = t; break }
    const m = this.migrationVcpu(this.kernels[to]!)
    const cm = m.budgetNs, tm = m.periodNs
    const delta = pend.remainingNs
    rec.admissible = next - local >= Math.floor(delta / cm) * tm + (delta % cm)
    p.lapic.sendIpiToCore(this.kernels[to]!.pcpus[0]!.core.index, MIGRATION_VECTOR)
  }

  /** Step 3, in the destination's IPI handler: compute the offset, wake the migration thread. */
  arrived(k: Kernel, p: Pcpu): void {
    const pend = this.slots[k.sandbox]
    if (pend === null || pend === undefined) return
    const rec = pend.rec
    const src = this.kernels[rec.from]!
    const local = k.localNow(p)
    const oneWay = k.machine.costs.ns.ipiOneWay
    rec.offsetNs = local - this.remoteTsc[k.sandbox]! - (this.options.compensateIpiLatency ? oneWay : 0)
    rec.trueOffsetNs = local - src.localNow(pend.th.pcpu)
    const th = this.threads[k.sandbox] ?? (this.threads[k.sandbox] = this.spawnThread(k))
    k.wake(th)
  }

  /** The migration thread's VCPU in `k`: the option, else the highest-priority Main VCPU by rate (smallest period, as Quest; a static choice under 'edf' too). */
  private migrationVcpu(k: Kernel): { budgetNs: number; periodNs: number; index: number } {
    const o = this.options.vcpu
    if (o !== undefined && k.vcpus[o]?.kind === "main") return { ...k.vcpus[o]!, index: o }
    let best = -1
    k.vcpus.forEach((v, i) => {
      if (v.kind === "main" && (best < 0 || v.periodNs < k.vcpus[best]!.periodNs)) best = i
    })
    return { ...k.vcpus[best]!, index: best }
  }

  private spawnThread(k: Kernel): Thread {
    const self = this
    const s = k.sandbox
    const hc = Program.hypercall(Hypercall.Migrate)
    const v = this.migrationVcpu(k)
    const attach = Program.kernelCall(() => self.attach(s))
    const program: Program.Program = function* () {
      for (;;) {
        const pend = self.slots[s]
        if (pend === null || pend === undefined || pend.rec.attachNs >= 0) {
          yield KernelClass.blockRequest()
          continue
        }
        // Step 4: the monitor copies the address space, pausing before the budget runs out.
        while (pend.remainingNs > 0) {
          yield hc
          if (pend.remainingNs > 0) yield Program.sleep(v.periodNs)
        }
        yield attach
      }
    }
    return k.addThread({ name: `migration`, vcpu: v.index, program, startNs: 0, user: false })
  }

  /** Hypercall 1 in sandbox `s`'s monitor: one piece of the copy. */
  private copyTask(k: Kernel, p: Pcpu, s: number): MonitorTask | null {
    const pend = this.slots[s]
    if (pend === null || pend === undefined) return null
    const v = this.migrationVcpu(k)
    const reserve = k.machine.costs.toNs(this.options.reserveCycles)
    const piece = v.budgetNs > reserve ? Math.min(pend.remainingNs, v.budgetNs - reserve) : pend.remainingNs
    const exit = k.machine.costs.ns.vmExit, entry = k.machine.costs.ns.vmEntry
    let done = false
    return {
      start: () => exit + piece + entry,
      next: () => {
        if (!done) {
          done = true
          pend.remainingNs -= piece
          pend.rec.copyNs += piece
          pend.rec.copyPieces++
          k.exits.resolveStopped(p, undefined)
        }
        return -1
      },
    }
  }

  /** Step 5: attach in `s` with the replenishment list shifted by the offset. */
  private attach(s: number): void {
    const pend = this.slots[s]!
    const rec = pend.rec
    const k = this.kernels[s]!
    const src = this.kernels[rec.from]!
    const p = k.pcpus[k.vcpus[rec.destVcpu]!.core]!
    const dv = CoreScheduler.asVcpu(p.sched.vcpus[k.schedIndexOf[rec.destVcpu]!])
    if (dv === undefined || dv.policy !== pend.srcV.policy) this.sim.fail(`migration: destination VCPU ${rec.destVcpu} of sandbox ${s} has policy ${dv?.policy ?? "none (a Linux weight class)"}, the source ${pend.srcV.policy}`)
    const problem = pend.migration.install(dv, { queue: rec.sourceQueue, usedNs: rec.sourceUsedNs }, this.shift(rec))
    if (problem !== null) this.sim.fail(`migration: ${problem}`)
    rec.destQueue = pend.migration.save(dv).queue.map(([t, b]) => [t, b])
    rec.attachNs = this.sim.now
    this.slots[s] = null
    k.adoptThread(pend.th, rec.destVcpu, this.shift(rec))
    src.markMigrated(pend.th)
    this.trace.emit(this.kAttach, this.subjects[s]!, rec.from, rec.offsetNs, rec.copyNs)
  }

  /** The shift applied to replenishment times (broken test variants return 0). */
  protected shift(rec: MigrationRecord): number {
    return rec.offsetNs
  }

}

/** The scheduler's VCPU for sandbox VCPU `i` of `k`. */
const schedVcpu = (k: Kernel, i: number): Vcpu.Vcpu | undefined => CoreScheduler.asVcpu(k.pcpus[k.vcpus[i]!.core]!.sched.vcpus[k.schedIndexOf[i]!])

/** IPI 240 in the destination: entry cost, then the offset and the wake-up. */
class ArrivalHandler implements IrqHandler {
  private readonly m: Migration
  constructor(m: Migration) {
    this.m = m
  }
  start(k: Kernel, p: Pcpu): number {
    this.m.arrived(k, p)
    return k.machine.costs.ns.interruptEntry
  }
  next(): number {
    return -1
  }
}
