/**
 * A declarative job (a system thread's `job`: steps, see `Vocabulary.SystemStep`) compiled into a
 * program: with periodic releases, each release runs the steps once (`Program.periodic`); without,
 * the steps run once, or forever with `repeat`. A `[lo, hi]` duration is drawn per job from the
 * thread's own random stream; fixed requests are built once (no allocation per step).
 *
 * @module
 */
import * as Program from "./Program.ts"
import type { Range, SystemStep } from "./Vocabulary.ts"

const draw = (r: Range): ((ctx: Program.ThreadContext) => number) =>
  typeof r === "number" ? () => r : (ctx) => ctx.rng.int(r[0], r[1])

/** One step → a request maker. */
const compileStep = (s: SystemStep): ((ctx: Program.ThreadContext) => Program.Request) => {
  if ("compute" in s) {
    if (typeof s.compute === "number") { const r = Program.compute(s.compute); return () => r }
    const d = draw(s.compute)
    return (ctx) => Program.compute(d(ctx))
  }
  if ("sleep" in s) {
    if (typeof s.sleep === "number") { const r = Program.sleep(s.sleep); return () => r }
    const d = draw(s.sleep)
    return (ctx) => Program.sleep(d(ctx))
  }
  if ("io" in s) {
    const work = draw(s.io.work), delay = s.io.delay === undefined ? () => 0 : draw(s.io.delay)
    const { device, wait } = s.io
    return (ctx) => Program.io({ device, workNs: work(ctx), delayNs: delay(ctx), wait })
  }
  if ("send" in s) { const r = Program.send(s.send.channel, { bytes: s.send.bytes, type: s.send.type }); return () => r }
  if ("poll" in s) { const r = Program.poll(s.poll.channel); return () => r }
  const r = Program.syscall(s.syscall.cycles)
  return () => r
}

/** The program of a job: per release (`periodic`), else once or (with `repeat`) forever. */
export const compile = (steps: readonly SystemStep[], periodic: boolean, repeat: boolean): Program.Program => {
  const makers = steps.map(compileStep)
  const once = function* (ctx: Program.ThreadContext): Generator<Program.Request, void, unknown> {
    for (const s of makers) yield s(ctx)
  }
  if (periodic) return Program.periodic((ctx) => once(ctx))
  if (repeat) return function* (ctx) { for (;;) yield* once(ctx) }
  return function* (ctx) { yield* once(ctx) }
}
