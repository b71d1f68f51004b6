/**
 * S4's bound over a long runnable list (`RunnableSet.ts` in its tree form): the earliest next event
 * of the listed VCPUs whose priority is ≤ a limit, in O(log V) plus O(log V) per cached event that
 * has gone stale — instead of reading the next event of each of the k listed VCPUs within the limit.
 *
 * How:
 * - every VCPU of the PCPU has a rank: the VCPUs sorted by the priority `R` keys them by (ties by
 *   index; an unlisted VCPU by its current priority), so "priority ≤ limit" is a prefix of the
 *   ranks, found by binary search; a VCPU listed with another priority than it was ranked with
 *   (PIBS inheritance) makes the owner re-rank (`outOfRank`);
 * - a min-tree over ranks holds, for each listed VCPU, its next event as last read (absolute ns;
 *   `Infinity` for none), `STALE` when it must be read again, and `Infinity` for a VCPU not listed;
 * - a query covers the prefix with O(log V) subtrees; a subtree whose minimum is ≤ now holds stale
 *   entries (marked, or an event that has passed): those leaves are read again (`nextEventNs`) and
 *   written back; then the subtree's minimum is exact.
 *
 * Why a cached event stays exact (the rule `Vcpu.ts` states, as Quest's code keeps it): while a VCPU
 * is listed and not current, nothing changes its next event before that event passes — its
 * end-of-timeslice hook runs only for the current VCPU, its unblock hook only when it was neither
 * runnable nor running, and a refresh only takes replenishments that are due (`vcpu.c`:
 * `vcpu_schedule` calls `end_timeslice` on `cur` only; `vcpu_wakeup` calls `unblock` only if
 * `!runnable && !running`; `main_vcpu_update_replenishments` reads `Q`; `io_vcpu_update_replenishments`
 * clears `r` only once `r.t ≤ tcur`). The owner calls `stale(v)` where that does not hold: on
 * append (unblock follows it) and after the current VCPU's end of timeslice while it is listed (`v`
 * is queued and read at the start of the next query, `flush`), or, where it has just read the event
 * after those hooks, tells it (`known(v, e)`: the leaf written now, `v` no longer to be read); and
 * marks every listed leaf `STALE` after a change from outside the hooks (`Vcpu.budgetStateEdits`:
 * migration, reboot: `leavesStale`).
 *
 * Invariants: `rankOf`/`vAtRank` are inverse permutations of `0..count-1`; `sortedPrio` ascending;
 * unless `leavesStale` or `ranksStale`, every leaf is `Infinity`
 * while the owner keeps its list as an array (between `toArrayForm` and `toTreeForm`), and else leaf
 * `rankOf[v]` is `Infinity` for an unlisted `v`, and for a listed `v` either ≤ the time of the last
 * query (stale), or its next event, exact until it passes, unless `isPending[v]` is 1 (read at
 * the next query); `v` is in `pending[0, pendingCount)` at most once, exactly when `isPending[v]` is 1;
 * inner nodes are the minimum of their children.
 *
 * NOTE: hot path of S4 over long lists: typed arrays, no allocation but on a re-rank (a VCPU added
 * to the PCPU, or a listed priority that differs from its rank's: PIBS inheritance).
 *
 * @module
 */
import { NONE, type Vcpu } from "../Vcpu.ts"
import { setMinLeaf } from "./minTree.ts"

/** A leaf that must be read again. */
export const STALE = -Infinity

export class RankedEvents {
  /** Number of VCPUs ranked. */
  private count = 0
  private rankOf = new Int32Array(0)
  /** The priority each VCPU was ranked with. */
  private rankedPrio = new Float64Array(0)
  private vAtRank = new Int32Array(0)
  /** The priorities in rank order. */
  private sortedPrio = new Float64Array(0)
  private cap = 1
  private tree = new Float64Array(2)
  /** A re-rank is due before the next use. */
  ranksStale = true
  /** The leaves must be rebuilt from the list before the next use. */
  leavesStale = true
  /**
   * The last query's limit and its number of ranks of priority ≤ it (NaN: none since the last
   * re-rank). NOTE: successive invocations mostly choose VCPUs of one priority (a burst of equal
   * periods): the binary search's branches are unpredictable, the compare is not.
   */
  private boundLimit = NaN
  private boundOf = 0
  /**
   * `earliest`'s time in (`[0]`, ns), the caller's bound in (`[2]`, ns) and answer out (`[1]`). NOTE: a number passed to or returned
   * from a call that is not inlined is boxed (a heap allocation; `now` is past the small-integer
   * range after about one simulated second): the scheduler's invocation calls `earliest` out of line.
   */
  readonly io = new Float64Array(4)
  /** VCPUs whose next event must be read again at the next query (`stale`), each once (`isPending[v]` = 1). */
  private pending = new Int32Array(0)
  private isPending = new Uint8Array(0)
  private pendingCount = 0

  /** True when `v` cannot keep its rank with priority `priority` (call before listing it). */
  outOfRank(v: number, priority: number): boolean {
    return v >= this.count || this.rankedPrio[v] !== priority
  }

  /**
   * Listed `v`'s next event must be read again (no-op while the ranks or leaves are to be rebuilt anyway).
   * NOTE: queued, not written into the tree: the next query reads it and writes the leaf once
   * (`flush`), instead of a `STALE` leaf climbed to the root here plus a descent to it and a second
   * climb at the query. Measured with `toTreeForm`'s O(size) switch (harmonic fixed-demand
   * workload of the scale bench, 200 tasks, in-process A/B against b600703, CPU, 6 processes of 20
   * rounds, both load orders): B/A medians 0.902-0.930; the queue alone, 0.953 and 0.941 (2 processes).
   */
  stale(v: number): void {
    if (!this.leavesStale && !this.ranksStale && this.isPending[v] === 0) {
      this.isPending[v] = 1
      this.pending[this.pendingCount++] = v
    }
  }

  /**
   * Listed `v`'s next event is `e` (absolute ns, `NONE` for none), read after the hooks that may
   * have moved it ran (nothing moves it before the next query): written into its leaf now (no-op
   * while the ranks or leaves are to be rebuilt anyway). A `v` still queued is read again at the
   * next query all the same (exact; the scheduler queues none of the VCPUs it tells). NOTE: the
   * owner calls it where the VCPU's state was just read (its append at a wakeup, its end of
   * timeslice): read at the next query, the state was cold. With `put`'s early end (harmonic
   * fixed-demand workload, 200 tasks; in-process A/B against 5a960bb, a copy of it as C, CPU medians
   * of 60 rounds per load order, load 3.0): 0.951 / 0.957 (copy 1.004 / 1.016). Bound: this cache's
   * whole work skipped in the buckets form (same events there) read 0.85-0.87 against 5a960bb.
   */
  known(v: number, e: number): void {
    if (!this.leavesStale && !this.ranksStale) this.put(v, e === NONE ? Infinity : e)
  }

  /** Listed `v`'s cached next event (absolute ns, `Infinity` for none), or `STALE` when it is to be read again (checks). */
  cachedOf(v: number): number {
    return this.leavesStale || this.ranksStale || v >= this.count || this.isPending[v] === 1 ? STALE : this.tree[this.cap + this.rankOf[v]!]!
  }

  /**
   * The list (`items[0, size)`) is kept as an array from now on: its VCPUs' leaves become `Infinity`
   * and the queue is dropped, so that every leaf is `Infinity` while the list is an array (the
   * owner calls neither `stale` nor `unlisted` then). O(size · log V).
   */
  toArrayForm(items: Int32Array, size: number): void {
    if (this.leavesStale || this.ranksStale) return
    for (let i = 0; i < size; i++) {
      const v = items[i]!
      if (v < this.count) this.put(v, Infinity)
    }
    this.dropPending()
  }

  /**
   * The list (`items[0, size)`, `prio[v]` the priority listed `v` is keyed by) is kept as a tree
   * again: each listed VCPU's next event is read at the next query; a VCPU that cannot keep its
   * rank makes the owner re-rank. NOTE: O(size) against the O(V) refill of every leaf (every leaf
   * is `Infinity` while the list is an array: `toArrayForm`): a harmonic set's `R` crosses the
   * tree's threshold at every burst of releases (the refill was 7.9 ns per event of the harmonic
   * fixed-demand workload at 200 tasks, CPU profile; measured: see `stale`).
   */
  toTreeForm(items: Int32Array, size: number, prio: Float64Array): void {
    for (let i = 0; i < size; i++) {
      const v = items[i]!
      if (this.outOfRank(v, prio[v]!)) this.ranksStale = true
    }
    if (this.leavesStale || this.ranksStale) return // rebuilt at the next query
    for (let i = 0; i < size; i++) this.stale(items[i]!)
  }

  /** `v` left the list. */
  unlisted(v: number): void {
    if (!this.leavesStale && !this.ranksStale) this.put(v, Infinity)
  }

  /**
   * The smallest `nextEventNs(nowNs) − nowNs` over the listed VCPUs of priority ≤ `limit`, or
   * `Infinity` — or, when that is ≥ `io[2]` (the caller's bound so far), a value ≥ `io[2]` (a lower
   * bound of it); the limit is `io[3]`. `prio[v]` is the priority `v` is keyed by, `posOf[v] ≥ 0`
   * when `v` is listed, and `n` the number of VCPUs (used when ranks or leaves are rebuilt).
   */
  earliest(vcpus: readonly Vcpu[], prio: Float64Array, posOf: Int32Array, n: number): void {
    const io = this.io
    const nowNs = io[0]!
    if (this.ranksStale || this.leavesStale || n !== this.count) this.rebuild(vcpus, prio, posOf, n)
    if (this.pendingCount > 0) this.flush(vcpus, posOf, nowNs)
    // The root bounds every listed VCPU's event: past `now` (no leaf stale) and not before the
    // caller's bound, it is the answer's lower bound and the prefix need not be searched.
    // NOTE: harmonic fixed-demand workload at 200 tasks (scale bench): 99 % of the queries end
    // here (the budget, ≤ 2 ms, is below every listed VCPU's next replenishment), and no query's
    // answer was below the budget. Measured (in-process A/B against bbc4bd0, ab.ts, CPU medians
    // of 40 rounds per load order, load 4.0-4.2): harmonic 200 0.951 / 0.923, a copy of the base
    // 1.005 / 0.988; the base against this form (40 rounds per order, load 4.2): 1.063 / 1.063.
    const root = this.tree[1]!
    if (root > nowNs && root - nowNs >= io[2]!) {
      io[1] = root - nowNs
      return
    }
    // The number of ranks with priority ≤ limit (successive invocations mostly choose VCPUs of one priority).
    const limit = io[3]!
    const lo = limit === this.boundLimit ? this.boundOf : this.boundFor(limit)
    const tree = this.tree
    let fire = Infinity
    // The prefix [0, lo) as O(log V) subtrees, bottom-up; a subtree whose minimum has passed holds
    // stale leaves: read them again first.
    // NOTE: `fresh` returns nothing and the node is read after it (a number returned from a call
    // that is not inlined is boxed), so the loop's numbers stay unboxed doubles.
    let l = this.cap, r = this.cap + lo
    while (l < r) {
      if ((l & 1) === 1) {
        if (!(tree[l]! > nowNs)) this.fresh(l, vcpus, nowNs)
        const d = tree[l]! - nowNs
        if (d < fire) fire = d
        l++
      }
      if ((r & 1) === 1) {
        r--
        if (!(tree[r]! > nowNs)) this.fresh(r, vcpus, nowNs)
        const d = tree[r]! - nowNs
        if (d < fire) fire = d
      }
      l >>= 1
      r >>= 1
    }
    this.io[1] = fire
  }

  /**
   * `earliest`'s answer when nothing is to be rebuilt or read again and the root bounds it (see
   * there): true, the answer in `io[1]`; else false (nothing changed). NOTE: small enough to be
   * inlined into the scheduler's invocation, which then calls `earliest` only when this fails.
   */
  atRoot(n: number): boolean {
    if (this.ranksStale || this.leavesStale || n !== this.count || this.pendingCount > 0) return false
    const io = this.io
    const nowNs = io[0]!
    const root = this.tree[1]!
    if (root > nowNs && root - nowNs >= io[2]!) {
      io[1] = root - nowNs
      return true
    }
    return false
  }

  /** Ranks and leaves rebuilt as needed (a VCPU added, a PIBS priority change, a switch to the tree, a budget-state edit). */
  private rebuild(vcpus: readonly Vcpu[], prio: Float64Array, posOf: Int32Array, n: number): void {
    if (this.ranksStale || n !== this.count) this.rerank(vcpus, prio, posOf, n)
    if (this.leavesStale) this.refill(posOf)
  }

  /** The number of ranks of priority ≤ `limit` (binary search), kept for the next query of the same limit. */
  private boundFor(limit: number): number {
    const sorted = this.sortedPrio
    let lo = 0, hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (sorted[mid]! <= limit) lo = mid + 1
      else hi = mid
    }
    this.boundLimit = limit
    this.boundOf = lo
    return lo
  }

  /**
   * The queued VCPUs' next events read and written into their leaves (a queued VCPU no longer
   * listed keeps its `Infinity` leaf). Reading a queued VCPU outside the query's prefix early is
   * exact all the same: its hooks have run (the queue is read at the query, after the append's
   * unblock and the end of timeslice), and a cached event stays exact until it passes.
   */
  private flush(vcpus: readonly Vcpu[], posOf: Int32Array, nowNs: number): void {
    const pending = this.pending, isPending = this.isPending, count = this.pendingCount
    this.pendingCount = 0
    for (let i = 0; i < count; i++) {
      const v = pending[i]!
      isPending[v] = 0
      if (posOf[v]! >= 0) {
        const e = vcpus[v]!.nextEventNs(nowNs)
        this.put(v, e === NONE ? Infinity : e)
      }
    }
  }

  /** Reads again every stale leaf under node `i` (minimum ≤ now), so that the node's minimum is exact. */
  private fresh(i: number, vcpus: readonly Vcpu[], nowNs: number): void {
    const tree = this.tree, cap = this.cap
    while (tree[i]! <= nowNs) {
      let j = i
      while (j < cap) {
        j <<= 1
        if (!(tree[j]! <= nowNs)) j++
      }
      const v = this.vAtRank[j - cap]!
      const e = vcpus[v]!.nextEventNs(nowNs)
      setMinLeaf(tree, cap, j - cap, e === NONE ? Infinity : e)
    }
  }

  private dropPending(): void {
    for (let i = 0; i < this.pendingCount; i++) this.isPending[this.pending[i]!] = 0
    this.pendingCount = 0
  }

  /**
   * `v`'s leaf set to `value`. NOTE: `Infinity` while the root is `Infinity` (every leaf is) is a
   * no-op that reads neither the rank nor the tree: in the harmonic fixed-demand workload at 200
   * tasks (3 sets x 100 s) a listed VCPU's next event is `Infinity` (no future replenishment) at
   * 209,017 of 210,567 reads and at 203,028 of 203,046 removals, each of which wrote `Infinity` over
   * `Infinity`, reading a rank and a leaf line that were cold.
   */
  private put(v: number, value: number): void {
    if (value === Infinity && this.tree[1] === Infinity) return
    setMinLeaf(this.tree, this.cap, this.rankOf[v]!, value)
  }

  /**
   * Ranks VCPUs `0..n-1` by priority, ties by index: a listed VCPU's key `prio[v]`, an unlisted
   * one's current `priority` (what it will most likely be listed with); the leaves are rebuilt next.
   */
  private rerank(vcpus: readonly Vcpu[], prio: Float64Array, posOf: Int32Array, n: number): void {
    if (this.rankOf.length < n) {
      this.rankOf = new Int32Array(n)
      this.vAtRank = new Int32Array(n)
      this.rankedPrio = new Float64Array(n)
      this.sortedPrio = new Float64Array(n)
      this.pending = new Int32Array(n)
      this.isPending = new Uint8Array(n)
      this.pendingCount = 0
    }
    const key = this.rankedPrio
    for (let v = 0; v < n; v++) key[v] = posOf[v]! >= 0 ? prio[v]! : vcpus[v]!.priority
    const order = Array.from({ length: n }, (_, v) => v).sort((a, b) => key[a]! - key[b]! || a - b)
    for (let k = 0; k < n; k++) {
      const v = order[k]!
      this.rankOf[v] = k
      this.vAtRank[k] = v
      this.sortedPrio[k] = key[v]!
    }
    this.count = n
    let cap = 1
    while (cap < n) cap *= 2
    if (cap !== this.cap || this.tree.length !== 2 * cap) {
      this.cap = cap
      this.tree = new Float64Array(2 * cap)
    }
    this.ranksStale = false
    this.leavesStale = true
    this.boundLimit = NaN
  }

  /** Every listed VCPU's leaf `STALE`, every other `Infinity`. O(V). */
  private refill(posOf: Int32Array): void {
    const tree = this.tree, cap = this.cap
    // Every listed leaf is read again anyway: the queue is dropped.
    this.dropPending()
    tree.fill(Infinity)
    for (let k = 0; k < this.count; k++) if (posOf[this.vAtRank[k]!]! >= 0) tree[cap + k] = STALE
    for (let i = cap - 1; i >= 1; i--) {
      const a = tree[2 * i]!, b = tree[2 * i + 1]!
      tree[i] = a < b ? a : b
    }
    this.leavesStale = false
  }
}
