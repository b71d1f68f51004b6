/**
 * The old spellings of a system configuration in its JSON Schema (for editors): {@link Legacy}
 * still accepts them with a warning, so the schema lists them too, each marked `deprecated: true`
 * with what to write instead — `budgetNs`/`periodNs`/`deadlineNs` beside `budget`/`period`/
 * `deadline`, `startNs`, `periodic`, the job object, VCPU and sandbox indices beside names, the
 * hosts' and faults' `…Ns` durations. The renames come from `Legacy.ts`'s own tables, so the
 * schema and the rewrite cannot disagree on a key.
 *
 * Invariant: a configuration in the vocabulary validates against the patched schema exactly as
 * against the vocabulary's (only alternatives and optional keys are added; a required new key
 * becomes "the new key or its old spelling").
 *
 * @module
 */
import { FAULT_DURATIONS, HOST_DURATIONS, VCPU_DURATIONS } from "./Legacy.ts"

type J = Record<string, unknown>
const isObj = (x: unknown): x is J => x !== null && typeof x === "object" && !Array.isArray(x)

const integerNs = (now: string): J => ({ type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, deprecated: true, description: `deprecated: integer ns; write ${now} (a duration with units)` })
const index = (what: string): J => ({ type: "integer", minimum: 0, maximum: Number.MAX_SAFE_INTEGER, deprecated: true, description: `deprecated: an index; write the ${what}'s name` })

/** The object schemas at `node` (itself, or each object variant of a `oneOf`/`anyOf`). */
const objectsOf = (node: unknown): J[] => {
  if (!isObj(node)) return []
  const variants = (node["oneOf"] ?? node["anyOf"]) as unknown
  if (Array.isArray(variants)) return variants.flatMap(objectsOf)
  return isObj(node["properties"]) ? [node] : []
}
const propsOf = (o: J): J => o["properties"] as J
const at = (node: unknown, ...path: string[]): unknown => path.reduce<unknown>((n, k) => (isObj(n) ? (k === "[]" ? n["items"] : propsOf(n)?.[k]) : undefined), node)

/** `o` accepts the old key `old` (schema `schema`) beside `now`; a required `now` becomes "`now` or `old`". */
const addOld = (o: J, old: string, now: string, schema: J): void => {
  const props = propsOf(o)
  if (now !== "" && !(now in props)) return
  props[old] = schema
  const required = o["required"]
  if (Array.isArray(required) && required.includes(now)) {
    const rest = required.filter((k) => k !== now)
    if (rest.length > 0) o["required"] = rest
    else delete o["required"]
    const all = (o["allOf"] as J[] | undefined) ?? []
    o["allOf"] = [...all, { anyOf: [{ required: [now] }, { required: [old] }] }]
  }
}

/** The field `key` of `o` also accepts `alt` (deprecated). */
const orAlso = (o: J | undefined, key: string, alt: J): void => {
  if (o === undefined) return
  const props = propsOf(o)
  const given = props[key]
  if (!isObj(given)) return
  const { description, default: dflt, ...rest } = given
  props[key] = { ...(description !== undefined ? { description } : {}), ...(dflt !== undefined ? { default: dflt } : {}), anyOf: [rest, alt] }
}

/** Each item schema of an array schema `arr` (its `items`, or each of its `prefixItems`) also accepts `alt`. */
const itemsOrAlso = (arr: unknown, alt: J): void => {
  if (!isObj(arr)) return
  const prefix = arr["prefixItems"]
  if (Array.isArray(prefix)) arr["prefixItems"] = prefix.map((p) => ({ anyOf: [p, alt] }))
  else if (isObj(arr["items"])) arr["items"] = { anyOf: [arr["items"], alt] }
}

/** Adds the old spellings to `system`, the JSON Schema of a `system` section (changed in place; returned). */
export const withOldSpellings = (system: unknown): unknown => {
  for (const v of objectsOf(at(system, "sandboxes", "[]", "vcpus", "[]"))) {
    for (const [old, now] of VCPU_DURATIONS) addOld(v, old, now, { ...integerNs(now), minimum: 1 })
  }
  for (const t of objectsOf(at(system, "sandboxes", "[]", "threads", "[]"))) {
    addOld(t, "startNs", "start", integerNs("start"))
    orAlso(t, "vcpu", index("VCPU"))
    addOld(t, "periodic", "arrivals", {
      type: "object", deprecated: true, description: 'deprecated: write arrivals: {kind: "periodic", period, offset} and deadline',
      properties: { periodNs: integerNs("arrivals.period"), offsetNs: integerNs("arrivals.offset"), deadlineNs: integerNs("deadline") }, required: ["periodNs"], additionalProperties: false,
    })
    const steps = propsOf(t)["job"]
    const positive = propsOf(t)["deadline"], duration = propsOf(t)["start"]
    if (isObj(steps)) {
      orAlso(t, "job", {
        type: "object", deprecated: true, description: "deprecated: write job as the list of steps, releases in arrivals",
        // Its every, offset and deadline were durations already (a duration with units, or integer ns).
        properties: { steps, every: positive ?? {}, offset: duration ?? {}, deadline: positive ?? {}, repeat: { type: "boolean" } }, required: ["steps"], additionalProperties: false,
      })
    }
  }
  for (const h of objectsOf(at(system, "hosts", "[]"))) {
    for (const [old, now] of HOST_DURATIONS) addOld(h, old, now, integerNs(now))
    orAlso(h, "target", index("sandbox"))
  }
  for (const c of objectsOf(at(system, "channels", "[]"))) itemsOrAlso(propsOf(c)["between"], index("sandbox"))
  for (const f of objectsOf(at(system, "faults", "[]"))) {
    for (const [old, now] of FAULT_DURATIONS) addOld(f, old, now, integerNs(now))
    orAlso(f, "sandbox", index("sandbox"))
    orAlso(f, "target", index("sandbox"))
    for (const w of objectsOf(at(propsOf(f)["writes"], "[]"))) orAlso(w, "sandbox", index("sandbox"))
  }
  const nic = objectsOf(at(system, "nic"))[0]
  if (nic !== undefined) {
    itemsOrAlso(propsOf(nic)["sharers"], index("sandbox"))
    orAlso(nic, "master", index("sandbox"))
  }
  orAlso(objectsOf(at(system, "virtualization"))[0], "driverDomain", index("sandbox"))
  return system
}
