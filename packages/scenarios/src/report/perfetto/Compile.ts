/**
 * Rules compiled against a record kind, once per kind: field names become field indexes,
 * templates become escaped literal pieces with the field indexes between them, and the kind's
 * category becomes its `"cat":"…",` prefix. The sink's hot path then only indexes arrays and
 * concatenates strings.
 *
 * Invariants: a compiled rule refers only to fields of its kind (else {@link compile} throws,
 * and {@link compileOrFallBack} falls back to the default instant with a warning); a kind whose
 * category is not written compiles to no rules.
 *
 * @module
 */
import type { Trace } from "@qvsim/sim-core"
import { categoryOf } from "./Categories.ts"
import type { Rule } from "./Rules.ts"
import { esc } from "./Text.ts"

const FIELD_RE = /\{([A-Za-z0-9_$]+)\}/g

/** A template compiled against a kind: literal pieces (escaped) and field indexes between them. */
export interface Template {
  readonly parts: ReadonlyArray<string>
  readonly fields: ReadonlyArray<number>
}

/** Operation codes of compiled rules (`Compiled.op`). */
export const DISPATCH = 0, INSTANT = 1, COUNTER = 2, BEGIN = 3, END = 4, COMPLETE = 5, FLOW_OUT = 6, FLOW_IN = 7

export interface Compiled {
  readonly op: number
  readonly name: Template | null
  /** null = the subject's track. */
  readonly track: Template | null
  /** Field indexes: dispatch (vcpu, thread, budget, pcpu), counter (value), complete (duration, start), flow (id, second id). */
  readonly a: number
  readonly b: number
  readonly c: number
  readonly d: number
  readonly scale: number
  readonly instantScope: string
  /** `"cat":"<category>",` of the kind. */
  readonly cat: string
  /** Cached tid per subject id, when the track does not depend on fields. */
  readonly tidBySubject: number[]
}

/** One compiled kind: its rules, plus the `args` object prefix pieces. */
export interface KindPlan {
  readonly rules: ReadonlyArray<Compiled>
  /** `"field":` per field, escaped. */
  readonly argKeys: ReadonlyArray<string>
  /** Whether each field is labelled (an entity). */
  readonly labelled: ReadonlyArray<boolean>
  readonly fieldNames: ReadonlyArray<string>
  readonly isSymbol: ReadonlyArray<boolean>
}

/**
 * Compiles `rule` (default: an instant named after the kind) for `kind`; kinds of a category not
 * in `categories` compile to no rules. Throws a TypeError naming the kind and the field when a
 * rule does not fit the kind.
 */
export const compile = (kind: Trace.RecordKind, rule: Rule | ReadonlyArray<Rule> | undefined, categories: ReadonlySet<string>, labelledFields: ReadonlySet<string>): KindPlan => {
  const given = rule ?? { as: "instant", name: kind.name.replace(/[{}]/g, "") }
  const category = categoryOf(kind.name)
  // A category left out: the kind writes nothing.
  const list: ReadonlyArray<Rule> = !categories.has(category) ? [] : Array.isArray(given) ? given : [given as Rule]
  const cat = `"cat":"${category}",`
  const field = (name: string | undefined, what: string): number => {
    if (name === undefined) return -1
    const i = kind.fields.indexOf(name)
    if (i < 0) throw new TypeError(`Perfetto rule for "${kind.name}": ${what} field "${name}" is not a field of the kind (${kind.fields.join(", ") || "none"})`)
    return i
  }
  const template = (text: string): Template => {
    const parts: string[] = []
    const fields: number[] = []
    let last = 0
    for (const m of text.matchAll(FIELD_RE)) {
      parts.push(esc(text.slice(last, m.index)))
      fields.push(field(m[1]!, "template"))
      last = m.index + m[0].length
    }
    parts.push(esc(text.slice(last)))
    return { parts, fields }
  }
  const rules: Compiled[] = []
  for (const r of list) {
    const base = { name: null, track: null, a: -1, b: -1, c: -1, d: -1, scale: 1, instantScope: "t", cat, tidBySubject: [] as number[] }
    switch (r.as) {
      case "ignore": break
      case "dispatch":
        rules.push({ ...base, op: DISPATCH, a: field(r.vcpu, "vcpu"), b: field(r.thread, "thread"), c: field(r.budget, "budget"), d: field(r.pcpu, "pcpu") })
        break
      case "instant":
        rules.push({ ...base, op: INSTANT, name: template(r.name), track: r.track === undefined ? null : template(r.track), instantScope: r.scope === "process" ? "p" : r.scope === "global" ? "g" : "t" })
        break
      case "counter":
        rules.push({ ...base, op: COUNTER, name: template(r.name), a: field(r.value, "value"), scale: r.scale ?? 1 })
        break
      case "begin":
        rules.push({ ...base, op: BEGIN, name: template(r.name), track: r.track === undefined ? null : template(r.track) })
        break
      case "end":
        rules.push({ ...base, op: END, track: r.track === undefined ? null : template(r.track) })
        break
      case "complete":
        if ((r.start === undefined) === (r.duration === undefined)) throw new TypeError(`Perfetto rule for "${kind.name}": give exactly one of start and duration`)
        rules.push({ ...base, op: COMPLETE, name: template(r.name), a: field(r.duration, "duration"), b: field(r.start, "start"), track: r.track === undefined ? null : template(r.track) })
        break
      case "flowOut":
      case "flowIn": {
        const [a, b] = typeof r.id === "string" ? [r.id, undefined] : r.id
        rules.push({ ...base, op: r.as === "flowOut" ? FLOW_OUT : FLOW_IN, name: template(r.name), a: field(a, "id"), b: field(b, "id"), track: r.track === undefined ? null : template(r.track) })
        break
      }
    }
  }
  return {
    rules,
    argKeys: kind.fields.map((f) => `"${esc(f)}":`),
    labelled: kind.fields.map((f) => labelledFields.has(f)),
    fieldNames: kind.fields,
    isSymbol: kind.isSymbol,
  }
}

/** {@link compile}, or, for a rule that does not fit its kind (a field renamed), the default instant, its message pushed to `warnings`. */
export const compileOrFallBack = (kind: Trace.RecordKind, rule: Rule | ReadonlyArray<Rule> | undefined, categories: ReadonlySet<string>, labelledFields: ReadonlySet<string>, warnings: string[]): KindPlan => {
  try {
    return compile(kind, rule, categories, labelledFields)
  } catch (e) {
    warnings.push((e as Error).message)
    return compile(kind, undefined, categories, labelledFields)
  }
}
