/**
 * Mutations of a valid input (a built-in scenario, an experiment's variant, a trace header): one to
 * three edits at random places of a deep copy, drawn by fast-check so a case is reproducible from
 * its seed. The edits are the mistakes people make and the odd values that reach corners: a leaf
 * set to an edge or a wrong type, a key deleted, misspelt or added, array elements duplicated
 * (name clashes), dropped, swapped or reversed (order), a subtree replaced by deep nesting.
 * Functions (thread programs) are kept by reference and never edited.
 *
 * @module
 */
import fc from "fast-check"

/** Odd values for a leaf. */
export const ODD: ReadonlyArray<unknown> = [
  0, -1, 1, 2, 1.5, -0.5, 63, 64, 65, 255, 256, 4096, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 50, 2 ** 53 - 1, 2 ** 53, 1e308,
  "", "0ns", "1ns", "1.5ns", "-1ms", "1e9ms", "10", "10 ms", "999999999999s", "0.000000001s", "1ms", "100s",
  "x".repeat(300), "é", "a/b", "../x", null, true, false, [], {}, [1, 2, 3], { a: 1 },
]

type Op = "set" | "delete" | "misspell" | "add" | "duplicate" | "drop" | "swap" | "reverse" | "nest" | "scale" | "stringify"
const OPS: readonly Op[] = ["set", "set", "set", "delete", "misspell", "add", "duplicate", "drop", "swap", "reverse", "nest", "scale", "stringify"]

type Path = Array<string | number>

/** Paths to every node under `v` (objects, arrays and leaves), functions excluded. */
const paths = (v: unknown, at: Path = [], out: Path[] = []): Path[] => {
  out.push(at)
  // Not into deep nesting an earlier edit made (its inside is all alike).
  if (at.length >= 24) return out
  if (Array.isArray(v)) v.forEach((x, i) => { if (typeof x !== "function") paths(x, [...at, i], out) })
  // Plain objects only: a Deep marker is a leaf.
  else if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) for (const [k, x] of Object.entries(v)) { if (typeof x !== "function") paths(x, [...at, k], out) }
  return out
}

/** A deep copy of plain objects and arrays; functions and other values by reference. */
export const clone = <A>(v: A): A => {
  if (Array.isArray(v)) return v.map(clone) as A
  if (v !== null && typeof v === "object" && Object.getPrototypeOf(v) === Object.prototype) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)])) as A
  }
  return v
}

const get = (root: unknown, p: Path): unknown => p.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)?.[k], root)

/**
 * Deep nesting (`depth` arrays in each other), kept as a marker until written: `toJson` writes it
 * as text and `realize` builds it (JSON.parse is not recursive; stringify and most walks are).
 */
export class Deep {
  readonly depth: number
  constructor(depth: number) {
    this.depth = Math.min(Math.max(0, Math.trunc(depth)), 100_000)
  }
}

const nested = (depth: number): unknown => new Deep(depth)

/** `value` as JSON text, deep nesting included (non-finite numbers as null). */
export const toJson = (value: unknown): string =>
  JSON.stringify(value, (_k, x: unknown) => (x instanceof Deep ? `\u0000DEEP${x.depth}\u0000` : typeof x === "number" && !Number.isFinite(x) ? null : x))
    .replace(/"\\u0000DEEP(\d+)\\u0000"/g, (_m, d: string) => `${"[".repeat(Number(d))}${"]".repeat(Number(d))}`)

/** `value` with its deep-nesting markers built (functions kept). */
export const realize = (value: unknown, depth = 0): unknown => {
  if (value instanceof Deep) return JSON.parse(`${"[".repeat(value.depth)}${"]".repeat(value.depth)}`)
  if (depth > 30) return value
  if (Array.isArray(value)) return value.map((x) => realize(x, depth + 1))
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, x]) => [k, realize(x, depth + 1)]))
  }
  return value
}

const misspell = (key: string, n: number): string => {
  if (key.length === 0) return "x"
  const i = n % key.length
  switch (n % 4) {
    case 0: return key.slice(0, i) + key.slice(i + 1) // drop a letter
    case 1: return key.slice(0, i) + key[i] + key.slice(i) // double a letter
    case 2: return key.slice(0, i) + key.slice(i, i + 2).split("").reverse().join("") + key.slice(i + 2) // swap two
    default: return key.toUpperCase() === key ? key.toLowerCase() : key[0]!.toUpperCase() + key.slice(1) // case
  }
}

interface Edit { readonly at: number; readonly op: Op; readonly value: unknown; readonly n: number }

const applyEdit = (root: unknown, e: Edit): unknown => {
  const all = paths(root)
  const p = all[e.at % all.length]!
  if (p.length === 0) return e.op === "nest" ? nested(e.n % 2 === 0 ? 200 : 20_000) : root
  const parent = get(root, p.slice(0, -1)) as Record<string | number, unknown>
  const key = p.at(-1)!
  const here = parent[key]
  switch (e.op) {
    case "set": parent[key] = clone(e.value); break
    case "delete": if (Array.isArray(parent)) parent.splice(key as number, 1); else delete parent[key]; break
    case "misspell": if (!Array.isArray(parent)) { parent[misspell(String(key), e.n)] = here; delete parent[key] } break
    case "add": if (!Array.isArray(parent)) parent[`${String(key)}${e.n % 2 === 0 ? "s" : "Ns"}`] = clone(e.value); break
    case "duplicate": if (Array.isArray(here) && here.length > 0) here.push(clone(here[e.n % here.length])); break
    case "drop": if (Array.isArray(here) && here.length > 0) here.splice(e.n % here.length, 1); break
    case "swap": if (Array.isArray(here) && here.length > 1) { const i = e.n % here.length, j = (i + 1) % here.length; [here[i], here[j]] = [here[j], here[i]] } break
    case "reverse": if (Array.isArray(here)) here.reverse(); break
    case "nest": parent[key] = nested(e.n % 3 === 0 ? 20_000 : 70); break
    case "scale": if (typeof here === "number") parent[key] = [here * 1000, -here, here / 3, here + 1, 2 ** 53 - here][e.n % 5]; break
    case "stringify": if (typeof here === "number") parent[key] = String(here); else if (typeof here === "string" && /^\d+$/.test(here)) parent[key] = Number(here); break
  }
  return root
}

/** An arbitrary of 1–3 edits of `base` (never changing `base` itself). */
export const mutations = (base: unknown): fc.Arbitrary<unknown> =>
  fc.array(
    fc.record({ at: fc.nat(), op: fc.constantFrom(...OPS), value: fc.constantFrom(...ODD), n: fc.nat() }),
    { minLength: 1, maxLength: 3 },
  ).map((edits) => edits.reduce<unknown>((v, e) => applyEdit(v, e), clone(base)))
