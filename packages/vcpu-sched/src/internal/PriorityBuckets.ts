/**
 * A long runnable list `R` (`RunnableSet.ts`) when its VCPUs have few distinct priorities (a
 * harmonic task set has ≤ 6 periods): one FIFO per distinct priority (a "bucket"), each in list
 * order, every listed VCPU stamped with its append sequence number (`seq`, increasing along the list).
 *
 * S2's walk over it (`select`, `ties: 'rotate'` only) is a merge of the buckets by `seq`, restricted to
 * the buckets of priority strictly better than the best so far: it refreshes exactly the VCPUs the
 * linear walk of the list refreshes, in the same order, and chooses the same one. Why: the linear
 * walk refreshes VCPU `v` iff `prio(v) <` the best priority so far, and that bound only falls; so a
 * bucket that is eligible now was eligible all along, and every member of it before the walk's
 * position was refreshed already (it is behind the bucket's cursor). The next VCPU the linear walk
 * refreshes is then the smallest `seq` among the eligible buckets' cursors. Cost: O(B) per VCPU
 * refreshed (B = the number of buckets, ≤ `MAX_BUCKETS`), against O(log n) climbs and descents of
 * the position tree per VCPU; append and removal O(1) (linked lists; a new priority: O(B)).
 *
 * A priority beyond `MAX_BUCKETS` distinct ones listed at once is refused (`add` returns false): the
 * owner then keeps `R` as the position tree. Buckets stay, emptied, for reuse by a later priority.
 *
 * Fields are protected for the test suite's broken variants.
 *
 * Invariants: each listed VCPU is in exactly one bucket, the one of its priority (its record's
 * bucket); a bucket's members are linked head → tail in increasing `seq`; `seq` of a later append
 * is larger (append numbers are int32: when they reach `seqLimit` the listed VCPUs are renumbered
 * `0, 1, …` in list order first, `renumberSeq`); a non-empty bucket's `headSeq` is its head's `seq`;
 * no two buckets hold the same priority.
 *
 * NOTE: hot path of S2 over long lists (harmonic sets, 200 tasks: R ~63 long at a select, 3.6
 * tree searches per select): typed arrays, no allocation once grown; the bucket scan is a short
 * loop over ≤ 8 entries. Measured (scale bench's workload, harmonic 200 tasks, in-process A/B
 * against the position tree, CPU medians of 20 rounds, each load order): 0.964 / 0.954. The merge
 * scans the buckets by priority (`byPrio`), so the eligible ones are a prefix that shrinks as the best
 * improves, instead of testing every bucket's priority: harmonic 200 0.982 / 0.986, harmonic 50
 * 1.009 / 0.970 (in-process against the scan of every bucket, 20 rounds per load order, load 5-7).
 * While every VCPU refreshed gets budget (the common case: a listed VCPU waits with a released
 * job), the VCPUs the walk refreshes are the bucket heads that come before every better bucket's
 * head, found in one pass over the heads; the merge runs only from the first refresh without
 * budget on: fixed-demand harmonic 200 0.978 / 0.988 / 0.978 / 0.973 (in-process against the
 * merge alone, CPU medians of 30 rounds, load orders AB / BA / AB / BA, load 2.9), harmonic 50
 * 0.980 / 0.984 / 0.992 / 0.991.
 * Each VCPU's links, bucket and append number in one Int32Array record (`link`), and each bucket's
 * head number beside its head (`headSeq`, so the pass over the heads reads no VCPU's record):
 * fixed-demand harmonic 200 0.982 / 0.973 (in-process against four per-VCPU arrays, CPU medians
 * of 100 rounds per load order, load 3.7-4.2). Either alone: `headSeq` 0.998 / 0.997 (the same
 * runs' third tree), the record 0.989 / 1.022 (40 rounds): no gain.
 *
 * @module
 */
import type { Vcpu } from "../Vcpu.ts"

/** At most this many distinct priorities listed at once ([ASSUMED] a speed knob: harmonic sets have ≤ 6 periods). */
export const MAX_BUCKETS = 8

export class PriorityBuckets {
  /** Buckets in use (ids `[0, k)`), each with its priority, head and tail (-1: empty). */
  protected k = 0
  protected readonly bprio = new Float64Array(MAX_BUCKETS)
  protected readonly head = new Int32Array(MAX_BUCKETS).fill(-1)
  protected readonly tail = new Int32Array(MAX_BUCKETS).fill(-1)
  /** The head's append number per non-empty bucket (NOTE: `select` reads the heads' numbers without touching their records). */
  protected readonly headSeq = new Float64Array(MAX_BUCKETS)
  /** `select`'s cursor per bucket. */
  protected readonly cur = new Int32Array(MAX_BUCKETS)
  /** `select`'s records: indices in `byPrio` of the heads that come before every better bucket's head. */
  private readonly rec = new Int32Array(MAX_BUCKETS)
  /** The buckets `[0, k)` by priority, smallest first (so "better than the best so far" is a prefix of it). */
  protected readonly byPrio = new Int32Array(MAX_BUCKETS)
  /**
   * Per VCPU `v`, one record at `link[4v, 4v + 4)`: its next and previous in its bucket (-1: none),
   * its bucket, its append number (`seq`, increasing along the list). NOTE: one record, not four
   * arrays: at 200 VCPUs the per-VCPU arrays are cold at an append or removal (the VCPU records
   * evict them), and each array was a cache line of its own.
   */
  protected link = new Int32Array(32)
  /** The next append number; at `seqLimit` the listed VCPUs are renumbered in list order (`renumberSeq`). */
  protected nextSeq = 0
  protected seqLimit = 0x7fffffff

  /** Room for VCPU indices `< n`. */
  reserve(n: number): void {
    if (4 * n <= this.link.length) return
    let len = this.link.length
    while (len < 4 * n) len *= 2
    const b = new Int32Array(len)
    b.set(this.link)
    this.link = b
  }

  /** Empties every bucket and forgets their priorities. */
  clear(): void {
    this.k = 0
    this.head.fill(-1)
    this.tail.fill(-1)
  }

  /** Appends `v` (not listed) with priority `priority`; false (nothing changed) when no bucket is free for a new priority. */
  add(v: number, priority: number): boolean {
    const bprio = this.bprio, k = this.k
    let b = 0
    while (b < k && bprio[b] !== priority) b++
    if (b === k) {
      // A new priority: a fresh bucket, else an emptied one.
      if (k < MAX_BUCKETS) this.k = k + 1
      else {
        b = 0
        while (b < k && this.head[b]! >= 0) b++
        if (b === k) return false
      }
      bprio[b] = priority
      this.sortBuckets()
    }
    if (this.nextSeq === this.seqLimit) this.renumberSeq()
    const link = this.link, t = this.tail[b]!, r = 4 * v
    link[r] = -1
    link[r + 1] = t
    link[r + 2] = b
    const sq = this.nextSeq++
    link[r + 3] = sq
    if (t >= 0) link[4 * t] = v
    else {
      this.head[b] = v
      this.headSeq[b] = sq
    }
    this.tail[b] = v
    return true
  }

  /** The listed VCPUs' append numbers renumbered `0, 1, …` in list order (the numbers ran out). */
  protected renumberSeq(): void {
    const k = this.k, link = this.link
    this.startMerge()
    let n = 0
    for (let v = this.nextInOrder(); v >= 0; v = this.nextInOrder()) link[4 * v + 3] = n++
    for (let b = 0; b < k; b++) if (this.head[b]! >= 0) this.headSeq[b] = link[4 * this.head[b]! + 3]!
    this.nextSeq = n
  }

  /** `byPrio` from the buckets' priorities (a new priority: rare, ≤ MAX_BUCKETS entries). */
  protected sortBuckets(): void {
    const byPrio = this.byPrio, bprio = this.bprio, k = this.k
    for (let i = 0; i < k; i++) {
      let j = i
      while (j > 0 && bprio[byPrio[j - 1]!]! > bprio[i]!) {
        byPrio[j] = byPrio[j - 1]!
        j--
      }
      byPrio[j] = i
    }
  }

  /** Removes listed `v`. */
  remove(v: number): void {
    const link = this.link, r = 4 * v
    const n = link[r]!, p = link[r + 1]!, b = link[r + 2]!
    if (p >= 0) link[4 * p] = n
    else {
      this.head[b] = n
      if (n >= 0) this.headSeq[b] = link[4 * n + 3]!
    }
    if (n >= 0) link[4 * n + 1] = p
    else this.tail[b] = p
  }

  /**
   * S2 under `ties: 'rotate'` (`vcpus[v]` is VCPU `v`; a refresh never changes a priority under 'rm'):
   * the linear walk of the list that keeps the best priority so far, refreshes only VCPUs strictly
   * better than it and takes the first with `b > 0` at a strictly better priority, as a merge of
   * the eligible buckets by `seq` (see the module comment). Returns the chosen index or -1.
   */
  select(vcpus: readonly Vcpu[], nowNs: number): number {
    const k = this.k, byPrio = this.byPrio, head = this.head, headSeq = this.headSeq, rec = this.rec
    // While every VCPU refreshed gets budget, the walk refreshes the bucket heads that come before
    // the heads of every better bucket in the list (`seq` smaller than theirs), latest-in-`byPrio`
    // first: each has the smallest `seq` of the buckets better than the one taken before it.
    // NOTE: one pass over the heads instead of a scan of the eligible buckets per VCPU refreshed
    // (measured: see the module comment).
    let n = 0
    let ms = Infinity
    for (let i = 0; i < k; i++) {
      const b = byPrio[i]!
      if (head[b]! >= 0 && headSeq[b]! < ms) {
        ms = headSeq[b]!
        rec[n++] = i
      }
    }
    let best = -1
    let eligible = k
    while (n > 0) {
      const i = rec[--n]!
      const v = head[byPrio[i]!]!
      const vcpu = vcpus[v]!
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) {
        best = v
        eligible = i
      } else {
        // Without budget: the general walk goes on from here, past `v`.
        return this.merge(vcpus, nowNs, best, eligible, i)
      }
    }
    return best
  }

  /**
   * The general walk (a merge of the eligible buckets by `seq`), from the state the records' walk
   * left: `best` chosen so far, `byPrio[0, eligible)` eligible, every cursor at its bucket's head but
   * `byPrio[at]`'s, which is past its head (refreshed without budget).
   */
  private merge(vcpus: readonly Vcpu[], nowNs: number, best: number, eligible: number, at: number): number {
    const cur = this.cur, byPrio = this.byPrio, link = this.link
    this.startMerge()
    const ab = byPrio[at]!
    cur[ab] = link[4 * cur[ab]!]!
    for (;;) {
      let mi = -1
      let ms = Infinity
      for (let i = 0; i < eligible; i++) {
        const c = cur[byPrio[i]!]!
        if (c >= 0) {
          const s = link[4 * c + 3]!
          if (s < ms) {
            ms = s
            mi = i
          }
        }
      }
      if (mi < 0) return best
      const b = byPrio[mi]!
      const v = cur[b]!
      cur[b] = link[4 * v]!
      const vcpu = vcpus[v]!
      vcpu.refresh(nowNs)
      if (vcpu.budgetNs > 0) {
        best = v
        eligible = mi
      }
    }
  }

  /** The list order (every bucket merged by `seq`) into `out[0, count)`; `count` = the number listed. */
  order(out: Int32Array, count: number): void {
    this.startMerge()
    for (let i = 0; i < count; i++) out[i] = this.nextInOrder()
  }

  /** Starts a merge of the buckets in list order (`merge`, `order`, `renumberSeq`): each bucket's cursor at its head. */
  private startMerge(): void {
    const k = this.k, cur = this.cur
    for (let b = 0; b < k; b++) cur[b] = this.head[b]!
  }

  /**
   * The merge's next VCPU in list order (of the buckets' cursors, the one of smallest append
   * number), its bucket's cursor moved on; -1 once every bucket is taken. Reads each cursor's append
   * number before the caller may renumber the VCPU it returns.
   */
  private nextInOrder(): number {
    const k = this.k, cur = this.cur, link = this.link
    let mb = -1
    let ms = Infinity
    for (let b = 0; b < k; b++) {
      const c = cur[b]!
      if (c >= 0 && link[4 * c + 3]! < ms) {
        ms = link[4 * c + 3]!
        mb = b
      }
    }
    if (mb < 0) return -1
    const v = cur[mb]!
    cur[mb] = link[4 * v]!
    return v
  }
}
