/**
 * The runnable list `R` of a PCPU scheduler (spec §C.1): the VCPUs with queued threads, in list
 * order (append at the tail, no duplicates, removal keeps the others' order); kept as a tree, it
 * also does S2's walk (`selectInTree`) and S4's earliest event of the VCPUs of priority ≤ a bound
 * (`earliestEventInTree`). While it is a plain array the scheduler walks it itself (`array()`).
 *
 * Two representations of the same list:
 * - the plain array (append O(1), removal and walks O(n)): under `priority: 'edf'` always (a
 *   refresh or an end of timeslice moves a listed VCPU's deadline, so nothing can be keyed), and
 *   under 'rm' while `R` is short (at most `treeFrom` VCPUs; in a periodic set at U = 0.7, `R`
 *   holds 0–2 VCPUs at a typical invocation whatever the number of tasks, and a walk of 2 beats any
 *   tree);
 * - under 'rm' once `R` grows past `treeFrom` (back to the array below `treeFrom / 2`): each
 *   listed VCPU holds a position (positions only grow, so list order = position order) in a
 *   min-tournament tree over positions whose leaves are the VCPUs' priorities. Append, removal and
 *   a priority change cost O(log n); `firstBelow(from, x)` finds the first listed VCPU at or after
 *   a position with priority `< x` (or `≤ x`) in O(log n), so S2's walk jumps from one VCPU it
 *   refreshes to the next. Positions are compacted (renumbered in order) when they run out: O(n)
 *   every ≥ n appends.
 * - under 'rm' with `ties: 'rotate'`, while the listed VCPUs have at most `MAX_BUCKETS` distinct
 *   priorities (harmonic sets have ≤ 6 periods), the long list is kept as one FIFO per priority
 *   instead (`internal/PriorityBuckets.ts`): append and removal O(1), S2's walk O(buckets) per
 *   VCPU it refreshes, no tree search. A further priority, a priority change or a walk under
 *   'declaration' ties turns it into the position tree until `R` is short again.
 * - in the tree form (either kind), S4's bound (`earliestEventInTree`) comes from the listed VCPUs' cached next
 *   events ranked by priority (`internal/RankedEvents.ts`): O(log V) plus O(log V) per cached event
 *   read again, instead of reading all k VCPUs within the bound. The owner calls `eventsChanged(v)`
 *   when a hook may have moved listed `v`'s next event (the rule in `Vcpu.ts`), or `eventIs(v, e)`
 *   with the event it has just read after that hook (and after an append's unblock).
 * The tree's walks refresh exactly the VCPUs a linear walk of the list refreshes, in the same order,
 * and choose the same one (test/RunnableSet.test.ts checks it on random operation sequences).
 *
 * Invariants:
 * - a VCPU is listed at most once; `size` = the number listed;
 * - keyed ('rm'): `prio[v]` is the priority `v` was added (or last `reprioritised`) with — the
 *   owner calls `reprioritise` when a listed VCPU's priority changes;
 * - tree: `vAt[posOf[v]] = v` for a listed `v`; leaf `posOf[v]` holds `prio[v]`, empty leaves
 *   `Infinity`; an inner node is the minimum of its children; positions `< nextPos ≤ cap`.
 *
 * `dirty`, `compact`, `leaveBuckets`, `renumber`, `materialise` and `toArray` are protected for the
 * test suite's broken variants.
 *
 * NOTE: hot path (every wakeup and invocation): typed arrays, no allocation once grown; in the tree
 * the list order is materialised lazily (only checks, reports and the switch back read it).
 *
 * @module
 */
import { setMinLeaf } from "./internal/minTree.ts"
import { PriorityBuckets } from "./internal/PriorityBuckets.ts"
import { RankedEvents } from "./internal/RankedEvents.ts"
import { budgetStateEdits, type Vcpu } from "./Vcpu.ts"

/** Default `treeFrom`: longer lists are kept as a tree ([ASSUMED] a speed knob only: any value ≥ 0 gives the same schedules). */
export const TREE_FROM = 16

export class RunnableSet {
  /** 'rm': listed VCPUs are keyed by their priority (and may be kept as a tree); false ('edf'): array only. */
  readonly keyed: boolean
  /** Lists longer than this are kept as a tree (keyed only). */
  readonly treeFrom: number
  /** True while the list is kept as a tree (the position tree, or the buckets when `inBuckets`). */
  inTree = false
  /** True while the long list is kept as buckets (`inTree` too; the position tree is then unused). */
  inBuckets = false
  /** Number of VCPUs listed. */
  size = 0
  /** Array: the list, entries `[0, size)`. Tree: the list order, rebuilt when `dirty`. */
  private items = new Int32Array(8)
  protected dirty = false
  /** Position of each VCPU in the tree (array: 0), -1 when not listed. */
  private posOf = new Int32Array(8).fill(-1)
  /** Keyed: the priority each listed VCPU was added with. */
  private prio = new Float64Array(8)
  /** Tree: leaves (positions) and inner nodes: `tree[1]` the root, leaf `p` at `cap + p`. */
  private cap = 0
  private tree = new Float64Array(0)
  /** Tree: the VCPU at each position, or -1. */
  private vAt = new Int32Array(0)
  private nextPos = 0
  /** Tree: S4's cached next events by priority rank; the VCPU count it ranks; the edits it has seen. */
  private readonly events: RankedEvents
  /** S4's numbers in and out (`earliestInTree`): the cache's own `io`. */
  readonly s4: Float64Array
  private vcpuCount = 0
  private seenEdits = budgetStateEdits.count
  /** The long list as one FIFO per priority, while `inBuckets`; null: never (`ties: 'declaration'`, whose walk they do not do). */
  private readonly buckets: PriorityBuckets | null

  /** `buckets`: where a long list may be kept as buckets (null: never); `events`: S4's cache (tests pass broken variants of both). */
  constructor(keyed: boolean, treeFrom = TREE_FROM, buckets: PriorityBuckets | null = new PriorityBuckets(), events = new RankedEvents()) {
    this.keyed = keyed
    this.events = events
    this.s4 = events.io
    this.treeFrom = keyed ? treeFrom : Infinity
    this.buckets = keyed ? buckets : null
  }

  /** Room for VCPU indices `< n`. */
  reserve(n: number): void {
    if (n > this.vcpuCount) this.vcpuCount = n
    if (n <= this.posOf.length) return
    let len = this.posOf.length
    while (len < n) len *= 2
    const pos = new Int32Array(len).fill(-1)
    pos.set(this.posOf)
    this.posOf = pos
    const prio = new Float64Array(len)
    prio.set(this.prio)
    this.prio = prio
    const items = new Int32Array(len)
    items.set(this.items)
    this.items = items
    this.buckets?.reserve(len)
  }

  /** True when `v` is listed. */
  has(v: number): boolean {
    return this.posOf[v]! >= 0
  }

  /** Keyed: the priority listed `v` is ordered by (for checks). */
  keyOf(v: number): number {
    return this.prio[v]!
  }

  /**
   * Appends `v` (not listed) at the tail with priority `priority`. `told`: the caller tells its next
   * event (`eventIs`) after its hooks, before any other call (else it is read at the next S4).
   */
  add(v: number, priority: number, told = false): void {
    this.prio[v] = priority
    if (!this.inTree && this.size < this.treeFrom) {
      this.items[this.size++] = v
      this.posOf[v] = 0
      return
    }
    // NOTE: the tree's part out of line, so that the array's part inlines into its callers.
    this.addToTree(v, priority, told)
  }

  private addToTree(v: number, priority: number, told: boolean): void {
    if (!this.inTree) this.toTree()
    if (this.inBuckets && !this.buckets!.add(v, priority)) this.leaveBuckets()
    if (this.inBuckets) {
      this.posOf[v] = 0
    } else {
      if (this.nextPos === this.cap) this.compact()
      const p = this.nextPos++
      this.posOf[v] = p
      this.vAt[p] = v
      this.setLeaf(p, priority)
    }
    this.size++
    this.dirty = true
    // Its next event is read at the next S4 (its unblock hook may still run after the append), or told.
    if (this.events.outOfRank(v, priority)) this.events.ranksStale = true
    else if (!told) this.events.stale(v)
  }

  /** Removes `v` (listed). */
  remove(v: number): void {
    if (!this.inTree) {
      const items = this.items
      const n = this.size - 1
      let i = 0
      while (items[i] !== v) i++
      // NOTE: a plain loop, not copyWithin: the array is short and the builtin call costs more.
      for (; i < n; i++) items[i] = items[i + 1]!
      this.size = n
      this.posOf[v] = -1
      return
    }
    this.removeFromTree(v)
  }

  private removeFromTree(v: number): void {
    const p = this.posOf[v]!
    this.posOf[v] = -1
    this.size--
    this.dirty = true
    if (this.inBuckets) this.buckets!.remove(v)
    else {
      this.vAt[p] = -1
      this.setLeaf(p, Infinity)
    }
    this.events.unlisted(v)
    if (2 * this.size < this.treeFrom) this.toArray()
  }

  /** Keyed: listed `v`'s priority is now `priority` (it keeps its place in the list). */
  reprioritise(v: number, priority: number): void {
    if (!this.keyed || priority === this.prio[v]) return
    this.prio[v] = priority
    if (this.inTree) {
      // A bucket keeps one priority: the listed VCPU would change buckets mid-list (rare: PIBS).
      if (this.inBuckets) this.leaveBuckets()
      this.setLeaf(this.posOf[v]!, priority)
      if (this.events.outOfRank(v, priority)) this.events.ranksStale = true
    }
  }

  /**
   * Listed `v`'s next event as S4's cache holds it (absolute ns, `Infinity` for none), or
   * `-Infinity` when it will be read again (not cached, or not a tree). For checks: a cached value
   * after now must equal `nextEventNs(now)`.
   */
  cachedEventOf(v: number): number {
    return this.inTree && this.seenEdits === budgetStateEdits.count ? this.events.cachedOf(v) : -Infinity
  }

  /**
   * Listed `v`'s next event is `e` (`nextEventNs(now)`), read after the hooks that may have moved
   * it (its append's unblock, its end of timeslice): S4's cache takes it now instead of reading it
   * at the next query (`eventsChanged` without the read). Tree only (call it when `inTree`).
   */
  eventIs(v: number, e: number): void {
    this.events.known(v, e)
  }

  /**
   * A hook may have moved listed `v`'s next event (`Vcpu.ts`'s rule): S4 reads it again at its next
   * query. (The scheduler reads the event itself after such hooks and tells it: `eventIs`.)
   */
  eventsChanged(v: number): void {
    if (this.inTree) this.events.stale(v)
  }

  /**
   * Position tree (`inTree && !inBuckets`): the first listed VCPU at position ≥ `from` whose priority is `< x` (`orEqual`:
   * `≤ x`), or -1. O(log n).
   */
  firstBelow(from: number, x: number, orEqual: boolean): number {
    const cap = this.cap, tree = this.tree
    if (x === Infinity) orEqual = false // empty leaves hold Infinity
    let m = tree[1]!
    // NOTE: no match anywhere is the common end of S2's walk: one read.
    if (from >= this.nextPos || !(m < x || (orEqual && m === x))) return -1
    let i = 1
    if (from > 0) {
      i = from + cap
      m = tree[i]!
      if (m < x || (orEqual && m === x)) return this.vAt[from]!
      // Climb to the nearest subtree right of `from` that holds a match.
      for (;;) {
        while ((i & 1) === 1) {
          if (i === 1) return -1
          i >>= 1
        }
        i++
        m = tree[i]!
        if (m < x || (orEqual && m === x)) break
      }
    }
    // Descend to the subtree's first match.
    while (i < cap) {
      i <<= 1
      m = tree[i]!
      if (!(m < x || (orEqual && m === x))) i++
    }
    return this.vAt[i - cap]!
  }


  /**
   * S2 over `R` kept as a tree (`vcpus[v]` is VCPU `v`; priorities never change on refresh): the
   * walk of `R` in list order that keeps the best priority so far, refreshes only VCPUs strictly
   * better than it, and takes the first with `b > 0` at a strictly better priority (`byIndex`,
   * ties 'declaration': an equal priority with a smaller index is better too) — jumping from one
   * VCPU it refreshes to the next (the first later VCPU of priority < the best so far; ≤ with
   * `byIndex`), so it refreshes exactly the VCPUs the list walk refreshes, in the same order,
   * without visiting the others: O(log n) per refreshed VCPU. Returns the chosen index or -1.
   */
  selectInTree(vcpus: readonly Vcpu[], nowNs: number, byIndex: boolean): number {
    if (this.inBuckets) {
      if (!byIndex) return this.buckets!.select(vcpus, nowNs)
      this.leaveBuckets()
    }
    let best = -1
    let bestP = Infinity
    let from = 0
    for (;;) {
      const v = this.firstBelow(from, bestP, byIndex)
      if (v < 0) return best
      from = this.posOf[v]! + 1
      const vcpu = vcpus[v]!
      if (byIndex && v > best && vcpu.priority === bestP) continue
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) {
        best = v
        bestP = vcpu.priority
      }
    }
  }

  /**
   * S4's part over `R` kept as a tree: the smallest `nextEventNs(nowNs) − nowNs` of the listed
   * VCPUs whose priority (key) is ≤ `limit`, or `Infinity` (`vcpus[v]` is VCPU `v`); when that is
   * ≥ `below` (S4's bound so far), some value ≥ `below` instead (O(1) when the earliest event of
   * the whole list is not before `nowNs + below`). From the cached next events
   * (`internal/RankedEvents.ts`): O(log V) plus O(log V) per event read again. (The scheduler's
   * invocation sets `s4` and calls `earliestInTree` itself, so that no number is boxed; this form is
   * for the tests and checks.)
   */
  earliestEventInTree(vcpus: readonly Vcpu[], limit: number, nowNs: number, below = Infinity): number {
    const io = this.s4
    io[0] = nowNs
    io[2] = below
    io[3] = limit
    this.earliestInTree(vcpus)
    return io[1]!
  }

  /**
   * `earliestEventInTree` with its numbers in `s4`: `nowNs` at `[0]`, `below` at `[2]`, `limit` at
   * `[3]`; the answer at `[1]`. NOTE: the scheduler's invocation calls this out of line, and a number
   * passed to or returned from a call that is not inlined is boxed (one heap allocation each, the
   * time and an 'rm' priority being past the small integers).
   */
  earliestInTree(vcpus: readonly Vcpu[]): void {
    if (budgetStateEdits.count !== this.seenEdits || !this.events.atRoot(this.vcpuCount)) this.earliestFull(vcpus)
  }

  private earliestFull(vcpus: readonly Vcpu[]): void {
    const edits = budgetStateEdits.count
    if (edits !== this.seenEdits) {
      this.seenEdits = edits
      this.events.leavesStale = true
    }
    this.events.earliest(vcpus, this.prio, this.posOf, this.vcpuCount)
  }

  /**
   * The list while it is kept as an array (`!inTree`): entries `[0, size)`, head first.
   * NOTE: the live array, for the scheduler's walks (inlined there; a call per walk costs more than
   * a walk of a short list). Read only.
   */
  array(): Int32Array {
    return this.items
  }

  /** The `i`-th listed VCPU in list order (0 = head). In the tree: rebuilt once per change of `R` (checks, reports). */
  at(i: number): number {
    if (this.dirty) this.materialise()
    return this.items[i]!
  }

  /** The list order (allocates). */
  order(): number[] {
    const out: number[] = []
    for (let i = 0; i < this.size; i++) out.push(this.at(i))
    return out
  }

  private setLeaf(p: number, value: number): void {
    setMinLeaf(this.tree, this.cap, p, value)
  }

  /** From the array to the tree: buckets when allowed and the priorities are few, else positions `0..size-1` in list order. */
  private toTree(): void {
    this.inTree = true
    this.inBuckets = this.fillBuckets()
    if (!this.inBuckets) this.renumber()
    this.events.toTreeForm(this.items, this.size, this.prio)
  }

  /** From the tree back to the array. */
  protected toArray(): void {
    this.materialise()
    for (let i = 0; i < this.size; i++) this.posOf[this.items[i]!] = 0
    this.events.toArrayForm(this.items, this.size)
    this.inTree = false
    this.inBuckets = false
  }

  /** The list `items[0, size)` into the buckets, in order; false when its priorities are too many. */
  private fillBuckets(): boolean {
    const b = this.buckets
    if (b === null) return false
    b.clear()
    for (let i = 0; i < this.size; i++) {
      const v = this.items[i]!
      if (!b.add(v, this.prio[v]!)) return false
    }
    return true
  }

  /** From the buckets to the position tree (same list order). */
  protected leaveBuckets(): void {
    this.materialise()
    this.inBuckets = false
    this.renumber()
  }

  /** Tree positions ran out: renumber the listed VCPUs in order. */
  protected compact(): void {
    this.materialise()
    this.renumber()
  }

  /**
   * Lays `items[0, size)` (the list order) out as positions `0..size-1` of a tree with room for
   * ≥ 3·size more appends (arrays reused while large enough).
   */
  protected renumber(): void {
    let cap = 16
    while (cap < 4 * (this.size + 1)) cap *= 2
    this.cap = cap
    // NOTE: the arrays are kept while large enough (a burst grows and shrinks `R` every period:
    // no allocation per switch); only `[0, 2·cap)` and `[0, cap)` are in use.
    if (this.tree.length < 2 * cap) {
      this.tree = new Float64Array(2 * cap)
      this.vAt = new Int32Array(cap)
    }
    const tree = this.tree
    tree.fill(Infinity, 0, 2 * cap)
    this.vAt.fill(-1, 0, cap)
    for (let p = 0; p < this.size; p++) {
      const v = this.items[p]!
      this.posOf[v] = p
      this.vAt[p] = v
      tree[cap + p] = this.prio[v]!
    }
    this.nextPos = this.size
    for (let i = cap - 1; i >= 1; i--) {
      const a = tree[2 * i]!, b = tree[2 * i + 1]!
      tree[i] = a < b ? a : b
    }
    this.dirty = false
  }

  /** The tree's list order into `items`. */
  protected materialise(): void {
    if (this.inBuckets) {
      this.buckets!.order(this.items, this.size)
      this.dirty = false
      return
    }
    let k = 0
    for (let p = 0; p < this.nextPos; p++) if (this.vAt[p]! >= 0) this.items[k++] = this.vAt[p]!
    this.dirty = false
  }
}
