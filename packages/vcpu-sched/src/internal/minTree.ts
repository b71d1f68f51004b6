/**
 * A min-tree in an array (the tournament trees of `RunnableSet` and `RankedEvents`): leaves at
 * `[cap, 2·cap)`, each inner node `i` the minimum of `2i` and `2i + 1`, the root at 1.
 *
 * @module
 */

/** Sets leaf `leaf` to `value` and brings the minima above it up to date: O(log cap). */
export const setMinLeaf = (tree: Float64Array, cap: number, leaf: number, value: number): void => {
  let i = leaf + cap
  tree[i] = value
  while (i > 1) {
    // NOTE: the node is read back, not carried in a variable: a number carried round the loop
    // (`value = m`) was kept boxed by V8 and allocated one heap number per level.
    const a = tree[i]!, b = tree[i ^ 1]!
    const m = a < b ? a : b
    i >>= 1
    if (tree[i] === m) return // NOTE: the minimum above is unchanged: stop early
    tree[i] = m
  }
}
