/**
 * scripts/cachesim.ts's callgrind reader (scripts/cachesim/parse.ts) on a hand-written dump
 * (fixtures/cachesim/round.callgrind, its numbers worked out by hand): name compression (`fn=(id)
 * name`, ids shared by `fn` and `cfn`), JIT code named by address (one with a recursion suffix),
 * relative and repeated positions, trailing zero costs left out, a call's inclusive cost line (not
 * the caller's self cost), `summary:`/`totals:`. Then the per-event figures, the rule that drops a
 * round with a compile/GC burst (non-JIT instructions per event above the limit) from the summary,
 * and the naming of JIT code through a perf map. No valgrind is run.
 */
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { BURST_NON_JIT_IR, jitNamer, parseCallgrind, parsePerfMap, perFunction, roundOf, summaryOf } from "../cachesim/parse.ts"

const text = readFileSync(join(import.meta.dirname, "fixtures", "cachesim", "round.callgrind"), "utf8")
const EVENTS = ["Ir", "Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw"]

describe("parseCallgrind", () => {
  const dump = parseCallgrind(text)

  it("reads the header: pid, events, totals", () => {
    expect(dump.pid).toBe(4242)
    expect(dump.events).toEqual(EVENTS)
    expect(dump.totals).toEqual([2900, 1020, 310, 31, 21, 10, 3, 3, 1])
  })

  it("gives each function its self cost: compressed names resolved, call costs skipped, recursion suffix dropped", () => {
    expect([...dump.self.keys()].sort()).toEqual(["0x0000000028115f94", "0x0000000028200000", "Builtins_LoadIC", "v8::internal::Heap::Scavenge()"])
    // Three cost lines of its own (the call's inclusive 500 after `calls=` is not one), trailing zeros left out.
    expect(dump.self.get("0x0000000028115f94")).toEqual([2300, 800, 230, 22, 14, 8, 2, 2, 1])
    expect(dump.self.get("0x0000000028200000")).toEqual([100, 20, 10, 1, 1, 0, 0, 0, 0])
    // Named by `cfn=(2) Builtins_LoadIC'2`, its costs under `fn=(2)`.
    expect(dump.self.get("Builtins_LoadIC")).toEqual([300, 100, 20, 3, 1, 0, 0, 0, 0])
    expect(dump.self.get("v8::internal::Heap::Scavenge()")).toEqual([200, 100, 50, 5, 5, 2, 1, 1, 0])
  })

  it("self costs sum to the totals", () => {
    const sum = EVENTS.map((_, i) => [...dump.self.values()].reduce((s, v) => s + v[i]!, 0))
    expect(sum).toEqual(dump.totals)
  })

  it("without totals or summary, totals are the sum of the self costs", () => {
    const bare = parseCallgrind(text.replace(/^(summary|totals):.*$/gm, ""))
    expect(bare.totals).toEqual([2900, 1020, 310, 31, 21, 10, 3, 3, 1])
  })

  it("skips as many position columns as `positions:` names (instr line)", () => {
    const d = parseCallgrind(["positions: instr line", "events: Ir D1mr", "fn=(7) 0x00000000deadbeef", "0x28115f94 12 40 2", "+3 * 5", "fn=(8) main", "0x401000 3 7", "cfn=(7)", "calls=2 0x28115f94 12", "+4 * 45 2"].join("\n"))
    expect(d.self.get("0x00000000deadbeef")).toEqual([45, 2])
    expect(d.self.get("main")).toEqual([7, 0])
    expect(d.totals).toEqual([52, 2])
  })

  it("fails on a compressed name used before it is defined", () => {
    expect(() => parseCallgrind("events: Ir\nfn=(3)\n0 5\n")).toThrow(/used before/)
  })
})

describe("rounds", () => {
  const dump = parseCallgrind(text)

  it("per simulated event: each event, JIT and non-JIT instructions", () => {
    const r = roundOf(dump, 10)
    expect(r.perEvent).toEqual({ Ir: 290, Dr: 102, Dw: 31, I1mr: 3.1, D1mr: 2.1, D1mw: 1, ILmr: 0.3, DLmr: 0.3, DLmw: 0.1 })
    expect(r.jitIr).toBe(240) // 0x…28115f94 2300 + 0x…28200000 100
    expect(r.nonJitIr).toBe(50) // Builtins_LoadIC 300 + Scavenge 200 (embedded builtins count as non-JIT)
    expect(r.dropped).toBe(false)
  })

  it("drops a round whose non-JIT instructions per event exceed the limit (300), not one at it", () => {
    expect(BURST_NON_JIT_IR).toBe(300)
    expect(roundOf(dump, 1).nonJitIr).toBe(500)
    expect(roundOf(dump, 1).dropped).toBe(true)
    expect(roundOf(dump, 2).dropped).toBe(false) // 250
    expect(roundOf(dump, 5, 100).dropped).toBe(false) // exactly 100
    expect(roundOf(dump, 5, 99.9).dropped).toBe(true)
  })

  it("summarizes the kept rounds only: median [min..max]", () => {
    const rounds = [roundOf(dump, 10), roundOf(dump, 1), roundOf(dump, 20), roundOf(dump, 4)] // Ir 290, dropped, 145, 725
    const s = summaryOf(rounds)
    expect(s.get("Ir (instructions)")).toEqual({ median: 290, min: 145, max: 725, n: 3 })
    expect(s.get("D1 misses")!.median).toBeCloseTo(3.1, 12) // (21 + 10) / 10
    expect(s.get("LL data misses")!.median).toBeCloseTo(0.4, 12)
    expect(s.get("I1 misses")!.median).toBeCloseTo(3.1, 12)
    const none = summaryOf([roundOf(dump, 1)])
    expect(none.get("Ir (instructions)")!.n).toBe(0)
  })
})

describe("JIT naming through the perf map", () => {
  const map = parsePerfMap([
    "28115000 1000 JS:*foo file:///repo/packages/sim-core/src/A.ts:1:1",
    "1a27000 3f8 Builtin:DeoptimizationEntry_Eager",
    "28115f00 100 JS:*'bar file:///repo/packages/sim-core/src/B.ts:2:3",
    "not a map line",
  ].join("\n"))

  it("names an address by the last entry covering it, strips the given prefix, leaves others", () => {
    expect(map).toHaveLength(3)
    const name = jitNamer(map, "file:///repo/packages/")
    expect(name("0x0000000028115f94")).toBe("JS *'bar sim-core/src/B.ts:2:3")
    expect(name("0x0000000028115010")).toBe("JS *foo sim-core/src/A.ts:1:1")
    expect(name("0x0000000028200000")).toBe("unmapped 0x0000000028200000")
    expect(name("Builtins_LoadIC")).toBe("Builtins_LoadIC")
  })

  it("per function per event over kept rounds, dropped rounds left out", () => {
    const dump = parseCallgrind(text)
    const rounds = [{ dump, round: roundOf(dump, 10) }, { dump, round: roundOf(dump, 1) }]
    const per = perFunction(rounds, jitNamer(map, "file:///repo/packages/"))
    expect(per.get("JS *'bar sim-core/src/B.ts:2:3")!.Ir).toBe(230)
    expect(per.get("v8::internal::Heap::Scavenge()")!.D1mr).toBe(0.5)
  })
})
