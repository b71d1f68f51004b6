/**
 * `npm run bench`: runs every package's benchmarks (packages/<pkg>/bench/*.bench.ts), one after
 * the other in separate processes so they do not disturb each other, and prints their tables.
 * Filter by substring: `npm run bench -- queue`.
 */
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dirname, "..")
const filter = process.argv.slice(2)
const files = readdirSync(join(root, "packages"))
  .flatMap((pkg) => {
    const dir = join(root, "packages", pkg, "bench")
    return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).sort().map((f) => join("packages", pkg, "bench", f)) : []
  })
  .filter((f) => filter.length === 0 || filter.some((s) => f.includes(s)))

let failed = 0
for (const file of files) {
  console.log(`\n=== ${file}`)
  const r = spawnSync(process.execPath, [file], { cwd: root, stdio: "inherit" })
  if (r.status !== 0) failed++
}
if (failed > 0) {
  console.error(`${failed} benchmark file(s) failed`)
  process.exit(1)
}
