/**
 * The design documents in the repository stay true to the code:
 *
 * - every model reference the code and the docs cite — `§B.3`, `§D`, `D.9`, `paper §4.5`, and the
 *   rule ids `SS0`–`SS7` (`SS4.2`, …), `N1`–`N5`, `D1`–`D4`, `S1`–`S5`, `W1`–`W2`, `P0`–`P7`,
 *   `F1`–`F22`, `E1`–`E9` (`E7a`), `G1`–`G4` — has an anchor in `docs/model.md` or `docs/model/*.md`;
 * - every anchor of the model pages is linked from the index `docs/model.md`, and every link of the
 *   design docs reaches an existing file and anchor;
 * - every repository path the docs name exists (the mechanism table of `docs/architecture.md`
 *   first of all), every `Name.member` they name is declared in `packages/*\/src`, and every qvsim
 *   option of the §D.12 knob table exists.
 *
 * Scanned for citations: `packages/*\/{src,test,bench}/**\/*.ts`, the package READMEs, `README.md`
 * and `docs/**\/*.md`. A last group runs each check on deliberately broken input, which it must
 * catch.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { basename, dirname, join, relative, resolve } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../../..")
const read = (path: string): string => readFileSync(join(root, path), "utf8")

const walk = (dir: string, keep: (name: string) => boolean): string[] => {
  const abs = join(root, dir)
  if (!existsSync(abs)) return []
  return readdirSync(abs).flatMap((name) => {
    const path = join(dir, name)
    if (name === "node_modules" || name === "fixtures") return []
    if (statSync(join(root, path)).isDirectory()) return walk(path, keep)
    return keep(name) ? [path] : []
  })
}
const PACKAGES = readdirSync(join(root, "packages")).filter((p) => existsSync(join(root, "packages", p, "package.json")))
const MODEL_FILES = ["docs/model.md", ...walk("docs/model", (n) => n.endsWith(".md"))]
const DESIGN_DOCS = [...MODEL_FILES, "docs/architecture.md"]
const SELF = relative(root, import.meta.filename)

// ---------------------------------------------------------------------------------- citations

/** A model id cited at `line` of `file`. */
export interface Citation {
  readonly id: string
  readonly file: string
  readonly line: number
}

/**
 * The model ids `text` cites, as anchor ids: `§B.3` and a bare `B.3` → `B.3`, `§D` → `D`,
 * `§E6` → `E6`, `paper §4.5` (any numeric §) → `paper-4.5`, and the rule ids as written.
 */
export const citations = (text: string, file = "<text>"): Citation[] => {
  const out: Citation[] = []
  text.split("\n").forEach((line, i) => {
    const add = (id: string): void => {
      out.push({ id, file, line: i + 1 })
    }
    for (const m of line.matchAll(/§\s?(?:(\d+(?:\.\d+)*)|([EFG]\d+[a-z]?|[A-H](?:\.\d+)*))/g)) add(m[1] !== undefined ? `paper-${m[1]}` : m[2]!)
    for (const m of line.matchAll(/(?<![\w.§])([A-H]\.\d{1,2})(?![\w]|\.\d)/g)) add(m[1]!)
    for (const m of line.matchAll(/(?<!§\s?)\b(SS\d(?:\.\d)?|[SWPNDG]\d|F\d{1,2}|E\d{1,2}[a-z]?)\b/g)) add(m[1]!)
  })
  return out
}

/** The explicit anchors (`<a id="…"></a>`) of a markdown text. */
export const anchorsOf = (markdown: string): string[] => [...markdown.matchAll(/<a id="([^"]+)"><\/a>/g)].map((m) => m[1]!)

/** Citations whose id has no anchor. */
export const unresolved = (cites: ReadonlyArray<Citation>, anchors: ReadonlySet<string>): string[] =>
  cites.filter((c) => !anchors.has(c.id)).map((c) => `${c.file}:${c.line}: ${c.id}`)

const modelAnchors = (): Map<string, string[]> => {
  const where = new Map<string, string[]>()
  for (const f of MODEL_FILES) for (const a of anchorsOf(read(f))) where.set(a, [...(where.get(a) ?? []), f])
  return where
}

const citingFiles = (): string[] => [
  ...PACKAGES.flatMap((p) => ["src", "test", "bench"].flatMap((k) => walk(join("packages", p, k), (n) => n.endsWith(".ts")))),
  ...PACKAGES.map((p) => join("packages", p, "README.md")).filter((f) => existsSync(join(root, f))),
  "README.md",
  ...walk("docs", (n) => n.endsWith(".md")),
].filter((f) => f !== SELF)

// ---------------------------------------------------------------------------------- links and paths

/** Relative markdown links `[text](target)` of a file that leave no doubt where they go (no URL). */
export const linksOf = (markdown: string): string[] =>
  [...markdown.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t))

/** Why the link `target` in `file` is broken, or null. */
export const brokenLink = (file: string, target: string, anchorsOfFile: (path: string) => ReadonlySet<string>): string | null => {
  const [path, fragment] = target.split("#") as [string, string | undefined]
  const dest = path === "" ? file : relative(root, resolve(root, dirname(file), path))
  if (!existsSync(join(root, dest))) return `${file}: link to ${target}: no file ${dest}`
  if (fragment !== undefined && fragment !== "" && !anchorsOfFile(dest).has(fragment)) return `${file}: link to ${target}: no anchor #${fragment} in ${dest}`
  return null
}

/** Repository paths named in backticks (`packages/…`; Quest's own paths, `sched/vcpu.c`, are not ours). */
export const pathsOf = (markdown: string): string[] =>
  [...markdown.matchAll(/`(packages\/[\w.\-/]+)`/g)].map((m) => m[1]!)

const srcFiles = (): string[] => PACKAGES.flatMap((p) => walk(join("packages", p, "src"), (n) => n.endsWith(".ts")))

/** `Name.member` tokens in backticks (a class or module name, then a member); JS globals (`Math.random`) are not ours. */
export const symbolsOf = (markdown: string): string[] =>
  [...markdown.matchAll(/`([A-Z]\w*)\.([A-Za-z_]\w*)`/g)]
    .filter((m) => !/^(ts|md|json)$/.test(m[2]!) && !(m[1]! in globalThis))
    .map((m) => `${m[1]}.${m[2]}`)

/**
 * Whether `Name.member` is declared in the code: a file `Name.ts`, or a file declaring
 * `class Name`, that declares `member` (method, field, property, exported const or function).
 */
export const symbolDeclared = (symbol: string, sources: ReadonlyArray<{ path: string; text: string }>): boolean => {
  const [name, member] = symbol.split(".") as [string, string]
  const decl = new RegExp(
    String.raw`^[ \t]*(?:(?:export|private|protected|public|static|readonly|override|async|get|set|declare|abstract)\s+)*` +
      String.raw`(?:(?:(?:const|let|function|type)\s+)?${member}\s*[(<=:?!]|(?:class|interface)\s+${member}\b)`,
    "m",
  )
  const owners = sources.filter((s) => basename(s.path) === `${name}.ts` || new RegExp(String.raw`\bclass ${name}\b`).test(s.text))
  return owners.some((s) => decl.test(s.text))
}

/** The qvsim option names of the §D.12 knob table (its last column). */
export const knobOptions = (platformMd: string): string[] =>
  platformMd
    .split("\n")
    .filter((l) => l.startsWith('| <a id="knob-'))
    .flatMap((l) => {
      const cells = l.split("|").map((c) => c.trim()).filter((c) => c !== "")
      return [...(cells[cells.length - 1] ?? "").matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.split(/[.*\s]+/).filter((s) => /^\w+$/.test(s)))
    })

/** Whether the option `name` is a key, field or parameter somewhere in `sources`. */
export const optionExists = (name: string, sources: ReadonlyArray<{ text: string }>): boolean => {
  const re = new RegExp(String.raw`\b${name}\??\s*:`)
  return sources.some((s) => re.test(s.text))
}

// ---------------------------------------------------------------------------------- tests

describe("docs: every model reference resolves inside the repository", () => {
  const where = modelAnchors()
  const anchors = new Set(where.keys())

  it("the model pages define each anchor once", () => {
    const dup = [...where].filter(([, files]) => files.length > 1).map(([a, files]) => `${a}: ${files.join(", ")}`)
    expect(dup).toEqual([])
    expect(anchors.size).toBeGreaterThan(150)
  })

  it("every § reference and rule id cited in packages/*/{src,test,bench}, the READMEs and docs/ has an anchor", () => {
    const cites = citingFiles().flatMap((f) => citations(read(f), f))
    const inCode = cites.filter((c) => c.file.startsWith("packages/") && c.file.endsWith(".ts"))
    expect(inCode.length).toBeGreaterThan(400) // the scanner sees the citations (about 650 in code today)
    expect(unresolved(cites, anchors)).toEqual([])
  })

  it("the index docs/model.md links every anchor of docs/model/*.md", () => {
    const index = read("docs/model.md")
    const linked = new Set([...index.matchAll(/\]\(model\/([\w-]+\.md)#([^)]+)\)/g)].map((m) => `docs/model/${m[1]}#${m[2]}`))
    const missing = MODEL_FILES.filter((f) => f !== "docs/model.md").flatMap((f) => anchorsOf(read(f)).map((a) => `${f}#${a}`).filter((x) => !linked.has(x)))
    expect(missing).toEqual([])
  })

  it("every link of the design docs and READMEs reaches a file and an anchor", () => {
    const cache = new Map<string, Set<string>>()
    const anchorsOfFile = (p: string): Set<string> => {
      let s = cache.get(p)
      if (s === undefined) cache.set(p, (s = statSync(join(root, p)).isFile() ? new Set(anchorsOf(read(p))) : new Set()))
      return s
    }
    const files = [...DESIGN_DOCS, "README.md", ...PACKAGES.map((p) => join("packages", p, "README.md")).filter((f) => existsSync(join(root, f)))]
    const broken = files.flatMap((f) => linksOf(read(f)).map((t) => brokenLink(f, t, anchorsOfFile))).filter((b) => b !== null)
    expect(broken).toEqual([])
  })
})

describe("docs: the architecture and the model name what exists", () => {
  const sources = srcFiles().map((path) => ({ path, text: read(path) }))

  it("every path in the mechanism table of docs/architecture.md (and anywhere in the design docs) exists", () => {
    const arch = read("docs/architecture.md")
    const table = arch.slice(arch.indexOf('<a id="mechanisms">'), arch.indexOf('<a id="nic-to-wakeup">'))
    expect(pathsOf(table).length).toBeGreaterThan(60)
    const missing = DESIGN_DOCS.flatMap((f) => pathsOf(read(f)).filter((p) => !existsSync(join(root, p))).map((p) => `${f}: ${p}`))
    expect(missing).toEqual([])
  })

  it("every Name.member the design docs name (the walk-through's functions first) is declared in packages/*/src", () => {
    const arch = read("docs/architecture.md")
    const walkThrough = arch.slice(arch.indexOf('<a id="nic-to-wakeup">'))
    expect(symbolsOf(walkThrough).length).toBeGreaterThan(40)
    const missing = DESIGN_DOCS.flatMap((f) => symbolsOf(read(f)).filter((s) => !symbolDeclared(s, sources)).map((s) => `${f}: ${s}`))
    expect(missing).toEqual([])
  })

  it("every qvsim option of the §D.12 knob table exists", () => {
    const names = knobOptions(read("docs/model/platform.md"))
    expect(names.length).toBeGreaterThanOrEqual(18)
    expect(names.filter((n) => !optionExists(n, sources))).toEqual([])
  })
})

describe("docs checks, on deliberately broken input", () => {
  const sources = srcFiles().map((path) => ({ path, text: read(path) }))
  const anchors = new Set(modelAnchors().keys())

  it("a citation of a section, rule or paper section that does not exist is reported", () => {
    // Each id assembled from parts so that this file itself cites nothing it should not.
    const text = ["// see §" + "B.9 and S" + "S8, also F" + "23 and paper §" + "4.9", "/* fine: §B.3, SS4.2, P4, F11, E7a, paper §4.5 */"].join("\n")
    expect(unresolved(citations(text, "x.ts"), anchors).sort()).toEqual(["x.ts:1: B.9", "x.ts:1: F23", "x.ts:1: SS8", "x.ts:1: paper-4.9"])
  })

  it("reads every form of citation, and nothing else", () => {
    const ids = citations("spec §C.2–C.3, §D, §E6, D.12, paper §3.7; SS4.2 SS5 N3 D1 S4 W2 P7 F10 E7a G2; 0xE1 E5506 X.1 S10").map((c) => c.id)
    expect(ids.sort()).toEqual(["C.2", "C.3", "D", "D.12", "D1", "E6", "E7a", "F10", "G2", "N3", "P7", "S4", "SS4.2", "SS5", "W2", "paper-3.7"])
  })

  it("an anchor missing from the index, a broken link and a missing path are reported", () => {
    const index = "[SS0](model/sporadic-server.md#SS0)"
    expect(anchorsOf('<a id="SS0"></a> <a id="SS0b"></a>').filter((a) => !index.includes(`#${a})`))).toEqual(["SS0b"])
    const none = (): Set<string> => new Set()
    expect(brokenLink("docs/model.md", "model/nowhere.md", none)).toMatch(/no file docs\/model\/nowhere.md/)
    expect(brokenLink("docs/model.md", "model/platform.md#D.99", (p) => new Set(anchorsOf(read(p))))).toMatch(/no anchor #D.99/)
    expect(brokenLink("docs/model.md", "model/platform.md#D.9", (p) => new Set(anchorsOf(read(p))))).toBeNull()
    const table = "| NIC | `packages/hardware/src/Nic.ts`, `packages/hardware/src/Nick.ts` |"
    expect(pathsOf(table).filter((p) => !existsSync(join(root, p)))).toEqual(["packages/hardware/src/Nick.ts"])
  })

  it("a function or option that does not exist is reported", () => {
    expect(symbolDeclared("Kernel.onInterrupt", sources)).toBe(true)
    expect(symbolDeclared("ApicBus.fanOut", sources)).toBe(true) // a class in LocalApic.ts
    expect(symbolDeclared("Frame.demuxIp", sources)).toBe(true) // an exported const of Frame.ts
    expect(symbolDeclared("Kernel.onInterupt", sources)).toBe(false)
    expect(symbolDeclared("Nic.demuxIp", sources)).toBe(false)
    expect(optionExists("pibsClampOnInherit", sources)).toBe(true)
    expect(optionExists("pibsClampOnInheritance", sources)).toBe(false)
  })
})
