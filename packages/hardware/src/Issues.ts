/**
 * Validation issues as one-line messages a user can act on: the field path, what is wrong, the
 * offending value, and for an unknown key the known key it most likely meant
 * (`hosts.0: unknown key "intervalNss" (did you mean "intervalNs"?)`).
 *
 * Used by every configuration parser (hardware's devices and machine, sandbox-kernel's system,
 * the scenarios' files and trace headers) so they all read alike:
 *
 * - {@link parseOptions}: pass to zod's `safeParse` (keeps each issue's input, names unknown keys
 *   with a suggestion);
 * - {@link flatten}: zod's issues → `{path, message}`, a failed union reported through its closest
 *   branch (the one that got furthest), never a bare "Invalid input";
 * - {@link closest}: the candidate nearest to a misspelt word (edit distance), if near enough.
 *
 * Nothing here imports zod: it reads the issue records structurally.
 *
 * @module
 */

/** One problem: where (field path) and what, the value included. */
export interface Issue {
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
}

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions), case-insensitive. */
const distance = (a: string, b: string): number => {
  a = a.toLowerCase()
  b = b.toLowerCase()
  const rows = a.length + 1, cols = b.length + 1
  const d: number[] = new Array(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = v
    }
  }
  return d[rows * cols - 1]!
}

/** The candidate closest to `word` (at most a third of its letters off, and at least 1 → 2 edits), or undefined. */
export const closest = (word: string, candidates: Iterable<string>): string | undefined => {
  if (word.length > 64) return undefined
  let best: string | undefined
  let bestD = Infinity
  for (const c of candidates) {
    const d = distance(word, c)
    if (d < bestD) { best = c; bestD = d }
  }
  return bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined
}

/** `unknown key "x" (did you mean "y"?)`, or with the known keys listed when none is close. */
export const unknownKey = (key: string, known: ReadonlyArray<string>): string => {
  const near = closest(key, known)
  if (near !== undefined) return `unknown key ${JSON.stringify(key)} (did you mean ${JSON.stringify(near)}?)`
  const list = known.length <= 12 ? known.join(", ") : `${known.slice(0, 12).join(", ")}, ...`
  return `unknown key ${JSON.stringify(key)} (known: ${list})`
}

/** A short rendering of an offending value (strings quoted, long ones cut). */
export const showValue = (v: unknown): string => {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint" || v === null || v === undefined) return String(v)
  if (typeof v === "function") return "a function"
  if (Array.isArray(v)) return `an array of ${v.length}`
  return "an object"
}

interface RawIssue {
  readonly code?: string
  readonly keys?: ReadonlyArray<string>
  readonly inst?: { readonly _zod?: { readonly def?: { readonly shape?: Record<string, unknown> } } }
  readonly input?: unknown
}

/**
 * zod's per-parse error map: an unknown key names the closest known key of the object it was
 * found in. Other issues keep zod's (or the schema's own) message.
 */
export const errorMap = (raw: unknown): string | undefined => {
  const iss = raw as RawIssue
  if (iss.code !== "unrecognized_keys" || iss.keys === undefined) return undefined
  const known = Object.keys(iss.inst?._zod?.def?.shape ?? {})
  return iss.keys.map((k) => unknownKey(k, known)).join("; ")
}

/** The options to pass to `schema.safeParse(input, parseOptions)`. */
export const parseOptions = { error: errorMap, reportInput: true } as const

interface ZodIssueLike {
  readonly code?: string
  readonly path: ReadonlyArray<PropertyKey>
  readonly message: string
  readonly input?: unknown
  readonly errors?: ReadonlyArray<ReadonlyArray<ZodIssueLike>>
  readonly expected?: unknown
}

/** Issues whose message already says what the value is (no "(got …)" needed). */
const SELF_DESCRIBED = new Set(["unrecognized_keys", "invalid_union"])

const depth = (issues: ReadonlyArray<ZodIssueLike>): number => Math.max(0, ...issues.map((i) => i.path.length))

/** Flattens zod issues into `{path, message}` (union failures through their closest branch). */
export const flatten = (issues: ReadonlyArray<ZodIssueLike>, prefix: ReadonlyArray<PropertyKey> = []): Issue[] => {
  const out: Issue[] = []
  for (const i of issues) {
    const path = [...prefix, ...i.path]
    if (i.code === "invalid_union" && i.errors !== undefined && i.errors.length > 0) {
      // The branch that got furthest (deepest path, then fewest issues) is the one the user meant.
      const branches = i.errors.filter((b) => b.length > 0)
      const best = branches.sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0]
      if (best !== undefined && !(best.length === 1 && best[0]!.code === "invalid_type" && best[0]!.path.length === 0)) {
        out.push(...flatten(best, path))
        continue
      }
      out.push({ path, message: `${i.input === undefined ? "missing" : `${showValue(i.input)} is not a valid choice`}${i.message !== "Invalid input" ? ` (${i.message})` : ""}` })
      continue
    }
    const primitive = i.input === null || (typeof i.input !== "object" && typeof i.input !== "function")
    const got = !SELF_DESCRIBED.has(i.code ?? "") && "input" in i && i.input !== undefined && primitive &&
      !/\bgot\b/.test(i.message) && !i.message.includes(String(i.input))
      ? ` (got ${showValue(i.input)})`
      : ""
    out.push({ path, message: `${i.message}${got}` })
  }
  // A value refused by two checks that say the same (a union's branches) is reported once.
  const seen = new Set<string>()
  return out.filter((i) => {
    const key = `${formatPath(i.path)}\u0000${i.message}`
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

/** `a.b[2].c` */
export const formatPath = (path: ReadonlyArray<PropertyKey>, separator: "dots" | "brackets" = "brackets"): string =>
  path.reduce<string>((acc, key) => {
    if (typeof key === "number" && separator === "brackets") return `${acc}[${key}]`
    return acc === "" ? String(key) : `${acc}.${String(key)}`
  }, "")

/**
 * A dotted path written in code (a device's section, `hosts.0`, `layout`) as path segments
 * (`["hosts", 0]`); the empty string is the root. Only for prefixes the code writes itself:
 * issues carry their paths as segments, never as text to split.
 */
export const pathOf = (dotted: string): PropertyKey[] =>
  dotted === "" ? [] : dotted.split(".").map((k) => (/^(0|[1-9][0-9]*)$/.test(k) ? Number(k) : k))

/** `issues` re-rooted under `prefix` (a caller's path of the section they were found in). */
export const under = (prefix: ReadonlyArray<PropertyKey>, issues: ReadonlyArray<Issue>): Issue[] =>
  issues.map((i) => ({ path: [...prefix, ...i.path], message: i.message }))

/** `path: message` lines (dotted paths, as the configuration errors have always named fields). */
export const lines = (issues: ReadonlyArray<Issue>, prefix = ""): string[] =>
  issues.map((i) => {
    const p = [prefix, formatPath(i.path, "dots")].filter((x) => x !== "").join(".")
    return `${p === "" ? "(root)" : p}: ${i.message}`
  })
