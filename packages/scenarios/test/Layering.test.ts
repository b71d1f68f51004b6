/**
 * The layering of the repository, enforced on every import of every `.ts` file under
 * `packages/<p>/{src,test,bench}` (docs/architecture.md, "Layers"):
 *
 * - `@qvsim/<q>` only for a package below `<p>` (sim-core ← hardware, vcpu-sched ← sandbox-kernel ←
 *   scenarios; hardware and vcpu-sched never import each other), and only its root (`src/index.ts`):
 *   no deep import, so no other package's `src/internal/`;
 * - relative imports stay inside their own package, and `src` never imports `test` or `bench`;
 * - third-party packages only if the package's `package.json` declares them (tests and benchmarks
 *   may also use the root's and the package's dev dependencies);
 * - `node:` built-ins only at the edge (scenarios' `src`) and in tests and benchmarks; never a
 *   built-in without the `node:` prefix.
 *
 * Each `package.json`'s `@qvsim/*` dependencies must respect the same table. A second group runs
 * the checker on deliberately bad imports, which it must refuse.
 */
import { builtinModules } from "node:module"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, relative, resolve, sep } from "node:path"
import { describe, expect, it } from "vitest"

const root = resolve(import.meta.dirname, "../../..")

/** What each package may import from the others: the layers, bottom first. */
export const LAYERS: Readonly<Record<string, ReadonlyArray<string>>> = {
  "sim-core": [],
  hardware: ["sim-core"],
  "vcpu-sched": ["sim-core"],
  "sandbox-kernel": ["sim-core", "hardware", "vcpu-sched"],
  scenarios: ["sim-core", "hardware", "vcpu-sched", "sandbox-kernel"],
}
/** Packages whose `src` may use node built-ins (the edge: CLI, files). */
const EDGE = new Set(["scenarios"])
const KINDS = ["src", "test", "bench"] as const
type Kind = (typeof KINDS)[number]

interface PackageJson {
  readonly name?: string
  readonly dependencies?: Record<string, string>
  readonly devDependencies?: Record<string, string>
}
const readJson = (path: string): PackageJson => JSON.parse(readFileSync(path, "utf8")) as PackageJson
const rootJson = readJson(join(root, "package.json"))

// ---------------------------------------------------------------------------------- scanning

/**
 * The module specifiers a TypeScript source imports: `import … from "x"`, `export … from "x"`,
 * `import "x"`, `import("x")` and `require("x")` with a literal argument. Comments, template
 * literals and regular-expression literals are skipped, so a specifier mentioned in a comment or
 * inside another string is not an import.
 */
export const importSpecifiers = (source: string): string[] => {
  const strings: string[] = []
  let code = ""
  let last = "" // last significant character of code, to tell a regex literal from a division
  let i = 0
  const n = source.length
  while (i < n) {
    const c = source[i]!
    const d = source[i + 1]
    if (c === "/" && d === "/") {
      while (i < n && source[i] !== "\n") i++
      continue
    }
    if (c === "/" && d === "*") {
      const end = source.indexOf("*/", i + 2)
      i = end < 0 ? n : end + 2
      code += " "
      continue
    }
    if (c === '"' || c === "'") {
      let j = i + 1
      let text = ""
      while (j < n && source[j] !== c && source[j] !== "\n") {
        if (source[j] === "\\") j++
        text += source[j] ?? ""
        j++
      }
      strings.push(text)
      code += ` \u0000${strings.length - 1}\u0000 `
      last = c
      i = j + 1
      continue
    }
    if (c === "`") {
      let j = i + 1
      while (j < n && source[j] !== "`") j += source[j] === "\\" ? 2 : 1
      code += " `` "
      last = "`"
      i = j + 1
      continue
    }
    if (c === "/" && (last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last))) {
      let j = i + 1
      let inClass = false
      while (j < n && source[j] !== "\n" && (inClass || source[j] !== "/")) {
        if (source[j] === "\\") j++
        else if (source[j] === "[") inClass = true
        else if (source[j] === "]") inClass = false
        j++
      }
      code += " /re/ "
      last = "/"
      i = j + 1
      continue
    }
    code += c
    if (c !== " " && c !== "\n" && c !== "\t" && c !== "\r") last = c
    i++
  }
  const out: string[] = []
  for (const m of code.matchAll(/\b(?:from|import)\s*\u0000(\d+)\u0000/g)) out.push(strings[Number(m[1])]!)
  for (const m of code.matchAll(/\b(?:import|require)\s*\(\s*\u0000(\d+)\u0000\s*\)/g)) out.push(strings[Number(m[1])]!)
  return out
}

const tsFiles = (dir: string): string[] => {
  if (!existsSync(dir)) return []
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (name === "node_modules") return []
    if (statSync(path).isDirectory()) return tsFiles(path)
    return name.endsWith(".ts") ? [path] : []
  })
}

/** Where a file sits: its package and whether it is src, test or bench; null outside packages. */
const locate = (path: string): { pkg: string; kind: Kind | "other" } | null => {
  const parts = relative(root, path).split(sep)
  if (parts[0] !== "packages" || parts.length < 3) return null
  const kind = parts[2] as Kind
  return { pkg: parts[1]!, kind: KINDS.includes(kind) ? kind : "other" }
}

const packageName = (specifier: string): string => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0]!
}

// ---------------------------------------------------------------------------------- the rule

/**
 * Why `file` (an absolute path under `packages/`) may not import `specifier`, or null if it may.
 * `deps` are the third-party packages the file's package declares (dev dependencies included for
 * tests and benchmarks).
 */
export const violation = (file: string, specifier: string, deps: ReadonlySet<string>): string | null => {
  const at = locate(file)
  if (at === null) return `${file} is not inside packages/<package>/`
  const { pkg, kind } = at
  const allowed = LAYERS[pkg]
  if (allowed === undefined) return `package ${pkg} is not in the layer table (docs/architecture.md)`
  if (specifier.startsWith(".")) {
    const target = locate(resolve(dirname(file), specifier))
    if (target === null || target.pkg !== pkg) {
      return `relative import ${specifier} leaves package ${pkg}: import the package (@qvsim/…) instead`
    }
    if (kind === "src" && target.kind !== "src") return `src imports its package's ${target.kind} (${specifier})`
    return null
  }
  if (specifier.startsWith("@qvsim/")) {
    const name = packageName(specifier)
    const other = name.slice("@qvsim/".length)
    if (specifier !== name) return `deep import ${specifier}: only @qvsim/${other} (its src/index.ts) is public${specifier.includes("/internal/") ? "; src/internal/ is private to its package" : ""}`
    if (other === pkg) return `${pkg} imports itself by name (${specifier}): use a relative import`
    if (!allowed.includes(other)) return `${pkg} may not import ${specifier} (allowed: ${allowed.length > 0 ? allowed.join(", ") : "no other package"})`
    return null
  }
  if (specifier.startsWith("node:")) {
    if (kind === "src" && !EDGE.has(pkg)) return `${pkg}/src is simulation code: no node built-ins (${specifier})`
    return null
  }
  if (builtinModules.includes(packageName(specifier))) return `node built-in without the node: prefix (${specifier})`
  if (!deps.has(packageName(specifier))) return `${pkg}/${kind} imports ${packageName(specifier)}, which its package.json does not declare`
  return null
}

const depsOf = (pkg: string, kind: Kind | "other"): Set<string> => {
  const json = readJson(join(root, "packages", pkg, "package.json"))
  const deps = new Set(Object.keys(json.dependencies ?? {}))
  if (kind !== "src") {
    for (const d of Object.keys(json.devDependencies ?? {})) deps.add(d)
    for (const d of Object.keys(rootJson.devDependencies ?? {})) deps.add(d)
  }
  return deps
}

// ---------------------------------------------------------------------------------- tests

describe("layering", () => {
  it("every package of the workspace is in the layer table, and only those", () => {
    const onDisk = readdirSync(join(root, "packages")).filter((p) => existsSync(join(root, "packages", p, "package.json")))
    expect(onDisk.sort()).toEqual(Object.keys(LAYERS).sort())
  })

  it("each package.json declares only @qvsim packages below it", () => {
    for (const pkg of Object.keys(LAYERS)) {
      const json = readJson(join(root, "packages", pkg, "package.json"))
      const qvsim = Object.keys({ ...json.dependencies, ...json.devDependencies }).filter((d) => d.startsWith("@qvsim/"))
      for (const d of qvsim) expect(LAYERS[pkg], `${pkg}/package.json depends on ${d}`).toContain(d.slice("@qvsim/".length))
    }
  })

  it("every import in packages/*/{src,test,bench} points down the layers, never into another package's internals", () => {
    const found: string[] = []
    let imports = 0
    for (const pkg of Object.keys(LAYERS)) {
      for (const kind of KINDS) {
        const deps = depsOf(pkg, kind)
        for (const file of tsFiles(join(root, "packages", pkg, kind))) {
          for (const spec of importSpecifiers(readFileSync(file, "utf8"))) {
            imports++
            const why = violation(file, spec, deps)
            if (why !== null) found.push(`${relative(root, file)}: ${why}`)
          }
        }
      }
    }
    expect(imports).toBeGreaterThan(500) // the scanner sees the code (about 850 imports today)
    expect(found).toEqual([])
  })
})

describe("layering check, on deliberately bad imports", () => {
  const file = (pkg: string, kind: string, name = "X.ts"): string => join(root, "packages", pkg, kind, name)
  const deps = (pkg: string, kind: Kind): Set<string> => depsOf(pkg, kind)

  it("refuses imports that point up or sideways", () => {
    expect(violation(file("hardware", "src"), "@qvsim/vcpu-sched", deps("hardware", "src"))).toMatch(/may not import @qvsim\/vcpu-sched/)
    expect(violation(file("vcpu-sched", "src"), "@qvsim/hardware", deps("vcpu-sched", "src"))).toMatch(/may not import @qvsim\/hardware/)
    expect(violation(file("sim-core", "test"), "@qvsim/hardware", deps("sim-core", "test"))).toMatch(/no other package/)
    expect(violation(file("sandbox-kernel", "bench"), "@qvsim/scenarios", deps("sandbox-kernel", "bench"))).toMatch(/may not import/)
    // and accepts the ones that point down
    expect(violation(file("sandbox-kernel", "src"), "@qvsim/hardware", deps("sandbox-kernel", "src"))).toBeNull()
    expect(violation(file("scenarios", "test"), "@qvsim/vcpu-sched", deps("scenarios", "test"))).toBeNull()
  })

  it("refuses another package's internals, by deep import or by relative path", () => {
    expect(violation(file("scenarios", "src"), "@qvsim/hardware/src/internal/config.ts", deps("scenarios", "src"))).toMatch(/src\/internal\/ is private/)
    expect(violation(file("sandbox-kernel", "src"), "../../hardware/src/internal/hash.ts", deps("sandbox-kernel", "src"))).toMatch(/leaves package sandbox-kernel/)
    expect(violation(file("vcpu-sched", "test"), "../../sim-core/src/Time.ts", deps("vcpu-sched", "test"))).toMatch(/leaves package/)
    // its own internals are fine
    expect(violation(file("hardware", "src"), "./internal/config.ts", deps("hardware", "src"))).toBeNull()
    expect(violation(file("hardware", "test"), "../src/internal/hash.ts", deps("hardware", "test"))).toBeNull()
  })

  it("refuses src importing tests, undeclared packages and node built-ins in simulation code", () => {
    expect(violation(file("vcpu-sched", "src"), "../test/support.ts", deps("vcpu-sched", "src"))).toMatch(/src imports its package's test/)
    expect(violation(file("sandbox-kernel", "src"), "vega", deps("sandbox-kernel", "src"))).toMatch(/does not declare/)
    expect(violation(file("hardware", "src"), "fast-check", deps("hardware", "src"))).toMatch(/does not declare/)
    expect(violation(file("hardware", "src"), "node:fs", deps("hardware", "src"))).toMatch(/no node built-ins/)
    expect(violation(file("scenarios", "test"), "fs", deps("scenarios", "test"))).toMatch(/without the node: prefix/)
    // tests may use node and the root's dev dependencies; the edge may use node
    expect(violation(file("hardware", "test"), "node:fs", deps("hardware", "test"))).toBeNull()
    expect(violation(file("hardware", "test"), "vitest", deps("hardware", "test"))).toBeNull()
    expect(violation(file("scenarios", "src"), "node:path", deps("scenarios", "src"))).toBeNull()
  })

  it("finds every form of import, and none in comments, strings or regular expressions", () => {
    const source = [
      `import { a } from "@qvsim/sim-core"`,
      `import type {`,
      `  B,`,
      `} from './B.ts'`,
      `export * as C from "./C.ts"`,
      `import "./side-effect.ts"`,
      `const d = await import("./D.ts")`,
      `// import { e } from "@qvsim/hardware"`,
      `/* import { f } from "@qvsim/hardware" */`,
      `const s = 'import { g } from "@qvsim/hardware"'`,
      "const t = `from \"@qvsim/hardware\"`",
      `const r = /from "([^"]+)"/g`,
    ].join("\n")
    expect(importSpecifiers(source)).toEqual(["@qvsim/sim-core", "./B.ts", "./C.ts", "./side-effect.ts", "./D.ts"])
  })
})
