// Loaded by `npm run bench` (scripts/bench.ts) into every Node process and worker thread of a
// bench, through NODE_OPTIONS=--require=<this file>, so a bench's child processes (the CLI, the
// longrun and manycore children, sweep and robust workers) report too. CommonJS and plain
// JavaScript: the cheapest preload Node has (no ES module loader work, nothing to strip); it
// registers an exit handler and does its work there (~1-5 ms of a process's start and exit,
// measured on `node -e` starts: see scripts/bench.ts).
//
// At exit it appends one JSON line to $QVSIM_BENCH_LOG: the process (pid, thread, script, V8
// flags), the compile cache folder it ran with (null: the cache was off) and whether Node's type
// stripping ran in it (amaro, Node's TypeScript stripper, is loaded only on a compile cache miss
// of a `.ts` module, and its WebAssembly memory grows at the first module it strips: that detaches
// an ArrayBuffer, which invalidates V8's ArrayBufferDetaching protector for the rest of the
// process; every optimized typed-array access then checks its buffer). scripts/bench.ts reads the
// lines after each bench and prints what they say.
//
// With QVSIM_BENCH_TRACE_PROTECTOR=1 it also turns on V8's --trace-protector-invalidation (set
// here at run time: given on the command line the flag would change V8's flag hash and so the
// compile cache's subfolder, and the run would no longer meet the primed cache). V8 prints each
// invalidation on the process's standard output ("Invalidating protector cell ..."). The changed
// flag hash makes V8 reject the modules' code cache in that process (they are compiled again; their
// TypeScript is not stripped again); the next `npm run bench`'s priming writes it back.
"use strict"
const log = process.env.QVSIM_BENCH_LOG
if (process.env.QVSIM_BENCH_TRACE_PROTECTOR === "1") require("node:v8").setFlagsFromString("--trace-protector-invalidation")
const AMARO = "NativeModule internal/deps/amaro/dist/index"
if (log !== undefined && log !== "") {
  const { isMainThread, threadId } = require("node:worker_threads")
  let reported = false
  const report = (code) => {
    if (reported) return
    reported = true
    const { appendFileSync } = require("node:fs")
    const { getCompileCacheDir } = require("node:module")
    const { join, relative } = require("node:path")
    const root = join(__dirname, "..")
    appendFileSync(log, JSON.stringify({
      pid: process.pid,
      thread: isMainThread ? "main" : `worker ${threadId}`,
      script: process.argv[1] === undefined ? "" : relative(root, process.argv[1]),
      execArgv: process.execArgv,
      cache: getCompileCacheDir?.() ?? null,
      stripped: process.moduleLoadList.includes(AMARO),
      code,
    }) + "\n")
  }
  process.on("exit", report)
  // A worker thread that its pool terminates never sees "exit" (the sweep and robust pools end
  // theirs so): there, look every 250 ms, while the worker's event loop is free, whether it has
  // stripped TypeScript, and report it at once if so (unref'd: the timer keeps nothing alive).
  if (!isMainThread) {
    const look = setInterval(() => {
      if (!process.moduleLoadList.includes(AMARO)) return
      clearInterval(look)
      report(null)
    }, 250)
    look.unref()
  }
}
