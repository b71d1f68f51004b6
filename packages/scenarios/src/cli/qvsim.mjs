#!/usr/bin/env node
// The `qvsim` executable. Plain JavaScript on purpose: it turns on Node's compile cache (V8 code
// and type-stripped TypeScript of every module, in $NODE_COMPILE_CACHE or the OS temp folder)
// before any TypeScript is loaded, so not even main.ts pays for type stripping after the first run.
// Everything else is in main.ts.
import { enableCompileCache } from "node:module"

enableCompileCache?.()
await import("./main.ts")
