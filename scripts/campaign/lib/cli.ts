/**
 * Flag parsing shared by the campaigns (`npm run campaign -- <name> [flags]`): `--name value` or
 * `--name=value`, integers checked against a range, repeatable string flags, switches (`--name`). A bad flag is a
 * {@link UsageError} whose message is one line naming the flag and the bad value; the dispatcher
 * prints it and exits 2.
 *
 * @module
 */

/** Bad command-line input: one line naming the flag and the value. Exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError"
}

/** How one flag is read. */
export type FlagSpec =
  | { readonly kind: "int"; readonly min: number; readonly max: number; readonly help: string }
  | { readonly kind: "string"; readonly help: string }
  | { readonly kind: "strings"; readonly help: string }
  | { readonly kind: "bool"; readonly help: string }

export type FlagValues<S extends Record<string, FlagSpec>> = {
  readonly [K in keyof S]: S[K] extends { kind: "int" } ? number | undefined
    : S[K] extends { kind: "string" } ? string | undefined
    : S[K] extends { kind: "bool" } ? boolean
    : readonly string[]
}

/** Parses `argv` against `spec`; throws {@link UsageError} naming the first bad flag. */
export const parseFlags = <S extends Record<string, FlagSpec>>(spec: S, argv: readonly string[]): FlagValues<S> => {
  const out: Record<string, unknown> = {}
  for (const [name, s] of Object.entries(spec)) {
    if (s.kind === "strings") out[name] = []
    if (s.kind === "bool") out[name] = false
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)} (flags are --name value)`)
    const eq = arg.indexOf("=")
    const name = arg.slice(2, eq < 0 ? undefined : eq)
    const s = spec[name]
    if (s === undefined) throw new UsageError(`--${name}: unknown flag (known: ${Object.keys(spec).map((k) => `--${k}`).join(", ")})`)
    if (s.kind === "bool") {
      if (eq >= 0) throw new UsageError(`--${name}: takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`)
      out[name] = true
      continue
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i]
    if (value === undefined) throw new UsageError(`--${name}: missing value`)
    if (s.kind === "int") {
      const n = Number(value)
      if (value.trim() === "" || !Number.isSafeInteger(n) || n < s.min || n > s.max) {
        throw new UsageError(`--${name} ${JSON.stringify(value)}: expected an integer in [${s.min}, ${s.max}]`)
      }
      out[name] = n
    } else if (s.kind === "string") {
      out[name] = value
    } else {
      ;(out[name] as string[]).push(...value.split(",").filter((v) => v !== ""))
    }
  }
  return out as FlagValues<S>
}

/** One line per flag, for a campaign's usage text. */
export const flagHelp = (spec: Record<string, FlagSpec>): string =>
  Object.entries(spec).map(([name, s]) => `  --${name.padEnd(13)} ${s.help}`).join("\n")

/**
 * What a campaign file `scripts/campaign/<name>.ts` exports (the dispatcher lists and runs them;
 * importing the file must not start any work).
 */
export interface Campaign {
  /** One line for `npm run campaign` (the list). */
  readonly summary: string
  /** The usage text for `npm run campaign -- <name> --help`. */
  readonly usage: string
  /** Runs the campaign; resolves to the exit code (0 nothing found, 1 failures found). */
  readonly main: (argv: readonly string[]) => Promise<number>
}
