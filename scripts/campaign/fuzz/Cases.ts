/**
 * The cases of the fuzz campaign: case `i` of seed `s` is a pure function of `(s, i)` (fast-check
 * `sample` with the seed `s·1,000,003 + i`), so any case replays alone (`--only i`). Five kinds,
 * in turn:
 *
 * - `schema`: a scenario file generated from the scenario JSON Schema, run (or checked);
 * - `builtin`: a built-in scenario or a JSON example, mutated (see `Mutate`), run or checked;
 * - `variant`: an experiment's variant (its system, programs included) at scale 0.01, mutated, run
 *   through the API (programs cannot be written to a JSON file);
 * - `trace`: a valid trace (with its scenario beside it), its header or its lines mutated, replayed
 *   or diffed;
 * - `flags`: a command line with odd flags and values (output paths that are directories, devices,
 *   inputs, /proc; durations and seeds out of range; unknown flags).
 *
 * A `cli` case is files to create in its own folder plus an argument list (`@/name` is that
 * folder's file); an `api` case is a scenario value.
 *
 * @module
 */
import fc from "fast-check"
import { Builtins, Experiments, Scenario } from "@qvsim/scenarios"
import { fromSchema } from "./SchemaArb.ts"
import { clone, mutations, ODD, realize, toJson } from "./Mutate.ts"

export type Case =
  | { readonly kind: "schema" | "builtin" | "trace" | "flags"; readonly origin: string; readonly files: Readonly<Record<string, string>>; readonly links?: Readonly<Record<string, string>>; readonly fifos?: readonly string[]; readonly argv: readonly string[] }
  | { readonly kind: "variant"; readonly origin: string; readonly input: unknown }

export const KINDS = ["schema", "builtin", "variant", "trace", "flags"] as const

/** What the trace cases start from: valid traces written by the campaign (see `Campaign.bases`). */
export interface Bases {
  /** name → { trace text, the scenario file it names (name and text) } */
  readonly traces: ReadonlyArray<{ readonly name: string; readonly text: string; readonly scenario?: { readonly name: string; readonly text: string } }>
  /** JSON scenarios to mutate (built-ins, examples), by name. */
  readonly scenarios: ReadonlyArray<{ readonly name: string; readonly value: unknown }>
}

const sampleOne = <A>(arb: fc.Arbitrary<A>, seed: number): A => fc.sample(arb, { seed, numRuns: 1 })[0]!

const json = toJson

let schemaArb: fc.Arbitrary<unknown> | undefined

const runArgs = fc.oneof(
  { arbitrary: fc.constant(["run", "@/s.json"]), weight: 6 },
  { arbitrary: fc.constant(["run", "@/s.json", "--json"]), weight: 2 },
  { arbitrary: fc.constant(["run", "@/s.json", "--trace", "@/t.jsonl", "--schedule", "@/s-out.json"]), weight: 2 },
  { arbitrary: fc.constant(["check", "@/s.json"]), weight: 1 },
)

const variantArb = (seed: number): fc.Arbitrary<{ origin: string; input: unknown }> => {
  const pairs = Experiments.registered().flatMap((e) => e.variants.map((v) => ({ e, v })))
  return fc.constantFrom(...pairs).chain(({ e, v }) =>
    mutations(Experiments.variantScenario(e, v, seed % 1000, 0.01)).map((input) => ({ origin: `${e.name}/${v.name}`, input })))
}

const lineEdit = fc.record({ op: fc.constantFrom("drop", "dup", "garbage", "truncate", "huge", "field", "empty", "headerOnly", "noHeader", "binary"), n: fc.nat(), v: fc.constantFrom(...ODD) })

const traceArb = (bases: Bases): fc.Arbitrary<Case> =>
  fc.record({ base: fc.constantFrom(...bases.traces), header: fc.boolean(), edit: lineEdit, diff: fc.nat(4) }).chain(({ base, header, edit, diff }) => {
    const [head, ...records] = base.text.trimEnd().split("\n")
    const files = (text: string): Record<string, string> => ({ "t.jsonl": text, ...(base.scenario !== undefined ? { [base.scenario.name]: base.scenario.text } : {}) })
    const argv = diff === 0 ? ["diff", "@/t.jsonl", "@/base.jsonl"] : ["replay", "@/t.jsonl"]
    const withBase = (f: Record<string, string>) => (diff === 0 ? { ...f, "base.jsonl": base.text } : f)
    if (header) {
      return mutations(JSON.parse(head!)).map((h): Case => ({ kind: "trace", origin: `${base.name} header`, files: withBase(files([json(h), ...records].join("\n") + "\n")), argv }))
    }
    const lines = [head!, ...records]
    const i = 1 + (edit.n % Math.max(1, records.length))
    switch (edit.op) {
      case "drop": lines.splice(i, 1); break
      case "dup": lines.splice(i, 0, lines[i] ?? "{}"); break
      case "garbage": lines.splice(i, 0, "{not json"); break
      case "truncate": return fc.constant<Case>({ kind: "trace", origin: `${base.name} truncated`, files: withBase(files(base.text.slice(0, edit.n % base.text.length))), argv })
      case "huge": lines.splice(i, 0, json({ t: 1, kind: "x", subject: "y", pad: "z".repeat(2_000_000) })); break
      case "field": {
        const rec = JSON.parse(lines[i] ?? "{}") as Record<string, unknown>
        const keys = Object.keys(rec)
        if (keys.length > 0) rec[keys[edit.n % keys.length]!] = edit.v
        lines[i] = json(rec)
        break
      }
      case "empty": return fc.constant<Case>({ kind: "trace", origin: `${base.name} empty`, files: withBase(files("")), argv })
      case "headerOnly": lines.splice(1)
        break
      case "noHeader": lines.splice(0, 1); break
      case "binary": lines.splice(i, 0, "\u0000\u0001\u00ff\ufffd"); break
    }
    return fc.constant<Case>({ kind: "trace", origin: `${base.name} ${edit.op}`, files: withBase(files(lines.join("\n") + "\n")), argv })
  })

const flagValue = fc.constantFrom("0", "-1", "1", "1.5", "0ns", "10ms", "2.5s", "1e9s", "9007199254740993", "x", "", "@/dir", "@/s.json", "/proc/qvsim-x/y.json", "/dev/full", "@/link.json", "@/fifo.json", "@/new.json", "@/out", "all", "nope,light")
const flagName = fc.constantFrom("--seed", "--until", "--trace", "--perfetto", "--schedule", "--report", "--scale", "--out", "--traces", "--json", "--force", "--trust", "--sed", "--untill", "-x")

const flagsArb: fc.Arbitrary<Case> = fc.record({
  command: fc.constantFrom("run", "run", "run", "check", "replay", "diff", "schema", "list", "runn"),
  target: fc.constantFrom("timers", "rm-periodic", "ss-amplification", "@/s.json", "@/missing.json", "@/dir", "@/fifo.json", "/dev/zero", "nosuch", "isolation/nope", "x.yaml", ""),
  flags: fc.array(fc.tuple(flagName, flagValue), { maxLength: 4 }),
}).map(({ command, target, flags }): Case => {
  const argv: string[] = [command, ...(target === "" ? [] : [target])]
  for (const [name, value] of flags) {
    argv.push(name)
    if (!["--json", "--force", "--trust"].includes(name)) argv.push(value)
  }
  if (command === "run" && !argv.includes("--until")) argv.push("--until", "50ms")
  return {
    kind: "flags",
    origin: argv.join(" "),
    files: { "s.json": json({ name: "s", duration: "20ms", sources: [{ kind: "periodic", name: "p", period: "1ms" }] }), "dir/keep": "" },
    links: { "link.json": "s.json" },
    fifos: ["fifo.json"],
    argv,
  }
})

/** Case `index` of the campaign with seed `seed`. */
export const caseOf = (seed: number, index: number, bases: Bases): Case => {
  const s = (seed * 1_000_003 + index) | 0
  const kind = KINDS[index % KINDS.length]!
  switch (kind) {
    case "schema": {
      schemaArb ??= fromSchema(Scenario.jsonSchema() as Record<string, unknown>)
      const { input, argv } = sampleOne(fc.record({ input: schemaArb, argv: runArgs }), s)
      return { kind, origin: "schema", files: { "s.json": json(input) }, argv }
    }
    case "builtin": {
      const { base, input, argv } = sampleOne(fc.constantFrom(...bases.scenarios).chain((b) => fc.record({ base: fc.constant(b.name), input: mutations(b.value), argv: runArgs })), s)
      return { kind, origin: base, files: { "s.json": json(input) }, argv }
    }
    case "variant": {
      const { origin, input } = sampleOne(variantArb(s), s)
      return { kind, origin, input: realize(input) }
    }
    case "trace": return sampleOne(traceArb(bases), s)
    case "flags": return sampleOne(flagsArb, s)
  }
}

/** The JSON scenarios the `builtin` cases mutate: the built-ins (plain data) and the JSON examples given. */
export const scenarioBases = (examples: ReadonlyArray<{ name: string; value: unknown }>): Bases["scenarios"] => [
  ...Builtins.builtins.map((b) => ({ name: b.name, value: clone(b) })),
  ...examples,
]
