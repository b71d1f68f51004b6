/**
 * The PIBS miss-rate campaign: `npm run campaign -- pibs [--seeds N] [--variants a,b,...]`.
 *
 * Why does pibs-conformance see about 0.6 Main-VCPU misses per 300 near-bound sets without the
 * clamp where the spec's prototype saw 10? The campaign measures the rate (sets passing the §C.3
 * test with a Main VCPU miss, per 300 passing sets, with a 95 % Wilson interval) over seeds 1..N
 * for the experiment's generator and for variants that each change one thing the prototype's
 * generator or run may have done differently:
 *
 *   default     the experiment's sets (I/O U ≤ 0.15, work per request ≤ U·T_requester, 95–100 % of the bound, 20 longest periods)
 *   horizon80   the same sets run 4× longer (80 longest periods)
 *   io40        I/O utilisations up to 0.40
 *   io60        I/O utilisations up to 0.60
 *   work4       I/O work per request up to 4·U·T_requester (a request may outlast the requester's budget share)
 *   bound99     utilisation 99–100 % of the bound
 *   tick1ms     a scheduler that enforces budgets only at 1 ms ticks (enforcement latency up to 1 ms)
 *   tick100us   the same with 100 µs ticks
 *   all         io60, work4, bound99 and tick1ms at once (every knob towards more misses)
 *   exact       io60, work4 and bound99 at once, budgets enforced exactly (every generator knob, no tick)
 *   wide        periods 1–400 ms instead of 1–40 ms (a wider spread of inherited periods)
 *   wideExact   wide with io60, work4 and bound99
 *   wider       periods 1 ms–1 s
 *   widerIo40   wider with I/O utilisations up to 0.40
 *   widerIo60   wider with I/O utilisations up to 0.60
 *
 * Each seed draws the same 300 sets in every variant (the knobs reshape the draws, never reorder them).
 * Share the machine: `nice -n 10 npm run campaign -- pibs --seeds 30`.
 *
 * @module
 */
import { wilson } from "../../packages/scenarios/src/sweep/Stats.ts"
import { type GeneratorOptions, HORIZON_PERIODS, pibsOutcomes, SETS } from "../../packages/scenarios/src/paper/PibsConformance.ts"

export const summary = "pibs-conformance's miss rate without the clamp under generator variants (why ~0.6 per 300, not 10)"

const VARIANTS: Readonly<Record<string, { readonly g: GeneratorOptions; readonly horizon: number; readonly what: string }>> = {
  default: { g: {}, horizon: HORIZON_PERIODS, what: "the experiment's generator and horizon" },
  horizon80: { g: {}, horizon: 80, what: "the same sets over 80 longest periods" },
  io40: { g: { ioUtilMaxPerMille: 400 }, horizon: HORIZON_PERIODS, what: "I/O utilisations up to 0.40" },
  io60: { g: { ioUtilMaxPerMille: 600 }, horizon: HORIZON_PERIODS, what: "I/O utilisations up to 0.60" },
  work4: { g: { workScale: 4 }, horizon: HORIZON_PERIODS, what: "I/O work per request up to 4·U·T_requester" },
  bound99: { g: { boundLowPerMille: 990 }, horizon: HORIZON_PERIODS, what: "utilisation 99–100 % of the §C.3 bound" },
  tick1ms: { g: { enforcementLatencyNs: 1_000_000 }, horizon: HORIZON_PERIODS, what: "budgets enforced only at 1 ms ticks (enforcement latency up to 1 ms)" },
  tick100us: { g: { enforcementLatencyNs: 100_000 }, horizon: HORIZON_PERIODS, what: "budgets enforced at 100 µs ticks" },
  all: { g: { ioUtilMaxPerMille: 600, workScale: 4, boundLowPerMille: 990, enforcementLatencyNs: 1_000_000 }, horizon: HORIZON_PERIODS, what: "io60, work4, bound99 and tick1ms at once" },
  exact: { g: { ioUtilMaxPerMille: 600, workScale: 4, boundLowPerMille: 990 }, horizon: HORIZON_PERIODS, what: "io60, work4 and bound99 at once (exact enforcement)" },
  wide: { g: { periodMaxUnits: 4_000 }, horizon: HORIZON_PERIODS, what: "periods 1–400 ms (the draws spread 10× wider)" },
  wideExact: { g: { periodMaxUnits: 4_000, ioUtilMaxPerMille: 600, workScale: 4, boundLowPerMille: 990 }, horizon: HORIZON_PERIODS, what: "wide with io60, work4 and bound99" },
  wider: { g: { periodMaxUnits: 10_000 }, horizon: HORIZON_PERIODS, what: "periods 1 ms–1 s" },
  widerIo40: { g: { periodMaxUnits: 10_000, ioUtilMaxPerMille: 400 }, horizon: HORIZON_PERIODS, what: "periods 1 ms–1 s, I/O utilisations up to 0.40" },
  widerIo60: { g: { periodMaxUnits: 10_000, ioUtilMaxPerMille: 600 }, horizon: HORIZON_PERIODS, what: "periods 1 ms–1 s, I/O utilisations up to 0.60" },
}

export const usage = `npm run campaign -- pibs [--seeds N] [--variants ${Object.keys(VARIANTS).join(",")}]

Per variant: over seeds 1..N (default 10), 300 sets each, the sets passing the §C.3 test and those
with a Main VCPU miss with and without the clamp, as a rate per 300 passing sets with its 95 % Wilson
interval. Variants:
${Object.entries(VARIANTS).map(([k, v]) => `  ${k.padEnd(10)} ${v.what}`).join("\n")}`

const flag = (argv: readonly string[], name: string): string | undefined => {
  const i = argv.indexOf(name)
  return i < 0 ? undefined : argv[i + 1]
}

export const main = async (argv: readonly string[]): Promise<number> => {
  const seeds = Number(flag(argv, "--seeds") ?? 10)
  if (!Number.isSafeInteger(seeds) || seeds < 1) {
    console.error(`--seeds ${flag(argv, "--seeds")}: a positive integer`)
    return 2
  }
  const names = (flag(argv, "--variants") ?? Object.keys(VARIANTS).join(",")).split(",")
  const unknown = names.find((n) => VARIANTS[n] === undefined)
  if (unknown !== undefined) {
    console.error(`--variants: unknown variant ${JSON.stringify(unknown)} (known: ${Object.keys(VARIANTS).join(", ")})`)
    return 2
  }
  const per300 = (x: number): string => (x * SETS).toFixed(2)
  console.log(`seeds 1..${seeds}, ${SETS} sets each; rates per ${SETS} passing sets (95 % Wilson)`)
  for (const name of names) {
    const v = VARIANTS[name]!
    let passing = 0, faithful = 0, clamp = 0, starved = 0
    const start = performance.now()
    for (let seed = 1; seed <= seeds; seed++) {
      for (const o of pibsOutcomes(seed, 1, false, v.g, v.horizon)) {
        if (!o.passes) continue
        passing++
        if (o.missesFaithful > 0) faithful++
        if (o.missesClamp > 0) clamp++
        if (o.starvedFaithful) starved++
      }
    }
    const wf = wilson(faithful, passing), wc = wilson(clamp, passing)
    console.log(`${name.padEnd(10)} passing ${passing}; without the clamp ${faithful} miss: ${per300(faithful / passing)} [${per300(wf.low)}, ${per300(wf.high)}]; with the clamp ${clamp}: ${per300(clamp / passing)} [${per300(wc.low)}, ${per300(wc.high)}]; F5 starvation without the clamp in ${starved} sets (${((performance.now() - start) / 1000).toFixed(0)} s)`)
  }
  return 0
}
