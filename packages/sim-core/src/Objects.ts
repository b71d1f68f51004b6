/**
 * Small, typed helpers over plain records. `stripUndefined` is how an input whose optional fields
 * may hold `undefined` (what zod infers for `.optional()`, what a caller spreads) is laid over a
 * record of defaults under `exactOptionalPropertyTypes`: the result's fields are optional but never
 * `undefined`, so `{ ...defaults, ...stripUndefined(given) }` keeps every default type-correct.
 */

/** `A` with every field optional and none holding `undefined` (what {@link stripUndefined} returns). */
export type Defined<A> = { [K in keyof A]?: A[K] & ({} | null) }

/** A shallow copy of `a` without its `undefined` fields. */
export const stripUndefined = <A extends object>(a: A): Defined<A> => {
  const out: Defined<A> = {}
  for (const key of Object.keys(a) as (keyof A)[]) {
    const value = a[key]
    if (value !== undefined) out[key] = value
  }
  return out
}
