/**
 * The registry of Main-VCPU scheduling policies: the one place that knows which policies exist.
 * A policy is one file that exports a {@link VcpuPolicy} and one {@link register} call
 * (`BuiltinPolicies.ts` for the built-ins; a scenario file for a user's own). Everything else —
 * the scheduler's `policy` option, a VCPU's `policy` field, the scenario schemas (their enum is
 * {@link names}), `qvsim check`, migration, the property tests — asks this registry.
 *
 * What a policy provides:
 * - `create`: a {@link Vcpu} from the VCPU's `(C, T, D)` and its PCPU's context (priority rule,
 *   creation time, scheduler options); the VCPU keeps its own `priority` current (`Vcpu.ts`);
 * - `analysis`: the {@link DemandModel} the analyses use for it (RTA interference under `'rm'`, the
 *   demand bound under `'edf'`), or `null`: `qvsim check` then reports "no analysis for policy X"
 *   instead of a verdict;
 * - `migration`: how its budget state moves to another sandbox (§D.10), or `null`: migration refuses
 *   a thread on such a VCPU;
 * - `optionValues`: the scheduler options it reads, each with the values worth trying, from which the
 *   property tests build a fast-check arbitrary (`Arbitraries.policyOptions`; plain data here, so
 *   the policies do not depend on fast-check);
 * - optionally `checkInvariants`, a per-VCPU state check the invariant checker runs at every decision.
 *
 * Invariants: names are unique and match `[A-Za-z][A-Za-z0-9-]*`; the built-ins are registered
 * before any lookup and cannot be replaced (another object under a built-in name is refused); a
 * user's policy registered again under its name replaces the earlier registration (a scenario file
 * evaluated again registers a new object: the later one wins, for VCPUs created from then on).
 * Registration order never changes a simulation.
 *
 * @module
 */
import type { DemandModel } from "./Analysis.ts"
import type { SchedulerOptions } from "./Options.ts"
import { VcpuError, type ServerContext, type ServerParams, type Vcpu } from "./Vcpu.ts"

/** Where a policy's VCPU is created: the PCPU's rule, the creation time, the PCPU's scheduler options. */
export interface PolicyContext extends ServerContext {
  readonly options: SchedulerOptions
}

/**
 * A Main VCPU's budget state in portable form, for migration: a replenishment list `[t, amount]`
 * (local times of the source; the destination shifts them by the clock offset) and the used,
 * uncharged time.
 */
export interface MigratedBudget {
  readonly queue: ReadonlyArray<readonly [number, number]>
  readonly usedNs: number
}

/** How a policy's budget state moves between sandboxes (§D.10). */
export interface PolicyMigration {
  /** The state of `v` (a VCPU of this policy). */
  readonly save: (v: Vcpu) => MigratedBudget
  /**
   * Installs `saved`, times shifted by `shiftNs`, into `v` (a VCPU of this policy with the same `C, T`); returns an error message or null.
   * Must call `noteBudgetStateEdit()` (`Vcpu.ts`) when it changes `v`: `v` may be runnable, and its PCPU caches next events.
   */
  readonly install: (v: Vcpu, saved: MigratedBudget, shiftNs: number) => string | null
}

export interface VcpuPolicy {
  /** Unique; what scenarios write (`policy: "deferrable"`). */
  readonly name: string
  /** One line for `qvsim schema` and `--help`. */
  readonly description: string
  /** Builds a VCPU of this policy. Throw a `VcpuError` naming the bad parameter. */
  readonly create: (params: ServerParams, ctx: PolicyContext) => Vcpu
  /** Its demand model for the analyses, or null (no analysis: `check` says so). */
  readonly analysis: DemandModel | null
  /** Its migration, or null (cannot migrate). */
  readonly migration: PolicyMigration | null
  /** The scheduler options it reads, each with the values property tests should try (`{}` when none). */
  readonly optionValues: PolicyOptionValues
  /** Optional: what is wrong with a VCPU of this policy, or null (checked at every decision when invariants are on). */
  readonly checkInvariants?: (v: Vcpu) => string | null
}

/** Scheduler options with the values worth trying, per option (`Arbitraries.policyOptions` draws from them). */
export type PolicyOptionValues = { readonly [K in keyof SchedulerOptions]?: ReadonlyArray<SchedulerOptions[K]> }

/** The policy I/O VCPUs report (`IoVcpu.policy`); not a Main-VCPU policy, not in the registry. */
export const IO_POLICY = "pibs"

const NAME = /^[A-Za-z][A-Za-z0-9-]*$/
const registry = new Map<string, VcpuPolicy>()

/** Adds `policy` to the registry (idempotent for the same object); returns it. */
export const register = <P extends VcpuPolicy>(policy: P): P => {
  if (typeof policy !== "object" || policy === null || typeof policy.name !== "string" || typeof policy.create !== "function") {
    throw new VcpuError(`Policy.register: expected a VcpuPolicy {name, description, create, analysis, migration, optionValues}, got ${String(policy)}`)
  }
  if (!NAME.test(policy.name) || policy.name === IO_POLICY) throw new VcpuError(`Policy.register: name ${JSON.stringify(policy.name)} must match ${NAME} and not be "${IO_POLICY}"`)
  const old = registry.get(policy.name)
  if (old !== undefined && old !== policy && builtins.has(policy.name)) throw new VcpuError(`Policy.register: "${policy.name}" is a built-in policy; give yours another name`)
  registry.set(policy.name, policy)
  return policy
}

const builtins = new Set<string>()

/** Registers a built-in policy (`BuiltinPolicies.ts`): one that no later registration may replace. */
export const registerBuiltin = <P extends VcpuPolicy>(policy: P): P => {
  register(policy)
  builtins.add(policy.name)
  return policy
}

/** The registered policy names, in registration order (the schema enums). */
export const names = (): string[] => [...registry.keys()]

/** True when `name` is registered. */
export const has = (name: string): boolean => registry.has(name)

/** The policy named `name`; throws a `VcpuError` listing the registered names when there is none. */
export const get = (name: string): VcpuPolicy => {
  const p = registry.get(name)
  if (p === undefined) throw new VcpuError(`no VCPU policy "${name}" (registered: ${names().join(", ")})`)
  return p
}

/** The policy of a Main VCPU, or undefined (an I/O VCPU, or a VCPU built outside the registry). */
export const of = (v: Vcpu): VcpuPolicy | undefined => registry.get(v.policy)

/**
 * The deprecated scheduler option `ssPolicy` in the registry's names: `'quest'` is `'sporadic'`,
 * any other value is taken as a policy name (`'posixNaive'`).
 */
export const fromSsPolicy = (ssPolicy: string): string => (ssPolicy === "quest" ? "sporadic" : ssPolicy)
