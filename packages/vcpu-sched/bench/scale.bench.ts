/**
 * Cost per event as the number of tasks on one PCPU grows (issue 15: "tasks per PCPU 5 → 200: cost
 * per event within 1.2×"). Rate-monotonic periodic sets of 5, 20, 50, 100 and 200 tasks at
 * U = 0.7 (UUniFast; one Main VCPU `(C_i, T_i)` and one thread per task, jobs of demand `C_i`
 * released every `T_i` from 0; three sets per size from fixed seeds), 20 s of simulated time,
 * Quest's 1 ms timer rule on, trace and schedule recording off, two period choices:
 * - `log-uniform`: periods log-uniform in 10–1000 ms (integer ns): releases rarely coincide, so the
 *   runnable list `R` holds 0–2 VCPUs at a typical invocation whatever the number of tasks;
 * - `harmonic`: periods from {10, 20, 40, 80, 160, 320} ms: every task is released at each multiple
 *   of 320 ms, so `R` holds up to all of them (the case a linear walk of `R` pays for).
 * Printed: wall ns per sim-core event and per scheduler invocation, the mean length of `R` at an
 * invocation, the event mix (per 100 events: job releases, computation ends, invocations, and the
 * invocations that switch threads — a timer tick that lets the same thread go on is the lightest
 * event, a release the heaviest), and the 200/5 ratio of ns per event. Counts do not depend on the
 * machine's load. The mix is part of what the ratio measures: at 5 tasks most events are 1 ms ticks,
 * at 200 most are releases, completions and the switches they cause. Also printed (counts): queue
 * pushes per event (events run in place are not pushed), and CPU ns per job. A least-squares fit
 * over the rows' CPU figures, `ns/event ≈ tick·(1 − h) + (heavy0 + heavyPerDoubling·log2 n)·h`
 * with `h` the share of heavy events (releases, ends, switching invocations) and the rest the
 * ticks that let the same thread go on, splits each 200/5 ratio into its event-mix part (the
 * model at 5 tasks with 200's mix) and its task-count part (the rest). Then, per row, the cost of a
 * heavy event at that size: the row's measured CPU ns per event less the ticks' share at the fitted
 * tick cost, divided by the heavy share (so `measured = tick·(1 − h) + heavy·h` holds exactly and the
 * reader can check it), and the 200/5 ratio of that cost beside the per-event one.
 *
 * Last, a section with the event mix held the same at every size ("fixed demand", its sets built by
 * `fixedDemandSetOf` in fixedDemand.ts, shared with scripts/cachesim.ts): every job
 * demands the same `FIXED_DEMAND_NS` (2 ms) at every size, and the periods grow with the number of
 * tasks so that U ≈ 0.7 still (`T_i = base·r_i` with `base = C·Σ 1/r_j / 0.7`; `r_i` log-uniform in
 * 1–100, or from {1, 2, 4, 8, 16, 32} for the harmonic kind, whose base is rounded to whole ns so
 * the periods stay harmonic), 100 s simulated (`FIXED_SIM_NS`: the harness's construction and the
 * burst of first releases at 0 stay a small part). So a set runs about the same number of jobs per simulated second at
 * every size (0.7 / 2 ms), each job with its release, its end and the ticks of 2 ms of running,
 * and the releases, ends and ticks come in about the same proportion at every size: its 200/5 ratio
 * of CPU ns per event (min of 5 rounds, sizes interleaved, as above) is the cost of more tasks with
 * the mix held, the mix printed beside it to check. It reads no row above and changes none.
 * Its sizes go on to 400 and 800 tasks (`FIXED_SIZES`; the 200/5 ratio reads 5 and 200 only), and
 * a least-squares line of its CPU ns per event against log2(tasks) over all its sizes shows the
 * shape of the growth (a logarithmic cost is a straight line: ns per doubling), printed with the ns
 * per doubling that the 1.2× target at 200 tasks would allow.
 *
 * Then the same fixed-demand sets measured apart from the rows above, after them (so their figures
 * are taken exactly as before): each round builds its harnesses first (CPU timed on its own: the
 * build column, µs per harness, and its share of a run of the fixed-demand row), then times only
 * their `run`s ("run only" column, CPU ns per event, min of 5 rounds, and its 200/5 ratio). The
 * fixed-demand row times a fresh harness's construction with its run; at 200 tasks a harness's
 * construction (its objects also copied by the young-generation collections during its run) is a few
 * per cent of the row, at 5 a fraction of one, so part of that row's ratio is construction; the run-only
 * ratio leaves it out (its harnesses, built before the timed runs, are also older when they run).
 *
 *   npx node packages/vcpu-sched/bench/scale.bench.ts
 */
import { Rng } from "@qvsim/sim-core"
import { Bench } from "tinybench"
import * as Generators from "../src/Generators.ts"
import { Harness } from "../src/Harness.ts"
import { periodicSpec, type PeriodicTask } from "../src/Workload.ts"
import { FIXED_DEMAND_NS, FIXED_SIM_NS, fixedDemandSetOf, type Periods, SCALE_SEED, SETS_PER_SIZE as SETS } from "./fixedDemand.ts"

const SIM_NS = 20_000_000_000 // 20 s
const SIZES = [5, 20, 50, 100, 200]

const MS = 1_000_000
const HARMONIC = [10, 20, 40, 80, 160, 320].map((p) => p * MS)

/** Task set `k` of `n` tasks (fixed seed). */
const taskSetOf = (periods: Periods, n: number, k: number): PeriodicTask[] => {
  const rng = Rng.stream(SCALE_SEED, `bench/scale/${periods}/${n}/${k}`)
  const u = Generators.uunifast(rng, n, 0.7)
  return Generators.taskSet(u, periods === "harmonic" ? Generators.periodsFromSet(rng, n, HARMONIC) : Generators.periodsLogUniform(rng, n, 10 * MS, 1000 * MS))
}

const pct = (part: number, whole: number): string => ((100 * part) / whole).toFixed(1)

const runOnce = (tasks: readonly PeriodicTask[], onInvoke?: (h: Harness) => void, simNs = SIM_NS): Harness =>
  new Harness(periodicSpec(tasks), { recordSchedule: false, ...(onInvoke === undefined ? {} : { onInvoke }) }).run(simNs)

export const rows: Array<Record<string, string | number>> = []
/** Per row: CPU ns per event and the share of heavy events (releases, ends, switching invocations). */
const fitRows: Array<{ periods: Periods; n: number; cpuNs: number; heavy: number }> = []
export const ratios = new Map<Periods, number>()
/** The same ratio from CPU time (`process.cpuUsage`: robust to other processes on the machine). */
export const cpuRatios = new Map<Periods, number>()
const CPU_ROUNDS = 5
for (const periods of ["log-uniform", "harmonic"] as const) {
  const bench = new Bench({ time: 1500, warmup: true, warmupTime: 300 })
  const setsOf = new Map<number, PeriodicTask[][]>()
  const counts = new Map<number, { jobs: number; events: number; invocations: number; switches: number; releases: number; missed: number; rSum: number; pushes: number }>()
  for (const n of SIZES) {
    const sets = Array.from({ length: SETS }, (_, k) => taskSetOf(periods, n, k))
    const total = { jobs: 0, events: 0, invocations: 0, switches: 0, releases: 0, missed: 0, rSum: 0, pushes: 0 }
    for (const tasks of sets) {
      // R's length seen after each invocation (the chosen VCPU has left it), summed; thread switches.
      let last = -1
      const h = runOnce(tasks, (x) => {
        total.rSum += x.sched.runnableCount
        if (x.sched.currentThread !== last) total.switches++
        last = x.sched.currentThread
      })
      total.jobs += h.jobsCompleted
      total.events += h.sim.events
      total.invocations += h.sched.invocations
      // Without the hook's own pushes: its runs post every own event (nothing in place), so count on a plain run.
      total.pushes += runOnce(tasks).sim.queue.pushed
      for (let i = 0; i < n; i++) {
        total.missed += h.statsOf(i).missed
        total.releases += h.statsOf(i).released
      }
    }
    counts.set(n, total)
    setsOf.set(n, sets)
    bench.add(`${n}`, () => { for (const tasks of sets) runOnce(tasks) })
  }
  await bench.run()
  // CPU ns per event: the minimum over rounds, sizes interleaved within a round (~1 M events, ≥ ~0.1 s, per sample).
  const cpuNs = new Map<number, number>()
  for (let r = 0; r < CPU_ROUNDS; r++) {
    for (const n of SIZES) {
      const reps = Math.max(1, Math.round(1_000_000 / counts.get(n)!.events))
      const c0 = process.cpuUsage()
      for (let i = 0; i < reps; i++) for (const tasks of setsOf.get(n)!) runOnce(tasks)
      const c = process.cpuUsage(c0)
      const ns = ((c.user + c.system) * 1000) / (reps * counts.get(n)!.events)
      if (!(ns >= cpuNs.get(n)!)) cpuNs.set(n, ns)
    }
  }
  const nsPerEvent = new Map<number, number>()
  for (const task of bench.tasks) {
    const r = task.result
    if (r.state !== "completed") throw new Error(`${periods} ${task.name}: ${r.state}`)
    const n = Number(task.name)
    const c = counts.get(n)!
    const ns = (r.latency.mean * 1e6) / c.events
    nsPerEvent.set(n, ns)
    rows.push({
      "periods": periods,
      "tasks on one PCPU (U = 0.7)": n,
      [`jobs (${SETS} sets × 20 s)`]: c.jobs,
      "events": c.events,
      "sched invocations": c.invocations,
      "mean |R| after an invocation": +(c.rSum / c.invocations).toFixed(2),
      "per 100 events: releases / ends / invocations (switching)": `${pct(c.releases, c.events)} / ${pct(c.events - c.releases - c.invocations, c.events)} / ${pct(c.invocations, c.events)} (${pct(c.switches, c.events)})`,
      "deadline misses": c.missed,
      [`ms for ${SETS} runs (mean)`]: +r.latency.mean.toFixed(2),
      "ns per event": +ns.toFixed(1),
      "ns per invocation": +((r.latency.mean * 1e6) / c.invocations).toFixed(1),
      [`CPU ns per event (min of ${CPU_ROUNDS})`]: +cpuNs.get(n)!.toFixed(1),
      "CPU ns per job": Math.round((cpuNs.get(n)! * c.events) / c.jobs),
      "queue pushes per event": +(c.pushes / c.events).toFixed(3),
    })
    fitRows.push({ periods, n, cpuNs: cpuNs.get(n)!, heavy: (c.events - c.invocations + c.switches) / c.events })
  }
  ratios.set(periods, nsPerEvent.get(SIZES[SIZES.length - 1]!)! / nsPerEvent.get(SIZES[0]!)!)
  cpuRatios.set(periods, cpuNs.get(SIZES[SIZES.length - 1]!)! / cpuNs.get(SIZES[0]!)!)
}

/**
 * Least squares of `cpuNs ≈ tick·(1 − h) + heavy0·h + heavyPerDoubling·h·log2 n` over the rows
 * (normal equations, 3×3, Gaussian elimination).
 */
const fitMix = (): { tick: number; heavy0: number; heavyPerDoubling: number } => {
  const m = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
  for (const r of fitRows) {
    const x = [1 - r.heavy, r.heavy, r.heavy * Math.log2(r.n)]
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) m[i]![j]! += x[i]! * x[j]!
      m[i]![3]! += x[i]! * r.cpuNs
    }
  }
  for (let i = 0; i < 3; i++) {
    for (let k = i + 1; k < 3; k++) {
      const f = m[k]![i]! / m[i]![i]!
      for (let j = i; j < 4; j++) m[k]![j]! -= f * m[i]![j]!
    }
  }
  const b = [0, 0, 0]
  for (let i = 2; i >= 0; i--) {
    let v = m[i]![3]!
    for (let j = i + 1; j < 3; j++) v -= m[i]![j]! * b[j]!
    b[i] = v / m[i]![i]!
  }
  return { tick: b[0]!, heavy0: b[1]!, heavyPerDoubling: b[2]! }
}

/** A row's CPU ns per event less the ticks' share at `tickNs` each, per heavy event. */
const heavyNs = (r: { cpuNs: number; heavy: number }, tickNs: number): number => (r.cpuNs - tickNs * (1 - r.heavy)) / r.heavy

/**
 * The fixed-demand section's sizes: the headline's, then 400 and 800 (the shape of the growth past
 * the target's range: logarithmic or not). Its 200/5 ratio reads the headline's sizes only.
 */
const FIXED_SIZES = [...SIZES, 400, 800]

export const fixedRows: Array<Record<string, string | number>> = []
/** Fixed-demand section: CPU ns per event, 200 tasks / 5 tasks, by period kind. */
export const fixedCpuRatios = new Map<Periods, number>()
/** The same, runs only (harnesses built before the timed runs): CPU ns per event, 200 tasks / 5 tasks. */
export const fixedRunCpuRatios = new Map<Periods, number>()
/** Fixed-demand section: a least-squares line of CPU ns per event against log2(tasks), over `FIXED_SIZES`. */
export const fixedPerDoubling = new Map<Periods, { at5: number; perDoubling: number }>()
{
  const cpuNs = new Map<string, number>()
  const setsOf = new Map<string, PeriodicTask[][]>()
  const eventsOf = new Map<string, number>()
  for (const periods of ["log-uniform", "harmonic"] as const) {
    for (const n of FIXED_SIZES) {
      const sets = Array.from({ length: SETS }, (_, k) => fixedDemandSetOf(periods, n, k))
      const c = { jobs: 0, events: 0, invocations: 0, switches: 0, releases: 0, missed: 0, u: 0 }
      for (const tasks of sets) {
        let last = -1
        const h = runOnce(tasks, (x) => {
          if (x.sched.currentThread !== last) c.switches++
          last = x.sched.currentThread
        }, FIXED_SIM_NS)
        c.jobs += h.jobsCompleted
        c.events += h.sim.events
        c.invocations += h.sched.invocations
        for (let i = 0; i < n; i++) {
          c.missed += h.statsOf(i).missed
          c.releases += h.statsOf(i).released
        }
        for (const t of tasks) c.u += t.budgetNs / t.periodNs / SETS
      }
      setsOf.set(`${periods}/${n}`, sets)
      eventsOf.set(`${periods}/${n}`, c.events)
      fixedRows.push({
        "periods": periods,
        "tasks on one PCPU": n,
        "U (mean of sets)": +c.u.toFixed(3),
        "mean period ms": +(sets.flat().reduce((a, t) => a + t.periodNs, 0) / (SETS * n) / MS).toFixed(1),
        [`jobs (${SETS} sets × ${FIXED_SIM_NS / 1e9} s)`]: c.jobs,
        "events": c.events,
        "per 100 events: releases / ends / invocations (switching)": `${pct(c.releases, c.events)} / ${pct(c.events - c.releases - c.invocations, c.events)} / ${pct(c.invocations, c.events)} (${pct(c.switches, c.events)})`,
        "deadline misses": c.missed,
      })
    }
  }
  for (let r = 0; r < CPU_ROUNDS; r++) {
    for (const periods of ["log-uniform", "harmonic"] as const) {
      for (const n of FIXED_SIZES) {
        const key = `${periods}/${n}`, events = eventsOf.get(key)!
        const reps = Math.max(1, Math.round(1_000_000 / events))
        for (const tasks of setsOf.get(key)!) runOnce(tasks, undefined, FIXED_SIM_NS) // warm
        const c0 = process.cpuUsage()
        for (let i = 0; i < reps; i++) for (const tasks of setsOf.get(key)!) runOnce(tasks, undefined, FIXED_SIM_NS)
        const c = process.cpuUsage(c0)
        const ns = ((c.user + c.system) * 1000) / (reps * events)
        if (!(ns >= cpuNs.get(key)!)) cpuNs.set(key, ns)
      }
    }
  }
  for (const row of fixedRows) row[`CPU ns per event (min of ${CPU_ROUNDS})`] = +cpuNs.get(`${row["periods"]}/${row["tasks on one PCPU"]}`)!.toFixed(1)
  for (const periods of ["log-uniform", "harmonic"] as const) {
    fixedCpuRatios.set(periods, cpuNs.get(`${periods}/${SIZES[SIZES.length - 1]}`)! / cpuNs.get(`${periods}/${SIZES[0]}`)!)
    // y = a + b·log2(n) by least squares; `at5` the line's value at 5 tasks.
    const xs = FIXED_SIZES.map((n) => Math.log2(n)), ys = FIXED_SIZES.map((n) => cpuNs.get(`${periods}/${n}`)!)
    const mx = xs.reduce((a, x) => a + x, 0) / xs.length, my = ys.reduce((a, y) => a + y, 0) / ys.length
    let sxy = 0, sxx = 0
    for (let i = 0; i < xs.length; i++) {
      sxy += (xs[i]! - mx) * (ys[i]! - my)
      sxx += (xs[i]! - mx) ** 2
    }
    const b = sxy / sxx
    fixedPerDoubling.set(periods, { at5: my + b * (Math.log2(5) - mx), perDoubling: b })
  }
  // Run only: the same sets, each round's harnesses built first (timed apart), then their runs timed.
  const runNs = new Map<string, number>(), buildUs = new Map<string, number>()
  const cpuNow = (): number => { const c = process.cpuUsage(); return (c.user + c.system) * 1000 }
  for (let r = 0; r < CPU_ROUNDS; r++) {
    for (const periods of ["log-uniform", "harmonic"] as const) {
      for (const n of FIXED_SIZES) {
        const key = `${periods}/${n}`, events = eventsOf.get(key)!, sets = setsOf.get(key)!
        const reps = Math.max(1, Math.round(1_000_000 / events))
        const build = (): Harness[] => sets.map((tasks) => new Harness(periodicSpec(tasks), { recordSchedule: false }))
        for (const h of build()) h.run(FIXED_SIM_NS) // warm
        const b0 = cpuNow()
        const built: Harness[] = []
        for (let i = 0; i < reps; i++) built.push(...build())
        const b = (cpuNow() - b0) / 1000 / built.length
        const r0 = cpuNow()
        for (const h of built) h.run(FIXED_SIM_NS)
        const ns = (cpuNow() - r0) / (reps * events)
        if (!(ns >= runNs.get(key)!)) runNs.set(key, ns)
        if (!(b >= buildUs.get(key)!)) buildUs.set(key, b)
      }
    }
  }
  for (const row of fixedRows) {
    const key = `${row["periods"]}/${row["tasks on one PCPU"]}`
    row[`CPU ns per event, run only (min of ${CPU_ROUNDS})`] = +runNs.get(key)!.toFixed(1)
    row["build µs per harness (min)"] = +buildUs.get(key)!.toFixed(1)
    // A harness's build against the CPU of one set's run in the fixed-demand row (construction included there).
    row["build % of a row run"] = +((100 * buildUs.get(key)! * 1000) / ((cpuNs.get(key)! * eventsOf.get(key)!) / SETS)).toFixed(2)
  }
  for (const periods of ["log-uniform", "harmonic"] as const) {
    fixedRunCpuRatios.set(periods, runNs.get(`${periods}/${SIZES[SIZES.length - 1]}`)! / runNs.get(`${periods}/${SIZES[0]}`)!)
  }
}

if (import.meta.main) {
  console.log(`vcpu-sched harness, cost per event by tasks per PCPU: rate-monotonic periodic sets, 20 s simulated, 1 ms timer rule on, trace off`)
  console.table(rows)
  for (const [periods, ratio] of ratios) {
    console.log(`${periods}: ns per event, ${SIZES[SIZES.length - 1]} tasks / ${SIZES[0]} tasks: ${ratio.toFixed(3)}× (CPU time: ${cpuRatios.get(periods)!.toFixed(3)}×)`)
  }
  const f = fitMix()
  const model = (h: number, n: number): number => f.tick * (1 - h) + (f.heavy0 + f.heavyPerDoubling * Math.log2(n)) * h
  console.log(`fit over the ${fitRows.length} rows (CPU): a tick ${f.tick.toFixed(1)} ns, a heavy event ${f.heavy0.toFixed(1)} + ${f.heavyPerDoubling.toFixed(1)}·log2(tasks) ns`)
  for (const periods of ["log-uniform", "harmonic"] as const) {
    const lo = fitRows.find((r) => r.periods === periods && r.n === SIZES[0])!, hi = fitRows.find((r) => r.periods === periods && r.n === SIZES[SIZES.length - 1])!
    const mix = model(hi.heavy, lo.n) / model(lo.heavy, lo.n)
    console.log(`${periods}: heavy events ${(100 * lo.heavy).toFixed(1)} % -> ${(100 * hi.heavy).toFixed(1)} %; model ratio ${(model(hi.heavy, hi.n) / model(lo.heavy, lo.n)).toFixed(2)}× = event mix ${mix.toFixed(2)}× · task count ${(model(hi.heavy, hi.n) / model(hi.heavy, lo.n)).toFixed(2)}×`)
  }
  // Per size, the measured CPU ns per event split with the fitted tick: what is left is the cost of a heavy event at that size.
  const perKind = fitRows.map((r) => ({
    "periods": r.periods,
    "tasks": r.n,
    "heavy share %": +(100 * r.heavy).toFixed(1),
    "CPU ns per event (measured)": +r.cpuNs.toFixed(1),
    "ns per tick (fit)": +f.tick.toFixed(1),
    "ns per heavy event (measured − tick share)": +heavyNs(r, f.tick).toFixed(1),
  }))
  console.log(`per event kind: a heavy event's CPU ns at each size = (measured ns per event − fitted tick × tick share) ÷ heavy share`)
  console.table(perKind)
  for (const periods of ["log-uniform", "harmonic"] as const) {
    const lo = fitRows.find((r) => r.periods === periods && r.n === SIZES[0])!, hi = fitRows.find((r) => r.periods === periods && r.n === SIZES[SIZES.length - 1])!
    console.log(`${periods}: ns per heavy event, ${hi.n} tasks / ${lo.n} tasks: ${(heavyNs(hi, f.tick) / heavyNs(lo, f.tick)).toFixed(3)}× (per event, all kinds: ${(hi.cpuNs / lo.cpuNs).toFixed(3)}×)`)
  }
  console.log(`fixed demand: every job ${FIXED_DEMAND_NS / MS} ms at every size, periods scaled to U ≈ 0.7, ${FIXED_SIM_NS / 1e9} s simulated (the event mix held: compare the mix column)`)
  console.table(fixedRows)
  for (const [periods, ratio] of fixedCpuRatios) {
    console.log(`fixed demand, ${periods}: CPU ns per event, ${SIZES[SIZES.length - 1]} tasks / ${SIZES[0]} tasks: ${ratio.toFixed(3)}×`)
  }
  for (const [periods, { at5, perDoubling }] of fixedPerDoubling) {
    const at = (n: number): number => at5 + perDoubling * Math.log2(n / 5)
    console.log(`fixed demand, ${periods}: least squares over ${FIXED_SIZES.join(", ")} tasks, CPU ns per event ≈ ${at5.toFixed(1)} + ${perDoubling.toFixed(1)}·log2(tasks / 5) (the line's 200/5: ${(at(200) / at5).toFixed(3)}×; the 1.2× target at 200 tasks would need ≤ ${((0.2 * at5) / Math.log2(40)).toFixed(1)} ns per doubling)`)
  }
  for (const [periods, ratio] of fixedRunCpuRatios) {
    console.log(`fixed demand, run only (harnesses built before the timed runs), ${periods}: CPU ns per event, ${SIZES[SIZES.length - 1]} tasks / ${SIZES[0]} tasks: ${ratio.toFixed(3)}×`)
  }
}
