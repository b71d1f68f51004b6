/**
 * The shared NIC driver (spec §D.7, `drivers/net/r8169.c`): ONE driver state shared by every
 * sharing sandbox (in Quest-V its globals sit in the shared-driver data pages that every sandbox's
 * EPT redirects to sandbox 0's copy), per-sandbox RX cursors, an RX lock that serialises the
 * sharers' ring walks, recycling of a descriptor only once every sharer has passed it, TX
 * completion and interrupt acknowledgement by the master sandbox only, early or late
 * demultiplexing, and optional bottom halves on the sandbox's NET-class I/O VCPU.
 *
 * The interrupt (I/O APIC broadcast, edge) reaches every sharer; each runs {@link NicIrqHandler}:
 * entry cost → spin on the RX lock → walk its cursor through host-owned descriptors (effects at the
 * lock acquisition, the lock held for the walk's cost) → stack processing / replies after unlock.
 *
 * Arbitration (who walks first when the broadcast reaches several cores): the order the I/O APIC
 * delivered the interrupt in (`ioapic.deliverySkewNs`), the entry cost each core pays (jittered),
 * and the lock itself — an atomic acquisition (`nic.rxLockCycles`, plus a cache-line transfer when
 * another core held it last) that a spinner attempts only at its next poll after the release
 * (`CostNoise.spinNs`). Costs on the path are jittered and pay the EPT's walk on TLB misses of the
 * pages they touch (`CostNoise`): two per descriptor walked (descriptor, buffer), one per frame
 * handed to the stack and one per reply.
 *
 * Positions: cursors are absolute descriptor counts since the last initialisation (the descriptor
 * is `position mod ring`), so "at or behind" is exact across wrap-around.
 *
 * Modes (`nic.mode`):
 * - `'faithful'`: the may-recycle flag is initialised once per handler invocation and latches
 *   false at the first descriptor another sharer has not passed; when a walk reaches a NIC-owned
 *   descriptor the cursor is fast-forwarded to the furthest sharer's cursor (frames it skips are
 *   lost for this sandbox, counted in `skipped`);
 * - `'ideal'`: the recycle decision is taken per descriptor and there is no fast-forward, so every
 *   registered sharer sees every frame exactly once.
 *
 * Invariants (F16): a descriptor is given back only when no other registered sharer's cursor is at
 * or behind it; each frame reaches each sharer at most once (exactly once in the ideal mode while
 * the NIC is not reset); only the owner of the destination IP answers; only the master acknowledges
 * the interrupt status and cleans TX descriptors.
 *
 * NOTE: the walk is plain loops over the NIC's typed-array rings; frames handed to a stack are
 * copied into a FrameStore slot (a number), no object per frame.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { Frame, type Nic as NicNs } from "@qvsim/hardware"
import type { IrqHandler, Kernel, Pcpu } from "./kernel/index.ts"
import type { NetStack } from "./NetStack.ts"
import { vcpuIndexOf, type NicOptions } from "./Options.ts"
import { DeviceClass } from "./Program.ts"

type Nic = NicNs.Nic

/** Per-sandbox driver figures. */
export interface DriverStats {
  /** NIC interrupts taken (handler invocations). */
  irqs: number
  /** Handler invocations that walked the ring. */
  walks: number
  /** Descriptors passed (frames seen). */
  frames: number
  /** Frames handed to the stack. */
  delivered: number
  /** Descriptors given back to the NIC. */
  recycled: number
  /** Descriptors jumped over by the faithful fast-forward. */
  skipped: number
  /** Interrupt-status acknowledgements (master only). */
  acks: number
  /** TX descriptors cleaned (master only). */
  txCleaned: number
  /** Handler invocations while the driver was broken (did nothing). */
  brokenInvocations: number
  /** Time spent spinning on the RX lock, ns. */
  lockSpinNs: number
}

const newStats = (): DriverStats => ({ irqs: 0, walks: 0, frames: 0, delivered: 0, recycled: 0, skipped: 0, acks: 0, txCleaned: 0, brokenInvocations: 0, lockSpinNs: 0 })

/** Cost figures of the driver path, ns. */
interface Costs {
  readonly lockAtomic: number
  readonly lineTransfer: number
  readonly irqEntry: number
  readonly demuxCheck: number
  readonly stackRx: number
  readonly stackTx: number
  readonly txClean: number
}

export class SharedNicDriver {
  readonly nic: Nic
  readonly options: NicOptions
  readonly kernels: readonly Kernel[]
  readonly stacks: readonly NetStack[]
  /** Interrupt vector of the NIC's I/O APIC entry. */
  readonly vector: number
  /** The master sandbox (handles TX completions and acknowledges interrupts). */
  master: number
  /** Absolute RX cursor per sandbox. */
  readonly cursor: number[]
  /** Registered sharers (their cursors hold recycling back). */
  readonly registered: boolean[]
  /** Driver broken in that sandbox (a fault): its handler does nothing. */
  readonly broken: boolean[]
  /** `nic.rxFrames` at the last initialisation: a frame's position is its sequence number minus this. */
  base = 0
  /** Time the RX lock is free again, ns. */
  rxLockFreeNs = 0
  /** Sandbox that held the RX lock last (its cache line is in that core's cache), or -1. */
  rxLockHolder = -1
  /** RX lock acquisitions per sandbox. */
  readonly lockAcquisitions: number[]
  readonly stats: DriverStats[]
  /** Lag warnings issued (one per crossing of `lagWarning`). */
  lagWarnings = 0
  /** Driver initialisations (boot counts as the first). */
  inits = 1
  /**
   * Driver-domain forwarding (Xen-style baseline): called for a frame whose destination another
   * sandbox owns; takes the slot (a copy) and returns the ns the walk spends on it. Null in Quest-V.
   */
  forwarder: ((s: number, owner: number, slot: number) => number) | null = null
  /** Test hooks: a frame (NIC sequence number) handed to sandbox `s`; a descriptor at `position` given back by `s`. */
  onDeliver: ((s: number, seq: number) => void) | null = null
  onGiveBack: ((s: number, position: number) => void) | null = null
  /** Test hook: sandbox `s` acquired the RX lock. */
  onLockAcquire: ((s: number) => void) | null = null
  private lagging = false
  private readonly costs: Costs
  private readonly faithful: boolean
  private readonly early: boolean
  private readonly bottomHalf: boolean
  private readonly netJobKind: number[] = []
  /** Per sandbox: the VCPU its bottom halves inherit from, once found. */
  private readonly requesterOf: number[] = []
  private readonly handlers: NicIrqHandler[] = []
  private readonly trace: Trace.Trace
  private readonly subjects: Trace.Subject[]
  private readonly kWalk: Trace.RecordKind
  private readonly kLag: Trace.RecordKind
  private readonly kInit: Trace.RecordKind

  constructor(nic: Nic, kernels: readonly Kernel[], stacks: readonly NetStack[], sharers: readonly number[], master: number, options: NicOptions, vector: number) {
    this.nic = nic
    this.kernels = kernels
    this.stacks = stacks
    this.options = options
    this.vector = vector
    this.master = master
    const n = kernels.length
    this.cursor = new Array<number>(n).fill(0)
    this.registered = new Array<boolean>(n).fill(false)
    this.broken = new Array<boolean>(n).fill(false)
    this.stats = Array.from({ length: n }, newStats)
    this.lockAcquisitions = new Array<number>(n).fill(0)
    for (const s of sharers) this.registered[s] = true
    this.faithful = options.mode === "faithful"
    this.early = options.demux === "early"
    this.bottomHalf = options.rxInBottomHalf
    const c = kernels[0]!.machine.costs.ns
    this.costs = { lockAtomic: kernels[0]!.machine.costs.toNs(options.rxLockCycles), lineTransfer: c.remoteLineTransfer, irqEntry: c.interruptEntry, demuxCheck: c.demuxCheck, stackRx: c.stackRx, stackTx: c.stackTx, txClean: c.txClean }
    this.base = nic.rxFrames
    const trace = kernels[0]!.sim.trace
    this.trace = trace
    this.subjects = kernels.map((k) => trace.subject(`sandbox${k.sandbox}/nic-driver`, k.sandbox))
    this.kWalk = trace.kind("drv.walk", ["frames", "delivered", "recycled", "cursor"])
    this.kLag = trace.kind("drv.lag", ["behind", "lagging"])
    this.kInit = trace.kind("drv.init", ["master"])
    for (const k of kernels) {
      const h = new NicIrqHandler(this, k.sandbox)
      this.handlers.push(h)
      k.interrupts.register(vector, h)
      const stack = stacks[k.sandbox]!
      this.netJobKind.push(k.io.registerJobKind((_k, _p, slot) => { stack.receive(slot) }))
    }
  }

  /** The sandbox whose stack owns IP `ip`, or -1. */
  ownerOf(ip: number): number {
    if (ip < 0) return -1
    const stacks = this.stacks
    for (let s = 0; s < stacks.length; s++) if (stacks[s]!.owns(ip)) return s
    return -1
  }

  /** True if a registered sharer other than `s` has its cursor at or behind `position`. */
  someoneAtOrBehind(s: number, position: number): boolean {
    const reg = this.registered, cur = this.cursor
    for (let o = 0; o < reg.length; o++) if (o !== s && reg[o] && cur[o]! <= position) return true
    return false
  }

  /**
   * May sandbox `s` give the descriptor at `position` back? (`latched` is the faithful flag so far.)
   * Broken test variants override this.
   */
  protected mayRecycle(s: number, position: number, latched: boolean): boolean {
    if (this.faithful && !latched) return false
    return !this.someoneAtOrBehind(s, position)
  }

  /**
   * Sandbox `s`'s walk under the RX lock (effects now): acknowledges and cleans TX if `s` is the
   * master, hands frames to its stack (`toStack`) or to its bottom half, recycles what it may,
   * advances its cursor. Returns the ns the lock is held.
   */
  walk(s: number, toStack: number[]): number {
    const nic = this.nic
    const frames = nic.frames
    const costs = this.costs
    const st = this.stats[s]!
    const k = this.kernels[s]!
    const noise = k.noise
    st.walks++
    let cost = 0
    if (s === this.master) {
      nic.ackInterrupt(nic.isr)
      st.acks++
      st.txCleaned += nic.txClean()
      cost += noise.jitter(costs.txClean)
    }
    const ring = nic.rxRingSize
    let p = this.cursor[s]!
    let latched = true
    let seen = 0, delivered = 0, recycled = 0
    // At most one lap: a descriptor still holding a frame this sandbox already passed (the ring is
    // full behind a lagging sharer) ends the walk like a NIC-owned one.
    for (let lap = 0; lap < ring; lap++) {
      const i = p % ring
      if (nic.rxOwnedByNic(i) || nic.rxSeq(i) - this.base < p) break
      const slot = nic.rxSlot(i)
      const o = frames.offset(slot)
      const length = nic.rxLength(i)
      seen++
      // The descriptor and the buffer's header: two pages a TLB miss may cost a walk on.
      cost += noise.tlbNs(2)
      const dst = Frame.demuxIp(frames.bytes, o, length)
      if (this.forwarder !== null) {
        const owner = this.ownerOf(dst)
        if (owner >= 0 && owner !== s) {
          cost += this.forwarder(s, owner, frames.clone(slot))
          const may = this.mayRecycle(s, p, latched)
          if (this.faithful) latched = may
          if (may) {
            if (this.onGiveBack !== null) this.onGiveBack(s, p)
            nic.rxGiveBack(i)
            recycled++
          }
          p++
          continue
        }
      }
      const mine = this.early ? this.ownerOf(dst) === s : true
      if (this.early) cost += noise.jitter(costs.demuxCheck)
      if (mine) {
        delivered++
        if (this.onDeliver !== null) this.onDeliver(s, nic.rxSeq(i))
        const copy = frames.clone(slot)
        if (this.bottomHalf) {
          const work = noise.jitter(costs.stackRx) + noise.tlbNs(1) + (this.stacks[s]!.wouldAnswer(copy) ? noise.jitter(costs.stackTx) + noise.tlbNs(1) : 0)
          k.io.submit(k.io.vcpuFor(DeviceClass.net), this.requesterVcpu(k), work, this.netJobKind[s]!, copy)
        } else {
          cost += noise.jitter(costs.stackRx) + noise.tlbNs(1)
          toStack.push(copy)
        }
      }
      const may = this.mayRecycle(s, p, latched)
      if (this.faithful) latched = may
      if (may) {
        if (this.onGiveBack !== null) this.onGiveBack(s, p)
        nic.rxGiveBack(i)
        recycled++
      }
      p++
    }
    this.cursor[s] = p
    if (this.faithful) {
      const m = this.furthest()
      if (m > p) {
        st.skipped += m - p
        this.cursor[s] = m
      }
    }
    st.frames += seen
    st.delivered += delivered
    st.recycled += recycled
    this.trace.emit4(this.kWalk, this.subjects[s]!, seen, delivered, recycled, this.cursor[s]!)
    this.checkLag(s)
    return cost
  }

  /** The lock is an atomic with a cost and spinners poll for it (`nic.rxLockCycles` > 0), else free and taken at once on release. */
  get lockModelled(): boolean {
    return this.costs.lockAtomic > 0
  }

  /** ns of sandbox `s`'s atomic acquisition of the RX lock: the atomic, and the line's transfer if another core held it last. */
  lockAcquireNs(s: number): number {
    const c = this.costs
    if (c.lockAtomic === 0) return 0 // nic.rxLockCycles 0: a free lock (the model before the atomic)
    return c.lockAtomic + (this.rxLockHolder >= 0 && this.rxLockHolder !== s ? c.lineTransfer : 0)
  }

  /** The furthest registered cursor. */
  private furthest(): number {
    let m = 0
    for (let o = 0; o < this.registered.length; o++) if (this.registered[o] && this.cursor[o]! > m) m = this.cursor[o]!
    return m
  }

  private checkLag(s: number): void {
    let lo = Infinity, hi = 0, who = -1
    for (let o = 0; o < this.registered.length; o++) {
      if (!this.registered[o]) continue
      const c = this.cursor[o]!
      if (c < lo) { lo = c; who = o }
      if (c > hi) hi = c
    }
    const lagging = hi - lo >= this.options.lagWarning
    if (lagging && !this.lagging) {
      this.lagWarnings++
      this.trace.emit(this.kLag, this.subjects[s]!, hi - lo, who)
    }
    this.lagging = lagging
  }

  /** The Main VCPU whose period NET bottom halves inherit (`bottomHalfRequesterVcpu`, else the first Main VCPU); found once per sandbox. */
  private requesterVcpu(k: Kernel): number {
    const known = this.requesterOf[k.sandbox]
    if (known !== undefined) return known
    const v = vcpuIndexOf(this.options.bottomHalfRequesterVcpu, k.vcpus)
    const found = k.vcpus[v]?.kind === "main" ? v : k.vcpus.findIndex((x) => x.kind === "main")
    this.requesterOf[k.sandbox] = found
    return found
  }

  /**
   * Driver (re-)initialisation by sandbox `by`: chip reset (the NIC is down for its reset time and
   * discards what its rings hold), fresh cursors for every sharer, `by` becomes the master, its
   * driver is no longer broken.
   */
  reinitialise(by: number): void {
    this.nic.reset()
    this.base = this.nic.rxFrames
    this.cursor.fill(0)
    this.rxLockFreeNs = this.kernels[0]!.sim.now
    this.rxLockHolder = -1
    this.broken[by] = false
    this.master = by
    this.lagging = false
    this.inits++
    this.trace.emit(this.kInit, this.subjects[by]!, by)
  }

  /** Sandbox `s` joins (or leaves) the sharers; a joiner starts at the furthest cursor. */
  setRegistered(s: number, on: boolean): void {
    if (on && !this.registered[s]) this.cursor[s] = this.furthest()
    this.registered[s] = on
  }

  /** The handler of sandbox `s` (for tests). */
  handlerOf(s: number): NicIrqHandler {
    return this.handlers[s]!
  }
}

const P_ENTRY = 0, P_LOCK = 1, P_WALK = 2, P_TX = 3

/** Sandbox `s`'s NIC interrupt handler (top half). */
export class NicIrqHandler implements IrqHandler {
  readonly driver: SharedNicDriver
  readonly sandbox: number
  private phase = P_ENTRY
  private readonly toStack: number[] = []
  private spinFrom = 0

  constructor(driver: SharedNicDriver, sandbox: number) {
    this.driver = driver
    this.sandbox = sandbox
  }

  start(k: Kernel, _p: Pcpu, _vector: number): number {
    this.driver.stats[this.sandbox]!.irqs++
    this.phase = P_ENTRY
    this.spinFrom = -1
    return k.noise.jitter(k.machine.costs.ns.interruptEntry)
  }

  next(k: Kernel, _p: Pcpu): number {
    const d = this.driver
    const s = this.sandbox
    switch (this.phase) {
      case P_ENTRY:
        if (d.broken[s] || !d.registered[s]) {
          d.stats[s]!.brokenInvocations += d.broken[s] ? 1 : 0
          return -1
        }
        this.phase = P_LOCK
        return 0
      case P_LOCK: {
        const now = k.sim.now
        if (d.rxLockFreeNs > now) {
          // Spinning: the next attempt is at this core's first poll after the release.
          if (this.spinFrom < 0) this.spinFrom = now
          return d.lockModelled ? k.noise.spinNs(d.rxLockFreeNs - now) : d.rxLockFreeNs - now
        }
        if (this.spinFrom >= 0) d.stats[s]!.lockSpinNs += now - this.spinFrom
        d.lockAcquisitions[s]!++
        if (d.onLockAcquire !== null) d.onLockAcquire(s)
        const acquire = d.lockAcquireNs(s)
        d.rxLockHolder = s
        const held = acquire + d.walk(s, this.toStack)
        d.rxLockFreeNs = now + held
        this.phase = P_WALK
        return held
      }
      case P_WALK: {
        const stack = d.stacks[s]!
        const noise = k.noise
        const txNs = k.machine.costs.ns.stackTx
        let ns = 0
        for (const slot of this.toStack) if (stack.wouldAnswer(slot)) ns += noise.jitter(txNs) + noise.tlbNs(1)
        this.phase = P_TX
        return ns
      }
      default: {
        const stack = d.stacks[s]!
        for (const slot of this.toStack) stack.receive(slot)
        // NOTE: emptied by pops: `length = 0` drops the array's store (a runtime call, and a new store at the next push: issue 15).
        while (this.toStack.length > 0) this.toStack.pop()
        return -1
      }
    }
  }
}
