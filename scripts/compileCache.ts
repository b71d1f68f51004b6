/**
 * Priming Node's compile cache with `scripts/bench-prime.mjs` (its header says how and why), for
 * `npm run bench` (scripts/bench.ts) and `npm run cachesim` (scripts/cachesim.ts): after it, a
 * process started with the same V8 flags and `NODE_COMPILE_CACHE=<cache>` strips no TypeScript, so
 * V8's ArrayBufferDetaching protector stays intact in it.
 */
import { spawnSync } from "node:child_process"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")

/**
 * Primes `cache` for a process started with V8 flags `flags`: every module a bench can load, or
 * only `files` (absolute paths, and their imports) when given. It runs in `cwd` (default: the
 * checkout), where some V8 flags write files (`--perf-basic-prof`: an isolate-*-v8.log). Returns
 * what bench-prime.mjs reports; on failure prints why (prefixed by `who`) and exits with 1.
 */
export const primeCompileCache = (who: string, cache: string, flags: readonly string[], files: readonly string[] = [], cwd = root): { files: number; ms: number } => {
  const r = spawnSync(process.execPath, [...flags, join(root, "scripts", "bench-prime.mjs"), ...files], { cwd, encoding: "utf8", env: { ...process.env, NODE_COMPILE_CACHE: cache } })
  const out = r.stdout.trim().split("\n").at(-1) ?? ""
  if (r.status !== 0) {
    console.error(`${who}priming the compile cache (flags: ${flags.join(" ") || "none"}) failed, exit ${r.status}:\n${out}\n${r.stderr}`)
    process.exit(1)
  }
  return JSON.parse(out) as { files: number; ms: number }
}
