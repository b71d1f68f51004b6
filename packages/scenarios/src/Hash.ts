/**
 * The identity hash of an input (a scenario, a sweep): SHA-256 (16 hex digits) of its canonical
 * JSON. Plain TypeScript with no Effect, so sweep workers load it cheaply; `Load` re-exports it.
 *
 * @module
 */
import { createHash } from "node:crypto"

/** Canonical JSON: sorted keys; functions by their source; no undefined. */
export const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === "function") return `<fn ${v.toString()}>`
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      return Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
    }
    return v
  })

export const hashOf = (input: unknown): string => createHash("sha256").update(canonical(input)).digest("hex").slice(0, 16)
