/**
 * "Can fail" evidence for every claim of every paper experiment, in one table: no claim holds by
 * construction. Each claim id has one of
 *
 * - a **point** of its experiment's domain (a seed, a scale and parameter values, replayable with
 *   `qvsim run <experiment> --seed S --scale X --param ...`) where the claim fails — checked here by
 *   running it;
 * - a **broken model**: the name of the test (in `test/paper/`) that breaks the model (an EPT that
 *   lets writes through, a scheduler that ignores budgets, a hypervisor in place of Quest-V's
 *   interrupt path…) and shows the claim fail — checked here to exist, run in its own file;
 * - a **tautology**: why the claim cannot fail in this model (what it restates), so a reader knows
 *   it is not evidence.
 *
 * Only two claims are partly restatements (message-passing's linearity: the uninterrupted part is
 * the model's linear copy cost); the table says so.
 *
 * The table must name every claim (and every pooled claim) the experiments state: a new claim
 * without evidence fails the completeness test.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import type { Experiment } from "../../src/paper/Experiment.ts"
import { experiments, find } from "../../src/paper/registry.ts"
import { claimId } from "../../src/robust/Contract.ts"
import { defaults, type Params } from "../../src/robust/Domain.ts"
import { domainOf, execute, runPoint } from "../../src/robust/RunPoint.ts"

type Evidence =
  | { readonly point: { readonly seed: number; readonly scale: number; readonly params: Params }; readonly why: string }
  | { readonly broken: { readonly file: string; readonly test: string } }
  | { readonly tautology: string }

const broken = (file: string, test: string): Evidence => ({ broken: { file, test } })

const EVIDENCE: Readonly<Record<string, Readonly<Record<string, Evidence>>>> = {
  forkwait: {
    noExit: broken("Forkwait.test.ts", "the no-exit claim fails when every interrupt (the timer too) exits to a hypervisor"),
    noObviousOverhead: { point: { seed: 1, scale: 0.01, params: { eptWalkExtra: 600, forkTlbMissesPerPage: 4 } }, why: "an expensive 2-D walk on every page fork copies: the EPT share passes our 10 %" },
    noObviousOverheadVsSmp: { point: { seed: 1, scale: 0.01, params: { eptWalkExtra: 600, forkTlbMissesPerPage: 4 } }, why: "the same point: Quest-V's iteration is > 10 % above SMP Quest's" },
  },
  "message-passing": {
    lowSlower: broken("MessagePassing.test.ts", "the priority claim fails when Low's threads get Hi's VCPUs"),
    hiLinear: { tautology: "half of it: the model's copy cost is linear in the size (lines × copyPerLine, plus a line transfer per line; the payload's extra copy is charged without jitter or TLB misses), so the uninterrupted exchanges are linear by construction. The other half, the means with their budget waits, is derived and can fail (lowLinear's point below); for Hi's larger budgets none of the 30 points of the default robust study fails it" },
    lowLinear: {
      point: { seed: 10, scale: 0.25, params: { copyPerLine: 10, remoteLineTransfer: 164, pollCheck: 18, eptWalkExtra: 461, tlbMissRate: 0.4607, costJitter: 0.21 } },
      why: "the robust study's counterexample: with cheap copies the 64 KiB means wait for Low's budget often enough that cost(64 KiB)/cost(32 KiB) = 2.22, outside our 0.2 tolerance",
    },
    constantOverhead: broken("MessagePassing.test.ts", "the constant-overhead claim fails when the copy model disagrees with the mailbox's charges"),
  },
  "shared-driver": {
    singleGuestLowest: broken("SharedDriver.test.ts", "the overhead claims fail for a hypervisor whose exits, injections and entries cost nothing"),
    sharingCosts: {
      point: { seed: 20, scale: 0.05, params: { secondFloodStartNs: 54722, interruptEntry: 470, stackRx: 2649, stackTx: 6620, injectCycles: 551, netbackCycles: 15007, netfrontCycles: 4737, wireLatencyNs: 10780, deliverySkewNs: 675, wireJitterNs: 1010, costJitter: 0.01245, tlbMissRate: 0.05694, eptWalkExtra: 136, rxLockCycles: 90, remoteLineTransfer: 129, pollCheck: 16 } },
      why: "the robust study's first counterexample: a 55 µs start offset interleaves the floods and the hypervisor's two-guest average falls below its single guest's",
    },
    questvPaysLeast: {
      point: { seed: 10, scale: 0.05, params: { secondFloodStartNs: 39734, interruptEntry: 1986, stackRx: 5365, stackTx: 1844, injectCycles: 1033, netbackCycles: 11447, netfrontCycles: 2891, wireLatencyNs: 41455, deliverySkewNs: 979, wireJitterNs: 3093, costJitter: 0.21, tlbMissRate: 0.4607, eptWalkExtra: 542, rxLockCycles: 93, remoteLineTransfer: 210, pollCheck: 40 } },
      why: "the robust study's first counterexample: expensive EPT walks and RX-lock contention make Quest-V's sharing cost exceed a baseline's",
    },
  },
  "ss-defects": {
    claim1: broken("SsDefects.test.ts", "each claim fails when the policies' runs are swapped"),
    claim2: broken("SsDefects.test.ts", "each claim fails when the policies' runs are swapped"),
    claim3: broken("SsDefects.test.ts", "each claim fails when the policies' runs are swapped"),
    claim4: broken("SsDefects.test.ts", "each claim fails when the policies' runs are swapped"),
  },
  "pibs-conformance": {
    clampNoMiss: broken("PibsConformance.test.ts", "both claims fail when the clamp is forced the other way (outcomes swapped, a set that misses planted)"),
    faithfulMissRate: broken("PibsConformance.test.ts", "both claims fail when the clamp is forced the other way (outcomes swapped, a set that misses planted)"),
    clampMissRate: broken("PibsConformance.test.ts", "both claims fail when the clamp is forced the other way (outcomes swapped, a set that misses planted)"),
  },
  "driver-recovery": {
    reinitDominates: broken("driver-recovery.test.ts", "the re-initialisation share fails when re-initialisation is cheap next to the other phases"),
    muchShorterThanReboot: { point: { seed: 1, scale: 0.2, params: { rebootNs: 3_000_000_000 } }, why: "a 3 s reboot (the range's low end): the online outage is no longer ≤ 10 % of it" },
    localLikeRemote: broken("driver-recovery.test.ts", "'local and remote similar' fails when the remote target's recovery VCPU is starved"),
    smpRebootOnly: broken("driver-recovery.test.ts", "the SMP claim fails when SMP Quest's reboot is short (300 ms: the online recovery is no longer ≤ 10 % of it)"),
  },
  isolation: {
    interruptedInSandbox0Only: {
      point: { seed: 24, scale: 0.6, params: { faultFraction: 0.556, faultOffsetNs: 35917601, rxOffsetNs: 34295899, detectNs: 109608654, channelReinitCycles: 2413137, deliverySkewNs: 373, wireJitterNs: 3444, costJitter: 0.09998, phaseJitter: 0.002804, tlbMissRate: 0.3943, eptWalkExtra: 397, rxLockCycles: 28, remoteLineTransfer: 295, pollCheck: 37, linkUpNs: 2403831413 } },
      why: "the robust study's first counterexample: receiver 0 does not poll between the corruption and sandbox 1's next write, so it never reads a corrupted value",
    },
    othersUnaffected: broken("isolation.test.ts", "an EPT that lets the wild writes through breaks containment: the EPT and 'unaffected' claims fail"),
    wildWritesTrap: broken("isolation.test.ts", "an EPT that lets the wild writes through breaks containment: the EPT and 'unaffected' claims fail"),
    stepsOfP50: broken("isolation.test.ts", "a sender whose sequence skips breaks the P/50 steps"),
    sandbox0Recovers: broken("isolation.test.ts", "without the fault nothing is interrupted and nothing recovers: those claims fail"),
    smpStops: broken("isolation.test.ts", "an SMP kernel that never reads its shared state: the same fault stops no core, the SMP claim fails"),
    noVtWritesLand: broken("isolation.test.ts", "a no-VT run that keeps the EPT (qvsim's old mode 'none') contains everything: the no-VT claim fails"),
  },
  "dma-isolation": {
    eptAloneLands: broken("dma-isolation.test.ts", "without the fault nothing lands: the EPT claim fails"),
    vtdContains: broken("dma-isolation.test.ts", "a remapping unit that forgets its presence check lets the DMA land: the VT-d claim fails"),
    remapCostBounded: broken("dma-isolation.test.ts", "a unit whose misses stall three times their cost breaks the cost bound"),
  },
  interrupts: {
    negligible: { point: { seed: 1, scale: 0.01, params: { demuxCheck: 1_000 } }, why: "a 1,000-cycle demultiplexing check (a cache miss on every descriptor): the owner spins behind three sharers' checks" },
    earlyDemux: broken("interrupts.test.ts", "late demultiplexing in place of early: the non-owners' processing is not discontinued"),
    noMonitor: broken("interrupts.test.ts", "hypervisor-mediated interrupts in place of Quest-V's: the monitor claim and 'almost negligible' fail"),
  },
  "quest-linux": {
    claim1: broken("quest-linux.test.ts", "a real-time VCPU without enough budget misses deadlines: the no-miss claim fails"),
    claim2: broken("quest-linux.test.ts", "the response-time claim compares with the same seed's baseline: a stressed run whose Quest side differs (a shorter VCPU period) fails it"),
    claim3: broken("quest-linux.test.ts", "the flood's bound is the polling VCPU's budget: a scheduler that ignores budgets lets the flood move sandbox 1's response times past it"),
    claim4: broken("quest-linux.test.ts", "an EPT that lets Linux's wild writes through: the Quest sandboxes' memory changes, the spatial and trap claims fail"),
    claim5: broken("quest-linux.test.ts", "an EPT that lets Linux's wild writes through: the Quest sandboxes' memory changes, the spatial and trap claims fail"),
    claim6: broken("quest-linux.test.ts", "the channel bound is the Quest side's budget enforcement: with a 5 µs polling budget it holds; a scheduler that ignores budgets breaks it"),
  },
}

/** The ids of the claims `e` states (at a small headline run) and of its pooled claims. */
const claimIds = (e: Experiment): string[] => {
  const scale = e.name === "driver-recovery" ? 0.2 : e.name === "isolation" ? 0.6 : e.name === "pibs-conformance" ? 0.07 : 0.01
  const { result } = runPoint(e, { seed: e.seed, scale })
  return [...result.claims.map((c, i) => claimId(c, i)), ...(e.pooled ?? []).map((p) => p.id)]
}

const points = Object.entries(EVIDENCE).flatMap(([name, byId]) =>
  Object.entries(byId).flatMap(([id, ev]) => ("point" in ev ? [{ key: `${name} ${id}`, name, id, ev }] : [])))

describe("every claim can fail (or says it cannot)", () => {
  it.each(experiments.map((e) => e.name))("%s: every claim has its evidence", (name) => {
    const e = find(name)!
    expect(Object.keys(EVIDENCE[name] ?? {}).sort(), `evidence for ${name}'s claims`).toEqual(claimIds(e).sort())
  }, 120_000)

  it.each(points.map((p) => [p.key, p] as const))("%s fails at a point of the domain", (_k, p) => {
    const e = find(p.name)!
    const ev = p.ev as Extract<Evidence, { point: unknown }>
    const params = { ...defaults(domainOf(e)), ...ev.point.params }
    const r = execute(e, e.name, { key: "can-fail", seed: ev.point.seed, params }, ev.point.scale)
    expect(r.ok, r.error).toBe(true)
    expect(r.verdicts![p.id], `${p.id} at ${r.replay} (${ev.why})`).toBe(false)
    // The message-passing point runs at its domain's scale 0.25 (≈ 4 s of CPU; minutes on a loaded machine).
  }, 600_000)

  it("each broken-model check names a test that exists", () => {
    for (const [name, byId] of Object.entries(EVIDENCE)) {
      for (const [id, ev] of Object.entries(byId)) {
        if (!("broken" in ev)) continue
        const text = readFileSync(join(import.meta.dirname, "../paper", ev.broken.file), "utf8")
        expect(text.includes(`it("${ev.broken.test}"`), `${name} ${id}: test "${ev.broken.test}" in ${ev.broken.file}`).toBe(true)
      }
    }
  })
})
