/**
 * `npm run bench`: runs every package's benchmarks (packages/<pkg>/bench/*.bench.ts), one after
 * the other in separate processes so they do not disturb each other, and prints their tables.
 * Filter by substring: `npm run bench -- queue`. Arguments after a second `--` go to every bench:
 * `npm run bench -- builtins -- --repeat 3 message`.
 *
 * **Which state the benches measure.** By default (mode "cli") each bench runs the code as the
 * CLI runs it from its second run on: Node's compile cache on and warm, so no module's TypeScript
 * is stripped in the bench's processes. That matters beyond start-up: Node's type stripping
 * (amaro) runs in WebAssembly and grows its memory at the first module it strips, which detaches
 * an ArrayBuffer and so invalidates V8's ArrayBufferDetaching protector for the rest of the
 * process; every optimized typed-array access then checks its buffer (6.6 % of the harness
 * workload, session 10). `qvsim` (packages/scenarios/src/cli/qvsim.mjs) turns the cache on before
 * it loads any TypeScript, so a CLI run with a warm cache keeps the protector intact.
 * - The cache folder is `node_modules/.cache/qvsim-bench/compile-cache` of this checkout (not the
 *   CLI's default folder in the OS temp folder: each checkout keeps its own), given to every bench
 *   as NODE_COMPILE_CACHE, so the bench's child processes (the CLI, the longrun/manycore children)
 *   and worker threads use it too.
 * - Priming, first: `scripts/bench-prime.mjs` loads, strips and compiles every module a bench can
 *   load (each source file of packages/{src,bench} and scripts, dynamic imports' targets
 *   included, and their static imports) without evaluating any, once per set of V8 flags the
 *   benches' processes start with (PRIME_FLAGS: V8's flag hash selects the cache's subfolder). So
 *   the state a bench meets does not depend on whether the cache happened to be warm: every
 *   module is in the cache, whatever ran before.
 * - Each process and worker thread of a bench reports at exit (`scripts/bench-process.cjs`,
 *   loaded through NODE_OPTIONS=--require): after the bench, one line says how many ran with the
 *   cache on and whether any stripped TypeScript (then its protector was invalidated: such a
 *   process is listed with its script and flags). Stripping is what invalidates the protector in
 *   a bench process (checked with V8's trace, `--trace-protector`, on every bench); anything else
 *   that detached a buffer would show only in that trace.
 * - What would meet a cold cache, and so strip: a process started with V8 flags not in PRIME_FLAGS;
 *   a worker thread started after its process changed a V8 flag at run time (v8.setFlagsFromString:
 *   the worker's cache subfolder follows the changed flag hash); a `.ts` file from outside the
 *   checkout (a user's scenario in a temporary folder). No bench does any of these (the
 *   `--trace-protector` mode does the second, and primes for it).
 *
 * Options (before any filter): `--plain` runs the benches as `node <file>.bench.ts` does (below;
 * the report preload is still loaded), for comparisons; `--trace-protector` turns V8's
 * --trace-protector-invalidation on in every process (lines "Invalidating protector cell ..." on
 * their standard output; a bench that parses a child's standard output may fail on them, which is
 * then the finding). Other protectors than ArrayBufferDetaching show there too: spawnSync
 * invalidates TypedArrayLengthLookupChain in the process that calls it, heap-js (queue.bench's
 * comparison) at import; the simulation's own processes keep it.
 *
 * What the mode changes, CPU, cli ÷ plain (session 11, 2 shared cores, load 3.6-7.5, noisy):
 * - jobs bench, 6 alternating pairs of `npm run bench [--plain] jobs`, CPU p50 per row: 5 tasks
 *   0.884, 10 tasks 0.901 (6 of 6 < 1), 10 tasks fingerprint on 0.964 (4 of 6), 20 tasks 0.940;
 * - its 10-task workload alone (5 sets × 100 s; 9 rounds after 2 warm-ups per process, medians),
 *   20 alternating pairs of processes: untraced 0.939 (17 of 20 < 1), fingerprint on 0.950 (18 of
 *   20). In one process with the cache warm, invalidating the protector half-way (a WebAssembly
 *   memory grown, as amaro's is) made the second half 1.076 / 1.078 × the first, against 1.003 /
 *   0.999 without (15 pairs of processes; 13 of 15 pairs show it);
 * - builtins bench (the whole paper, BENCH_REPEAT=3, sum of medians), 5 alternating pairs: 0.982
 *   (4 of 5 < 1, range 0.886-1.000).
 *
 * **`node packages/<pkg>/bench/<file>.bench.ts`** (and `--plain`) measures the other state: the
 * compile cache off (unless NODE_COMPILE_CACHE is set in your environment), so Node strips the
 * bench's TypeScript in the process and the protector is invalidated before the bench's first
 * line runs. The benches' child processes then run without the cache too, except the CLI
 * (qvsim.mjs), which turns on its own default cache (warm or not, depending on what ran before).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { primeCompileCache } from "./compileCache.ts"

const root = join(import.meta.dirname, "..")
/**
 * The V8 flags the benches' processes start with, each set primed: none (the bench processes, the
 * CLI and its workers) and `--expose-gc` (longrun.bench.ts's children). A process with other flags
 * meets a cold cache: the report after its bench lists it as having stripped TypeScript.
 */
const PRIME_FLAGS: ReadonlyArray<readonly string[]> = [[], ["--expose-gc"]]
/** This checkout's bench folder: the compile cache and each run's process log. */
const BENCH_DIR = join(root, "node_modules", ".cache", "qvsim-bench")
const CACHE = join(BENCH_DIR, "compile-cache")
/**
 * Benches whose child processes' start is what they measure: the report preload is given to the
 * bench process only (on its command line), not to its children (through NODE_OPTIONS), whose
 * start it would lengthen (a few ms: `node -e 0` read 38-39 ms alone, 39-44 ms with it, load ~5).
 * Their children still run with the primed cache; they are not checked.
 */
const UNCHECKED_CHILDREN = ["startup.bench.ts"]

const argv = process.argv.slice(2)
const dash = argv.indexOf("--")
const own = dash >= 0 ? argv.slice(0, dash) : argv
const passed = dash >= 0 ? argv.slice(dash + 1) : []
const plain = own.includes("--plain")
const trace = own.includes("--trace-protector")
const filter = own.filter((a) => a !== "--plain" && a !== "--trace-protector")
const files = readdirSync(join(root, "packages"))
  .flatMap((pkg) => {
    const dir = join(root, "packages", pkg, "bench")
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort().map((f) => join("packages", pkg, "bench", f)) : []
  })
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))

interface ProcessLine { pid: number; thread: string; script: string; execArgv: string[]; cache: string | null; stripped: boolean; code: number | null }

const logDir = BENCH_DIR
mkdirSync(logDir, { recursive: true })
const log = join(logDir, `processes-${process.pid}.jsonl`)
const preload = join(root, "scripts", "bench-process.cjs")
const baseEnv: NodeJS.ProcessEnv = { ...process.env, QVSIM_BENCH_LOG: log }
const nodeOptions = `${process.env["NODE_OPTIONS"] ?? ""} --require=${JSON.stringify(preload)}`.trim()
if (trace) baseEnv["QVSIM_BENCH_TRACE_PROTECTOR"] = "1"
if (plain) delete baseEnv["NODE_COMPILE_CACHE"]
else baseEnv["NODE_COMPILE_CACHE"] = CACHE

const mode = plain
  ? "plain (as `node <file>.bench.ts`: compile cache off, TypeScript stripped in the process, V8's ArrayBufferDetaching protector invalidated)"
  : `cli (compile cache on and primed, as the CLI runs from its second run on: ${relative(root, CACHE)})`
const modeLine = `mode: ${mode}${trace ? "; V8's --trace-protector-invalidation on in every process" : ""}`

let failed = 0
if (!plain) {
  // With --trace-protector the report preload sets V8's trace flag at run time, which changes V8's
  // flag hash for the whole process: a worker thread started after that uses the cache subfolder of
  // that hash (found with a cold one: the sweep bench's worker stripped every module). So that
  // subfolder is primed too.
  const sets = trace ? PRIME_FLAGS.flatMap((f) => [f, [...f, "--trace-protector-invalidation"]]) : PRIME_FLAGS
  for (const flags of sets) {
    const o = primeCompileCache("", CACHE, flags)
    console.log(`primed the compile cache for flags [${flags.join(" ")}]: ${o.files} files and their imports, ${o.ms} ms`)
  }
}

for (const file of files) {
  console.log(`\n=== ${file}\n${modeLine}`)
  rmSync(log, { force: true })
  const quiet = UNCHECKED_CHILDREN.some((f) => file.endsWith(f))
  const env = quiet ? baseEnv : { ...baseEnv, NODE_OPTIONS: nodeOptions }
  const r = spawnSync(process.execPath, [...(quiet ? [`--require=${preload}`] : []), file, ...passed], { cwd: root, stdio: "inherit", env })
  if (r.status !== 0) failed++
  const lines: ProcessLine[] = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as ProcessLine) : []
  const cached = lines.filter((l) => l.cache !== null).length
  const stripped = lines.filter((l) => l.stripped)
  const threads = lines.filter((l) => l.thread !== "main").length
  if (quiet) console.log("(its child processes are not checked: their start is what it measures)")
  console.log(`processes: ${lines.length - threads} and ${threads} worker thread(s) reported; compile cache on in ${cached}; TypeScript stripped (protector invalidated) in ${stripped.length} (a worker thread its pool terminates reports only if it stripped)`)
  for (const l of stripped) console.log(`  stripped: ${l.script || "(no script)"} ${l.thread} flags [${l.execArgv.join(" ")}] cache ${l.cache === null ? "off" : relative(root, l.cache)}`)
}
rmSync(log, { force: true })
if (failed > 0) {
  console.error(`${failed} benchmark file(s) failed`)
  process.exit(1)
}
