/**
 * What makes a sandbox's costs vary from one event to the next (issue 13: claims that emerge from
 * the model, not from equal constants): a seeded jitter on handler and copy costs, and the EPT's
 * extra page walk on the TLB misses of the pages a path touches.
 *
 * - **Cost jitter** (`kernel.costJitter` = f): a jittered cost of `c` ns is `c + d`, `d` uniform
 *   in [−⌊f·c⌋, ⌊f·c⌋] (stream `sandbox<s>/cost-jitter`), so the configured cost stays the mean and
 *   every run of the same seed draws the same values.
 * - **TLB misses** (`kernel.tlbMissRate` = p): each page a path touches misses the TLB with
 *   probability p (stream `sandbox<s>/tlb`); under EPT a miss costs the 2-D walk's extra
 *   (`costs.eptWalkExtra`), without EPT (Quest, `virtualization.mode: 'none'`) nothing extra — so
 *   the network and channel paths are not free of virtualisation cost by construction.
 * - **Spin phase**: a thread spinning on a lock sees it free only at its next poll, a uniform
 *   draw in [0, `costs.pollCheck`] after the release (stream `sandbox<s>/spin`), so which of
 *   several spinners wins is decided by their poll loops, not by the order of equal-time events.
 *
 * Copies (`copyNs`, `remoteCopyNs`) draw their jitter and misses from their own stream
 * (`sandbox<s>/copy`), so a NIC interrupt more or less in a sandbox does not shift the draws of its
 * channel copies (each path's numbers depend only on that path's own history).
 *
 * Invariants: with `costJitter = 0` a cost is returned unchanged and no number is drawn; with
 * `tlbMissRate = 0` or no EPT, no number is drawn and the extra is 0; every result is an integer
 * ≥ 0. NOTE: plain methods on numbers, no allocation (called per frame and per copy).
 *
 * @module
 */
import type { CostModel, Machine } from "@qvsim/hardware"
import type { Rng, Simulation } from "@qvsim/sim-core"

/** Bytes of a page (TLB entries map 4 KiB pages). */
export const PAGE_BYTES = 4096

/** Pages a copy of `bytes` bytes touches: its source and its destination (at least one of each). */
export const copyPages = (bytes: number): number => 2 * Math.max(1, Math.ceil(bytes / PAGE_BYTES))

export class CostNoise {
  /** Fraction f of a cost by which it may vary either way. */
  readonly fraction: number
  /** Probability that one touched page misses the TLB. */
  readonly tlbMissRate: number
  /** Extra ns of one TLB miss (the EPT's 2-D walk; 0 without EPT). */
  readonly missNs: number
  /** `tlbMissRate · 2^53`: a page misses when `bits53()` is below it (`float() < tlbMissRate`, exactly). */
  private readonly missBelow: number
  /** One poll of the spin loop, ns (`costs.pollCheck`). */
  readonly pollNs: number
  /** TLB misses drawn so far. */
  tlbMisses = 0
  private readonly costs: CostModel.CostTable
  private readonly jitterRng: Rng.RngStream
  private readonly tlbRng: Rng.RngStream
  private readonly spinRng: Rng.RngStream
  private readonly copyRng: Rng.RngStream

  constructor(sim: Simulation.Simulation, machine: Machine.Machine, sandbox: number, fraction: number, tlbMissRate: number, eptActive: boolean) {
    this.fraction = fraction
    this.tlbMissRate = tlbMissRate
    this.missBelow = tlbMissRate * 2 ** 53
    this.costs = machine.costs
    this.missNs = eptActive ? machine.costs.ns.eptWalkExtra : 0
    this.pollNs = machine.costs.ns.pollCheck
    this.jitterRng = sim.rng(`sandbox${sandbox}/cost-jitter`)
    this.tlbRng = sim.rng(`sandbox${sandbox}/tlb`)
    this.spinRng = sim.rng(`sandbox${sandbox}/spin`)
    this.copyRng = sim.rng(`sandbox${sandbox}/copy`)
  }

  /** `ns` with its jitter (the mean is `ns`). */
  jitter(ns: number): number {
    return this.jitterFrom(this.jitterRng, ns)
  }

  /** Extra ns of the TLB misses of a path touching `pages` pages (each misses with `tlbMissRate`). */
  tlbNs(pages: number): number {
    return this.tlbFrom(this.tlbRng, pages)
  }

  /** A copy of `bytes` bytes: the copy's cost jittered, plus the TLB misses of its pages. */
  copyNs(bytes: number): number {
    return this.jitterFrom(this.copyRng, this.costs.copyNs(bytes)) + this.tlbFrom(this.copyRng, copyPages(bytes))
  }

  /**
   * A copy of `bytes` bytes from another core's cache (a receiver reading a sender's lines): the
   * copy and one cache-to-cache transfer per line, jittered, plus the TLB misses of its pages.
   */
  remoteCopyNs(bytes: number): number {
    const c = this.costs
    return this.jitterFrom(this.copyRng, c.copyNs(bytes) + Math.ceil(bytes / 64) * c.ns.remoteLineTransfer) + this.tlbFrom(this.copyRng, copyPages(bytes))
  }

  private jitterFrom(rng: Rng.RngStream, ns: number): number {
    const d = Math.floor(ns * this.fraction)
    return d <= 0 ? ns : ns + rng.int(-d, d)
  }

  private tlbFrom(rng: Rng.RngStream, pages: number): number {
    if (this.missNs === 0 || this.tlbMissRate === 0) return 0
    let misses = 0
    // NOTE: `bits53() < missBelow` is `float() < tlbMissRate` without a division (Rng.bits53).
    for (let i = 0; i < pages; i++) if (rng.bits53() < this.missBelow) misses++
    this.tlbMisses += misses
    return misses * this.missNs
  }

  /** When a spinner sees a lock released `waitNs` from now: at its next poll after the release. */
  spinNs(waitNs: number): number {
    return this.pollNs === 0 ? waitNs : waitNs + this.spinRng.int(0, this.pollNs)
  }
}
