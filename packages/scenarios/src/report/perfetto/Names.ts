/**
 * The text of the Perfetto export's names and `args`: entity labels (VCPUs, threads, PCPUs named
 * by the scenario instead of numbers), symbol texts, templates filled in from a record's fields,
 * and the `args` object of a record. Everything returned is escaped JSON string contents.
 *
 * Invariants: a label or symbol is computed once per (field, scope, value) and cached; a value
 * with no label prints as its number.
 *
 * NOTE: called per record on the sink's hot path: caches are arrays and maps keyed by numbers,
 * no object per call.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import type { KindPlan, Template } from "./Compile.ts"
import { esc, num } from "./Text.ts"

/** Names for scopes and for the entities numbered in record fields (VCPUs, threads, PCPUs). */
export interface Labels {
  /** The process name of a scope (-1 = global). */
  readonly scope: (scope: number) => string
  /** Fields whose values are entity numbers that {@link Labels.entity} can name. */
  readonly fields: ReadonlyArray<string>
  /** The name of entity `value` of `field` in `scope`, or undefined to show the number. */
  readonly entity: (scope: number, field: string, value: number) => string | undefined
}

/** Numbers and `global` only. */
export const plainLabels: Labels = {
  scope: (scope) => (scope < 0 ? "global" : `scope ${scope}`),
  fields: [],
  entity: () => undefined,
}

/** Escaped names from {@link Labels} and a trace's symbols, cached. */
export class Names {
  readonly labels: Labels
  readonly labelledFields: ReadonlySet<string>
  /** Escaped labels by field then `(scope + 1) * 2^21 + value`. */
  private readonly labelCache = new Map<string, Map<number, string>>()
  private readonly symbolCache: string[] = []

  constructor(labels: Labels) {
    this.labels = labels
    this.labelledFields = new Set(labels.fields)
  }

  /** `,"args":{...}` with every field of the record (labels and symbols as strings). */
  args(trace: Trace.Trace, plan: KindPlan, scope: number, values: Float64Array): string {
    const keys = plan.argKeys
    if (keys.length === 0) return ""
    let s = `,"args":{`
    for (let i = 0; i < keys.length; i++) {
      s += (i === 0 ? "" : ",") + keys[i]! + this.valueJson(trace, plan, i, scope, values[i]!)
    }
    return s + "}"
  }

  private valueJson(trace: Trace.Trace, plan: KindPlan, field: number, scope: number, v: number): string {
    const sym = this.symbolOf(trace, plan, field, v)
    if (sym !== undefined) return `"${sym}"`
    if (plan.labelled[field]) {
      const name = this.labelOrUndefined(plan.fieldNames[field]!, scope, v)
      if (name !== undefined) return `"${name}"`
    }
    return num(v)
  }

  /** Escaped text of a template, its fields filled in with their label, symbol or number. */
  render(trace: Trace.Trace, plan: KindPlan, tpl: Template, scope: number, values: Float64Array): string {
    const parts = tpl.parts
    if (parts.length === 1) return parts[0]!
    let s = parts[0]!
    for (let i = 0; i < tpl.fields.length; i++) {
      const f = tpl.fields[i]!
      const v = values[f]!
      const sym = this.symbolOf(trace, plan, f, v)
      let text: string | undefined = sym
      if (text === undefined && plan.labelled[f]) text = this.labelOrUndefined(plan.fieldNames[f]!, scope, v)
      s += (text ?? num(v)) + parts[i + 1]!
    }
    return s
  }

  private symbolOf(trace: Trace.Trace, plan: KindPlan, field: number, v: number): string | undefined {
    if (!plan.isSymbol[field]) return undefined
    let s = this.symbolCache[v]
    if (s === undefined) s = this.symbolCache[v] = esc(trace.symbolText(v))
    return s
  }

  /** Escaped label of entity `v` of `field` in `scope`, or `<field> <v>`. */
  label(field: string, scope: number, v: number): string {
    return this.labelOrUndefined(field, scope, v) ?? `${esc(field)} ${num(v)}`
  }

  /** Escaped label of entity `v` of `field` in `scope`, cached. */
  labelOrUndefined(field: string, scope: number, v: number): string | undefined {
    if (!this.labelledFields.has(field)) return undefined
    let byValue = this.labelCache.get(field)
    if (byValue === undefined) this.labelCache.set(field, byValue = new Map())
    const cacheable = Number.isInteger(v) && v >= 0 && v < 1 << 21 && scope >= -1 && scope < 1 << 20
    const key = (scope + 1) * (1 << 21) + v
    if (cacheable) {
      const hit = byValue.get(key)
      if (hit !== undefined) return hit === "\u0000" ? undefined : hit
    }
    const name = this.labels.entity(scope, field, v)
    const escaped = name === undefined ? undefined : esc(name)
    if (cacheable) byValue.set(key, escaped ?? "\u0000")
    return escaped
  }
}
