/**
 * The HTML report builder: one self-contained page (no network reference), the summary, the
 * Gantt chart as SVG with its bars and as a live Vega spec, the experiment's plot per scenario,
 * the analysis verdicts, the cap on segments said on the page, and escaping of every name.
 */
import { describe, expect, it } from "vitest"
import * as Runner from "../../src/Runner.ts"
import { parseScenario, type Scenario } from "../../src/Scenario.ts"
import * as Charts from "../../src/report/Charts.ts"
import { Collector } from "../../src/report/Collect.ts"
import * as Plots from "../../src/report/Plots.ts"
import * as Report from "../../src/report/Report.ts"
import { builtin } from "./support.ts"

const reportOf = async (scenario: Scenario, untilNs: number, options: Report.ReportOptions = {}) => {
  const collector = new Collector()
  const prepared = Runner.prepare(scenario, { untilNs, sinks: [collector], recordSchedule: true })
  const summary = Runner.execute(prepared)
  const segments = prepared.segments()
  const html = await Report.build({ scenario, summary: { ...summary, wallMs: 5 }, segments, collected: collector.result(), identity: { hash: "0123456789abcdef", source: scenario.name } }, options)
  return { html, summary, segments }
}

/** The inner HTML of the element with `id` (the first `</div>` closes it: charts hold no div). */
const chartOf = (html: string, id: string): string => {
  const start = html.indexOf(`id="${id}"`)
  expect(start).toBeGreaterThan(0)
  return html.slice(start, html.indexOf("</div>", start))
}

const marks = (svg: string, kind: string): number => {
  const group = svg.indexOf(`class="mark-${kind} role-mark`)
  if (group < 0) return 0
  return (svg.slice(group, svg.indexOf("</g>", group)).match(/<(?:path|line) /g) ?? []).length
}

const specOf = (html: string): { data: Array<{ name: string; values?: unknown[] }> } =>
  JSON.parse(html.slice(html.indexOf(`id="gantt-spec">`) + 16, html.indexOf("</script>", html.indexOf(`id="gantt-spec">`))))

/** The bars' data in the live spec (the inline data set whose rows have a lane and a colour). */
const liveBars = (html: string): unknown[] => specOf(html).data.find((d) => (d.values?.[0] as { lane?: string; colour?: string } | undefined)?.colour !== undefined)!.values!

describe("Report.build", { timeout: 30_000 }, () => {
  it("rm-periodic: summary, Gantt SVG with bars, live spec, response-time plot, RTA verdicts", async () => {
    const { html, summary, segments } = await reportOf(builtin("rm-periodic"), 600_000_000)
    expect(html.startsWith("<!doctype html>")).toBe(true)
    expect(html).toContain(`<title>qvsim · rm-periodic (seed 1)</title>`)
    expect(html).toContain(summary.fingerprint)
    expect(html).toContain("<dt>events</dt><dd>" + summary.events.toLocaleString("en-US") + "</dd>")
    expect(html).toContain("pcpus.pcpu0.threads.task5.maxResponseNs")
    // The Gantt chart: SVG bars for the opening window, the whole run in the live spec.
    const gantt = chartOf(html, "gantt")
    expect(gantt).toContain("<svg")
    expect(marks(gantt, "rect")).toBeGreaterThan(50)
    expect(gantt).toContain(">pcpu0 · t5</text>")
    expect(html).toContain(`all ${segments.length.toLocaleString("en-US")} executed segments`)
    expect(liveBars(html)).toHaveLength(segments.length)
    expect(html).toContain("vega.View") // the runtime and the live script are inline
    // The plot: one point per job, RTA levels as rules.
    const plot = chartOf(html, "plot")
    expect(html).toContain("<h2>Response time per job</h2>")
    expect(marks(plot, "symbol")).toBe(60 + 24 + 10 + 6 + 3) // jobs completed in 600 ms
    expect(marks(plot, "rule")).toBe(5)
    // The analysis: verdicts and RTA beside what was observed.
    expect(html).toMatch(/Liu &amp; Layland<\/td><td><span class="verdict ok">schedulable/)
    expect(html).toMatch(/<td>t5<\/td><td>36ms<\/td><td>200ms<\/td><td>89ms<\/td>.*?<td>task5<\/td><td>89ms<\/td><td>0 of 3<\/td>/)
  })

  it("is self-contained: a CSP with no network source, no URL but the SVG namespaces", async () => {
    const { html } = await reportOf(builtin("ss-amplification"), 200_000_000)
    expect(html).toContain(`http-equiv="Content-Security-Policy" content="default-src 'none';`)
    const urls = [...html.matchAll(/(?:https?:)?\/\/[a-z0-9.-]+\.[a-z]{2,}[^\s"'<>)]*/gi)].map((m) => m[0])
    const allowed = new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/xmlns/", "http://www.w3.org/XML/1998/namespace", "http://www.w3.org/1999/xhtml"])
    const outside = [...new Set(urls)].filter((u) => !allowed.has(u))
    // Only the Vega runtime's own strings (license comments, error texts) mention other URLs; none is loaded.
    expect(html).not.toMatch(/<(?:script|link|img|iframe)[^>]+(?:src|href)="(?!data:)/i)
    expect(outside.every((u) => html.indexOf(u) > html.indexOf("<script>"))).toBe(true)
  })

  it("ss-amplification: the cumulative-execution plot, one line per PCPU's VCPU and its reserved share", async () => {
    const { html } = await reportOf(builtin("ss-amplification"), 200_000_000)
    expect(html).toContain("<h2>Cumulative execution per core and VCPU</h2>")
    const plot = chartOf(html, "plot")
    // A line per series (executed, reserved share) for quest · S and posix-naive · S.
    expect((plot.match(/class="mark-line role-mark/g) ?? []).length).toBe(4)
    expect(plot).toContain(">posix-naive · S</text>")
    expect(html).toMatch(/<h3>quest<\/h3>.*<h3>posix-naive<\/h3>/s)
  })

  it("timers: interval histograms; no schedule, no analysis, no Vega runtime", async () => {
    const { html } = await reportOf(builtin("timers"), 1_000_000_000)
    expect(html).toContain("<h2>Firing intervals per source</h2>")
    expect(html).toContain("This scenario declares no PCPUs")
    expect(html).toContain("nothing to analyse")
    expect(html).not.toContain("vega.View")
    const plot = chartOf(html, "plot")
    expect((plot.match(/class="mark-rect role-mark/g) ?? []).length).toBe(5)
    expect(plot.indexOf("timer/tick-1ms")).toBeLessThan(plot.indexOf("timer/arrivals-7ms")) // scenario order
    expect(html.length).toBeLessThan(200_000)
  })

  it("caps the Gantt chart at maxSegments and the plot at MAX_POINTS, and says so", async () => {
    const { html, segments } = await reportOf(builtin("rm-periodic"), 10_000_000_000, { maxSegments: 100 })
    expect(segments.length).toBeGreaterThan(100)
    expect(html).toContain(`100 of ${segments.length.toLocaleString("en-US")} executed segments, those nearest the opening window`)
    expect(liveBars(html)).toHaveLength(100)
    // 1,717 jobs over 5 threads: task1's 1,000 exceed its share (500), so every 2nd is drawn.
    expect(html).toContain("<li>task1: every 2nd job is drawn.</li>")
    const points = marks(chartOf(html, "plot"), "symbol")
    expect(points).toBe(500 + 400 + 167 + 100 + 50)
    expect(points).toBeLessThanOrEqual(Plots.MAX_POINTS)
  })

  it("escapes every name from the scenario: no markup gets through", async () => {
    const evil = `<img src=x onerror="alert(1)">&'`
    const scenario = parseScenario({
      name: "evil",
      description: `desc ${evil}`,
      duration: "50ms",
      pcpus: [{
        name: `cpu ${evil}`,
        vcpus: [{ name: `v ${evil}`, budget: "2ms", period: "10ms" }],
        threads: [{ name: `t ${evil}`, vcpu: `v ${evil}`, arrivals: { kind: "periodic", period: "10ms" }, job: [{ compute: "1ms" }] }],
      }],
    }, "evil")
    const { html } = await reportOf(scenario, 50_000_000)
    expect(html).not.toContain("<img")
    // No tag carries the attribute (inside SVG text the name shows as text: `"` needs no escape there).
    expect(html).not.toMatch(/<[^>]*onerror=/)
    expect(html).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;&amp;&#39;")
    // The live spec carries the names as JSON with `<` escaped.
    expect(html).toContain("\\u003cimg src=x onerror=")
    expect(JSON.stringify(specOf(html))).toContain(`cpu ${evil.replace(/"/g, '\\"')}`)
  })

  it("helpers: escapeHtml, scriptJson, niceCeil, trimSvg", () => {
    expect(Report.escapeHtml(`<a href="x">&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;")
    expect(Report.scriptJson({ s: "</script><!--" })).toBe(`{"s":"\\u003c/script>\\u003c!--"}`)
    expect([0.3, 1, 1.01, 2.5, 7, 12, 999].map(Report.niceCeil)).toEqual([0.5, 1, 2, 5, 10, 20, 1000])
    expect(Charts.trimSvg(`<path d="M1.2999999,0h0.92v23.400000002Z" transform="translate(4.60000001,5)"/><text>1.23456</text>`))
      .toBe(`<path d="M1.29,0h0.92v23.40Z" transform="translate(4.60,5)"/><text>1.23456</text>`)
  })
})
