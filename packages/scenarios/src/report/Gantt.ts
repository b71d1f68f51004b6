/**
 * What the report's Gantt chart draws, from a run's executed segments, its jobs and its recovery
 * phases: one lane per PCPU (a sandbox's core for a system) and VCPU (or, toggled, per thread), plus the core's interrupt
 * and monitor time as lanes of their own (`core0 · interrupts`, never `core0 · -1`); markers for
 * job releases, deadlines and misses on the lane of the job's VCPU; recovery phases as shaded
 * spans; and the window the chart opens on: around the first recovery or the first deadline miss
 * when there is one (else the run's opening), with the segments kept around it.
 *
 * Invariants:
 * - every bar is a segment of the run, with its true start and end (the chart draws a tick at
 *   each bar's start so that a bar thinner than a pixel still shows; the tooltip gives the true
 *   duration);
 * - lanes are listed PCPU by PCPU, each PCPU's declared VCPUs in order, then its interrupt and
 *   monitor lanes (only when they have time), then lanes seen only in segments;
 * - at most `maxSegments` bars and `maxMarkers` markers, the ones nearest the opening window
 *   (the page says how many of how many).
 *
 * @module
 */
import type { PcpuCheck } from "../Check.ts"
import type { JobRow } from "../Jobs.ts"
import type { NamedSegment } from "../models/Pcpus.ts"
import type { Scenario } from "../Scenario.ts"
import * as Labels from "./Labels.ts"

/** A shaded span (e.g. a recovery phase), ns. */
export interface Span {
  readonly label: string
  readonly startNs: number
  readonly endNs: number
}

/** One bar (times in ms). `colour` is the VCPU's name, or `interrupts` / `monitor`. */
export interface Bar {
  readonly lane: string
  /** The lane in the per-thread view (`sandbox1/core1 · sender`; interrupts and monitor as in the VCPU view). */
  readonly threadLane: string
  readonly pcpu: string
  readonly vcpu: string
  readonly thread: string
  readonly colour: string
  readonly start: number
  readonly end: number
  /** True duration, µs. */
  readonly us: number
}

export interface Marker {
  readonly lane: string
  readonly threadLane: string
  readonly kind: "release" | "deadline" | "miss"
  readonly t: number
  readonly thread: string
  readonly job: number
}

export interface GanttData {
  readonly lanes: ReadonlyArray<string>
  /** The lanes of the per-thread view: each PCPU's threads (in the order of their VCPUs), then its interrupt and monitor lanes. */
  readonly threadLanes: ReadonlyArray<string>
  /** Declared VCPUs that never ran and have no jobs: left out of the lanes. */
  readonly idleLanes: ReadonlyArray<string>
  readonly colours: ReadonlyArray<string>
  readonly bars: ReadonlyArray<Bar>
  readonly markers: ReadonlyArray<Marker>
  readonly spans: ReadonlyArray<{ readonly label: string; readonly start: number; readonly end: number }>
  /** The window the chart opens on, ms. */
  readonly initialMs: readonly [number, number]
  /** Why it opens there (plain text). */
  readonly why: string
  /** Segments and markers drawn, of how many. */
  readonly shownSegments: number
  readonly totalSegments: number
  readonly shownMarkers: number
  readonly totalMarkers: number
}

export interface GanttInput {
  readonly scenario: Scenario
  readonly segments: ReadonlyArray<NamedSegment>
  readonly checks: ReadonlyArray<PcpuCheck>
  readonly jobs: ReadonlyArray<JobRow>
  readonly spans: ReadonlyArray<Span>
  readonly simTimeNs: number
}

export interface GanttOptions {
  readonly maxSegments?: number
  readonly maxMarkers?: number
  /** Without a fault or miss, open on about this many segments (default 100). */
  readonly initialSegments?: number
}

const MS = 1e6
const IRQ = "irq", MONITOR = "monitor", IDLE = "idle"

/** The smallest 1, 2, 5 × 10^k at or above `x` (> 0). */
export const niceCeil = (x: number): number => {
  if (!(x > 0)) return 1
  const p = Math.pow(10, Math.floor(Math.log10(x)))
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-12)) return m * p
  return 10 * p
}

/** The lane prefix of each PCPU name: `sandbox1/core1` for a system's `core1`, else the PCPU's name. */
const prefixes = (input: GanttInput): Map<string, string> => {
  const out = new Map<string, string>()
  for (const c of input.checks) {
    const m = /^(sandbox\d+)\/(core\d+)$/.exec(c.name)
    if (m !== null) out.set(m[2]!, c.name)
  }
  return out
}

/** Declared VCPUs per PCPU name (scenario PCPUs, or a system's cores via its checks). */
const declared = (input: GanttInput): Map<string, string[]> => {
  const out = new Map<string, string[]>()
  if (input.scenario.system !== undefined) {
    for (const c of input.checks) out.set(c.name.replace(/^sandbox\d+\//, ""), c.vcpus.map((v) => v.name))
  } else {
    const names = Labels.pcpuNames(input.scenario)
    input.scenario.pcpus.forEach((p, i) => out.set(names[i]!, p.vcpus.map((v) => v.name)))
  }
  return out
}

/** Where each (where, thread) of the job rows runs: its lane. */
const jobLanes = (input: GanttInput, lane: (pcpu: string, vcpu: string) => string): Map<string, string> => {
  const out = new Map<string, string>()
  if (input.scenario.system !== undefined) {
    for (const c of input.checks) {
      if (c.system === undefined) continue
      const core = c.name.replace(/^sandbox\d+\//, "")
      for (const t of c.system.threads) out.set(`sandbox${c.system.sandbox}\u0000${t.name}`, lane(core, t.vcpu))
    }
  } else {
    const names = Labels.pcpuNames(input.scenario)
    input.scenario.pcpus.forEach((p, i) => {
      for (const t of p.threads) out.set(`${names[i]!}\u0000${t.name}`, lane(names[i]!, t.vcpu))
    })
  }
  return out
}

/** The window to open on: around the first recovery, else the first miss, else the opening segments. */
const openingWindow = (input: GanttInput, initialSegments: number): { fromNs: number; toNs: number; why: string } => {
  const end = Math.max(1, input.simTimeNs)
  const first = input.spans.length > 0 ? input.spans.reduce((a, b) => (b.startNs < a.startNs ? b : a)) : undefined
  if (first !== undefined) {
    // The whole recovery (its phases may be several), with room on both sides.
    const last = Math.max(...input.spans.filter((s) => s.startNs < first.startNs + 10 * Math.max(1, first.endNs - first.startNs) + 1e9).map((s) => s.endNs))
    const len = Math.max(1000, last - first.startNs)
    return { fromNs: Math.max(0, first.startNs - len / 2), toNs: Math.min(end, last + len / 2), why: `around the first fault recovery (${first.label} at ${(first.startNs / MS).toFixed(3)} ms)` }
  }
  const miss = input.jobs.filter((j) => j.missed === true && j.deadline !== null).sort((a, b) => a.deadline! - b.deadline!)[0]
  if (miss !== undefined) {
    const len = Math.max(1000, miss.deadline! - miss.release)
    return { fromNs: Math.max(0, miss.release - len), toNs: Math.min(end, (miss.finish ?? miss.deadline!) + len), why: `around the first deadline miss (${miss.thread} job ${miss.job}, deadline ${(miss.deadline! / MS).toFixed(3)} ms)` }
  }
  const segs = input.segments
  const toNs = segs.length > 2 * initialSegments ? Math.min(end, niceCeil(segs[initialSegments - 1]!.end / MS) * MS) : end
  return { fromNs: 0, toNs, why: toNs < end ? `on the run's opening (about ${initialSegments} segments; no fault and no deadline miss to show)` : "on the whole run" }
}

/** Up to `max` items of `items` (sorted by time `at`) nearest the window `[from, to]`. */
const nearest = <A>(items: ReadonlyArray<A>, at: (a: A) => number, from: number, to: number, max: number): A[] => {
  if (items.length <= max) return [...items]
  let lo = 0, hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (at(items[mid]!) < from) lo = mid + 1
    else hi = mid
  }
  let inside = lo
  while (inside < items.length && at(items[inside]!) <= to) inside++
  const centre = (lo + inside) >> 1
  const start = Math.max(0, Math.min(items.length - max, centre - (max >> 1)))
  return items.slice(start, start + max)
}

/** The Gantt chart's data (see the module header). */
export const build = (input: GanttInput, options: GanttOptions = {}): GanttData => {
  const maxSegments = options.maxSegments ?? 5000
  const maxMarkers = options.maxMarkers ?? 3000
  const prefix = prefixes(input)
  const laneOf = (pcpu: string, vcpu: string): string => `${prefix.get(pcpu) ?? pcpu} · ${vcpu}`
  const decl = declared(input)
  const window = openingWindow(input, options.initialSegments ?? 100)
  const shown = nearest(input.segments.filter((s) => s.thread !== IDLE), (s) => s.start, window.fromNs, window.toNs, maxSegments)
  const bars: Bar[] = shown.map((s) => {
    const kind = s.thread === IRQ ? "interrupts" : s.thread === MONITOR ? "monitor" : undefined
    return {
      lane: laneOf(s.pcpu, kind ?? s.vcpu), threadLane: laneOf(s.pcpu, kind ?? s.thread), pcpu: s.pcpu, vcpu: kind === undefined ? s.vcpu : `— (${kind})`, thread: s.thread,
      colour: kind ?? s.vcpu, start: s.start / MS, end: s.end / MS, us: (s.end - s.start) / 1000,
    }
  })
  // Lanes: each PCPU's declared VCPUs that ran or have jobs, then its interrupt and monitor lanes
  // if used, then any other. A VCPU that never ran in the whole run is left out (and named).
  const where = jobLanes(input, laneOf)
  const used = new Set<string>()
  for (const j of input.jobs) {
    const l = where.get(`${j.where}\u0000${j.thread}`)
    if (l !== undefined) used.add(l)
  }
  for (const s of input.segments) used.add(laneOf(s.pcpu, s.thread === IRQ ? "interrupts" : s.thread === MONITOR ? "monitor" : s.vcpu))
  const lanes: string[] = []
  const idle: string[] = []
  const pcpus = [...new Set([...decl.keys(), ...input.segments.map((s) => s.pcpu)])]
  for (const p of pcpus) {
    for (const v of decl.get(p) ?? []) (used.has(laneOf(p, v)) ? lanes : idle).push(laneOf(p, v))
    for (const k of ["interrupts", "monitor"]) if (used.has(laneOf(p, k))) lanes.push(laneOf(p, k))
  }
  for (const b of bars) if (!lanes.includes(b.lane)) lanes.push(b.lane)
  // The per-thread view: each thread under its (first) VCPU's position, interrupts and monitor last.
  const threadRank = new Map<string, number>()
  for (const s of input.segments) {
    if (s.thread === IDLE) continue
    const kind = s.thread === IRQ ? "interrupts" : s.thread === MONITOR ? "monitor" : undefined
    const t = laneOf(s.pcpu, kind ?? s.thread)
    if (!threadRank.has(t)) {
      const v = lanes.indexOf(laneOf(s.pcpu, kind ?? s.vcpu))
      threadRank.set(t, (v < 0 ? lanes.length : v) * 1e6 + threadRank.size)
    }
  }
  // One colour per VCPU that has a lane (the same VCPU name on two cores shares its colour).
  const colours = [...new Set([...lanes.map((l) => l.slice(l.lastIndexOf(" · ") + 3)), ...bars.map((b) => b.colour)].filter((c) => c !== "interrupts" && c !== "monitor"))]
  // Markers from the jobs, on their VCPU's lane.
  const all: Marker[] = []
  for (const j of input.jobs) {
    const lane = where.get(`${j.where}\u0000${j.thread}`)
    if (lane === undefined) continue
    const threadLane = `${lane.slice(0, lane.lastIndexOf(" · "))} · ${j.thread}`
    if (!threadRank.has(threadLane)) threadRank.set(threadLane, Math.max(0, lanes.indexOf(lane)) * 1e6 + threadRank.size)
    all.push({ lane, threadLane, kind: "release", t: j.release / MS, thread: j.thread, job: j.job })
    if (j.deadline !== null) all.push({ lane, threadLane, kind: "deadline", t: j.deadline / MS, thread: j.thread, job: j.job })
    if (j.missed === true) all.push({ lane, threadLane, kind: "miss", t: (j.finish ?? j.deadline ?? j.release) / MS, thread: j.thread, job: j.job })
  }
  all.sort((a, b) => a.t - b.t)
  const markers = nearest(all, (m) => m.t * MS, window.fromNs, window.toNs, maxMarkers)
  return {
    lanes,
    threadLanes: [...threadRank.entries()].sort((a, b) => a[1] - b[1]).map(([t]) => t),
    idleLanes: idle,
    colours,
    bars,
    markers,
    spans: input.spans.map((s) => ({ label: s.label, start: s.startNs / MS, end: s.endNs / MS })),
    initialMs: [window.fromNs / MS, Math.max(window.toNs, window.fromNs + 1) / MS],
    why: window.why,
    shownSegments: shown.length,
    totalSegments: input.segments.filter((s) => s.thread !== IDLE).length,
    shownMarkers: markers.length,
    totalMarkers: all.length,
  }
}
