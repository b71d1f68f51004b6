/**
 * The seed campaign's bookkeeping, kept pure so it can be tested without running vitest: the seeds
 * derived from a master seed, what a failure's error text says (fast-check's seed, shrunk
 * counterexample and the property's own reason), the tally per property and the printed tables.
 *
 * Invariants: `deriveSeeds(m, n)` is the same list on every machine, n distinct seeds in
 * [0, 2^31), and a prefix of `deriveSeeds(m, n + k)`; a property's row counts every seed it ran
 * under, failed or not.
 *
 * @module
 */
import { Rng } from "@qvsim/sim-core"

/** Seeds are drawn in the range `vitest.setup.ts` draws from, so campaign and `npm test` seeds look alike. */
export const SEED_LIMIT = 0x7fffffff

/** `count` distinct seeds in [0, 2^31) from `master`, through sim-core's named stream "campaign seeds". */
export const deriveSeeds = (master: number, count: number): number[] => {
  const stream = Rng.stream(master, "campaign seeds")
  const seen = new Set<number>()
  const seeds: number[] = []
  while (seeds.length < count) {
    const s = stream.nextU32() & SEED_LIMIT
    if (seen.has(s)) continue
    seen.add(s)
    seeds.push(s)
  }
  return seeds
}

/** One test's result under one seed, as a campaign runner reports it. */
export interface TestOutcome {
  /** vitest project (the package). */
  readonly project: string
  /** Test file, relative to the repository root. */
  readonly file: string
  /** Full test name (describe blocks and title, joined by " > "). */
  readonly name: string
  readonly state: "passed" | "failed" | "skipped" | "pending"
  /** True when the test read the fast-check seed (a property test). */
  readonly seeded: boolean
  /** The error text (message, then each cause's), when failed. */
  readonly error?: string
  /** How long the test ran, ms (wall, on a possibly loaded machine). */
  readonly ms?: number
}

/** What to print about one failure. */
export interface FailureSummary {
  /** fast-check's shrunk counterexample (JSON-ish, as fast-check prints it), or null. */
  readonly counterexample: string | null
  /** fast-check's replay path (with the seed it replays the shrunk case directly), or null. */
  readonly path: string | null
  /** How many times fast-check shrank the case, or null. */
  readonly shrinks: number | null
  /** The property's own reason (the error fast-check caught, or the assertion's message). */
  readonly reason: string
}

const FC_HEADER = /^Property failed after \d+ tests?/

/**
 * Reads an error text: fast-check's report (`Property failed after …`, `{ seed, path }`,
 * `Counterexample: …`, `Shrunk n time(s)`) and the reason, i.e. the first line that is not part
 * of that report (the caught error, which the runner appends as `Caused by: …`), else the first line.
 */
export const summarizeFailure = (error: string): FailureSummary => {
  const counterexample = /^Counterexample: (.*)$/m.exec(error)?.[1] ?? null
  const path = /\bpath: "([^"]*)"/.exec(error)?.[1] ?? null
  const shrinks = /^Shrunk (\d+) time/m.exec(error)?.[1]
  const lines = error.split("\n").map((l) => l.trim()).filter((l) => l !== "")
  const own = lines.find((l) => l.startsWith("Caused by: "))?.slice("Caused by: ".length)
    ?? lines.find((l) => !FC_HEADER.test(l) && !l.startsWith("{ seed:") && !l.startsWith("Counterexample:") && !l.startsWith("Shrunk ") && !l.startsWith("Hint:"))
    ?? lines[0] ?? ""
  return { counterexample, path, shrinks: shrinks === undefined ? null : Number(shrinks), reason: own }
}

/** One failing (property, seed). */
export interface Failure {
  readonly seed: number
  readonly error: string
}

/** A property's (or failing example test's) row. */
export interface Row {
  readonly project: string
  readonly file: string
  readonly name: string
  /** True if it read the fast-check seed in some run. */
  seeded: boolean
  seedsRun: number
  /** Total running time over the seeds, ms. */
  totalMs: number
  readonly failures: Failure[]
}

/** Tallies outcomes per test over the seeds; skipped tests (filtered out of a run) are not counted. */
export class Tally {
  private readonly rows = new Map<string, Row>()
  seedsDone = 0

  add(seed: number, outcomes: readonly TestOutcome[]): void {
    this.seedsDone++
    for (const o of outcomes) {
      if (o.state === "skipped" || o.state === "pending") continue
      const key = `${o.project}\0${o.file}\0${o.name}`
      let row = this.rows.get(key)
      if (row === undefined) {
        row = { project: o.project, file: o.file, name: o.name, seeded: false, seedsRun: 0, totalMs: 0, failures: [] }
        this.rows.set(key, row)
      }
      row.seeded ||= o.seeded
      row.seedsRun++
      row.totalMs += o.ms ?? 0
      if (o.state === "failed") row.failures.push({ seed, error: o.error ?? "" })
    }
  }

  /** Property tests, and any other test that failed, sorted by project, file, name. */
  report(): Row[] {
    return [...this.rows.values()]
      .filter((r) => r.seeded || r.failures.length > 0)
      .sort((a, b) => a.project.localeCompare(b.project) || a.file.localeCompare(b.file) || a.name.localeCompare(b.name))
  }

  get failureCount(): number {
    let n = 0
    for (const r of this.rows.values()) n += r.failures.length
    return n
  }
}

/** The command that replays one test file with one seed. */
export const replayCommand = (row: Pick<Row, "project" | "file">, seed: number): string =>
  row.project === "*" ? `FC_SEED=${seed} npx vitest run` : `FC_SEED=${seed} npx vitest run --project ${row.project} ${row.file}`

const clip = (text: string, max: number): string => (text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars; full text in --out)`)

/** The failure listing: per failing row, each seed (up to `perRow`) with its counterexample and reason. */
export const formatFailures = (rows: readonly Row[], perRow = 10, maxChars = 600): string => {
  const out: string[] = []
  for (const r of rows) {
    if (r.failures.length === 0) continue
    out.push(`✗ ${r.project}  ${r.file}\n  ${r.name}\n  failed under ${r.failures.length} of ${r.seedsRun} seeds${r.seeded ? "" : " (not a property test: it read no seed)"}`)
    for (const f of r.failures.slice(0, perRow)) {
      const s = summarizeFailure(f.error)
      out.push(`  - seed ${f.seed}: ${clip(s.reason, maxChars)}`)
      if (s.counterexample !== null) out.push(`    counterexample${s.shrinks === null ? "" : ` (shrunk ${s.shrinks}×)`}: ${clip(s.counterexample, maxChars)}`)
      out.push(`    replay: ${replayCommand(r, f.seed)}`)
    }
    if (r.failures.length > perRow) out.push(`  … and ${r.failures.length - perRow} more seeds (all in --out)`)
  }
  return out.join("\n")
}

/** The summary table: one row per property (and per failing non-property test), with its mean time per seed. */
export const formatTable = (rows: readonly Row[]): string => {
  const head = ["seeds", "failed", "ms/seed", "package", "property (file > test)"]
  const body = rows.map((r) => [String(r.seedsRun), String(r.failures.length), String(Math.round(r.totalMs / Math.max(1, r.seedsRun))), r.project, `${r.file.replace(/^packages\/[^/]+\//, "")} > ${r.name}`])
  const widths = head.slice(0, 4).map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)))
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (i < 3 ? c.padStart(widths[i]!) : i < 4 ? c.padEnd(widths[i]!) : c)).join("  ")
  return [line(head), ...body.map(line)].join("\n")
}
