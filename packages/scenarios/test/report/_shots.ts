import { mkdirSync, writeFileSync } from "node:fs"
import { pathToFileURL } from "node:url"
import { spawnSync } from "node:child_process"
import { launchChromium } from "./browser.ts"
const dir = "/tmp/rep/shots"
mkdirSync(dir, { recursive: true })
const runs = process.argv.slice(2)
const browser = await launchChromium()
const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 } })
for (const spec of runs) {
  const [name, ...flags] = spec.split(" ")
  const file = `${dir}/${name!.replace(/\//g, "_")}.html`
  const isExp = !name!.includes("/") && !["timers", "rm-periodic", "ss-amplification"].includes(name!)
  const args = ["packages/scenarios/src/cli/main.ts", "run", name!, "--report", file, "--force", ...(isExp ? ["--out", `${dir}/out-${name}`] : []), ...flags]
  const r = spawnSync(process.execPath, args, { encoding: "utf8" })
  if (r.status !== 0) { console.log(name, r.status, r.stderr); continue }
  const page = await ctx.newPage()
  const errs: string[] = []
  page.on("console", (m) => { if (m.type() === "error") errs.push(m.text()) })
  page.on("pageerror", (e) => errs.push(e.message))
  await page.goto(pathToFileURL(file).href)
  await page.waitForTimeout(1500)
  for (const id of ["schedule", "experiment", "analysis", "tables"]) {
    const el = page.locator(`#${id}`)
    if (await el.count() > 0) await el.screenshot({ path: file.replace(".html", `-${id}.png`) })
  }
  console.log(name, "ok", errs)
  await page.close()
}
await browser.close()
