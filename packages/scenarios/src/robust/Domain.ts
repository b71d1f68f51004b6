/**
 * An experiment's robustness domain: what its claims are stated over. Three kinds of dimension:
 *
 * - **seeds** (default 1–30): the run's random streams;
 * - **choices**: the experimenter's arbitrary choices the paper does not fix (which sandbox is
 *   pinged, the fault time within a window, a poll offset, a task-set draw);
 * - **assumed**: every `[ASSUMED]` constant the experiment depends on, with a plausible range and
 *   the reason for that range and what it rests on (a datasheet, a standard, a later paper, a
 *   measurement on similar hardware, the code, or only the order of magnitude); the model's own
 *   `[ASSUMED]` constants come from sandbox-kernel's `Assumptions.table` through `Assumed.ts`.
 *
 * Every parameter has a default: the headline point (`qvsim run <experiment>`) runs at the
 * defaults, so declaring a domain never changes the headline run. A parameter reaches the
 * variants' systems as a typed argument of the variant builder (`ParamsOf<typeof domain>`), and/or
 * through `paths`: scenario fields (the `--set` syntax of `Override`, e.g.
 * `system.machine.costs.interruptEntry`) the value is written to in every variant (or in
 * `variants` only) after the builder ran. So a new `[ASSUMED]` constant of the model is one more
 * entry here, with no change to the framework.
 *
 * Also here: an experiment's **inputs**, the values it configures from the paper (Table 1's
 * phases, the 500 ms ping), shown as inputs with their source and never as claims.
 *
 * Invariants (checked by {@link defineDomain}, errors name the parameter):
 * - parameter names are unique across choices and assumed constants (`[a-z][A-Za-z0-9]*`);
 * - a range has `min < max`, its default inside, integers where `integer`, `min > 0` where `log`;
 * - a choice has at least two distinct values, its default among them.
 *
 * @module
 */
import { Time } from "@qvsim/sim-core"
import { ScenarioError } from "../Scenario.ts"

/** What a range rests on (say which, in `reason`). */
export type Basis = "datasheet" | "standard" | "later paper" | "measurement" | "code" | "order of magnitude"

export const BASES: readonly Basis[] = ["datasheet", "standard", "later paper", "measurement", "code", "order of magnitude"]

/** A parameter's value. */
export type Value = number | string | boolean

interface ParamCommon {
  /** What the parameter is, one line. */
  readonly description: string
  /** Why these values: where the range comes from. */
  readonly reason: string
  /** Scenario paths (Override syntax) the value is written to in each variant's input, after the builder. */
  readonly paths?: readonly string[]
  /** With `paths`: only in these variants (default all). */
  readonly variants?: readonly string[]
}

/** A discrete parameter: one of `values`. */
export interface ChoiceParam<V extends Value = Value> extends ParamCommon {
  readonly kind: "choice"
  readonly values: readonly V[]
  readonly default: V
}

/** A continuous (or integer) parameter in `[min, max]`. */
export interface RangeParam extends ParamCommon {
  readonly kind: "range"
  readonly min: number
  readonly max: number
  readonly default: number
  /** Integer values only (cycles, counts, ns). */
  readonly integer?: boolean
  /** Sample in log space (a range over orders of magnitude). */
  readonly log?: boolean
  /** The unit shown (`cycles`, `ns`, `%`); `ns` also accepts durations with units on the command line. */
  readonly unit?: string
}

export type Param = ChoiceParam | RangeParam

/** An `[ASSUMED]` constant: a parameter whose range says what it rests on. */
export type AssumedParam = Param & { readonly basis: Basis }

/** A choice of the experimenter. */
export type ChoiceOrRange = Param

/** What an experiment writes. */
export interface DomainInput<C extends Record<string, Param>, A extends Record<string, AssumedParam>> {
  /** Seeds: a count from 1, a list, or `{from, count}` (default 30 from 1). */
  readonly seeds?: number | readonly number[] | { readonly from: number; readonly count: number }
  /** Why the seeds matter (or why they do not yet: "no random draw in this experiment"). */
  readonly seedsReason?: string
  readonly choices?: C
  readonly assumed?: A
  /** `--robust` defaults: samples (default: the number of seeds) and scale (default 1), with why. */
  readonly samples?: number
  readonly scale?: number
  readonly scaleReason?: string
}

type ValueOf<P> = P extends ChoiceParam<infer V> ? V : P extends RangeParam ? number : never

/** The typed parameters a variant builder receives. */
export type ParamsOf<D> = D extends Domain<infer C, infer A> ? { readonly [K in keyof C | keyof A]: K extends keyof C ? ValueOf<C[K]> : K extends keyof A ? ValueOf<A[K]> : never } : never

/** Parameters by name (what the framework passes around). */
export type Params = Readonly<Record<string, Value>>

/** A declared parameter with its name and role. */
export type NamedParam = Param & { readonly name: string; readonly role: "choice" | "assumed"; readonly basis?: Basis }

export interface Domain<C extends Record<string, Param> = Record<string, Param>, A extends Record<string, AssumedParam> = Record<string, AssumedParam>> {
  readonly seeds: readonly number[]
  readonly seedsReason: string
  /** Choices, then assumed constants, in declaration order. */
  readonly params: readonly NamedParam[]
  readonly samples: number
  readonly scale: number
  readonly scaleReason: string
  /** Phantom: the declared shapes, for `ParamsOf`. */
  readonly _types?: { readonly choices: C; readonly assumed: A }
}

/** A value the experiment configures from the paper (or the code), shown as an input. */
export interface InputValue {
  readonly name: string
  readonly value: string | number
  readonly unit?: string
  /** Where it comes from: "paper §4.1, Table 1", "spec §D.9", "Quest code sched/msgt.c". */
  readonly source: string
}

const NAME = /^[a-z][A-Za-z0-9]*$/

const fail = (where: string, why: string): never => {
  throw new ScenarioError(`domain ${where}: ${why}`)
}

const checkParam = (name: string, p: Param & { basis?: Basis }, role: "choice" | "assumed"): void => {
  const where = `${role === "choice" ? "choices" : "assumed"}.${name}`
  if (!NAME.test(name)) fail(where, "a parameter name is a lowerCamelCase word ([a-z][A-Za-z0-9]*)")
  if (p.description.trim() === "" || p.reason.trim() === "") fail(where, "needs a description and the reason for its values")
  if (role === "assumed" && (p.basis === undefined || !BASES.includes(p.basis))) fail(where, `needs a basis (${BASES.join(", ")})`)
  if (p.kind === "choice") {
    if (p.values.length < 2 || new Set(p.values.map(String)).size !== p.values.length) fail(where, "a choice needs at least two distinct values")
    if (!p.values.includes(p.default)) fail(where, `default ${JSON.stringify(p.default)} is not one of its values`)
  } else {
    const ok = (x: number) => Number.isFinite(x) && (p.integer !== true || Number.isSafeInteger(x))
    if (!ok(p.min) || !ok(p.max) || !(p.min < p.max)) fail(where, `needs min < max${p.integer === true ? " (integers)" : ""}, got ${p.min}..${p.max}`)
    if (!ok(p.default) || p.default < p.min || p.default > p.max) fail(where, `default ${p.default} is outside ${p.min}..${p.max}`)
    if (p.log === true && p.min <= 0) fail(where, "a log range needs min > 0")
  }
}

const seedList = (s: DomainInput<never, never>["seeds"]): number[] => {
  if (s === undefined) return Array.from({ length: 30 }, (_, i) => i + 1)
  if (typeof s === "number") return Array.from({ length: s }, (_, i) => i + 1)
  if (Array.isArray(s)) return [...(s as readonly number[])]
  const r = s as { from: number; count: number }
  return Array.from({ length: r.count }, (_, i) => r.from + i)
}

/** Checks and normalises a domain declaration (a `ScenarioError` naming the parameter when it is wrong). */
export const defineDomain = <C extends Record<string, Param> = Record<never, Param>, A extends Record<string, AssumedParam> = Record<never, AssumedParam>>(d: DomainInput<C, A>): Domain<C, A> => {
  const seeds = seedList(d.seeds as DomainInput<never, never>["seeds"])
  if (seeds.length === 0 || !seeds.every((s) => Number.isSafeInteger(s) && s >= 0) || new Set(seeds).size !== seeds.length) fail("seeds", "distinct non-negative integers, at least one")
  const params: NamedParam[] = []
  for (const [name, p] of Object.entries(d.choices ?? {})) {
    checkParam(name, p, "choice")
    params.push({ ...p, name, role: "choice" })
  }
  for (const [name, p] of Object.entries(d.assumed ?? {})) {
    if (params.some((q) => q.name === name)) fail(`assumed.${name}`, "also declared as a choice")
    checkParam(name, p, "assumed")
    params.push({ ...p, name, role: "assumed" })
  }
  const samples = d.samples ?? seeds.length
  if (!Number.isSafeInteger(samples) || samples < 1) fail("samples", `a positive integer, got ${samples}`)
  const scale = d.scale ?? 1
  if (!(scale > 0 && scale <= 1)) fail("scale", `in (0, 1], got ${scale}`)
  return {
    seeds,
    seedsReason: d.seedsReason ?? "",
    params,
    samples,
    scale,
    scaleReason: d.scaleReason ?? "",
  }
}

/** The headline point: every parameter at its default. */
export const defaults = (d: Domain): Params => Object.fromEntries(d.params.map((p) => [p.name, p.default]))

/**
 * A builder's typed view of the point `params` (absent: the headline point): every parameter of
 * `d`, the defaults filling what `params` lacks.
 */
export const at = <D extends Domain>(d: D, params?: Params): ParamsOf<D> => ({ ...defaults(d), ...(params ?? {}) }) as ParamsOf<D>

/** The parameter named `name`, or a `ScenarioError` listing the known ones. */
export const paramOf = (d: Domain, name: string, flag = "--param"): NamedParam => {
  const p = d.params.find((x) => x.name === name)
  if (p !== undefined) return p
  const known = d.params.map((x) => x.name).join(", ")
  return fail(`${flag} ${name}`, known === "" ? "this experiment declares no parameters" : `unknown parameter (known: ${known})`)
}

/** A value's text as it is written in keys and command lines. */
export const show = (v: Value): string => (typeof v === "string" ? v : String(v))

/** The allowed values of a parameter, as text (`0, 1, 2, 3` or `200..2000 cycles`). */
export const describeValues = (p: Param): string =>
  p.kind === "choice"
    ? p.values.map(show).join(", ")
    : `${p.min.toLocaleString("en-US")}..${p.max.toLocaleString("en-US")}${p.unit !== undefined ? ` ${p.unit}` : ""}${p.log === true ? " (log)" : ""}`

/**
 * Reads `text` as a value of `p` (from `--param name=value`): a choice's value by its text, a
 * range's number (durations with units for `ns` ranges); a `ScenarioError` naming the parameter
 * and the allowed values when it is not one.
 */
export const parseValue = (p: NamedParam, text: string, flag = "--param"): Value => {
  const bad = (why: string): never => fail(`${flag} ${p.name}=${text}`, `${why} (allowed: ${describeValues(p)})`)
  if (p.kind === "choice") {
    const v = p.values.find((x) => show(x) === text)
    return v === undefined ? bad("not one of the values") : v
  }
  let x = Number(text)
  if (text.trim() === "" || !Number.isFinite(x)) {
    if (p.unit !== "ns") return bad("not a number")
    try {
      x = Time.parseDuration(text)
    } catch {
      return bad("not a number or a duration")
    }
  }
  if (p.integer === true && !Number.isSafeInteger(x)) return bad("not an integer")
  if (x < p.min || x > p.max) return bad("out of range")
  return x
}

/** `name=value` assignments (from `--param`) over the defaults; every name and value checked. */
export const parseAssignments = (d: Domain, texts: readonly string[]): Params => {
  const out: Record<string, Value> = { ...defaults(d) }
  const given = new Set<string>()
  for (const t of texts) {
    const eq = t.indexOf("=")
    if (eq <= 0) fail(`--param ${t}`, "expected name=value")
    const name = t.slice(0, eq)
    const p = paramOf(d, name)
    if (given.has(name)) fail(`--param ${name}`, "given twice")
    given.add(name)
    out[name] = parseValue(p, t.slice(eq + 1))
  }
  return out
}

/** Whether `params` are the defaults (the headline point). */
export const isDefault = (d: Domain, params: Params): boolean => d.params.every((p) => params[p.name] === p.default)

/** The canonical key of a point: `seed=S,name=value,...` in declaration order. */
export const keyOf = (d: Domain, seed: number, params: Params): string =>
  [`seed=${seed}`, ...d.params.map((p) => `${p.name}=${show(params[p.name]!)}`)].join(",")

/** A domain with only seeds: for experiments that declare none (every claim is then stated over seeds). */
export const seedsOnly = (reason = "the experiment declares no domain: its claims are stated over the default 30 seeds"): Domain =>
  defineDomain({ seedsReason: reason })
