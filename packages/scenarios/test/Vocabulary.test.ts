/**
 * One scenario language: the docs examples are written in the vocabulary (durations with units,
 * names); `fixtures/legacy/` holds the same scenarios in the old spellings of the `system` section
 * (`intervalNs`, `atNs`, indices, `periodic`, `job: {every, steps}`). Both must run to the same
 * fingerprint (the docs examples' are pinned in Fingerprints.test.ts); the old ones load with one
 * deprecation warning per kind of old spelling on stderr (exit 0), the new ones with none; `--set`
 * paths are in the vocabulary whichever spelling the file uses.
 */
import { spawnSync } from "node:child_process"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { Policy } from "@qvsim/vcpu-sched"
import * as Override from "../src/Override.ts"
import * as Runner from "../src/Runner.ts"
import { deprecationWarnings, jsonSchema, parseScenario, type ScenarioInput, upgrade } from "../src/Scenario.ts"

const main = join(import.meta.dirname, "../src/cli/main.ts")
const examples = join(import.meta.dirname, "../../../docs/examples")
const legacy = join(import.meta.dirname, "fixtures", "legacy")
const FILES = ["faults.json", "mailbox-ping.json", "mailbox-ping.ts"]
const root = join(import.meta.dirname, "../../..")

/** An old spelling of the system section (a deprecated key as a field, an index where a name goes, the old job). */
const OLD = /\b(budgetNs|periodNs|deadlineNs|startNs|intervalNs|floodIntervalNs|timeoutNs|atNs|detectAfterNs)\b"?\s*:|"?\b(vcpu|target|sandbox)"?: \d|"?between"?: \[\d|"?periodic"?: \{|"?every"?:/
/** A TypeScript field declaration (`private startNs: number`): vcpu-sched's API, not the scenario language. */
const DECLARATION = /^\s*(private |readonly |public |protected )*\w+\??: (number|string|boolean)\b/
const old = (line: string): boolean => OLD.test(line) && !DECLARATION.test(line)

const read = async (path: string): Promise<ScenarioInput> =>
  (path.endsWith(".json") ? JSON.parse(readFileSync(path, "utf8")) : (await import(path)).default) as ScenarioInput

const fingerprint = (input: ScenarioInput, origin: string): string =>
  Runner.run(parseScenario(input, origin), { untilNs: 200_000_000 }).fingerprint

const qvsim = (args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: "utf8", timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe("one scenario language, the old spellings still accepted", () => {
  it.each(FILES)("%s: the old and the new spelling run to the same fingerprint; only the old one is deprecated", async (file) => {
    const now = await read(join(examples, file))
    const old = await read(join(legacy, file))
    expect(upgrade(now).deprecations).toEqual([])
    expect(upgrade(old).deprecations.length).toBeGreaterThan(0)
    expect(fingerprint(old, file)).toBe(fingerprint(now, file))
  })

  it("one warning line per kind of old spelling, naming the first place and the replacement", async () => {
    const lines = deprecationWarnings(upgrade(await read(join(legacy, "faults.json"))).deprecations)
    expect(lines).toContain('system.hosts[0].intervalNs is deprecated: write interval: "10ms" (a duration with units, or integer ns)')
    expect(lines).toContain('system.hosts[0].target is deprecated: write target: "sandbox0" (the sandbox\'s name) instead of 0 (and 3 more like it)')
    expect(lines).toContain('system.sandboxes[0].threads[0].vcpu is deprecated: write vcpu: "main0" (the VCPU\'s name) instead of 0')
    expect(new Set(lines.map((l) => l.split(" ")[0])).size).toBe(lines.length)
  })

  it("through the CLI: an old file runs (exit 0) with its warnings on stderr; the docs example without any", () => {
    const old = qvsim(["run", join(legacy, "faults.json"), "--until", "5ms", "--json"])
    expect(old.code).toBe(0)
    const warnings = old.stderr.trim().split("\n")
    expect(warnings.length).toBe(6)
    for (const w of warnings) expect(w).toMatch(/^qvsim: warning: system\.\S+ is deprecated: write /)
    const now = qvsim(["run", join(examples, "faults.json"), "--until", "5ms", "--json"])
    expect(now.code).toBe(0)
    expect(now.stderr).toBe("")
    expect(JSON.parse(now.stdout).fingerprint).toBe(JSON.parse(old.stdout).fingerprint)
  })

  it("the docs' examples (every code block of README.md and docs/*.md, every docs/examples file) are in the vocabulary", () => {
    const docs = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)]
    const found: string[] = []
    for (const doc of docs) {
      const blocks = readFileSync(join(root, doc), "utf8").split("```").filter((_, i) => i % 2 === 1)
      for (const b of blocks) for (const line of b.split("\n")) if (old(line) && !line.includes("is deprecated")) found.push(`${doc}: ${line.trim()}`)
    }
    for (const f of readdirSync(examples)) {
      for (const line of readFileSync(join(examples, f), "utf8").split("\n")) if (old(line)) found.push(`docs/examples/${f}: ${line.trim()}`)
    }
    expect(found).toEqual([])
    // The check itself: the old fixtures are caught.
    expect(OLD.test(readFileSync(join(legacy, "faults.json"), "utf8"))).toBe(true)
  })

  it("the JSON Schema: durations with a pattern (the syntax Time.parseDuration reads) in both dialects, a typed machine", () => {
    type J = { properties: Record<string, J>; items: J; anyOf: J[]; pattern?: string; additionalProperties?: boolean }
    const root = jsonSchema() as J
    const system = root.properties["system"]!.properties
    const budget = system["sandboxes"]!.items.properties["vcpus"]!.items.properties["budget"]!
    const pattern = new RegExp(budget.anyOf.find((b) => b.pattern !== undefined)!.pattern!)
    for (const ok of ["10ms", "2.5s", "750us", "42ns", " 1 ms "]) expect(pattern.test(ok)).toBe(true)
    for (const bad of ["10", "ms", "1e3ns", "10 parsecs", "-1ms"]) expect(pattern.test(bad)).toBe(false)
    expect(root.properties["pcpus"]!.items.properties["vcpus"]!.items.properties["budget"]).toEqual(budget)
    expect(system["machine"]!.additionalProperties).toBe(false)
    expect(Object.keys(system["machine"]!.properties)).toContain("cpuHz")
    expect(Object.keys(system["scheduler"]!.properties)).toContain("quantum")
    expect(system["scheduler"]!.additionalProperties).toBe(false)
  })

  it("the JSON Schema lists the old spellings (deprecated), so an editor accepts the legacy files, and every policy field offers the registered policies", () => {
    type S = Record<string, unknown>
    const isObj = (x: unknown): x is S => x !== null && typeof x === "object" && !Array.isArray(x)
    /** What `value` breaks of `schema` (the subset the generated schema uses: types, keys, items, unions, enum), by path. */
    const problems = (value: unknown, schema: unknown, path: string): string[] => {
      if (!isObj(schema)) return []
      const out: string[] = []
      for (const key of ["anyOf", "oneOf"] as const) {
        const branches = schema[key]
        if (Array.isArray(branches) && !branches.some((b) => problems(value, b, path).length === 0)) out.push(`${path}: matches no ${key} branch`)
      }
      for (const sub of (schema["allOf"] as unknown[] | undefined) ?? []) out.push(...problems(value, sub, path))
      if (Array.isArray(schema["enum"]) && !schema["enum"].includes(value)) out.push(`${path}: not in the enum`)
      const type = schema["type"]
      if (type === "integer" && !Number.isInteger(value)) out.push(`${path}: not an integer`)
      if (type === "string" && typeof value !== "string") out.push(`${path}: not a string`)
      if (type === "array") {
        if (!Array.isArray(value)) return [...out, `${path}: not an array`]
        const prefix = schema["prefixItems"] as unknown[] | undefined
        value.forEach((v, i) => out.push(...problems(v, prefix?.[i] ?? schema["items"], `${path}[${i}]`)))
      }
      if (type === "object") {
        if (!isObj(value)) return [...out, `${path}: not an object`]
        const props = (schema["properties"] ?? {}) as S
        for (const [k, v] of Object.entries(value)) {
          if (k in props) out.push(...problems(v, props[k], `${path}.${k}`))
          else if (schema["additionalProperties"] === false) out.push(`${path}.${k}: not in the schema`)
        }
      }
      if (isObj(value)) for (const r of (schema["required"] as string[] | undefined) ?? []) if (!(r in value)) out.push(`${path}.${r}: required`)
      return out
    }
    const root = jsonSchema() as S
    for (const f of ["faults.json", "mailbox-ping.json"]) {
      const legacyFile = JSON.parse(readFileSync(join(legacy, f), "utf8")) as S
      expect(problems(legacyFile, root, f)).toEqual([])
      expect(problems(JSON.parse(readFileSync(join(examples, f), "utf8")), root, f)).toEqual([])
      // The check itself: a misspelt key is caught.
      expect(problems({ ...legacyFile, system: { ...(legacyFile["system"] as S), recordJobz: true } }, root, f)).toEqual([`${f}.system.recordJobz: not in the schema`])
    }
    const system = ((root["properties"] as S)["system"] as S)["properties"] as S
    const vcpu = ((((system["sandboxes"] as S)["items"] as S)["properties"] as S)["vcpus"] as S)["items"] as S
    for (const old of ["budgetNs", "periodNs", "deadlineNs"]) expect(((vcpu["properties"] as S)[old] as S)["deprecated"]).toBe(true)
    expect(problems({ budgetNs: 1_000_000, periodNs: 10_000_000 }, vcpu, "vcpu")).toEqual([])
    expect(problems({ name: "a" }, vcpu, "vcpu")).toEqual(["vcpu: matches no anyOf branch", "vcpu: matches no anyOf branch"])
    for (const [section, key] of [["recovery", "vcpu"], ["nic", "bottomHalfRequesterVcpu"]] as const) {
      const field = ((system[section] as S)["properties"] as S)[key] as S
      expect(problems("main2", field, key)).toEqual([])
      expect((field["anyOf"] as S[]).find((b) => b["type"] === "integer")!["deprecated"]).toBe(true)
    }
    // Every policy field's enum is the registry's names.
    const enums: unknown[] = []
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) x.forEach(walk)
      else if (isObj(x)) for (const [k, v] of Object.entries(x)) { if (k === "policy" && isObj(v)) enums.push(v["enum"]); walk(v) }
    }
    walk(root)
    expect(enums.length).toBeGreaterThanOrEqual(5)
    for (const e of enums) expect(e).toEqual(Policy.names())
  })

  it("--set paths are in the vocabulary, also for a file in the old spellings; an old path is refused with its replacement", async () => {
    const old = await read(join(legacy, "faults.json"))
    const changed = Override.apply(old, [Override.make("system.hosts[0].interval", "20ms")])
    expect(parseScenario(changed, "faults").system!.hosts[0]!.interval).toBe(20_000_000)
    const r = qvsim(["run", join(legacy, "faults.json"), "--until", "5ms", "--set", "system.hosts[0].intervalNs=20000000"])
    expect(r.code).toBe(2)
    expect(r.stderr.trim()).toMatch(/^qvsim: --set system\.hosts\[0\]\.intervalNs: system\.hosts\[0\] has no field "intervalNs" \(did you mean "interval"\?/)
  })
})
