/**
 * The differential check one level down: random, protocol-respecting call sequences on ONE VCPU
 * (a timeslice of Δ — after unblock and refresh if the VCPU was blocked — that may overrun the
 * budget by up to δ and may end in a block; idle time; PIBS inheritance) applied to the src policy and to the reference policy,
 * whose whole state must be equal after every call. It reaches states a whole-scheduler run rarely
 * does (e.g. SS6 with an uncharged overrun `u > 0`, full queues with `maxRepl` 1–4).
 */
import fc from "fast-check"
import { IoVcpu } from "../src/IoVcpu.ts"
import { MainVcpu } from "../src/MainVcpu.ts"
import { PosixSporadicServer } from "../src/PosixSporadicServer.ts"
import type { Vcpu } from "../src/Vcpu.ts"
import { RefPibs } from "./reference/Pibs.ts"
import { RefPosixServer } from "./reference/PosixServer.ts"
import { RefSporadicServer } from "./reference/SporadicServer.ts"
import type { RefVcpu } from "./reference/Scheduler.ts"

export type Op =
  | { readonly op: "idle"; readonly d: number }
  /**
   * A timeslice of `d` (waking the VCPU first if it is blocked, at the boundary `wake` if given and
   * later than now), up to the budget plus an overrun of `over`; then maybe a block.
   */
  | { readonly op: "run"; readonly d: number; readonly over: number; readonly block: boolean; readonly wake?: Boundary | undefined }
  | { readonly op: "inherit"; readonly T: number }
  /** Idle until a boundary. */
  | { readonly op: "idleTo"; readonly to: Boundary }

/**
 * A boundary value: `Q[i].t − m·Q[0].b + k` of the reference's queue (Main VCPU), where the
 * activation and merge rules (SS6, SS4.2) change their answer; ignored when not later than now.
 */
export interface Boundary {
  readonly i: number
  readonly m: number
  readonly k: number
}

export interface HookCase {
  readonly policy: "quest" | "posixNaive" | "pibs"
  readonly C: number
  readonly T: number
  readonly maxRepl: number
  readonly splitAdvancesHead: boolean
  readonly clamp: boolean
  readonly ops: readonly Op[]
}

/** The src policy's state in the reference's notation (as `describe()` writes it). */
export const describeSrcVcpu = (v: Vcpu): string => {
  if (v instanceof MainVcpu) return `b=${v.budgetNs} u=${v.usedNs} Q=[${v.replenishments().map(([t, b]) => `${t}:${b}`).join(",")}]`
  if (v instanceof PosixSporadicServer) return `b=${v.budgetNs} cap=${v.capacityNs} active=${v.active} act=${v.activatedAtNs} consumed=${v.consumedNs} P=[${v.replenishments().map(([t, b]) => `${t}:${b}`).join(",")}]`
  if (v instanceof IoVcpu) return `T=${v.periodNs} b=${v.budgetNs} u=${v.usedNs} e=${v.eligibleNs} r=${v.hasRepl ? `${v.replTimeNs}:${v.replBudgetNs}` : "-"} budgeted=${v.budgeted}`
  return "?"
}

const boundary: fc.Arbitrary<Boundary> = fc.record({ i: fc.integer({ min: 0, max: 2 }), m: fc.integer({ min: 0, max: 1 }), k: fc.integer({ min: -8, max: 8 }) })

export const hookCases = (): fc.Arbitrary<HookCase> =>
  fc.record({
    policy: fc.constantFrom<HookCase["policy"]>("quest", "quest", "quest", "posixNaive", "pibs"),
    C: fc.integer({ min: 1, max: 40 }),
    extraT: fc.integer({ min: 0, max: 60 }),
    maxRepl: fc.oneof(fc.integer({ min: 1, max: 4 }), fc.constant(32)),
    splitAdvancesHead: fc.boolean(),
    clamp: fc.boolean(),
    ops: fc.array(
      fc.oneof(
        // Mostly short idle times, so wakeups land in the narrow windows the merge rules test.
        fc.record({ op: fc.constant("idle" as const), d: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 60 })) }),
        fc.record({ op: fc.constant("run" as const), d: fc.integer({ min: 0, max: 40 }), over: fc.integer({ min: 0, max: 8 }), block: fc.boolean(), wake: fc.option(boundary, { nil: undefined }) }),
        // To exhaustion, with an overrun (δ) and often a block right after it.
        fc.record({ op: fc.constant("run" as const), d: fc.constant(1000), over: fc.integer({ min: 0, max: 8 }), block: fc.boolean(), wake: fc.option(boundary, { nil: undefined }) }),
        fc.record({ op: fc.constant("inherit" as const), T: fc.integer({ min: 5, max: 100 }) }),
        fc.record({ op: fc.constant("idleTo" as const), to: boundary }),
      ),
      { minLength: 5, maxLength: 80, size: "max" },
    ),
  }).map(({ C, extraT, ...r }) => ({ ...r, C, T: C + extraT }))

/**
 * Replays the case on both policies; returns the first difference (with the calls so far), or null.
 * `make` builds the src policy (tests inject broken variants).
 */
export const hookDiffer = (c: HookCase, make?: (c: HookCase) => Vcpu): string | null => {
  const src: Vcpu = make?.(c) ?? (c.policy === "quest"
    ? new MainVcpu(c.C, c.T, 0, { maxRepl: c.maxRepl, splitAdvancesHead: c.splitAdvancesHead })
    : c.policy === "posixNaive" ? new PosixSporadicServer(c.C, c.T, 0, { maxRepl: c.maxRepl }) : new IoVcpu(c.C, c.T, 0, { pibsClampOnInherit: c.clamp }))
  const ref: RefVcpu = c.policy === "quest"
    ? new RefSporadicServer(c.C, c.T, 0, c.maxRepl, c.splitAdvancesHead)
    : c.policy === "posixNaive" ? new RefPosixServer(c.C, c.T, c.maxRepl) : new RefPibs(c.C, c.T, c.clamp)
  let now = 0
  let runnable = false
  const log: string[] = []
  const check = (what: string): string | null => {
    const a = describeSrcVcpu(src), b = ref.describe()
    log.push(`${what} → ${b}`)
    return a === b ? null : `after ${what}:\n  src:       ${a}\n  reference: ${b}\n  calls:\n    ${log.join("\n    ")}`
  }
  const boundaryTime = (b: Boundary): number =>
    ref instanceof RefSporadicServer && b.i < ref.Q.length ? ref.Q[b.i]!.t - b.m * ref.Q[0]!.b + b.k : -1
  for (const op of c.ops) {
    let m: string | null = null
    if (op.op === "idle") {
      now += op.d
      src.refresh(now); ref.refresh(now)
      m = check(`refresh(${now})`)
    } else if (op.op === "idleTo") {
      const target = boundaryTime(op.to)
      if (target <= now) continue
      now = target
      src.refresh(now); ref.refresh(now)
      m = check(`refresh(${now})`)
    } else if (op.op === "inherit") {
      if (!(src instanceof IoVcpu) || !(ref instanceof RefPibs)) continue
      src.inherit(op.T, !runnable); ref.inherit(op.T, !runnable)
      m = check(`inherit(${op.T}, idle=${!runnable})`)
    } else {
      if (!runnable) {
        if (op.wake !== undefined && boundaryTime(op.wake) > now) {
          now = boundaryTime(op.wake)
          src.refresh(now); ref.refresh(now)
        }
        runnable = true
        src.unblock(now); ref.unblock(now)
        m = check(`unblock(${now})`)
        if (m !== null) return m
      }
      src.refresh(now); ref.refresh(now)
      m = check(`refresh(${now})`)
      if (m !== null) return m
      if (src.budgetNs === 0) continue
      // One timeslice: up to the budget (the timer), plus an overrun of up to δ when it runs out.
      const delta = op.d >= src.budgetNs ? src.budgetNs + op.over : op.d
      if (delta === 0) continue
      now += delta
      if (op.block) runnable = false
      src.endTimeslice(delta, now, runnable); ref.endTimeslice(delta, now, runnable)
      m = check(`endTimeslice(${delta}, ${now}, runnable=${runnable})`)
    }
    if (m !== null) return m
  }
  return null
}
