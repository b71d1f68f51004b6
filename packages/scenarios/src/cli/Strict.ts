/**
 * `qvsim run --strict`: the verdict that makes a run fail a CI pipeline — claims of an experiment
 * that do not hold, missed deadlines (see `Jobs.ts`: late completions and jobs still unfinished past
 * their deadline) — as one line, or undefined when there is none. The CLI exits 1 with it after
 * printing and writing everything (exit 3 stays for invariant violations).
 *
 * @module
 */
import type * as Jobs from "../Jobs.ts"
import type { Claim } from "../paper/Experiment.ts"

/** What fails a run — claims that do not hold, missed deadlines per run (`where`: a variant, or "") — as one line, or undefined. */
export const strictVerdict = (claims: ReadonlyArray<Claim>, missed: ReadonlyArray<{ readonly where: string; readonly misses: ReturnType<typeof Jobs.misses> }>): string | undefined => {
  const parts: string[] = []
  const failed = claims.filter((c) => !c.holds)
  if (failed.length > 0) parts.push(`${failed.length} of ${claims.length} claims do not hold (${failed.map((c) => `"${c.text}"`).join("; ")})`)
  const total = missed.reduce((a, m) => a + m.misses.count, 0)
  if (total > 0) {
    const list = missed.flatMap((m) => [...m.misses.byThread].map(([t, n]) => `${m.where === "" ? "" : `${m.where}: `}${t} ${n}`))
    parts.push(`${total} missed deadline(s) (${list.slice(0, 8).join(", ")}${list.length > 8 ? ", ..." : ""})`)
  }
  return parts.length === 0 ? undefined : `strict: ${parts.join("; ")}`
}
