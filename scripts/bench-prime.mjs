// Primes Node's compile cache for the benches (`npm run bench`, scripts/bench.ts), without running
// any of their code: `NODE_COMPILE_CACHE=<dir> node [flags] scripts/bench-prime.mjs`.
//
// Plain JavaScript on purpose (nothing of this file needs stripping). It loads every module a
// bench, a bench's child process or the CLI those children start can load from this checkout:
// each `.ts`/`.mts`/`.mjs` under packages/*/src, packages/*/bench and scripts (not tests or
// fixtures), whether a bench imports it statically or dynamically (the CLI's commands, report
// builders, sweep and robust workers), and with them every module they import statically
// (node_modules included). Loading a module strips its TypeScript (Node's amaro, in WebAssembly)
// and compiles it; with the cache on, Node keeps the stripped source and V8's code cache of each
// module in <dir>, keyed by the file's path and content, and writes them out at
// `flushCompileCache()` below. Afterwards a bench process with the same <dir> and the same V8
// flags strips nothing, so Node's type stripping never grows a WebAssembly memory in it and V8's
// ArrayBufferDetaching protector stays intact, as in a CLI run with a warm cache (qvsim.mjs turns
// the cache on before loading TypeScript). V8 flags that change V8's flag hash (`--expose-gc`,
// `--trace-*`, `--stack-size`, ...) select another subfolder of <dir>: prime with the same flags
// the bench process will have (scripts/bench.ts does, for each flag set in its PRIME_FLAGS).
//
// How nothing runs: all files are imported by one generated module whose first import is a
// module that throws. Node fetches, strips, compiles and links the whole graph before it
// evaluates any of it, and V8 evaluates a module's imports in order, depth first, so the
// throwing module is the first and only module evaluated; no bench body, no module's top level
// runs. If the graph does not link or load (one file's import cannot be resolved, say), each
// file is primed on its own the same way and the failures are listed (exit code 1).
//
// `node scripts/bench-prime.mjs <file>...` primes the named files (and their imports) instead.
// Prints one JSON line: { dir, flags, files, failed: [{ file, error }], ms }.
import { flushCompileCache, getCompileCacheDir } from "node:module"
import { readdirSync } from "node:fs"
import { join, relative, resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { execArgv } from "node:process"

const root = join(import.meta.dirname, "..")
const STOP = "qvsim-bench-prime: stop before evaluation"

/** Files under `dir` (recursively) that a bench may load: sources, not tests or fixtures. */
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name)
    if (e.isDirectory()) return e.name === "node_modules" || e.name === "test" || e.name === "fixtures" ? [] : walk(path)
    return /\.(ts|mts|mjs)$/.test(e.name) && !/\.(test|d)\.ts$/.test(e.name) ? [path] : []
  })

const files = () => [
  ...readdirSync(join(root, "packages")).flatMap((pkg) =>
    ["src", "bench"].flatMap((sub) => {
      try {
        return walk(join(root, "packages", pkg, sub))
      } catch {
        return []
      }
    }),
  ),
  ...walk(join(root, "scripts")),
].sort()

let stops = 0
/** Loads, strips, compiles and links `paths` and their static imports; evaluates none of them. */
const prime = async (paths) => {
  // A fresh throwing module per attempt (a module that threw once stays errored, and V8 would
  // not evaluate it again: the next graph's real modules would then be the first to run).
  const stop = `data:text/javascript,throw new Error(${JSON.stringify(STOP)}) // ${stops++}`
  const source = [stop, ...paths.map((p) => pathToFileURL(p).href)].map((u) => `import ${JSON.stringify(u)}`).join("\n")
  try {
    await import(`data:text/javascript,${encodeURIComponent(source)}`)
  } catch (e) {
    if (e instanceof Error && e.message === STOP) return undefined
    return e instanceof Error ? e.message.split("\n")[0] : String(e)
  }
  return "evaluated past the stop module (nothing should run)"
}

if (import.meta.main) {
  const start = performance.now()
  const dir = getCompileCacheDir?.()
  if (dir === undefined) {
    console.error("bench-prime: the compile cache is off: set NODE_COMPILE_CACHE=<dir>")
    process.exit(2)
  }
  const named = process.argv.slice(2)
  const all = named.length > 0 ? named.map((f) => resolve(f)) : files()
  const failed = []
  if ((await prime(all)) !== undefined) {
    for (const p of all) {
      const error = await prime([p])
      if (error !== undefined) failed.push({ file: relative(root, p), error })
    }
  }
  flushCompileCache()
  console.log(JSON.stringify({ dir, flags: execArgv, files: all.length, failed, ms: Math.round(performance.now() - start) }))
  process.exit(failed.length === 0 ? 0 : 1)
}
