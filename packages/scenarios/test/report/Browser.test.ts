/**
 * The report in a real browser: the headless Chromium that npm installs with the project
 * (`./browser.ts`), driven by playwright-core. The page must load from a file:// URL with no
 * console error, no uncaught exception and no request but its own file; the Gantt chart must be
 * redrawn live (SVG with bars) and zoom on the wheel; the plot must show its marks.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Runner from "../../src/Runner.ts"
import type { Scenario } from "../../src/Scenario.ts"
import { Collector } from "../../src/report/Collect.ts"
import * as Report from "../../src/report/Report.ts"
import { launchChromium } from "./browser.ts"
import { builtin } from "./support.ts"

const writeReport = async (dir: string, scenario: Scenario, untilNs: number): Promise<string> => {
  const collector = new Collector()
  const prepared = Runner.prepare(scenario, { untilNs, sinks: [collector], recordSchedule: true })
  const summary = Runner.execute(prepared)
  const html = await Report.build({ scenario, summary, segments: prepared.segments(), collected: collector.result() })
  const path = join(dir, `${scenario.name}.html`)
  writeFileSync(path, html)
  return path
}

interface Loaded {
  readonly page: Page
  /** Console errors, uncaught exceptions and requests other than the page itself. */
  readonly problems: string[]
}

describe("the report in headless Chromium", { timeout: 60_000 }, () => {
  let dir = ""
  let browser: Browser | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "qvsim-browser-"))
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
  })

  afterAll(async () => {
    await browser?.close()
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  const open = async (path: string): Promise<Loaded> => {
    const page = await context!.newPage()
    const problems: string[] = []
    const url = pathToFileURL(path).href
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`) })
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`))
    page.on("request", (r) => { if (r.url() !== url) problems.push(`request: ${r.url()}`) })
    await page.goto(url, { waitUntil: "load" })
    return { page, problems }
  }

  it("rm-periodic: loads clean, the Gantt chart is redrawn live with bars and zooms, the plot has its points", async () => {
    const { page, problems } = await open(await writeReport(dir, builtin("rm-periodic"), 2_000_000_000))
    await page.waitForSelector(`#gantt[data-live="1"] svg`, { timeout: 20_000 })
    const bars = await page.locator("#gantt svg .mark-rect.role-mark path").count()
    expect(bars).toBeGreaterThan(50)
    expect(await page.locator("#plot svg .mark-symbol.role-mark path").count()).toBeGreaterThan(100)
    const xLabels = () => page.locator("#gantt svg .role-axis-label text").allTextContents()
    const before = await xLabels()
    const box = (await page.locator("#gantt svg").boundingBox())!
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.4)
    await page.mouse.wheel(0, -600)
    await expect.poll(xLabels, { timeout: 5_000 }).not.toEqual(before)
    expect(problems).toEqual([])
    await page.close()
  })

  it("ss-amplification and timers (no script at all) load clean and show their charts", async () => {
    const ss = await open(await writeReport(dir, builtin("ss-amplification"), 200_000_000))
    await ss.page.waitForSelector(`#gantt[data-live="1"] svg`, { timeout: 20_000 })
    expect(await ss.page.locator("#plot svg .mark-line.role-mark path").count()).toBe(4)
    expect(ss.problems).toEqual([])
    const timers = await open(await writeReport(dir, builtin("timers"), 1_000_000_000))
    expect(await timers.page.locator("#plot svg .mark-rect.role-mark path").count()).toBeGreaterThan(20)
    expect(await timers.page.locator("#schedule").textContent()).toMatch(/declares no PCPUs/)
    expect(timers.problems).toEqual([])
  })

  it("the checks catch a broken page: a console error, an exception, a request leaving the file", async () => {
    const path = join(dir, "broken.html")
    writeFileSync(path, `<!doctype html><title>x</title><img src="http://127.0.0.1:9/x.png"><script>console.error("boom"); null.x</script>`)
    const { page, problems } = await open(path)
    await expect.poll(() => problems.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3)
    expect(problems).toEqual(expect.arrayContaining([
      "console error: boom",
      expect.stringMatching(/^uncaught: .*null/),
      "request: http://127.0.0.1:9/x.png",
    ]))
    await page.close()
  })
})
