/**
 * `npm run bench -- cancel`: what cancellable runs cost and how fast they stop.
 *
 * 1. Speed: the same runs (a PCPU scenario, a timer scenario, two experiment variants as systems)
 *    run to their end synchronously in one call (`Runner.execute`, no slicing: the loop as it was)
 *    and as the CLI runs them now (`Runner.executeAsync` with the CLI's `Signals.control()`:
 *    slices of 4096 events, a turn of the event loop every 20 ms), and so with the progress line
 *    (`--progress=always` off a terminal, written to a sink), alternating, best of 5 each, with
 *    the differences in percent.
 * 2. Latency: `qvsim run timers --until 30000s --progress=always` started 9 times; once it prints its progress,
 *    SIGINT is sent and the time until the process has exited is measured (median and worst).
 *    Aim: under 100 ms.
 */
import { spawn } from "node:child_process"
import { join } from "node:path"
import * as Builtins from "../src/Builtins.ts"
import * as Experiments from "../src/Experiments.ts"
import * as Runner from "../src/Runner.ts"
import { parseScenario, type Scenario } from "../src/Scenario.ts"
import * as Progress from "../src/cli/Progress.ts"
import * as Signals from "../src/cli/Signals.ts"

interface Case { readonly name: string; readonly scenario: Scenario; readonly seed: number; readonly untilNs: number }

const cases: Case[] = []
for (const name of ["rm-periodic", "timers"]) {
  const input = Builtins.find(name)!
  const scenario = parseScenario(input, name)
  cases.push({ name, scenario, seed: scenario.seed, untilNs: scenario.duration })
}
for (const [exp, variant, scale] of [["isolation", "faulty", 1], ["message-passing", "hi", 0.2]] as const) {
  const e = Experiments.registered().find((x) => x.name === exp)!
  const v = Experiments.variantOf(e, variant)
  const { scenario } = Experiments.parseVariant(e, v, e.seed, scale)
  cases.push({ name: `${exp}/${variant} ×${scale}`, scenario, seed: e.seed, untilNs: v.untilNs(scale) })
}

const timeSync = (c: Case): { ms: number; events: number } => {
  const p = Runner.prepare(c.scenario, { seed: c.seed, untilNs: c.untilNs })
  const start = performance.now()
  Runner.execute(p)
  return { ms: performance.now() - start, events: p.sim.events }
}

const timeAsync = async (c: Case, progress = false): Promise<{ ms: number; events: number }> => {
  const p = Runner.prepare(c.scenario, { seed: c.seed, untilNs: c.untilNs })
  // The progress line as `--progress=always` draws it off a terminal (into a sink here).
  const line = progress ? Progress.make({ mode: "always", tty: false, write: () => {} }).onSlice : undefined
  const start = performance.now()
  await Runner.executeAsync(p, Signals.control(), line)
  return { ms: performance.now() - start, events: p.sim.events }
}

console.log("1. run loop: one synchronous call vs the CLI's cancellable slices, without and with the progress line (best of 5, alternating)")
console.log(`${"run".padEnd(28)} ${"events".padStart(11)}  ${"sync ev/s".padStart(11)}  ${"sliced ev/s".padStart(11)}  diff        ${"+progress ev/s".padStart(14)}  diff`)
for (const c of cases) {
  timeSync(c) // warm-up
  let bestSync = Infinity, bestAsync = Infinity, bestProgress = Infinity, events = 0
  for (let i = 0; i < 5; i++) {
    const a = timeSync(c)
    const b = await timeAsync(c)
    const d = await timeAsync(c, true)
    bestSync = Math.min(bestSync, a.ms)
    bestAsync = Math.min(bestAsync, b.ms)
    bestProgress = Math.min(bestProgress, d.ms)
    events = a.events
  }
  const rate = (ms: number) => Math.round(events / (ms / 1000))
  const pct = (x: number, base: number) => { const d = ((x - base) / base) * 100; return `${d >= 0 ? "+" : ""}${d.toFixed(1)}% time` }
  console.log(`${c.name.padEnd(28)} ${events.toLocaleString("en-US").padStart(11)}  ${rate(bestSync).toLocaleString("en-US").padStart(11)}  ${rate(bestAsync).toLocaleString("en-US").padStart(11)}  ${pct(bestAsync, bestSync).padEnd(10)}  ${rate(bestProgress).toLocaleString("en-US").padStart(14)}  ${pct(bestProgress, bestAsync)} vs sliced`)
}

/** The `qvsim` executable, as a user starts it (compile cache on: main.ts and its modules not type-stripped again). */
const main = join(import.meta.dirname, "..", "src", "cli", "qvsim.mjs")
/** [ms until the run printed "interrupted", ms until the process had exited] after SIGINT. */
const latency = (): Promise<[number, number]> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, "run", "timers", "--until", "30000s", "--progress=always"], { stdio: ["ignore", "ignore", "pipe"] })
    let sent = 0, stopped = 0
    child.stderr.on("data", (d: Buffer) => {
      const text = String(d)
      if (sent === 0 && text.includes("events/s")) {
        sent = performance.now()
        child.kill("SIGINT")
      }
      if (sent !== 0 && stopped === 0 && text.includes("interrupted")) stopped = performance.now()
    })
    child.on("exit", (code) => (code === 130 ? resolve([stopped - sent, performance.now() - sent]) : reject(new Error(`exit ${code}`))))
  })

const runs = 9
console.log(`\n2. after SIGINT (qvsim run timers --until 30000s, ${runs} runs): until "interrupted" is printed, until the process has exited`)
const all: Array<[number, number]> = []
for (let i = 0; i < runs; i++) all.push(await latency())
const stat = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return `median ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms, worst ${s.at(-1)!.toFixed(0)} ms`
}
console.log(`stopped: ${stat(all.map((x) => x[0]))}`)
console.log(`exited:  ${stat(all.map((x) => x[1]))}   (aim < 100 ms)`)
