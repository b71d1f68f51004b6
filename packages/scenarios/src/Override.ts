/**
 * Overriding a scenario field by path: `qvsim run X --set path=value`, a sweep's grid, and (later)
 * an experiment's robustness domain all change a scenario's input the same way, with the same
 * path syntax and the same one-line errors naming the path.
 *
 * Path syntax: field names joined by dots, array indices in brackets, as zod reports paths:
 * `scheduler.maxTimerInterval`, `pcpus[0].vcpus[2].period`, `system.sandboxes[0].vcpus[1].budget`
 * (the scenario vocabulary; a `system` section written in the old spellings is rewritten into it
 * before the overrides apply).
 *
 * Invariants:
 * - a path is checked against the scenario schema before anything is changed: an unknown field is
 *   an error naming it and listing the fields that exist there; an index beyond an array of the
 *   input is an error giving the array's length (an override never creates array elements, and it
 *   never leaves holes);
 * - a value is checked against the schema of the field it lands on (a duration field takes
 *   `"10ms"` or integer ns, an enum its names, ...); cross-field rules (a budget within its period)
 *   are the whole scenario's validation, after the overrides;
 * - `apply` never mutates its input: it copies the objects and arrays along each path and shares
 *   everything else (functions, e.g. a system thread's `program`, are kept as they are).
 *
 * Errors are `ScenarioError`s (exit 2) whose message starts with the path.
 *
 * @module
 */
import type { z } from "zod"
import { Issues } from "@qvsim/hardware"
import { ScenarioError, ScenarioSchema, upgrade } from "./Scenario.ts"

/** One step of a path: a field name or an array index. */
export type Segment = string | number

/** A parsed override: `path` as written, its segments, and the value to put there. */
export interface Override {
  readonly path: string
  readonly segments: ReadonlyArray<Segment>
  readonly value: unknown
  /** Where it comes from, prefixed to `apply`'s errors (`--set`, `grid`); none by default. */
  readonly origin?: string
}

type Schema = z.core.$ZodType
type Def = { readonly type: string } & Record<string, unknown>

const defOf = (s: Schema): Def => (s as unknown as { _zod: { def: Def } })._zod.def

/** Formats segments the way zod paths are shown: `a.b[0].c`. */
export const format = (segments: ReadonlyArray<PropertyKey>): string =>
  segments.reduce<string>((acc, key) => (typeof key === "number" ? `${acc}[${key}]` : acc === "" ? String(key) : `${acc}.${String(key)}`), "")

const FIELD = /^[A-Za-z_$][A-Za-z0-9_$-]*/

/** Parses `a.b[0].c` into segments; throws a `ScenarioError` naming the path on bad syntax. */
export const parsePath = (path: string): Segment[] => {
  const out: Segment[] = []
  let rest = path
  const bad = (why: string): never => {
    throw new ScenarioError(`${path === "" ? "(empty path)" : path}: ${why} (a path is field names joined by dots with [index] for array elements, e.g. pcpus[0].vcpus[1].budget)`)
  }
  if (rest === "") bad("empty path")
  while (rest !== "") {
    const field = FIELD.exec(rest)
    if (field !== null) {
      out.push(field[0])
      rest = rest.slice(field[0].length)
    } else if (out.length === 0) {
      bad(`expected a field name at "${rest}"`)
    }
    while (rest.startsWith("[")) {
      const m = /^\[(0|[1-9][0-9]*)\]/.exec(rest)
      if (m === null) bad(`expected a non-negative integer index in brackets at "${rest}"`)
      out.push(Number(m![1]))
      rest = rest.slice(m![0].length)
    }
    if (rest === "") break
    if (!rest.startsWith(".")) bad(`unexpected "${rest[0]}" at "${rest}"`)
    rest = rest.slice(1)
    if (!FIELD.test(rest)) bad(`expected a field name after "."`)
  }
  return out
}

/** The schema a value must satisfy, past wrappers that only change presence or defaults. */
const unwrap = (s: Schema): Schema => {
  for (;;) {
    const d = defOf(s)
    switch (d.type) {
      case "optional": case "nullable": case "default": case "prefault": case "readonly": case "catch": case "nonoptional":
        s = d["innerType"] as Schema
        break
      case "pipe":
        s = d["in"] as Schema
        break
      case "lazy":
        s = (d["getter"] as () => Schema)()
        break
      default:
        return s
    }
  }
}

const describeKind = (s: Schema): string => {
  const t = defOf(unwrap(s)).type
  return ["string", "number", "boolean", "enum", "literal", "object"].includes(t) ? `a ${t === "enum" || t === "literal" ? "name" : t}` : "a value"
}

/** The schemas (one per union member that has it) of the child `key` of `schemas`, or an error text. */
const childOf = (schemas: ReadonlyArray<Schema>, key: Segment): Schema[] | string => {
  const found: Schema[] = []
  const fields = new Set<string>()
  let indexable = false
  const visit = (raw: Schema): void => {
    const s = unwrap(raw)
    const d = defOf(s)
    switch (d.type) {
      case "union":
        for (const o of d["options"] as Schema[]) visit(o)
        return
      case "object": {
        const shape = d["shape"] as Record<string, Schema>
        for (const k of Object.keys(shape)) fields.add(k)
        if (typeof key === "string" && Object.hasOwn(shape, key)) found.push(shape[key]!)
        else if (typeof key === "string" && d["catchall"] !== undefined && defOf(d["catchall"] as Schema).type !== "never") found.push(d["catchall"] as Schema)
        return
      }
      case "record":
        if (typeof key === "string") found.push(d["valueType"] as Schema)
        else fields.add("<any name>")
        return
      case "array":
        indexable = true
        if (typeof key === "number") found.push(d["element"] as Schema)
        return
      case "tuple": {
        indexable = true
        const items = d["items"] as Schema[]
        if (typeof key === "number" && key < items.length) found.push(items[key]!)
        return
      }
      case "unknown": case "any":
        found.push(s)
        return
      default:
        return
    }
  }
  for (const s of schemas) visit(s)
  if (found.length > 0) return found
  if (typeof key === "number") return indexable ? `has no element [${key}]` : `is ${describeKind(schemas[0]!)}, not a list`
  if (fields.size === 0) return indexable ? `is a list: use an index, e.g. [0]` : `is ${describeKind(schemas[0]!)}, it has no field "${key}"`
  const near = Issues.closest(key, fields)
  return `has no field "${key}" (${near !== undefined ? `did you mean "${near}"? ` : ""}fields: ${[...fields].join(", ")})`
}

/** The schemas a value at `segments` must satisfy (any one of them); throws naming the path. */
export const fieldSchemas = (segments: ReadonlyArray<Segment>, root: Schema = ScenarioSchema): Schema[] => {
  let current: Schema[] = [root]
  for (let i = 0; i < segments.length; i++) {
    const next = childOf(current, segments[i]!)
    if (typeof next === "string") throw new ScenarioError(`${format(segments)}: ${format(segments.slice(0, i)) || "the scenario"} ${next}`)
    current = next
  }
  return current
}

/** Checks `value` against the field's schemas; returns undefined when valid, else the reason. */
export const checkValue = (schemas: ReadonlyArray<Schema>, value: unknown): string | undefined => {
  let first: string | undefined
  for (const s of schemas) {
    const r = (s as unknown as z.ZodType).safeParse(value)
    if (r.success) return undefined
    if (first === undefined) {
      const issue = r.error.issues[0]
      const sub = issue !== undefined && issue.path.length > 0 ? ` at ${format(issue.path)}` : ""
      first = `${issue?.message ?? "invalid value"}${sub}`
    }
  }
  return first
}

const show = (value: unknown): string => {
  const s = typeof value === "string" ? JSON.stringify(value) : JSON.stringify(value) ?? String(value)
  return s.length > 60 ? `${s.slice(0, 57)}...` : s
}

/** An override of `path` with `value`, both checked against the scenario schema (throws naming the path). */
export const make = (path: string, value: unknown, root: Schema = ScenarioSchema): Override => {
  const segments = parsePath(path)
  const schemas = fieldSchemas(segments, root)
  const why = checkValue(schemas, value)
  if (why !== undefined) throw new ScenarioError(`${path}: invalid value ${show(value)}: ${why}`)
  return { path, segments, value }
}

/**
 * `path=value` as written after `--set`: the value is read as JSON when it parses and the field
 * accepts it (`3`, `true`, `[1,2]`, `"x"`), else as the text itself (`10ms`, `quest`, `none`).
 */
export const parseAssignment = (text: string, root: Schema = ScenarioSchema): Override => {
  const eq = text.indexOf("=")
  if (eq <= 0) throw new ScenarioError(`${text}: expected path=value (e.g. scheduler.quantum=1ms)`)
  const path = text.slice(0, eq)
  const raw = text.slice(eq + 1)
  const schemas = fieldSchemas(parsePath(path), root)
  let json: { value: unknown } | undefined
  try {
    json = { value: JSON.parse(raw) as unknown }
  } catch {
    json = undefined
  }
  if (json !== undefined && checkValue(schemas, json.value) === undefined) return make(path, json.value, root)
  if (checkValue(schemas, raw) === undefined) return make(path, raw, root)
  return make(path, json !== undefined ? json.value : raw, root)
}

const isRecord = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === "object" && !Array.isArray(x)

/** `input` with `value` at `segments` (copy on write along the path; throws naming the path). */
const setAt = (input: unknown, segments: ReadonlyArray<Segment>, value: unknown, depth: number): unknown => {
  if (depth === segments.length) return value
  const key = segments[depth]!
  const here = format(segments.slice(0, depth)) || "the scenario"
  if (typeof key === "number") {
    if (!Array.isArray(input)) {
      throw new ScenarioError(`${format(segments)}: ${here} is ${input === undefined ? "not given in the scenario (an override changes elements, it does not add them)" : "not a list"}`)
    }
    if (key >= input.length) throw new ScenarioError(`${format(segments)}: ${here} has ${input.length} element${input.length === 1 ? "" : "s"} (indices from 0)`)
    const copy = input.slice()
    copy[key] = setAt(input[key], segments, value, depth + 1)
    return copy
  }
  if (input !== undefined && !isRecord(input)) throw new ScenarioError(`${format(segments)}: ${here} is ${JSON.stringify(input)}, not an object with fields`)
  const base = input ?? {}
  return { ...base, [key]: setAt(base[key], segments, value, depth + 1) }
}

/**
 * `input` with every override applied in order (later ones win); never mutates `input`. Paths are
 * in the scenario vocabulary: with overrides, a `system` section in the old spellings is first
 * rewritten into it (`Scenario.upgrade`), so `--set system.sandboxes[0].vcpus[0].budget=2ms`
 * changes a VCPU the file declared with `budgetNs`.
 */
export const apply = <A>(input: A, overrides: ReadonlyArray<Override>): A => {
  if (overrides.length === 0) return input
  let out: unknown = upgrade(input).input
  for (const o of overrides) {
    try {
      out = setAt(out, o.segments, o.value, 0)
    } catch (e) {
      throw o.origin === undefined ? e : new ScenarioError(`${o.origin} ${(e as Error).message}`)
    }
  }
  return out as A
}
