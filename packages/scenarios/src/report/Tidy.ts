/**
 * Experiment results as data a researcher loads: tidy tables (one row per observation, one value
 * per cell) with stable snake_case column keys that carry their unit (`mean_rtt_us`,
 * `outage_ms`, `ept_share_pct`), numbers as JSON numbers, missing values as `null` (an empty
 * CSV cell), file names from stable table ids, and the provenance of the run (qvsim version,
 * experiment, seed, scale, command line, and per variant its scenario hash and trace
 * fingerprint) in `results.json` and beside every CSV as a CSVW metadata file
 * (`<id>.csv-metadata.json`, the W3C "CSV on the Web" convention: `tableSchema.columns` with
 * each column's `name`, `titles` and `datatype`).
 *
 * This module is the one place that shapes `results.json`'s tables and provenance and the CSV
 * files (`Experiments.resultsJson` adds {@link resultsFields}); the claims are not its business.
 *
 * Invariants:
 * - a column's key is a pure function of its title ({@link columnKey}); keys are unique in a
 *   table (a clash gets `_2`, `_3` in column order);
 * - a table's id is its `ResultTable.id` when given (stable across scales and seeds), else a
 *   slug of its title without parenthesised text, in full;
 * - a CSV cell is empty exactly when the value is null; numbers are written as JavaScript prints
 *   them (no thousands separators, no rounding), so `pandas.read_csv` infers numeric dtypes;
 * - a list-valued cell (`lost_requests_seq`, `steps_seen`) is a JSON array in `results.json` and,
 *   in a CSV, the JSON text of that array (quoted: `"[1,2,3]"`; `[]` for an empty list), its
 *   column typed `list` here and `json` in the CSVW metadata: `json.loads` reads a cell back;
 * - yes/no cells are booleans (`true`/`false` in a CSV), never "yes"/"no" text; missing values
 *   are null, never "N/A".
 *
 * @module
 */
import type { Cell, ExperimentResult, ResultTable } from "../paper/Experiment.ts"
import { VERSION } from "../Version.ts"

/** A value of a tidy table: a finite number, text, a boolean, a list (see {@link Cell}), or null (missing / not applicable). */
export type Value = number | string | boolean | null | Exclude<Cell, number | string | boolean | null>

export interface Column {
  /** snake_case, with its unit last (`_ms`, `_us`, `_ns`, `_s`, `_pct`, `_bytes`, `_cycles`). */
  readonly key: string
  /** The human title the text table and the report show. */
  readonly title: string
  /** The unit when the title gives one (`ms`, `us`, `ns`, `s`, `%`, `bytes`, `cycles`), else null. */
  readonly unit: string | null
  /** `number`, `boolean`, `list` or `string`, from the column's non-null values (`string` if mixed or none). */
  readonly type: "number" | "boolean" | "list" | "string"
}

export interface TidyTable {
  readonly id: string
  readonly title: string
  readonly columns: ReadonlyArray<Column>
  readonly rows: ReadonlyArray<Readonly<Record<string, Value>>>
}

/** Per variant of an experiment run: what identifies it. */
export interface VariantProvenance {
  readonly name: string
  /** The identity hash of the variant's scenario (as `qvsim run <experiment>/<variant>` reports it). */
  readonly scenario_hash: string
  readonly fingerprint: string
  readonly sim_time_ns: number
  readonly events: number
}

export interface Provenance {
  readonly qvsim_version: string
  readonly experiment: string
  /** Where the experiment comes from (paper section, spec id). */
  readonly source: string
  readonly seed: number
  readonly scale: number
  /** The command line as given (`qvsim run isolation --scale 0.1`), or null when not from the CLI. */
  readonly command_line: string | null
  readonly node_version: string
  readonly variants: ReadonlyArray<VariantProvenance>
}

const UNIT_WORDS: Readonly<Record<string, string>> = {
  ns: "ns", us: "us", "µs": "us", ms: "ms", s: "s", "%": "pct", b: "bytes", bytes: "bytes", cycles: "cycles",
}
const UNIT_OF_SUFFIX: Readonly<Record<string, string>> = { ns: "ns", us: "us", ms: "ms", s: "s", pct: "%", bytes: "bytes", cycles: "cycles" }

/**
 * The snake_case key of a column title, its unit moved last: `mean RTT (µs)` → `mean_rtt_us`,
 * `span ms (Low)` → `span_low_ms`, `EPT share %` → `ept_share_pct`, `size B` → `size_bytes`,
 * `steps ≠ expected` → `steps_ne_expected`, `pibsClampOnInherit` → `pibs_clamp_on_inherit`.
 */
export const columnKey = (title: string): string => {
  const text = title.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/≠/g, " ne ").replace(/≤/g, " le ").replace(/≥/g, " ge ").replace(/×/g, " x ").replace(/%/g, " % ")
  const tokens = text.toLowerCase().replace(/[()[\],:/=+]/g, " ").split(/[^a-z0-9µ%]+/).filter((w) => w !== "")
  let unit: string | undefined
  const words: string[] = []
  for (const w of tokens) {
    const u = UNIT_WORDS[w]
    // The first unit word names the unit ("cycles" as a unit only when it ends the title).
    if (u !== undefined && unit === undefined && (w !== "cycles" || w === tokens.at(-1)) && words.length > 0) unit = u
    else words.push(w === "µs" ? "us" : w)
  }
  const key = [...words, ...(unit === undefined ? [] : [unit])].join("_").replace(/^(\d)/, "n_$1")
  return key === "" ? "column" : key
}

/** The unit a key ends with, for a human reader (`us` → `us`, `pct` → `%`), or null. */
export const unitOfKey = (key: string): string | null => {
  const last = key.slice(key.lastIndexOf("_") + 1)
  return key.includes("_") ? UNIT_OF_SUFFIX[last] ?? null : null
}

/** A table id from a title: lowercase words joined by `_`, parenthesised text left out. */
export const slugId = (title: string): string =>
  title.toLowerCase().replace(/\(.*?\)/g, " ").replace(/µs/g, "us").split(/[^a-z0-9]+/).filter((w) => w !== "").join("_") || "table"

const MISSING = new Set(["", "N/A", "n/a", "NA", "—", "-"])

/** A cell as a tidy value: non-finite numbers and the usual missing markers become null. */
export const tidyValue = (v: unknown): Value => {
  if (v === undefined || v === null) return null
  if (typeof v === "number") return Number.isFinite(v) ? v : null
  if (typeof v === "boolean") return v
  if (Array.isArray(v)) return v as Value
  const s = String(v)
  return MISSING.has(s.trim()) ? null : s
}

const typeOf = (values: ReadonlyArray<Value>): Column["type"] => {
  const kinds = new Set(values.filter((v) => v !== null).map((v) => (Array.isArray(v) ? "list" : typeof v)))
  return kinds.size === 1 && (kinds.has("number") || kinds.has("boolean") || kinds.has("list")) ? ([...kinds][0] as "number" | "boolean" | "list") : "string"
}

/** A results table made tidy (see the module header); `ids` keeps table ids unique over a result. */
export const tidyTable = (t: ResultTable, ids: Set<string> = new Set()): TidyTable => {
  let id = t.id ?? slugId(t.title)
  for (let n = 2; ids.has(id); n++) id = `${t.id ?? slugId(t.title)}_${n}`
  ids.add(id)
  const used = new Set<string>()
  const keys = t.columns.map((title) => {
    const base = columnKey(title)
    let key = base
    for (let n = 2; used.has(key); n++) key = `${base}_${n}`
    used.add(key)
    return key
  })
  const rows = t.rows.map((r) => Object.fromEntries(t.columns.map((title, i) => [keys[i]!, tidyValue(r[title])])))
  const columns = t.columns.map((title, i): Column => ({ key: keys[i]!, title, unit: unitOfKey(keys[i]!), type: typeOf(rows.map((r) => r[keys[i]!]!)) }))
  return { id, title: t.title, columns, rows }
}

/** Every table of a result, tidy, with unique ids. */
export const tidyTables = (result: ExperimentResult): TidyTable[] => {
  const ids = new Set<string>()
  return result.tables.map((t) => tidyTable(t, ids))
}

const csvCell = (v: Value): string => {
  if (v === null) return ""
  const s = Array.isArray(v) ? JSON.stringify(v) : String(v)
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/** A tidy table as CSV (RFC 4180): a header of keys, then the rows; null is an empty cell, a list its JSON text. */
export const toCsv = (t: TidyTable): string =>
  [t.columns.map((c) => csvCell(c.key)).join(","), ...t.rows.map((r) => t.columns.map((c) => csvCell(r[c.key] ?? null)).join(","))].join("\n") + "\n"

const CSVW_TYPE: Readonly<Record<Column["type"], string>> = { number: "number", boolean: "boolean", list: "json", string: "string" }

/** The CSVW metadata of `<id>.csv`: its columns (name, title, datatype, unit) and the run's provenance. */
export const csvMetadata = (t: TidyTable, provenance: Provenance): Record<string, unknown> => ({
  "@context": "http://www.w3.org/ns/csvw",
  url: `${t.id}.csv`,
  "dc:title": t.title,
  tableSchema: {
    columns: t.columns.map((c) => ({ name: c.key, titles: c.title, datatype: CSVW_TYPE[c.type], ...(c.unit !== null ? { "qvsim:unit": c.unit } : {}) })),
  },
  "qvsim:provenance": provenance,
})

/** The files of a result's tables: `<id>.csv` and `<id>.csv-metadata.json` per table. */
export const csvFiles = (result: ExperimentResult, provenance: Provenance): Array<{ name: string; text: string }> =>
  tidyTables(result).flatMap((t) => [
    { name: `${t.id}.csv`, text: toCsv(t) },
    { name: `${t.id}.csv-metadata.json`, text: `${JSON.stringify(csvMetadata(t, provenance), null, 2)}\n` },
  ])

export interface ProvenanceInput {
  readonly experiment: { readonly name: string; readonly source: string }
  readonly seed: number
  readonly scale: number
  readonly commandLine?: ReadonlyArray<string>
  readonly variants: ReadonlyArray<VariantProvenance>
}

/** The provenance record of an experiment run. */
export const provenance = (p: ProvenanceInput): Provenance => ({
  qvsim_version: VERSION,
  experiment: p.experiment.name,
  source: p.experiment.source,
  seed: p.seed,
  scale: p.scale,
  command_line: p.commandLine === undefined ? null : ["qvsim", ...p.commandLine].map((a) => (/^[\w./:=,@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" "),
  node_version: process.versions.node,
  variants: p.variants,
})

/** The fields of `results.json` this module owns: `scale`, `provenance` and the tidy `tables`. */
export const resultsFields = (result: ExperimentResult, prov: Provenance): { scale: number; provenance: Provenance; tables: TidyTable[] } => ({
  scale: prov.scale,
  provenance: prov,
  tables: tidyTables(result),
})
