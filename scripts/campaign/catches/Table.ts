/**
 * The catch campaign's table: one row per swept catch, worst first (most seeds missed at the
 * configured runs, then the highest fitted miss probability per CI run).
 *
 * @module
 */
import type { CatchRow } from "./Record.ts"

/** Worst first: observed misses per seed, then fitted miss probability, then file and test. */
export const worstFirst = (rows: readonly CatchRow[]): CatchRow[] =>
  [...rows].sort((a, b) =>
    b.misses / b.seeds - a.misses / a.seeds || b.missPerCi - a.missPerCi || a.file.localeCompare(b.file) || a.test.localeCompare(b.test) || a.call - b.call)

/** A probability as text: `<1e-30` below, else two significant digits. */
export const prob = (p: number): string => (p < 1e-30 ? "<1e-30" : p >= 0.01 ? p.toFixed(2) : p.toExponential(1))

const HEAD = ["file", "test", "call", "runs", "seeds", "misses", "latest 1st failure", "P(miss)/CI run"] as const

/** The table as aligned text, rows in the order given (the campaign gives them `worstFirst`; the test name cut to 100 characters). */
export const formatTable = (rows: readonly CatchRow[]): string => {
  const cells = rows.map((r) => [
    `${r.project}:${r.file}`,
    r.test.length > 100 ? `${r.test.slice(0, 99)}…` : r.test,
    `${r.call} ${r.kind}`,
    String(r.numRuns),
    String(r.seeds),
    String(r.misses),
    r.latest === 0 ? "-" : String(r.latest),
    prob(r.missPerCi),
  ])
  const all = [[...HEAD], ...cells]
  const width = HEAD.map((_, c) => Math.max(...all.map((row) => row[c]!.length)))
  return all.map((row) => row.map((cell, c) => (c >= 2 ? cell.padStart(width[c]!) : cell.padEnd(width[c]!))).join("  ").trimEnd()).join("\n")
}
