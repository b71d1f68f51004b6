/**
 * The kernel's request table: a module registers its own request (an op, what it costs, its
 * effect) and a program can yield it without the kernel knowing it; `Again` runs more CPU before
 * the effect goes on; an op is registered once, and every request `Program` can build has an owner.
 */
import { describe, expect, it } from "vitest"
import { Kernel, Program, System } from "../src/index.ts"

const TOY_OP = 64

/** A request no kernel room knows: `costNs` of CPU, then a second piece of `moreNs`, then a result. */
interface Toy {
  readonly op: typeof TOY_OP
  readonly costNs: number
  readonly moreNs: number
}
const toy = (costNs: number, moreNs: number): Program.Request => ({ op: TOY_OP, costNs, moreNs }) as unknown as Program.Request

const oneSandbox = (program: Program.Program): System.System =>
  new System.System({
    machine: { cores: 1 },
    kernel: { syscallEntry: "none", sleepWakeup: "exact" },
    sandboxes: [{ threads: [{ name: "t", vcpu: 0, program }] }],
  })

describe("the request table", () => {
  it("a module's own request: begin's CPU, Again's CPU, then its effect's result, with the CPU accounted at each step", () => {
    const results: unknown[] = []
    const sys = oneSandbox(function* () {
      results.push(yield toy(100, 200))
      results.push(yield toy(0, 0))
      yield Program.sleep(1e12)
    })
    const k = sys.sandbox(0).kernel
    const cpuAtFinish: number[] = []
    k.requests.register<Toy>(TOY_OP, "toy", (_k, _p, _th, req) => req.costNs, (_k, _p, th, req) => {
      cpuAtFinish.push(th.cpuNs)
      const more = cpuAtFinish.length % 2 === 1 ? req.moreNs : 0
      if (more > 0) {
        th.remainingNs = more
        return Kernel.Outcome.Again
      }
      th.result = `done after ${th.cpuNs} ns`
      return Kernel.Outcome.Done
    })
    sys.run(10_000_000)
    // First request: finish after 100 ns (Again: 200 ns more), then after 300 ns; second: at once.
    expect(cpuAtFinish).toEqual([100, 300, 300])
    expect(results).toEqual(["done after 300 ns", "done after 300 ns"])
  })

  it("an op is registered once: a second owner is refused, naming the first", () => {
    const sys = oneSandbox(function* () { yield Program.sleep(1e12) })
    const t = sys.sandbox(0).kernel.requests
    const begin = (): number => 0
    expect(() => t.register(Program.Op.Send, "toy", begin, null)).toThrow(/op 9 is already registered by channels; toy cannot register it too/)
    expect(() => t.register(Program.Op.Migrate, "toy", begin, null)).toThrow(/already registered by migration/)
    expect(() => t.register(Kernel.MAX_OP + 1, "toy", begin, null)).toThrow(/must be an integer in \[0, 127\]/)
    expect(() => t.register(1.5, "toy", begin, null)).toThrow(/must be an integer/)
  })

  it("every request Program can build has an owner in every kernel", () => {
    const sys = oneSandbox(function* () { yield Program.sleep(1e12) })
    const t = sys.sandbox(0).kernel.requests
    expect(Object.values(Program.Op).filter((op) => !t.has(op))).toEqual([])
    expect(t.has(TOY_OP)).toBe(false)
  })

  it("an op nobody registered is a program's misuse naming the request", () => {
    const sys = oneSandbox(function* () { yield toy(1, 0) })
    expect(() => sys.run(1_000_000)).toThrow(/thread "t": yielded \{"op":64,"costNs":1,"moreNs":0\}, which is not a request/)
  })
})
