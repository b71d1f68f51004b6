/**
 * Every report as a researcher opens it, in the project's headless Chromium (`./browser.ts`): the
 * run reports of the three built-ins and of a Quest-V system (`isolation/faulty`), and the report
 * of every experiment (at a small scale). Each page loads from a file:// URL with no console
 * error, no uncaught exception and no request; each chart's legends have distinct, untruncated
 * labels; no lane or series is named after a raw number (`core0 · -1`) and none merges two cores;
 * numeric table cells are right-aligned. A screenshot of every section is taken (kept in
 * `$QVSIM_SCREENSHOTS` when set, to look at; else in a temporary folder) and must not be blank.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import type { Browser, BrowserContext, Page } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Experiments from "../../src/Experiments.ts"
import * as Experiment from "../../src/paper/Experiment.ts"
import * as Registry from "../../src/paper/registry.ts"
import * as Runner from "../../src/Runner.ts"
import type { Scenario } from "../../src/Scenario.ts"
import { Collector } from "../../src/report/Collect.ts"
import * as ExperimentReport from "../../src/report/ExperimentReport.ts"
import * as Report from "../../src/report/Report.ts"
import { launchChromium } from "./browser.ts"
import { builtin } from "./support.ts"

const keep = process.env["QVSIM_SCREENSHOTS"]

/** A run report as `qvsim run --report` writes it (jobs and recovery phases included). */
const runReport = async (scenario: Scenario, untilNs: number, seed = scenario.seed): Promise<string> => {
  const collector = new Collector()
  const prepared = Runner.prepare(scenario, { seed, untilNs, sinks: [collector], recordSchedule: true, recordJobs: true })
  const summary = Runner.execute(prepared)
  return Report.build({
    scenario, summary, segments: prepared.segments(), collected: collector.result(), jobs: prepared.jobs(),
    spans: (prepared.system?.recoveries() ?? []).flatMap((r) => r.phases.map((p) => ({ label: p.phase, startNs: p.startNs, endNs: p.endNs }))),
  })
}

const experimentReport = async (name: string, scale: number): Promise<string> => {
  const e = Registry.find(name)!
  const { runs, result } = Experiment.runAll(e, { scale })
  return ExperimentReport.build({
    experiment: e, seed: e.seed, scale, result,
    variants: runs.map((r) => ({ name: r.variant, description: "", simTimeNs: r.system.sim.now, events: r.system.sim.events, fingerprint: r.system.sim.trace.fingerprint() })),
  })
}

/** In the page: what overflows horizontally (empty = nothing), after opening every `<details>`. */
const OVERFLOW = `(() => {
  for (const d of document.querySelectorAll("details")) d.open = true
  const out = []
  const root = document.documentElement
  if (root.scrollWidth > root.clientWidth) out.push("page " + root.scrollWidth + " px wide in a " + root.clientWidth + " px window")
  for (const t of document.querySelectorAll("section table")) {
    const s = t.closest("section").getBoundingClientRect(), r = t.getBoundingClientRect()
    let title = t.previousElementSibling
    while (title && !/^H[23]$/.test(title.tagName)) title = title.previousElementSibling
    if (r.right > s.right + 0.5) out.push("table " + JSON.stringify((title ? title.textContent : "").slice(0, 60)) + " ends " + Math.round(r.right - s.right) + " px past its section")
  }
  return out
})()`

interface Opened {
  readonly page: Page
  readonly problems: string[]
}

describe("every report in headless Chromium, as a researcher opens it", { timeout: 120_000 }, () => {
  let dir = ""
  let shots = ""
  let browser: Browser | undefined
  let context: BrowserContext | undefined

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "qvsim-shots-"))
    shots = keep ?? join(dir, "shots")
    mkdirSync(shots, { recursive: true })
    browser = await launchChromium()
    context = await browser.newContext({ viewport: { width: 1100, height: 900 } })
  }, 120_000) // the first launch inflates the browser; a loaded machine launches slowly

  afterAll(async () => {
    await browser?.close()
    if (dir !== "") rmSync(dir, { recursive: true, force: true })
  })

  const open = async (name: string, html: string): Promise<Opened> => {
    const path = join(dir, `${name}.html`)
    writeFileSync(path, html)
    const page = await context!.newPage()
    const problems: string[] = []
    const url = pathToFileURL(path).href
    page.on("console", (m) => { if (m.type() === "error") problems.push(`console error: ${m.text()}`) })
    page.on("pageerror", (e) => problems.push(`uncaught: ${e.message}`))
    page.on("request", (r) => { if (r.url() !== url) problems.push(`request: ${r.url()}`) })
    await page.goto(url, { waitUntil: "load" })
    if (await page.locator("#gantt").count() > 0) await page.waitForSelector(`#gantt[data-live="1"] svg`, { timeout: 30_000 })
    return { page, problems }
  }

  /** Every legend of the page: its title and labels. */
  const legends = (page: Page) => page.locator("svg .role-legend").evaluateAll((els) => els.map((el) => ({
    title: el.querySelector(".role-legend-title text")?.textContent ?? "",
    labels: [...el.querySelectorAll(".role-legend-label text")].map((t) => t.textContent ?? ""),
  })))

  /** The checks every page passes; screenshots of its sections. */
  const check = async (name: string, { page, problems }: Opened): Promise<void> => {
    expect(problems).toEqual([])
    for (const l of await legends(page)) {
      expect(new Set(l.labels).size, `${name}: legend ${l.title} labels ${l.labels.join(" | ")}`).toBe(l.labels.length)
      for (const label of l.labels) {
        expect(label, `${name}: legend ${l.title}`).not.toMatch(/…$/)
        expect(label, `${name}: legend ${l.title}`).not.toMatch(/(^|· )-?\d+$/)
      }
    }
    const lanes = await page.locator("#gantt svg .role-axis-label text").allTextContents()
    for (const lane of lanes) expect(lane, `${name}: lane`).not.toMatch(/· -?\d+$/)
    // Numbers in tables are right-aligned.
    const numeric = page.locator("td.num").first()
    if (await numeric.count() > 0) expect(await numeric.evaluate((el) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { textAlign: string } }).getComputedStyle(el).textAlign)).toBe("right")
    for (const id of ["summary", "schedule", "experiment", "distributions", "analysis", "claims", "tables"]) {
      const section = page.locator(`section#${id}`)
      if (await section.count() === 0) continue
      const file = join(shots, `${name.replace(/\//g, "_")}-${id}.png`)
      await section.screenshot({ path: file })
      expect(statSync(file).size, `${file} looks blank`).toBeGreaterThan(3000)
    }
    // No horizontal overflow, folded tables opened: the page is no wider than the window, and
    // every table ends inside its section.
    expect(await page.evaluate(OVERFLOW), `${name}: horizontal overflow`).toEqual([])
    await page.close()
  }

  it("isolation/faulty: named interrupt/monitor lanes, markers, recovery shaded, opens on the fault; one series per core", async () => {
    const e = Registry.find("isolation")!
    const v = e.variants.find((x) => x.name === "faulty")!
    const { scenario } = Experiments.parseVariant(e, v, e.seed, 1)
    const opened = await open("isolation-faulty", await runReport(scenario, v.untilNs(1), e.seed))
    const { page } = opened
    const lanes = await page.locator("#gantt svg .role-axis-label text").allTextContents()
    expect(lanes).toEqual(expect.arrayContaining(["sandbox0/core0 · main0", "sandbox0/core0 · interrupts", "sandbox0/core0 · monitor", "sandbox1/core1 · main0"]))
    expect(await page.locator("#schedule").textContent()).toMatch(/opens around the first fault recovery/)
    // Lanes per thread, toggled under the live chart.
    await page.locator(`#gantt input[type="radio"][value="thread"]`).check()
    await expect.poll(() => page.locator("#gantt svg .role-axis-label text").allTextContents(), { timeout: 5_000 })
      .toEqual(expect.arrayContaining(["sandbox1/core1 · sender", "sandbox0/core0 · receiver", "sandbox0/core0 · interrupts"]))
    await page.locator(`#gantt input[type="radio"][value="VCPU"]`).check()
    // The live chart draws the recovery shading, ticks for every bar, and the job markers.
    expect(await page.locator("#gantt svg .mark-rect.role-mark path").count()).toBeGreaterThan(1)
    expect(await page.locator("#gantt svg .mark-rule.role-mark line, #gantt svg .mark-rect.role-mark path").count()).toBeGreaterThan(10)
    expect(await page.locator("#gantt svg .mark-symbol.role-mark path").count()).toBeGreaterThan(10)
    // Cumulative execution: main0 of each of the four cores is a series of its own.
    const series = (await legends(page)).find((l) => l.title === "PCPU · VCPU")!.labels
    expect(series.filter((s) => s.endsWith(" · main0")).sort()).toEqual(["sandbox0/core0 · main0", "sandbox1/core1 · main0", "sandbox2/core2 · main0", "sandbox3/core3 · main0"])
    // Distributions: response times per thread with the RTA bound, the pinger's RTTs.
    expect(await page.locator("#responses svg .mark-rule.role-mark line").count()).toBeGreaterThan(0)
    expect(await page.locator("#rtts svg").count()).toBe(1)
    expect(await page.locator("#analysis").textContent()).toMatch(/What is analysed: the VCPUs declared/)
    expect(await page.locator("#analysis").textContent()).toMatch(/I\/O VCPU.*io-net/s)
    await check("isolation-faulty", opened)
  })

  it("isolation/faulty read without scripts: the static page draws both lane views, per VCPU and per thread", async () => {
    const e = Registry.find("isolation")!
    const v = e.variants.find((x) => x.name === "faulty")!
    const { scenario } = Experiments.parseVariant(e, v, e.seed, 1)
    const path = join(dir, "isolation-faulty-static.html")
    writeFileSync(path, await runReport(scenario, v.untilNs(1), e.seed))
    const staticContext = await browser!.newContext({ viewport: { width: 1100, height: 900 }, javaScriptEnabled: false })
    try {
      const page = await staticContext.newPage()
      await page.goto(pathToFileURL(path).href, { waitUntil: "load" })
      expect(await page.locator("#gantt").getAttribute("data-live")).toBe("0")
      expect(await page.locator("#gantt svg").count()).toBe(2)
      const labels = (i: number) => page.locator("#gantt svg").nth(i).locator(".role-axis-label text").allTextContents()
      expect(await labels(0)).toEqual(expect.arrayContaining(["sandbox0/core0 · main0", "sandbox0/core0 · interrupts"]))
      expect(await labels(0)).not.toContain("sandbox1/core1 · sender")
      expect(await labels(1)).toEqual(expect.arrayContaining(["sandbox1/core1 · sender", "sandbox0/core0 · receiver", "sandbox0/core0 · interrupts"]))
      // The thread view draws bars too (not an empty frame).
      expect(await page.locator("#gantt svg").nth(1).locator(".mark-rect.role-mark path, .mark-rule.role-mark line").count()).toBeGreaterThan(10)
      const file = join(shots, "isolation-faulty-static-schedule.png")
      await page.locator("section#schedule").screenshot({ path: file })
      expect(statSync(file).size).toBeGreaterThan(3000)
      expect(await page.evaluate(OVERFLOW)).toEqual([])
    } finally {
      await staticContext.close()
    }
  })

  it.each([
    ["rm-periodic", 2_000_000_000],
    ["ss-amplification", 200_000_000],
    ["timers", 1_000_000_000],
  ] as const)("run report of %s", async (name, untilNs) => {
    await check(name, await open(name, await runReport(builtin(name), untilNs)))
  })

  it.each([
    ["isolation", 0.1],
    ["driver-recovery", 0.05],
    ["interrupts", 0.02],
    ["message-passing", 0.02],
    ["shared-driver", 0.02],
    ["forkwait", 0.02],
    ["ss-defects", 1],
    ["pibs-conformance", 0.05],
    ["quest-linux", 0.05],
  ] as const)("experiment report of %s", async (name, scale) => {
    const opened = await open(name, await experimentReport(name, scale))
    if (name === "isolation") {
      // One panel per receiver, each on its own time axis; a legend of variants only.
      const titles = await opened.page.locator("#experiment svg .role-title-text text, #experiment svg .role-title text").allTextContents()
      expect(titles.filter((t) => t.startsWith("receiver sandbox"))).toHaveLength(3)
      const variants = (await legends(opened.page)).find((l) => l.title === "variant")!.labels
      expect(variants).toEqual(expect.arrayContaining(["fault-free", "faulty"]))
    }
    await check(name, opened)
  })

  it("the checks catch a bad page: a truncated or repeated legend label, a raw-number lane", async () => {
    const svg = (labels: string[]) => `<svg><g class="role-legend"><g class="role-legend-title"><text>t</text></g>${labels.map((l) => `<g class="role-legend-label"><text>${l}</text></g>`).join("")}</g></svg>`
    const bad = [["a", "a"], ["questv-broadcast-l…", "b"], ["core0 · -1"]]
    for (const labels of bad) {
      const opened = await open("bad", `<!doctype html><title>x</title>${svg(labels)}`)
      await expect(check("bad", opened)).rejects.toThrow()
      await opened.page.close()
    }
    // A table wider than its section, folded away or not.
    const wide = `<table><tr>${"<td>a-wide-cell-that-does-not-wrap</td>".repeat(40)}</tr></table>`
    for (const html of [wide, `<details><summary>rows</summary>${wide}</details>`]) {
      const opened = await open("bad", `<!doctype html><title>x</title><style>td { white-space: nowrap }</style><main style="max-width: 600px"><section><h2>t</h2>${html}</section></main>`)
      await expect(check("bad", opened)).rejects.toThrow(/horizontal overflow/)
      await opened.page.close()
    }
  })
})
