/**
 * Data a researcher can load (`report/Tidy.ts`): column keys in snake_case with their unit last;
 * null for missing; and, end to end through `qvsim run <experiment> --out`, CSVs that a
 * `pandas.read_csv`-style reader types as numbers wherever a column holds numbers, with a CSVW
 * metadata file beside each, and `results.json` with provenance and the same tidy tables.
 *
 * The reader below mimics what `pandas.read_csv` infers for a column (its default C parser):
 * empty cells are NaN; a column is `int64` if every non-empty cell is an integer (`float64` if
 * one is empty), `float64` if every non-empty cell is a decimal number, `bool` if every cell is
 * True/False (any case, none empty), else `object` (text). The docs show the pandas call
 * (docs/results.md); this checks what it would give. A last test shows the reader catching the
 * old, untidy CSV (an "N/A" in a numeric column made it text).
 */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readdirSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import * as Registry from "../src/paper/registry.ts"
import * as Tidy from "../src/report/Tidy.ts"

/** RFC 4180 rows of a CSV text. */
const parseCsv = (text: string): string[][] => {
  const rows: string[][] = []
  let row: string[] = [], cell = "", quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ",") { row.push(cell); cell = "" } else if (c === "\n") { row.push(cell); rows.push(row); row = []; cell = "" } else if (c !== "\r") cell += c
  }
  if (cell !== "" || row.length > 0) { row.push(cell); rows.push(row) }
  return rows
}

type Dtype = "int64" | "float64" | "bool" | "object"

/** What `pandas.read_csv` would type each column as (see the module header). */
const readCsv = (text: string): { columns: string[]; dtypes: Record<string, Dtype>; rows: string[][] } => {
  const [header, ...rows] = parseCsv(text)
  const dtypes: Record<string, Dtype> = {}
  header!.forEach((name, i) => {
    const cells = rows.map((r) => r[i] ?? "")
    const present = cells.filter((c) => c !== "")
    const isInt = (c: string) => /^[+-]?\d+$/.test(c)
    const isFloat = (c: string) => /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(c)
    if (present.length === 0) dtypes[name] = "float64"
    else if (present.every(isInt)) dtypes[name] = present.length === cells.length ? "int64" : "float64"
    else if (present.every(isFloat)) dtypes[name] = "float64"
    else if (present.length === cells.length && present.every((c) => /^(true|false)$/i.test(c))) dtypes[name] = "bool"
    else dtypes[name] = "object"
  })
  return { columns: header!, dtypes, rows }
}

const main = join(import.meta.dirname, "../src/cli/main.ts")
const UNIT = /_(ms|us|ns|s|pct|bytes|cycles)$/

describe("column keys and values", () => {
  it.each([
    ["mean RTT (µs)", "mean_rtt_us"],
    ["span ms (Low)", "span_low_ms"],
    ["EPT share %", "ept_share_pct"],
    ["size B", "size_bytes"],
    ["Hi mean cycles", "hi_mean_cycles"],
    ["cycles per iteration", "cycles_per_iteration"],
    ["steps ≠ expected", "steps_ne_expected"],
    ["handler CPU, all sandboxes (ms)", "handler_cpu_all_sandboxes_ms"],
    ["pibsClampOnInherit", "pibs_clamp_on_inherit"],
    ["time to collect the replies (s)", "time_to_collect_the_replies_s"],
    ["VM exits", "vm_exits"],
  ])("%s → %s", (title, key) => {
    expect(Tidy.columnKey(title)).toBe(key)
  })

  it("missing markers and non-finite numbers become null; keys stay unique; types come from the values", () => {
    const t = Tidy.tidyTable({ title: "T (x)", columns: ["a (ms)", "a ms", "b", "c"], rows: [{ "a (ms)": 1.5, "a ms": Infinity, b: "N/A", c: true }, { "a (ms)": "", "a ms": 2, b: "x", c: false }] })
    expect(t.id).toBe("t")
    expect(t.columns.map((c) => [c.key, c.unit, c.type])).toEqual([["a_ms", "ms", "number"], ["a_ms_2", null, "number"], ["b", null, "string"], ["c", null, "boolean"]])
    expect(t.rows).toEqual([{ a_ms: 1.5, a_ms_2: null, b: null, c: true }, { a_ms: null, a_ms_2: 2, b: "x", c: false }])
    expect(Tidy.toCsv(t)).toBe("a_ms,a_ms_2,b,c\n1.5,,,true\n,2,x,false\n")
  })

  it("a list cell is a JSON array in the rows and its JSON text in a CSV cell (a `json` column in CSVW); an empty list stays a list", () => {
    const t = Tidy.tidyTable({ title: "L", columns: ["lost (seq)", "pending (time:units)", "n"], rows: [{ "lost (seq)": [1, 2, 3], "pending (time:units)": [[99, 2], [103, 2]], n: 1 }, { "lost (seq)": [], "pending (time:units)": null, n: 2 }] })
    expect(t.columns.map((c) => [c.key, c.type])).toEqual([["lost_seq", "list"], ["pending_time_units", "list"], ["n", "number"]])
    expect(t.rows[0]).toEqual({ lost_seq: [1, 2, 3], pending_time_units: [[99, 2], [103, 2]], n: 1 })
    const csv = Tidy.toCsv(t)
    expect(csv).toBe('lost_seq,pending_time_units,n\n"[1,2,3]","[[99,2],[103,2]]",1\n[],,2\n')
    const rows = parseCsv(csv).slice(1)
    expect(rows.map((r) => (r[0] === "" ? null : JSON.parse(r[0]!)))).toEqual([[1, 2, 3], []])
    expect(rows.map((r) => (r[1] === "" ? null : JSON.parse(r[1]!)))).toEqual([[[99, 2], [103, 2]], null])
    const meta = Tidy.csvMetadata(t, Tidy.provenance({ experiment: { name: "x", source: "y" }, seed: 1, scale: 1, variants: [] })) as { tableSchema: { columns: Array<{ datatype: string }> } }
    expect(meta.tableSchema.columns.map((c) => c.datatype)).toEqual(["json", "json", "number"])
  })
})

describe("qvsim run <experiment> --out: data a dataframe loads", { timeout: 120_000 }, () => {
  it.each(["isolation", "driver-recovery", "interrupts", "forkwait", "message-passing", "shared-driver", "quest-linux", "ss-defects", "pibs-conformance"])("%s: every CSV types numbers as numbers; results.json has provenance and the same tidy tables", (name) => {
    const out = mkdtempSync(join(tmpdir(), "qvsim-tidy-"))
    const r = spawnSync(process.execPath, [main, "run", name, "--scale", "0.02", "--out", out], { encoding: "utf8" })
    expect(r.status).toBe(0)
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as { scale: number; provenance: Tidy.Provenance; tables: Tidy.TidyTable[] }
    expect(results.scale).toBe(0.02)
    expect(results.provenance).toMatchObject({ qvsim_version: "0.1.0", experiment: name, scale: 0.02, command_line: `qvsim run ${name} --scale 0.02 --out ${out}` })
    // One provenance record per variant (computed experiments, which run no systems, have none).
    expect(results.provenance.variants.map((v) => v.name)).toEqual(Registry.find(name)!.variants.map((v) => v.name))
    for (const v of results.provenance.variants) {
      expect(v.fingerprint).toMatch(/^[0-9a-f]{16}$/)
      expect(v.scenario_hash).toMatch(/^[0-9a-f]{16}$/)
    }
    const csvs = readdirSync(out).filter((f) => f.endsWith(".csv")).sort()
    expect(csvs).toEqual(results.tables.map((t) => `${t.id}.csv`).sort())
    for (const t of results.tables) {
      // A stable id names the file, not a slug of a long title.
      expect(t.id).toMatch(/^[a-z][a-z0-9_]{0,39}$/)
      const csv = readCsv(readFileSync(join(out, `${t.id}.csv`), "utf8"))
      expect(csv.columns).toEqual(t.columns.map((c) => c.key))
      for (const c of t.columns) {
        expect(c.key).toMatch(/^[a-z][a-z0-9_]*$/)
        // A column of numbers (nulls allowed) reads as numbers; a unit in the key means numbers.
        if (c.type === "number") expect([`${t.id}.${c.key}`, csv.dtypes[c.key]]).toEqual([`${t.id}.${c.key}`, expect.stringMatching(/^(int64|float64)$/)])
        if (UNIT.test(c.key)) expect(c.type).toBe("number")
        if (c.type === "boolean") expect(csv.dtypes[c.key]).toBe("bool")
      }
      // The JSON rows hold numbers as numbers, yes/no as booleans, lists as arrays and missing
      // values as null: never "N/A", "", "yes"/"no", or a list or a number written as text.
      for (const row of t.rows) for (const [k, v] of Object.entries(row)) {
        if (typeof v === "string") expect([`${t.id}.${k}`, v]).not.toEqual([`${t.id}.${k}`, expect.stringMatching(/^(|N\/A|yes|no|true|false|[-+]?\d+(\.\d+)?|\d+(( |, )\d+)+|.*\d×\d.*|\d+:\d+.*)$/i)])
      }
      // Every cell of a column is of the column's type (or null): one type per column.
      for (const c of t.columns) for (const row of t.rows) {
        const v = row[c.key]!
        if (v !== null) expect([`${t.id}.${c.key}`, Array.isArray(v) ? "list" : typeof v]).toEqual([`${t.id}.${c.key}`, c.type])
      }
      // A list cell's CSV text is its JSON.
      for (const c of t.columns.filter((x) => x.type === "list")) {
        const i = csv.columns.indexOf(c.key)
        expect(csv.rows.map((r) => (r[i] === "" ? null : JSON.parse(r[i]!)))).toEqual(t.rows.map((r) => r[c.key]))
      }
      const meta = JSON.parse(readFileSync(join(out, `${t.id}.csv-metadata.json`), "utf8")) as { url: string; tableSchema: { columns: Array<{ name: string; datatype: string }> }; "qvsim:provenance": unknown }
      expect(meta.url).toBe(`${t.id}.csv`)
      expect(meta.tableSchema.columns.map((c) => c.datatype)).toEqual(t.columns.map((c) => ({ number: "number", boolean: "boolean", list: "json", string: "string" })[c.type]))
      expect(meta.tableSchema.columns.map((c) => c.name)).toEqual(t.columns.map((c) => c.key))
      expect(meta["qvsim:provenance"]).toEqual(results.provenance)
    }
  })

  it("the reader catches an untidy CSV: an N/A in a column of numbers makes it text", () => {
    expect(readCsv("phase,local\nVM-Exit,805\nIPI,N/A\n").dtypes["local"]).toBe("object")
    expect(readCsv("phase,local\nVM-Exit,805\nIPI,\n").dtypes["local"]).toBe("float64")
    expect(readCsv("t\n2225.007: 255 (corrupted)\n").dtypes["t"]).toBe("object")
    expect(readCsv("n,x\n1,1.5\n2,3\n").dtypes).toEqual({ n: "int64", x: "float64" })
  })
})
